"""Bookkeeping CSV layouts checked against their import rules: columns, separators, number and date formats."""

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest

from schemas import DocumentResult, Extracted, Invoice, LineItem, Party, Receipt, TaxLine
from workbench.export import AccountMap, ExportError, ExportOptions, write_csv, write_json
from workbench.export.bookkeeping import DATEV_COLUMNS, QUICKBOOKS_COLUMNS, XERO_COLUMNS
from workbench.store import Store

CREATED = dt.datetime(2024, 4, 2, 10, 30, 5, 123000)


def _invoice(seller: str = "Müller GmbH", number: str = "RE-1", date: dt.date = dt.date(2024, 3, 1),
             credit: bool = False) -> Invoice:
    sign = Decimal(-1 if credit else 1)
    return Invoice(
        invoice_number=Extracted(value=number), issue_date=Extracted(value=date),
        due_date=Extracted(value=date + dt.timedelta(days=30)), currency=Extracted(value="EUR"),
        seller=Party(name=Extracted(value=seller)), net_total=Extracted(value=200 * sign),
        tax_total=Extracted(value=Decimal("26.00") * sign), grand_total=Extracted(value=Decimal("226.00") * sign),
        tax_lines=[TaxLine(rate=Decimal("19"), base=100 * sign, amount=19 * sign),
                   TaxLine(rate=Decimal("7"), base=100 * sign, amount=7 * sign)],
        line_items=[LineItem(description="Beratung"), LineItem(description="Bücher")],
    )


def _receipt(merchant: str = "ACME SDN BHD", total: str = "1234.50") -> Receipt:
    return Receipt(merchant_name=Extracted(value=merchant), date=Extracted(value=dt.date(2024, 12, 25)),
                   currency=Extracted(value="EUR"), total=Extracted(value=Decimal(total)),
                   tax_total=Extracted(value=Decimal("80.76")),
                   tax_lines=[TaxLine(rate=Decimal("7"), base=None, amount=Decimal("80.76"))])


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    store.add(DocumentResult(file="inv.pdf", doc_type="invoice", engine="xml", document=_invoice(),
                             content_hash="1" * 64), [], "ann")
    store.add(DocumentResult(file="rcpt.jpg", doc_type="receipt", engine="fake", document=_receipt(),
                             content_hash="2" * 64), [], "ann")
    store.set_mapping("category", "*", "ann", account_code="4900", tax_code="Tax on Purchases",
                      contra_account="1600")
    store.set_mapping("merchant", "Mueller", "ann", account_code="4650")
    store.set_mapping("merchant", "Müller", "ann", account_code="4655")
    store.set_mapping("rate", "xero:19", "ann", account_code=None, tax_code="20% (VAT on Expenses)")
    store.set_mapping("rate", "xero:7", "ann", account_code=None, tax_code="5% (VAT on Expenses)")
    yield store
    store.close()


def _write(preset: str, store: Store, documents=None) -> bytes:
    """The layout's bytes; like the CLI, an ExportError when every document was left out."""
    buffer = io.BytesIO()
    write_csv(preset, store.list() if documents is None else documents, buffer, AccountMap.from_store(store),
              ExportOptions(created=CREATED, datev_consultant=29098, datev_client=55003)).refuse_empty()
    return buffer.getvalue()


def test_xero_bills_template(store):
    data = _write("xero", store)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == XERO_COLUMNS
    assert [(r["*ContactName"], r["*InvoiceNumber"], r["*InvoiceDate"], r["*DueDate"], r["*UnitAmount"],
             r["TaxAmount"], r["*AccountCode"], r["*Quantity"]) for r in rows] == [
        ("Müller GmbH", "RE-1", "01/03/2024", "31/03/2024", "119.00", "19.00", "4655", "1"),
        ("Müller GmbH", "RE-1", "01/03/2024", "31/03/2024", "107.00", "7.00", "4655", "1"),
        ("ACME SDN BHD", "WB-2", "25/12/2024", "25/12/2024", "1234.50", "80.76", "4900", "1"),
    ]
    assert [r["*TaxType"] for r in rows] == ["20% (VAT on Expenses)", "5% (VAT on Expenses)", "5% (VAT on Expenses)"]
    assert all(r["Currency"] == "EUR" for r in rows)
    assert [r["Description"] for r in rows] == ["Müller GmbH RE-1 (19 %)", "Müller GmbH RE-1 (7 %)",
                                                "ACME SDN BHD WB-2"]


def test_a_rate_without_a_tax_code_leaves_only_its_document_out(store):
    store.delete_mapping("rate", "xero:7", "ann")
    buffer = io.BytesIO()
    report = write_csv("xero", store.list(), buffer, AccountMap.from_store(store))
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert [r["*ContactName"] for r in rows] == ["ACME SDN BHD"]
    assert rows[0]["*TaxType"] == "Tax on Purchases"
    assert [d.file_name for d in report.written] == ["rcpt.jpg"]
    (left,) = report.left_out
    assert (left.document_id, left.file) == (1, "inv.pdf")
    assert "no tax code for 7 %" in left.reason and "mapping page" in left.reason


def test_quickbooks_bills(store):
    store.set_mapping("rate", "quickbooks:19", "ann", account_code=None, tax_code="19.0% ECG")
    data = _write("quickbooks", store)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == QUICKBOOKS_COLUMNS
    assert [(r["Vendor"], r["DocNumber"], r["TxnDate"], r["DueDate"], r["Account"], r["Amount"], r["TaxAmount"])
            for r in rows] == [
        ("Müller GmbH", "RE-1", "03/01/2024", "03/31/2024", "4655", "100.00", "19.00"),
        ("Müller GmbH", "RE-1", "03/01/2024", "03/31/2024", "4655", "100.00", "7.00"),
        ("ACME SDN BHD", "WB-2", "12/25/2024", "12/25/2024", "4900", "1153.74", "80.76"),
    ]
    # A rate with no QuickBooks code stays empty rather than taking the merchant's code meant for another rate.
    assert [r["TaxCode"] for r in rows] == ["19.0% ECG", "", "Tax on Purchases"]
    assert [r["Description"] for r in rows] == ["Müller GmbH RE-1 (19 %)", "Müller GmbH RE-1 (7 %)",
                                                "ACME SDN BHD WB-2"]


def _datev(data: bytes) -> tuple[list[str], list[str], list[list[str]]]:
    text = data.decode("cp1252")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = list(csv.reader(io.StringIO(text), delimiter=";", quotechar='"'))
    return lines[0], lines[1], lines[2:]


def test_datev_buchungsstapel(store):
    invoice = [d for d in store.list() if d.doc_type == "invoice"]
    store.set_mapping("rate", "datev:19", "ann", account_code=None, tax_code="Vorsteuer")
    with pytest.raises(ExportError, match="BU-Schlüssel of up to 4 digits.*'Vorsteuer'"):
        _write("datev", store, invoice)
    store.delete_mapping("rate", "datev:19", "ann")
    # The merchant's own tax code (7 % input tax) must not book the 19 % line: each rate takes its own key.
    store.set_mapping("merchant", "Müller", "ann", account_code="4655", tax_code="8")
    data = _write("datev", store, invoice)
    assert "Müller".encode("cp1252") in data
    assert data.startswith(b'"EXTF";700;21;"Buchungsstapel";13;20240402103005123;;"RE";"";"";29098;55003;20240101;4;'
                           b'20240301;20240301;')
    header, columns, rows = _datev(data)
    assert len(header) == 31 and header[21] == "EUR" and header[26] == "03"
    assert columns == DATEV_COLUMNS
    table = [dict(zip(columns, row)) for row in rows]
    assert [(r["Umsatz (ohne Soll/Haben-Kz)"], r["Soll/Haben-Kennzeichen"], r["WKZ Umsatz"], r["Konto"],
             r["Gegenkonto (ohne BU-Schlüssel)"], r["BU-Schlüssel"], r["Belegdatum"], r["Belegfeld 1"],
             r["Buchungstext"]) for r in table] == [
        ("119,00", "S", "EUR", "4655", "1600", "9", "0103", "RE-1", "Müller GmbH"),
        ("107,00", "S", "EUR", "4655", "1600", "8", "0103", "RE-1", "Müller GmbH"),
    ]
    store.set_mapping("rate", "datev:7", "ann", account_code=None, tax_code="2")
    header, columns, rows = _datev(_write("datev", store, invoice))
    assert [row[columns.index("BU-Schlüssel")] for row in rows] == ["9", "2"]


def test_datev_default_tax_keys_credit_notes_and_number_characters(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    store.add(DocumentResult(file="cn.pdf", doc_type="invoice", engine="xml",
                             document=_invoice(number="GS 2024/7_ä", credit=True), content_hash="1" * 64), [], "a")
    store.set_mapping("category", "invoice", "a", account_code="3400", contra_account="70001")
    header, columns, rows = _datev(_write("datev", store))
    table = [dict(zip(columns, row)) for row in rows]
    assert [(r["Umsatz (ohne Soll/Haben-Kz)"], r["Soll/Haben-Kennzeichen"], r["BU-Schlüssel"], r["Belegfeld 1"])
            for r in table] == [("119,00", "H", "9", "GS2024/7"), ("107,00", "H", "8", "GS2024/7")]
    store.close()


def test_datev_refuses_documents_from_two_years(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    for number, year in enumerate((2023, 2024)):
        store.add(DocumentResult(file=f"{year}.pdf", doc_type="invoice", engine="xml",
                                 document=_invoice(date=dt.date(year, 5, 1)), content_hash=f"{number:064d}"), [], "a")
    store.set_mapping("category", "*", "a", account_code="4900", contra_account="1600")
    with pytest.raises(ExportError, match="one fiscal year.*2023, 2024.*--from 2023-01-01 --to 2023-12-31"):
        _write("datev", store)
    store.close()


def test_missing_accounts_and_fields_name_every_document(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    store.add(DocumentResult(file="nototal.jpg", doc_type="receipt", engine="fake",
                             document=Receipt(merchant_name=Extracted(value="X"), date=Extracted(value=dt.date(2024, 1, 1))),
                             content_hash="1" * 64), [], "a")
    store.add(DocumentResult(file="ok.jpg", doc_type="receipt", engine="fake", document=_receipt(),
                             content_hash="2" * 64), [], "a")
    with pytest.raises(ExportError) as raised:
        _write("quickbooks", store)
    assert "nototal.jpg (document 1): no total" in raised.value.user_message
    assert "ok.jpg" in raised.value.user_message and "mapping page" in raised.value.user_message
    store.set_mapping("merchant", "Acme", "a", account_code="400")
    with pytest.raises(ExportError, match="tax code"):
        _write("xero", store, [store.get(2)])
    with pytest.raises(ExportError, match="contra account"):
        _write("datev", store, [store.get(2)])
    store.set_mapping("merchant", "Acme", "a", account_code="Office", contra_account="1600")
    with pytest.raises(ExportError, match="up to 9 digits, not 'Office'"):
        _write("datev", store, [store.get(2)])
    assert b"ACME SDN BHD,WB-2" in _write("quickbooks", store, [store.get(2)])
    store.close()


def test_formula_like_text_is_quoted_in_csv(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    for number, name in enumerate(["=HYPERLINK(\"x\")", "+SUM(1)", "-2+3", "@cmd"]):
        store.add(DocumentResult(file=f"{number}.jpg", doc_type="receipt", engine="fake",
                                 document=_receipt(merchant=name, total="-5.00"), content_hash=f"{number:064d}"), [], "a")
    store.set_mapping("category", "*", "a", account_code="=1+1", tax_code="@x", contra_account="1600")
    rows = list(csv.DictReader(io.StringIO(_write("xero", store).decode("utf-8-sig"))))
    assert [r["*ContactName"] for r in rows] == ["'=HYPERLINK(\"x\")", "'+SUM(1)", "'-2+3", "'@cmd"]
    assert {r["*AccountCode"] for r in rows} == {"'=1+1"} and {r["*TaxType"] for r in rows} == {"'@x"}
    assert {r["*UnitAmount"] for r in rows} == {"-5.00"}
    store.set_mapping("category", "*", "a", account_code="4900", tax_code="9", contra_account="1600")
    header, columns, datev_rows = _datev(_write("datev", store))
    assert [row[columns.index("Buchungstext")] for row in datev_rows][0] == "'=HYPERLINK(\"x\")"
    store.close()


def test_unknown_layout_is_refused(store):
    with pytest.raises(ExportError, match="xero, quickbooks, datev"):
        _write("sage", store)


def test_json_export_has_current_and_original_readings(store):
    buffer = io.BytesIO()
    write_json(store.list(), buffer)
    records = json.loads(buffer.getvalue())
    assert [r["file"] for r in records] == ["inv.pdf", "rcpt.jpg"]
    assert records[1]["document"]["total"]["value"] == "1234.50"
    assert records[0]["original"]["issue_date"]["value"] == "2024-03-01"
    assert records[0]["duplicates"] == []


def test_booked_documents_are_marked_and_skipped_by_the_next_bookkeeping_export(store):
    from workbench.export import new_export_id, not_yet_booked, record_booking_export

    store.delete_mapping("rate", "xero:7", "ann")
    buffer = io.BytesIO()
    report = write_csv("xero", not_yet_booked(store.list()), buffer, AccountMap.from_store(store))
    export_id = new_export_id()
    record_booking_export(store, report, "xero", "bills.csv", "ann", export_id)
    invoice, receipt = store.list()
    assert invoice.export_id is None and receipt.export_id == export_id and receipt.exported_at
    assert [d.id for d in not_yet_booked(store.list())] == [invoice.id]
    assert [d.id for d in not_yet_booked(store.list(), include_exported=True)] == [invoice.id, receipt.id]
    (entry,) = [e for e in store.audit(receipt.id) if e.action == "export"]
    assert (entry.field, entry.new_value, entry.user) == ("csv:xero", f"{export_id} bills.csv", "ann")
    assert re.fullmatch(r"EXP-\d{8}-\d{4}-[0-9a-f]{6}", export_id) and new_export_id() != export_id


def test_periods_month_quarter_and_fiscal_year(store):
    from workbench.periods import Period, in_period, period

    assert period("month", 2024, 2) == Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert period("quarter", 2024, 4) == Period(dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    assert period("fiscal_year", 2024, fiscal_year_start=4) == Period(dt.date(2024, 4, 1), dt.date(2025, 3, 31))
    documents = store.list()
    assert [d.file_name for d in in_period(documents, period("quarter", 2024, 1))] == ["inv.pdf"]
    assert [d.file_name for d in in_period(documents, Period(dt.date(2024, 12, 25), None))] == ["rcpt.jpg"]
    assert len(in_period(documents, Period())) == 2
