"""The review grid and field list: which fields a document shows, which need a look, and grid edits as corrections."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import BaseModel

from schemas import Extracted, Invoice, Issue
from workbench.store import STATUSES, StoredDocument

# Grid column → field path for each document type; the columns every document shares.
KEY_FIELDS: dict[str, dict[str, str]] = {
    "Party": {"receipt": "merchant_name", "invoice": "seller.name"},
    "Date": {"receipt": "date", "invoice": "issue_date"},
    "Total": {"receipt": "total", "invoice": "grand_total"},
    "Currency": {"receipt": "currency", "invoice": "currency"},
    "Number": {"receipt": "receipt_number", "invoice": "invoice_number"},
    "Tax": {"receipt": "tax_total", "invoice": "tax_total"},
}
# Without these a document cannot be booked, so a missing one always needs a look.
REQUIRED_COLUMNS = ("Party", "Date", "Total")
EDITABLE_COLUMNS = ("Select", *KEY_FIELDS, "Status")
DECISIONS = tuple(status for status in STATUSES if status != "failed")
STATUS_LABELS = {"needs_review": "needs review", "approved": "approved", "rejected": "rejected",
                 "failed": "could not be read"}


@dataclass(frozen=True)
class FieldView:
    """One field of a document as the review page shows it."""

    path: str
    label: str
    value: str | None
    confidence: float
    origin: str | None
    page: int | None
    bbox: tuple[float, float, float, float] | None
    issues: tuple[str, ...]
    low: bool
    required: bool

    @property
    def failing(self) -> bool:
        """A validation check names this field."""
        return bool(self.issues)

    @property
    def attention(self) -> bool:
        """The field should be looked at before the document is approved."""
        return self.failing or self.low

    @property
    def state(self) -> str:
        """A short word for the field's state: failing, low, user or ok."""
        if self.failing:
            return "failing"
        if self.low:
            return "low"
        return "corrected" if self.origin == "user" else "ok"


def extracted_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Extracted[Any]]]:
    """Every Extracted field of a document (parties included) with its dotted path."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Extracted):
            yield prefix + name, value
        elif isinstance(value, BaseModel):
            yield from extracted_fields(value, prefix + name + ".")


def _label(path: str) -> str:
    return " ".join(part.replace("_", " ") for part in path.split(".")).capitalize()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def required_paths(doc_type: str) -> set[str]:
    """Field paths that must have a value for this document type."""
    return {KEY_FIELDS[column][doc_type] for column in REQUIRED_COLUMNS}


def field_views(stored: StoredDocument, threshold: float) -> list[FieldView]:
    """The document's fields, those failing validation first, then low-confidence ones, then the rest.

    A field is low when it has a value read below `threshold`, or when it is required and missing; values
    typed by a person are never low.
    """
    document = stored.current
    if document is None:
        return []
    doc_type = "invoice" if isinstance(document, Invoice) else "receipt"
    required = required_paths(doc_type)
    key_order = [KEY_FIELDS[column][doc_type] for column in KEY_FIELDS]
    issues_by_field: dict[str, list[str]] = {}
    for issue in stored.issues:
        if issue.field:
            issues_by_field.setdefault(issue.field, []).append(issue.message)
    views = []
    for path, extracted in extracted_fields(document):
        if path == "kind":
            continue
        user = extracted.origin == "user"
        if extracted.value is None:
            low = path in required
        else:
            low = not user and extracted.confidence < threshold
        source = extracted.source
        views.append(FieldView(
            path=path,
            label=_label(path),
            value=_text(extracted.value),
            confidence=extracted.confidence,
            origin=extracted.origin,
            page=source.page if source else None,
            bbox=source.bbox if source else None,
            issues=tuple(issues_by_field.get(path, ())),
            low=low,
            required=path in required,
        ))

    def rank(view: FieldView) -> tuple[int, int, int]:
        group = 0 if view.failing else 1 if view.low else 2
        key = key_order.index(view.path) if view.path in key_order else len(key_order)
        empty = 1 if view.value is None and not view.required else 0
        return group, empty, key

    return sorted(views, key=rank)


def document_issues(stored: StoredDocument) -> list[Issue]:
    """Validation problems of the document, errors first."""
    return sorted(stored.issues, key=lambda issue: issue.severity != "error")


def needs_look(stored: StoredDocument, threshold: float) -> list[FieldView]:
    """The fields of the document that need a look."""
    return [view for view in field_views(stored, threshold) if view.attention]


def _confidence_text(view: FieldView | None, threshold: float) -> str:
    if view is None or view.value is None:
        return "⚠ missing" if view is not None and view.required else ""
    if view.origin == "user":
        return "✎ user"
    percent = f"{view.confidence:.0%}"
    return f"⚠ {percent}" if view.confidence < threshold else percent


def confidence_column(column: str) -> str:
    """The name of the grid column that shows the confidence of `column`."""
    return f"{column} conf."


def grid_frame(documents: list[StoredDocument], threshold: float,
               duplicates: dict[int, list[int]] | None = None) -> pd.DataFrame:
    """One row per document: key fields (as editable text) each beside its confidence, status and flags."""
    rows = []
    for stored in documents:
        views = {view.path: view for view in field_views(stored, threshold)}
        doc_type = stored.doc_type or "receipt"
        row: dict[str, Any] = {"Select": False, "ID": stored.id, "Status": stored.status}
        look = [view.label for view in views.values() if view.attention]
        row["Needs a look"] = ", ".join(look) if look else ("could not be read" if stored.error else "")
        for column, paths in KEY_FIELDS.items():
            view = views.get(paths[doc_type])
            row[column] = view.value if view is not None else None
            row[confidence_column(column)] = _confidence_text(view, threshold)
        row["Issues"] = len(stored.issues)
        row["Exported"] = stored.export_id or ""
        others = (duplicates or {}).get(stored.id, [])
        row["Duplicate of"] = ", ".join(f"#{other}" for other in others)
        row["File"] = stored.file_name
        row["Type"] = stored.doc_type or ""
        row["version"] = stored.version
        rows.append(row)
    columns = ["Select", "ID", "Status", "Needs a look"]
    for column in KEY_FIELDS:
        columns += [column, confidence_column(column)]
    columns += ["Issues", "Exported", "Duplicate of", "File", "Type", "version"]
    frame = pd.DataFrame(rows, columns=columns)
    # Text dtype even when a column holds no value yet, so the editor offers text cells for typing one in.
    return frame.astype({column: "string" for column in (*KEY_FIELDS, "Status")})


@dataclass(frozen=True)
class GridEdit:
    """What one edited grid row asks for: field corrections and/or a new status."""

    document_id: int
    version: int
    values: dict[str, str | None]
    status: str | None


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def grid_edits(frame: pd.DataFrame, documents: list[StoredDocument],
               edited_rows: dict[int | str, dict[str, Any]]) -> list[GridEdit]:
    """Translate the data editor's `edited_rows` (row position → column → new value) into edits."""
    by_id = {stored.id: stored for stored in documents}
    edits = []
    for position, cells in edited_rows.items():
        row = frame.iloc[int(position)]
        stored = by_id[int(row["ID"])]
        doc_type = stored.doc_type or "receipt"
        values = {KEY_FIELDS[column][doc_type]: _cell_text(value)
                  for column, value in cells.items() if column in KEY_FIELDS}
        status = _cell_text(cells.get("Status"))
        edits.append(GridEdit(stored.id, stored.version, values, status))
    return edits


def matching(documents: list[StoredDocument], frame: pd.DataFrame, query: str) -> list[StoredDocument]:
    """The documents whose grid row contains every word of `query` (any column, any case)."""
    words = query.casefold().split()
    if not words:
        return documents
    texts = frame.drop(columns=["Select", "version"]).astype("string").fillna("").agg(" ".join, axis=1)
    texts = texts.str.replace("_", " ")
    keep = {int(document_id) for document_id, text in zip(frame["ID"], texts, strict=True)
            if all(word in text.casefold() for word in words)}
    return [stored for stored in documents if stored.id in keep]


def selected_ids(frame: pd.DataFrame, edited_rows: dict[int | str, dict[str, Any]]) -> list[int]:
    """The ids of the rows ticked in the grid's Select column (from the data editor's `edited_rows`)."""
    return [int(frame.iloc[int(position)]["ID"]) for position, cells in edited_rows.items() if cells.get("Select")]


def next_needing_review(documents: list[StoredDocument], after: int | None) -> int | None:
    """The id of the next document needing review after `after` (wrapping round), or None if none is left."""
    waiting = [stored.id for stored in documents if stored.status == "needs_review" and stored.id != after]
    if not waiting:
        return None
    later = [document_id for document_id in waiting if after is None or document_id > after]
    return (later or waiting)[0]

