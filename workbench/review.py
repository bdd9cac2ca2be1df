"""Corrections and decisions on stored documents: check a new value against the schema, re-validate, save."""

from typing import Any

from pydantic import ValidationError

from schemas import Extracted, Invoice, Receipt
from workbench.errors import WorkbenchError
from workbench.extract.memory import merchant_keys
from workbench.store import Status, Store, StoredDocument
from workbench.validate import validate


class InvalidValueError(WorkbenchError):
    """A corrected value does not fit its field (a bad date, an amount that is not a number)."""

    exit_code = 2


def field_value(document: Receipt | Invoice, field: str) -> Any:
    """The value of a dotted field path such as `total` or `seller.name`."""
    node: Any = document
    for part in field.split("."):
        if part not in getattr(type(node), "model_fields", {}):
            raise InvalidValueError(f"{field!r} is not a field of a {type(document).__name__.lower()}")
        node = getattr(node, part)
    if not isinstance(node, Extracted):
        raise InvalidValueError(f"{field!r} is not a field of a {type(document).__name__.lower()}")
    return node.value


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def correct(store: Store, document_id: int, expected_version: int, user: str,
            values: dict[str, str | None]) -> StoredDocument:
    """Apply typed-in values (field path → text, None or "" to clear) as user-origin fields and save them.

    Each value is parsed by the field's own schema type; an invalid one raises InvalidValueError naming
    the field and the reason, and nothing is saved. The original reading stays stored untouched. A
    corrected merchant name is learned for later receipts of the same merchant (see extract.memory).
    """
    stored = store.get(document_id)
    if stored.current is None:
        raise InvalidValueError(f"{stored.file_name} could not be read, so it has no fields to correct")
    data = stored.current.model_dump(mode="json")
    changes: list[tuple[str, str | None, str | None]] = []
    for field, raw in values.items():
        new = None if raw is None or str(raw).strip() == "" else str(raw).strip()
        old = _as_text(field_value(stored.current, field))
        if new == old:
            continue
        node = data
        parts = field.split(".")
        for part in parts[:-1]:
            node = node[part]
        if parts[-1] not in node or not isinstance(node[parts[-1]], dict):
            raise InvalidValueError(f"{field!r} is not a field of a {stored.doc_type}")
        node[parts[-1]] = {**node[parts[-1]], "value": new, "confidence": 1.0, "origin": "user"}
        changes.append((field, old, new))
    if not changes:
        return stored
    model = type(stored.current)
    try:
        document = model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "value")
        raise InvalidValueError(f"{where}: {first['msg']} (got {first.get('input')!r})") from None
    changes = [(f, o, _as_text(field_value(document, f))) for f, o, _ in changes]
    saved = store.update(document_id, expected_version, user, current=document, issues=validate(document),
                         changes=changes)
    name = document.merchant_name.value if isinstance(document, Receipt) else None
    if name is not None and isinstance(stored.original, Receipt) and any(f == "merchant_name" for f, _, _ in changes):
        store.learn_name(merchant_keys(stored.original), name, user)
    return saved


def set_status(store: Store, document_id: int, expected_version: int, user: str, status: Status) -> StoredDocument:
    """Approve, reject or send back to review; written to the audit trail."""
    stored = store.get(document_id)
    if stored.status == status:
        return stored
    return store.update(document_id, expected_version, user, status=status,
                        changes=[("status", stored.status, status)])
