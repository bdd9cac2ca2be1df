"""Exports of stored documents: the Excel workbook, bookkeeping CSV layouts and JSON, each audited."""

from workbench.export.accounts import Account, AccountMap
from workbench.export.audit import write_audit_csv
from workbench.export.bookkeeping import PRESETS, ExportError, ExportOptions, Preset, write_csv
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


__all__ = [
    "PRESETS",
    "Account",
    "AccountMap",
    "ExportError",
    "ExportOptions",
    "Preset",
    "record_export",
    "write_audit_csv",
    "write_csv",
    "write_json",
    "write_workbook",
]
