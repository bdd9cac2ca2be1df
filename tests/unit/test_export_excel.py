"""Excel workbook: read back with openpyxl — sheets, real types, confidence shading, duplicates, injection."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from schemas import DocumentResult, Extracted, Invoice, Issue, LineItem, Party, Receipt, TaxLine
from workbench.export import record_export, write_workbook
from workbench.export.excel import LOW_CONFIDENCE_FILL
from workbench.store import Store

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-3+4", "@SUM(A1)", "\tcmd", "\rcmd"]


def _receipt(merchant: str, total: str, confidence: float = 0.95) -> Receipt:
    return Receipt(
        merchant_name=Extracted(value=merchant, confidence=confidence),
        date=Extracted(value=dt.date(2018, 12, 25), confidence=0.99),
        currency=Extracted(value="MYR", confidence=0.99),
        total=Extracted(value=Decimal(total), confidence=0.5),
        line_items=[LineItem(description="=1+1", quantity=Decimal("2"), unit_price=Decimal("4.50"),
                             amount=Decimal("9.00"), confidence=0.7)],
    )


def _invoice() -> Invoice:
    return Invoice(
        invoice_number=Extracted(value="RE-1", confidence=1.0),
        issue_date=Extracted(value=dt.date(2024, 3, 1), confidence=1.0),
        due_date=Extracted(value=dt.date(2024, 3, 31), confidence=1.0),
        currency=Extracted(value="EUR", confidence=1.0),
        seller=Party(name=Extracted(value="Lieferant GmbH", confidence=1.0)),
        net_total=Extracted(value=Decimal("200.00"), confidence=1.0),
        tax_total=Extracted(value=Decimal("26.00"), confidence=1.0),
        grand_total=Extracted(value=Decimal("226.00"), confidence=1.0),
        tax_lines=[TaxLine(rate=Decimal("19"), base=Decimal("100.00"), amount=Decimal("19.00")),
                   TaxLine(rate=Decimal("7"), base=Decimal("100.00"), amount=Decimal("7.00"))],
    )


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    add = [
        DocumentResult(file="a.jpg", doc_type="receipt", engine="fake", document=_receipt("ACME", "9.00"),
                       issues=[Issue(code="total_mismatch", field="total", message="@danger")], content_hash="1" * 64),
        DocumentResult(file="b.jpg", doc_type="receipt", engine="fake", document=_receipt("acme", "9.00", 0.3),
                       content_hash="2" * 64),
        DocumentResult(file="c.pdf", doc_type="invoice", engine="xml", document=_invoice(), content_hash="3" * 64),
        DocumentResult(file="bad.png", engine="fake", error="bad.png: truncated PNG", content_hash="4" * 64),
    ]
    for result in add:
        store.add(result, [], "ann")
    yield store
    store.close()


def _read(store: Store, threshold: float = 0.9) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    write_workbook(store.list(), buffer, threshold)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def _rows(sheet) -> list[dict]:
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_sheets_header_frozen_and_filtered(store):
    book = _read(store)
    assert book.sheetnames == ["Documents", "Invoices", "Line items", "Issues", "Corrections"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])


def test_documents_sheet_has_real_types_and_confidence_columns(store):
    sheet = _read(store)["Documents"]
    rows = _rows(sheet)
    assert [r["file"] for r in rows] == ["a.jpg", "b.jpg", "c.pdf", "bad.png"]
    first = rows[0]
    assert first["supplier"] == "ACME" and first["supplier_confidence"] == 0.95
    assert first["date"] == dt.datetime(2018, 12, 25)
    assert first["total"] == 9 and isinstance(first["total"], (int, float))
    assert first["currency"] == "MYR" and first["status"] == "needs_review" and first["engine"] == "fake"
    assert first["issues"] == 1
    invoice = rows[2]
    assert (invoice["supplier"], invoice["number"], invoice["total"]) == ("Lieferant GmbH", "RE-1", 226)
    assert invoice["due_date"] == dt.datetime(2024, 3, 31)
    assert rows[3]["error"] == "bad.png: truncated PNG" and rows[3]["supplier"] is None
    header = [c.value for c in sheet[1]]
    total_cell = sheet.cell(row=2, column=header.index("total") + 1)
    assert total_cell.number_format == "0.00"
    assert sheet.cell(row=2, column=header.index("date") + 1).is_date


def test_low_confidence_cells_are_shaded(store):
    sheet = _read(store, threshold=0.9)["Documents"]
    header = [c.value for c in sheet[1]]

    def shaded(row: int, column: str) -> bool:
        return sheet.cell(row=row, column=header.index(column) + 1).fill.fgColor.rgb == LOW_CONFIDENCE_FILL.fgColor.rgb

    assert shaded(2, "total") and shaded(2, "total_confidence")
    assert not shaded(2, "supplier") and shaded(3, "supplier")
    assert not shaded(4, "total")
    assert not shaded(2, "due_date")


def test_duplicates_are_linked_to_the_other_row(store):
    sheet = _read(store)["Documents"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("duplicate_of") + 1)
    assert cell.value == "2 (same_total)"
    assert cell.hyperlink.location == "Documents!A3" or cell.hyperlink.target == "#Documents!A3"
    assert sheet.cell(row=4, column=header.index("duplicate_of") + 1).value is None


def test_invoices_sheet_has_tax_per_rate(store):
    rows = _rows(_read(store)["Invoices"])
    assert len(rows) == 1
    row = rows[0]
    assert row["invoice_number"] == "RE-1" and row["grand_total"] == 226
    assert (row["net 7%"], row["tax 7%"], row["net 19%"], row["tax 19%"]) == (100, 7, 100, 19)


def test_line_items_and_issues_sheets(store):
    book = _read(store)
    items = _rows(book["Line items"])
    assert [(i["file"], i["line"], i["quantity"], i["amount"]) for i in items] == [("a.jpg", 1, 2, 9), ("b.jpg", 1, 2, 9)]
    issues = _rows(book["Issues"])
    assert [(i["file"], i["code"]) for i in issues] == [("a.jpg", "total_mismatch"), ("bad.png", "read_failed")]


def test_formula_like_text_is_written_as_text(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    for number, text in enumerate(HOSTILE):
        receipt = Receipt(merchant_name=Extracted(value=text.strip() or text, confidence=1.0),
                          merchant_address=Extracted(value=text + " street", confidence=1.0))
        store.add(DocumentResult(file=text + ".jpg", doc_type="receipt", engine="fake", document=receipt,
                                 content_hash=f"{number:064d}"), [], "ann")
    target = tmp_path / "out.xlsx"
    write_workbook(store.list(), target, 0.9)
    store.close()
    book = openpyxl.load_workbook(target)
    sheet = book["Documents"]
    header = [c.value for c in sheet[1]]
    files = [sheet.cell(row=r, column=header.index("file") + 1) for r in range(2, 2 + len(HOSTILE))]
    # XML stores a carriage return as a line feed; what matters is that the text stays text.
    assert [c.value for c in files] == [t.replace("\r", "\n") + ".jpg" for t in HOSTILE]
    for cell in files:
        assert cell.data_type == "s" and cell.quotePrefix, cell.value
    formulas = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_export_is_recorded_in_the_audit_trail(store):
    documents = store.list(("needs_review",))
    record_export(store, documents, "xlsx", "out.xlsx", "ann")
    exports = [(e.document_id, e.field, e.new_value) for e in store.audit() if e.action == "export"]
    assert exports == [(d.id, "xlsx", "out.xlsx") for d in documents]


def test_audit_trail_exports_as_csv(store):
    import csv

    from workbench.export import write_audit_csv

    store.update(1, 1, "=cmd|'/c calc'!A1", status="approved", changes=[("status", "needs_review", "approved")])
    buffer = io.BytesIO()
    write_audit_csv(store.audit(), buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == ["import"] * 4 + ["status"]
    assert rows[-1]["user"] == "'=cmd|'/c calc'!A1" and rows[-1]["new_value"] == "approved"
    assert rows[0]["document_id"] == "1" and rows[0]["new_value"] == "a.jpg"


def test_corrected_values_are_marked_with_origin_original_value_and_who(store):
    from workbench.export.excel import CORRECTED_FILL
    from workbench.review import correct

    correct(store, 1, 1, "bob", {"total": "9.50", "merchant_name": "ACME SDN BHD"})
    buffer = io.BytesIO()
    write_workbook(store.list(), buffer, 0.9, audit=store.audit())
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = book["Documents"]
    header = [c.value for c in sheet[1]]
    rows = _rows(sheet)
    assert rows[0]["total"] == 9.5 and rows[0]["total_confidence"] is None
    assert rows[0]["corrected"] == "supplier, total" and rows[1]["corrected"] is None
    assert rows[1]["total_confidence"] == 0.5
    total = sheet.cell(row=2, column=header.index("total") + 1)
    assert total.fill.fgColor.rgb == CORRECTED_FILL.fgColor.rgb
    assert "corrected by bob" in total.comment.text and "first read as 9.00" in total.comment.text
    corrections = _rows(book["Corrections"])
    assert [(c["field"], c["value"], c["origin"], c["original_value"], c["original_origin"],
             c["original_confidence"], c["corrected_by"]) for c in corrections] == [
        ("merchant_name", "ACME SDN BHD", "user", "ACME", None, 0.95, "bob"),
        ("total", "9.50", "user", "9.00", None, 0.5, "bob")]
