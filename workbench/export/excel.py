"""The Excel workbook of stored documents: Documents, Invoices, Line items, Issues and Corrections (openpyxl)."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from schemas import Extracted, Invoice
from workbench.duplicates import Duplicate, find_duplicates
from workbench.export.text import clean, is_formula_like
from workbench.store import AuditEntry, StoredDocument

AMOUNT_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
LOW_CONFIDENCE_FILL = PatternFill(fill_type="solid", start_color="FFF8CBAD", end_color="FFF8CBAD")
CORRECTED_FILL = PatternFill(fill_type="solid", start_color="FFD9D2E9", end_color="FFD9D2E9")
"""Cells holding a value a person typed: not a machine reading, so they carry no confidence."""
_HEADER_FONT = Font(bold=True)
_LINK_FONT = Font(color="FF0563C1", underline="single")

Getter = Callable[[Any], Extracted[Any] | None]

# Key fields of the Documents sheet: one column for a receipt's and an invoice's version of a field
# (None where the field does not exist for that type).
KEY_FIELDS: list[tuple[str, Getter, Getter, str | None, str | None]] = [
    ("supplier", lambda r: r.merchant_name, lambda i: i.seller.name, "merchant_name", "seller.name"),
    ("supplier_address", lambda r: r.merchant_address, lambda i: i.seller.address, "merchant_address",
     "seller.address"),
    ("supplier_tax_id", lambda r: r.merchant_tax_id, lambda i: i.seller.vat_id, "merchant_tax_id", "seller.vat_id"),
    ("number", lambda r: r.receipt_number, lambda i: i.invoice_number, "receipt_number", "invoice_number"),
    ("date", lambda r: r.date, lambda i: i.issue_date, "date", "issue_date"),
    ("due_date", lambda r: None, lambda i: i.due_date, None, "due_date"),
    ("currency", lambda r: r.currency, lambda i: i.currency, "currency", "currency"),
    ("subtotal", lambda r: r.subtotal, lambda i: i.net_total, "subtotal", "net_total"),
    ("tax_total", lambda r: r.tax_total, lambda i: i.tax_total, "tax_total", "tax_total"),
    ("total", lambda r: r.total, lambda i: i.grand_total, "total", "grand_total"),
    ("payment_method", lambda r: r.payment_method, lambda i: None, "payment_method", None),
]
"""Column, receipt field, invoice field, and the two fields' paths (as the audit trail names corrections)."""

INVOICE_FIELDS: list[tuple[str, Callable[[Invoice], Extracted[Any]]]] = [
    ("kind", lambda i: i.kind),
    ("invoice_number", lambda i: i.invoice_number),
    ("issue_date", lambda i: i.issue_date),
    ("due_date", lambda i: i.due_date),
    ("seller", lambda i: i.seller.name),
    ("seller_vat_id", lambda i: i.seller.vat_id),
    ("buyer", lambda i: i.buyer.name),
    ("buyer_vat_id", lambda i: i.buyer.vat_id),
    ("purchase_order", lambda i: i.purchase_order),
    ("currency", lambda i: i.currency),
    ("net_total", lambda i: i.net_total),
    ("tax_total", lambda i: i.tax_total),
    ("grand_total", lambda i: i.grand_total),
    ("amount_due", lambda i: i.amount_due),
    ("iban", lambda i: i.iban),
]


def _put(sheet: Worksheet, row: int, column: int, value: Any) -> Any:
    """Write one cell with its real type: dates as dates, amounts as numbers, text never as a formula."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        text = clean(value)
        cell.value = text
        if is_formula_like(text):
            cell.data_type = "s"
            cell.quotePrefix = True
    elif isinstance(value, Decimal):
        cell.value = value
        cell.number_format = AMOUNT_FORMAT
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        cell.value = value
    return cell


def _sheet(workbook: Workbook, title: str, headers: list[str]) -> Worksheet:
    sheet = workbook.create_sheet(title)
    for column, header in enumerate(headers, start=1):
        sheet.cell(row=1, column=column, value=header).font = _HEADER_FONT
    sheet.freeze_panes = "A2"
    return sheet


def _finish(sheet: Worksheet) -> None:
    """Autofilter over the used range and column widths that fit their content (within reason)."""
    sheet.auto_filter.ref = f"A1:{get_column_letter(sheet.max_column)}{max(sheet.max_row, 1)}"
    for column_cells in sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 500)):
        longest = 0
        for cell in column_cells:
            if isinstance(cell.value, dt.date):
                longest = max(longest, 10)
            elif cell.value is not None:
                longest = max(longest, len(str(cell.value)))
        sheet.column_dimensions[column_cells[0].column_letter].width = min(max(longest + 2, 8), 50)


def _rate_label(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


Corrections = dict[tuple[int, str], list[AuditEntry]]


def _corrections(audit: list[AuditEntry] | None) -> Corrections:
    found: Corrections = {}
    for entry in audit or []:
        if entry.action == "correct" and entry.document_id is not None and entry.field:
            found.setdefault((entry.document_id, entry.field), []).append(entry)
    return found


def write_workbook(documents: list[StoredDocument], target: Path | IO[bytes], threshold: float,
                   duplicates: dict[int, list[Duplicate]] | None = None,
                   audit: list[AuditEntry] | None = None) -> None:
    """Write the documents' current readings to an .xlsx file or binary buffer.

    Fields with confidence below `threshold` are shaded, their value and their `_confidence` cell alike.
    Values a person typed are shaded apart with no confidence, a note saying who changed what, and a row each
    on the Corrections sheet (origin, the value first read, who, when; from `audit`, the store's trail).
    `duplicates` (by document id) fills the `duplicate_of` column, linked to the other document's row;
    when None they are looked for among `documents` themselves.
    """
    if duplicates is None:
        duplicates = find_duplicates(documents)
    corrections = _corrections(audit)
    workbook = Workbook()
    workbook.remove(workbook.active)
    _documents_sheet(workbook, documents, threshold, duplicates, corrections)
    _invoices_sheet(workbook, documents, threshold)
    _line_items_sheet(workbook, documents)
    _issues_sheet(workbook, documents)
    _corrections_sheet(workbook, documents, corrections)
    workbook.save(target)


def _documents_sheet(workbook: Workbook, documents: list[StoredDocument], threshold: float,
                     duplicates: dict[int, list[Duplicate]], corrections: Corrections) -> None:
    headers = ["id", "file", "doc_type", "status", "engine", "duplicate_of"]
    for name, *_ in KEY_FIELDS:
        headers += [name, f"{name}_confidence"]
    headers += ["issues", "error", "corrected"]
    sheet = _sheet(workbook, "Documents", headers)
    rows = {stored.id: index for index, stored in enumerate(documents, start=2)}
    for row, stored in enumerate(documents, start=2):
        others = duplicates.get(stored.id, [])
        values: list[Any] = [stored.id, stored.file_name, stored.doc_type, stored.status, stored.engine,
                             ", ".join(f"{d.other_id} ({d.kind})" for d in others) or None]
        for column, value in enumerate(values, start=1):
            _put(sheet, row, column, value)
        if others and others[0].other_id in rows:
            link = sheet.cell(row=row, column=6)
            link.hyperlink = f"#Documents!A{rows[others[0].other_id]}"
            link.font = _LINK_FONT
        column = len(values) + 1
        document = stored.current
        corrected: list[str] = []
        for name, receipt_field, invoice_field, receipt_path, invoice_path in KEY_FIELDS:
            is_invoice = isinstance(document, Invoice)
            field = None if document is None else invoice_field(document) if is_invoice else receipt_field(document)
            if field is not None and field.origin == "user":
                corrected.append(name)
                value_cell = _put(sheet, row, column, field.value)
                value_cell.fill = CORRECTED_FILL
                _put(sheet, row, column + 1, None).fill = CORRECTED_FILL
                entries = corrections.get((stored.id, (invoice_path if is_invoice else receipt_path) or ""), [])
                if entries:
                    value_cell.comment = Comment(f"corrected by {entries[-1].user} at {entries[-1].at}; first read"
                                                 f" as {entries[0].old_value or 'nothing'}", "workbench")
            elif field is not None:
                value_cell = _put(sheet, row, column, field.value)
                confidence_cell = _put(sheet, row, column + 1, round(field.confidence, 3))
                confidence_cell.number_format = "0.00"
                if field.confidence < threshold:
                    value_cell.fill = LOW_CONFIDENCE_FILL
                    confidence_cell.fill = LOW_CONFIDENCE_FILL
            column += 2
        _put(sheet, row, column, len(stored.issues))
        _put(sheet, row, column + 1, stored.error)
        _put(sheet, row, column + 2, ", ".join(corrected) or None)
    _finish(sheet)


def _invoices_sheet(workbook: Workbook, documents: list[StoredDocument], threshold: float) -> None:
    invoices = [(s, s.current) for s in documents if isinstance(s.current, Invoice)]
    rates = sorted({line.rate for _, invoice in invoices for line in invoice.tax_lines if line.rate is not None})
    headers = ["id", "file", "status"] + [name for name, _ in INVOICE_FIELDS]
    for rate in rates:
        headers += [f"net {_rate_label(rate)}", f"tax {_rate_label(rate)}"]
    sheet = _sheet(workbook, "Invoices", headers)
    for row, (stored, invoice) in enumerate(invoices, start=2):
        for column, value in enumerate([stored.id, stored.file_name, stored.status], start=1):
            _put(sheet, row, column, value)
        column = 4
        for _, getter in INVOICE_FIELDS:
            field = getter(invoice)
            cell = _put(sheet, row, column, field.value)
            if field.confidence < threshold and field.value is not None:
                cell.fill = LOW_CONFIDENCE_FILL
            column += 1
        for rate in rates:
            lines = [line for line in invoice.tax_lines if line.rate == rate]
            bases = [line.base for line in lines if line.base is not None]
            amounts = [line.amount for line in lines if line.amount is not None]
            _put(sheet, row, column, sum(bases, Decimal("0.00")) if bases else None)
            _put(sheet, row, column + 1, sum(amounts, Decimal("0.00")) if amounts else None)
            column += 2
    _finish(sheet)


def _line_items_sheet(workbook: Workbook, documents: list[StoredDocument]) -> None:
    headers = ["document_id", "file", "line", "description", "quantity", "unit_price", "amount", "tax_rate",
               "confidence"]
    sheet = _sheet(workbook, "Line items", headers)
    row = 2
    for stored in documents:
        if stored.current is None:
            continue
        for number, item in enumerate(stored.current.line_items, start=1):
            values = [stored.id, stored.file_name, number, item.description,
                      None if item.quantity is None else float(item.quantity), item.unit_price, item.amount,
                      None if item.tax_rate is None else float(item.tax_rate), round(item.confidence, 3)]
            for column, value in enumerate(values, start=1):
                _put(sheet, row, column, value)
            row += 1
    _finish(sheet)


def _issues_sheet(workbook: Workbook, documents: list[StoredDocument]) -> None:
    sheet = _sheet(workbook, "Issues", ["document_id", "file", "severity", "code", "field", "message"])
    row = 2
    for stored in documents:
        entries = [(issue.severity, issue.code, issue.field, issue.message) for issue in stored.issues]
        if stored.error:
            entries.insert(0, ("error", "read_failed", None, stored.error))
        for entry in entries:
            for column, value in enumerate([stored.id, stored.file_name, *entry], start=1):
                _put(sheet, row, column, value)
            row += 1
    _finish(sheet)


def _corrections_sheet(workbook: Workbook, documents: list[StoredDocument], corrections: Corrections) -> None:
    """One row per corrected field: the value now, its origin, the value first read, who corrected it and when."""
    sheet = _sheet(workbook, "Corrections", ["document_id", "file", "field", "value", "origin", "original_value",
                                             "original_origin", "original_confidence", "corrected_by",
                                             "corrected_at"])
    row = 2
    for stored in documents:
        fields = sorted({field for document_id, field in corrections if document_id == stored.id})
        for field in fields:
            entries = corrections[(stored.id, field)]
            original = _extracted(stored.original, field)
            values = [stored.id, stored.file_name, field, entries[-1].new_value, "user", entries[0].old_value,
                      original.origin if original else None,
                      round(original.confidence, 3) if original and original.value is not None else None,
                      entries[-1].user, entries[-1].at]
            for column, value in enumerate(values, start=1):
                _put(sheet, row, column, value)
            row += 1
    _finish(sheet)


def _extracted(document: Any, path: str) -> Extracted[Any] | None:
    node = document
    for part in path.split("."):
        node = getattr(node, part, None)
    return node if isinstance(node, Extracted) else None
