"""Corrections and decisions on stored documents: read typed values, re-validate, save, and guard approval."""

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas import Extracted, Invoice, Issue, LineItem, Party, Receipt, TaxLine
from workbench.duplicates import document_date, document_number, document_total, supplier_name
from workbench.entry import (FALLBACK_LOCALE, InvalidValueError, document_locales, explain, read_amount, read_typed,
                             value_kind)
from workbench.extract.memory import merchant_keys
from workbench.store import Status, Store, StoredDocument
from workbench.validate import validate


class ApprovalError(InvalidValueError):
    """A document lacks what booking needs (supplier, date, total, currency; an invoice's number)."""


def _label(path: str) -> str:
    return " ".join(part.replace("_", " ") for part in path.split(".")).capitalize()


def field_value(document: Receipt | Invoice, field: str) -> Any:
    """The value of a dotted field path such as `total` or `seller.name`."""
    return _field(document, field).value


def _field(document: Receipt | Invoice, field: str) -> Extracted[Any]:
    node: Any = document
    for part in field.split("."):
        if part not in getattr(type(node), "model_fields", {}):
            raise InvalidValueError(f"{field!r} is not a field of a {type(document).__name__.lower()}")
        node = getattr(node, part)
    if not isinstance(node, Extracted):
        raise InvalidValueError(f"{field!r} is not a field of a {type(document).__name__.lower()}")
    return node


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def missing_for_approval(document: Receipt | Invoice | None) -> list[str]:
    """What a document lacks to be approved: supplier, date, total and currency, and an invoice's number."""
    if document is None:
        return ["a reading (the file could not be read)"]
    wanted = [("supplier", supplier_name(document)), ("date", document_date(document)),
              ("total", document_total(document)), ("currency", document.currency.value)]
    if isinstance(document, Invoice):
        wanted.append(("invoice number", document_number(document)))
    return [name for name, value in wanted if value is None]


def _fields(model: BaseModel) -> list[Extracted[Any]]:
    found: list[Extracted[Any]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Extracted):
            found.append(value)
        elif isinstance(value, BaseModel):
            found.extend(_fields(value))
    return found


def auto_approval(document: Receipt | Invoice | None, engine: str, issues: list[Issue], policy: str,
                  threshold: float) -> bool:
    """Whether the `WORKBENCH_AUTO_APPROVE` policy approves a freshly read document.

    off: never. xml: read from an embedded e-invoice, with no issues and nothing approval needs missing.
    confident: those, and documents whose every field read is at or above `threshold`, with no issues.
    """
    if policy == "off" or document is None or issues or missing_for_approval(document):
        return False
    if engine == "xml":
        return True
    if policy != "confident":
        return False
    read = [field for field in _fields(document) if field.value is not None]
    return all(field.confidence >= threshold for field in read)


def _reopen(stored: StoredDocument) -> tuple[Status | None, list[tuple[str, str | None, str | None]]]:
    """An edit of an approved document sends it back to review; the status change is audited with the edit."""
    if stored.status == "approved":
        return "needs_review", [("status", "approved", "needs_review")]
    return None, []


def _readable(stored: StoredDocument) -> Receipt | Invoice:
    if stored.current is None:
        raise InvalidValueError(f"{stored.file_name} could not be read, so it has no fields to correct")
    return stored.current


def correct(store: Store, document_id: int, expected_version: int, user: str,
            values: dict[str, str | None], locale: str = FALLBACK_LOCALE) -> StoredDocument:
    """Apply typed-in values (field path → text, None or "" to clear) as user-origin fields and save them.

    Amounts may use the document's decimal comma and dates the day-first order (see workbench.entry); an
    unreadable value raises InvalidValueError naming the field and how to write it, and nothing is saved. The
    original reading stays stored untouched. Editing an approved document sends it back to review. A corrected
    merchant name is learned for later receipts of the same merchant (see extract.memory).
    """
    stored = store.get(document_id)
    current = _readable(stored)
    locales = document_locales(current, locale)
    data = current.model_dump(mode="json")
    changes: list[tuple[str, str | None, str | None]] = []
    labels = {}
    for field, raw in values.items():
        extracted = _field(current, field)
        labels[field] = _label(field)
        text = None if raw is None or str(raw).strip() == "" else str(raw).strip()
        kind = value_kind(type(extracted).__pydantic_generic_metadata__["args"][0])
        new = None if text is None else read_typed(text, kind, locales, _label(field))
        old = _as_text(extracted.value)
        if new == old:
            continue
        node = data
        parts = field.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = {**node[parts[-1]], "value": new, "confidence": 1.0, "origin": "user"}
        changes.append((field, old, new))
    if not changes:
        return stored
    try:
        document = type(current).model_validate(data)
    except ValidationError as error:
        raise InvalidValueError(explain(error, labels)) from None
    changes = [(f, o, _as_text(field_value(document, f))) for f, o, _ in changes]
    status, reopened = _reopen(stored)
    saved = store.update(document_id, expected_version, user, current=document, issues=validate(document),
                         status=status, changes=changes + reopened)
    name = document.merchant_name.value if isinstance(document, Receipt) else None
    if name is not None and isinstance(stored.original, Receipt) and any(f == "merchant_name" for f, _, _ in changes):
        store.learn_name(merchant_keys(stored.original), name, user)
    return saved


def _cell(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value).strip() or None


def _rows_of(kind: str, rows: list[dict[str, Any]], existing: list[BaseModel], locales: list[str],
             build: Callable[[dict[str, Any]], BaseModel]) -> list[BaseModel]:
    """Typed rows (column → text) as schema rows; a row equal to the stored one keeps its confidence and box."""
    result = []
    for number, row in enumerate(rows, start=1):
        if not any(_cell(row, key) for key in row):
            continue
        label = f"{kind} {number}"
        parsed: dict[str, Any] = {}
        for key in row:
            text = _cell(row, key)
            if text is None or key == "description" or key == "category":
                parsed[key] = text
            else:
                parsed[key] = read_amount(text, locales, f"{label} {key.replace('_', ' ')}")
        try:
            item = build(parsed)
        except ValidationError as error:
            raise InvalidValueError(explain(error, {key: f"{label} {key.replace('_', ' ')}" for key in row})) from None
        same = next((old for old in existing if old.model_dump(include=set(parsed)) == item.model_dump(
            include=set(parsed))), None)
        result.append(same if same is not None else item)
    return result


def _summary(rows: list[BaseModel], keys: tuple[str, ...]) -> str:
    return json.dumps([{key: _as_text(getattr(row, key)) for key in keys} for row in rows], ensure_ascii=False)


def _save_rows(store: Store, document_id: int, expected_version: int, user: str, attribute: str,
               rows: list[BaseModel], keys: tuple[str, ...]) -> StoredDocument:
    stored = store.get(document_id)
    current = _readable(stored)
    old = _summary(getattr(current, attribute), keys)
    new = _summary(rows, keys)
    if old == new:
        return stored
    try:
        document = current.model_copy(update={attribute: rows})
        document = type(current).model_validate(document.model_dump())
    except ValidationError as error:
        raise InvalidValueError(explain(error, {})) from None
    status, reopened = _reopen(stored)
    return store.update(document_id, expected_version, user, current=document, issues=validate(document),
                        status=status, changes=[(attribute, old, new), *reopened])


TAX_LINE_COLUMNS = ("rate", "base", "amount")
LINE_ITEM_COLUMNS = ("description", "quantity", "unit_price", "amount", "tax_rate")


def set_tax_lines(store: Store, document_id: int, expected_version: int, user: str,
                  rows: list[dict[str, Any]], locale: str = FALLBACK_LOCALE) -> StoredDocument:
    """Replace the tax lines (rate %, base, tax per row, as typed), re-validate and save; audited as one change."""
    current = _readable(store.get(document_id))
    locales = document_locales(current, locale)
    lines = _rows_of("Tax line", [{key: row.get(key) for key in TAX_LINE_COLUMNS} for row in rows],
                     list(current.tax_lines), locales,
                     lambda parsed: TaxLine(**parsed, confidence=1.0))
    return _save_rows(store, document_id, expected_version, user, "tax_lines", lines, TAX_LINE_COLUMNS)


def set_line_items(store: Store, document_id: int, expected_version: int, user: str,
                   rows: list[dict[str, Any]], locale: str = FALLBACK_LOCALE) -> StoredDocument:
    """Replace the line items (description, quantity, unit price, amount, tax rate per row), re-validate, save."""
    current = _readable(store.get(document_id))
    locales = document_locales(current, locale)
    items = _rows_of("Line item", [{key: row.get(key) for key in LINE_ITEM_COLUMNS} for row in rows],
                     list(current.line_items), locales,
                     lambda parsed: LineItem(**parsed, confidence=1.0))
    return _save_rows(store, document_id, expected_version, user, "line_items", items, LINE_ITEM_COLUMNS)


# A receipt field and the invoice field that holds the same thing, for changing a document's type.
_SAME_FIELD = {"merchant_name": ("seller", "name"), "merchant_address": ("seller", "address"),
               "merchant_tax_id": ("seller", "vat_id"), "receipt_number": ("invoice_number",),
               "date": ("issue_date",), "currency": ("currency",), "subtotal": ("net_total",),
               "tax_total": ("tax_total",), "total": ("grand_total",)}


def _converted(document: Receipt | Invoice) -> Receipt | Invoice:
    """The same reading as the other document type: fields both types have are carried over, the rest dropped."""
    common = {"tax_lines": document.tax_lines, "line_items": document.line_items}
    if isinstance(document, Receipt):
        seller: dict[str, Extracted[Any]] = {}
        fields: dict[str, Any] = {}
        for name, target in _SAME_FIELD.items():
            if len(target) == 2:
                seller[target[1]] = getattr(document, name)
            else:
                fields[target[0]] = getattr(document, name)
        return Invoice.model_validate({**fields, **common, "seller": Party(**seller)})
    fields = {}
    for name, target in _SAME_FIELD.items():
        fields[name] = getattr(document.seller, target[1]) if len(target) == 2 else getattr(document, target[0])
    return Receipt.model_validate({**fields, **common})


def change_doc_type(store: Store, document_id: int, expected_version: int, user: str,
                    doc_type: str) -> StoredDocument:
    """Make a receipt an invoice or the other way round (a fuel receipt read as an invoice); audited, re-validated."""
    if doc_type not in ("receipt", "invoice"):
        raise InvalidValueError(f"a document is a receipt or an invoice, not {doc_type!r}")
    stored = store.get(document_id)
    current = _readable(stored)
    if stored.doc_type == doc_type:
        return stored
    document = _converted(current)
    status, reopened = _reopen(stored)
    return store.update(document_id, expected_version, user, current=document, issues=validate(document),
                        status=status, doc_type=doc_type, changes=[("doc_type", stored.doc_type, doc_type), *reopened])


def set_status(store: Store, document_id: int, expected_version: int, user: str, status: Status,
               reason: str | None = None) -> StoredDocument:
    """Approve, reject (with an optional reason) or send back to review; written to the audit trail.

    Approval needs supplier, date, total and currency (invoices: the number too); ApprovalError names what is
    missing.
    """
    stored = store.get(document_id)
    if status == "approved":
        missing = missing_for_approval(stored.current)
        if missing:
            raise ApprovalError(f"{stored.file_name} cannot be approved without {', '.join(missing)};"
                                " fill in the missing fields first")
    if stored.status == status:
        return stored
    changes: list[tuple[str, str | None, str | None]] = [("status", stored.status, status)]
    if reason and reason.strip():
        changes.append(("reason", None, reason.strip()[:500]))
    return store.update(document_id, expected_version, user, status=status, changes=changes)


def rejection_reason(store: Store, document_id: int) -> str | None:
    """The reason given when the document was last rejected, if any."""
    reasons = [entry.new_value for entry in store.audit(document_id) if entry.action == "reason"]
    return reasons[-1] if reasons else None

