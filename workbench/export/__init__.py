"""Exports of stored documents: the Excel workbook, bookkeeping CSV layouts and JSON, each audited."""

import datetime as dt
import uuid

from workbench.export.accounts import Account, AccountMap, rate_key
from workbench.export.audit import write_audit_csv
from workbench.export.bookkeeping import PRESETS, CsvReport, ExportError, ExportOptions, LeftOut, Preset, write_csv
from workbench.export.excel import write_workbook
from workbench.export.json_file import write_json
from workbench.store import Store, StoredDocument


def record_export(store: Store, documents: list[StoredDocument], export_format: str, target: str,
                  user: str) -> None:
    """Write one audit entry per exported document (format and target), so every export is traceable."""
    for stored in documents:
        store.record("export", user, document_id=stored.id, field=export_format, new_value=target)
    if not documents:
        store.record("export", user, field=export_format, new_value=target)


def new_export_id() -> str:
    """A fresh id for one bookkeeping export: when it ran (UTC) and a random part (EXP-20240402-1030-3f9a1c)."""
    return f"EXP-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}-{uuid.uuid4().hex[:6]}"


def not_yet_booked(documents: list[StoredDocument], include_exported: bool = False) -> list[StoredDocument]:
    """The documents no bookkeeping export has written yet (all of them with `include_exported`)."""
    return [stored for stored in documents if include_exported or stored.export_id is None]


def record_booking_export(store: Store, report: CsvReport, layout: str, target: str, user: str,
                          export_id: str) -> None:
    """Mark the written documents as booked by this export (so the next one skips them); audited per document."""
    store.mark_exported([stored.id for stored in report.written], export_id, target, f"csv:{layout}", user)


__all__ = [
    "PRESETS",
    "Account",
    "AccountMap",
    "CsvReport",
    "ExportError",
    "ExportOptions",
    "LeftOut",
    "Preset",
    "new_export_id",
    "not_yet_booked",
    "rate_key",
    "record_booking_export",
    "record_export",
    "write_audit_csv",
    "write_csv",
    "write_json",
    "write_workbook",
]
