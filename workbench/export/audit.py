"""The audit trail as CSV: every import, correction, status change, mapping change and export."""

import csv
import io
from typing import IO

from workbench.export.text import csv_text
from workbench.store import AuditEntry

AUDIT_COLUMNS = ["id", "document_id", "action", "field", "old_value", "new_value", "user", "at"]


def write_audit_csv(entries: list[AuditEntry], buffer: IO[bytes]) -> None:
    """Write audit entries (oldest first) as UTF-8 CSV with a BOM; text never reads as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for e in entries:
        writer.writerow([e.id, "" if e.document_id is None else e.document_id, csv_text(e.action),
                         csv_text(e.field), csv_text(e.old_value), csv_text(e.new_value), csv_text(e.user), e.at])
    buffer.write(out.getvalue().encode("utf-8-sig"))
