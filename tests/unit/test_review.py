"""Corrections and decisions: schema-checked values, the original kept, the audit trail, version checks."""

import datetime as dt
from decimal import Decimal

import pytest

from schemas import DocumentResult, Extracted, Invoice, Issue, LineItem, Party, Receipt
from workbench.errors import ConflictError
from workbench.review import (ApprovalError, InvalidValueError, auto_approval, change_doc_type, correct, field_value,
                              rejection_reason, set_line_items, set_status, set_tax_lines)
from workbench.validate import validate
from workbench.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    receipt = Receipt(merchant_name=Extracted(value="ACME", confidence=0.4, origin="ocr"),
                      currency=Extracted(value="MYR", confidence=0.9, origin="ocr"),
                      date=Extracted(value=dt.date(2018, 12, 25), confidence=0.9, origin="ocr"),
                      total=Extracted(value=Decimal("9.00"), confidence=0.6, origin="ocr"))
    invoice = Invoice(seller=Party(name=Extracted(value="Lieferant GmbH", confidence=0.7)))
    store.add(DocumentResult(file="r.jpg", doc_type="receipt", engine="fake", document=receipt,
                             content_hash="1" * 64), [], "ann")
    store.add(DocumentResult(file="i.pdf", doc_type="invoice", engine="fake", document=invoice,
                             content_hash="2" * 64), [], "ann")
    store.add(DocumentResult(file="bad.png", engine="fake", error="bad.png: truncated", content_hash="3" * 64),
              [], "ann")
    yield store
    store.close()


def test_correction_is_typed_user_origin_audited_and_keeps_the_original(store):
    saved = correct(store, 1, 1, "bob", {"total": " 10.5 ", "date": "2019-01-02", "merchant_name": "ACME"})
    assert saved.current.total.value == Decimal("10.50")
    assert (saved.current.total.origin, saved.current.total.confidence) == ("user", 1.0)
    assert saved.current.date.value == dt.date(2019, 1, 2)
    assert saved.current.merchant_name.origin == "ocr"
    assert saved.original.total.value == Decimal("9.00") and saved.version == 2
    trail = [(e.action, e.field, e.old_value, e.new_value, e.user) for e in store.audit(1) if e.action == "correct"]
    assert trail == [("correct", "total", "9.00", "10.50", "bob"), ("correct", "date", "2018-12-25", "2019-01-02", "bob")]


def test_nested_invoice_field_and_clearing(store):
    saved = correct(store, 2, 1, "bob", {"seller.name": "Neu AG", "invoice_number": "RE-7"})
    assert field_value(saved.current, "seller.name") == "Neu AG"
    cleared = correct(store, 2, saved.version, "bob", {"invoice_number": ""})
    assert cleared.current.invoice_number.value is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("date", "31/02/2019", "^Date: '31/02/2019' is not a date of the calendar; type it as day, month and year"),
    ("total", "nine", "^Total: 'nine' is not an amount; type digits with a decimal mark, for example 1,234.50"),
    ("currency", "EURO", "^Currency: 'EURO' is not a currency code; type its three capital letters, such as EUR"),
    ("currency", "XYZ", "^Currency: 'XYZ' is not a currency code"),
    ("time", "25:00", "^Time: '25:00' does not have the form this field needs \\(hours and minutes"),
    ("merchant_name", "x" * 201, "^Merchant name: 'x+' is too long: at most 200 characters"),
    ("colour", "red", "not a field"),
    ("total.value", "1", "not a field"),
])
def test_invalid_values_are_refused_and_nothing_is_saved(store, field, value, message):
    with pytest.raises(InvalidValueError, match=message):
        correct(store, 1, 1, "bob", {field: value})
    assert store.get(1).version == 1 and store.get(1).current.total.value == Decimal("9.00")


def test_unreadable_document_has_nothing_to_correct(store):
    with pytest.raises(InvalidValueError, match="could not be read"):
        correct(store, 3, 1, "bob", {"total": "1"})


def test_status_changes_are_audited_and_version_checked(store):
    approved = set_status(store, 1, 1, "bob", "approved")
    assert approved.status == "approved"
    assert set_status(store, 1, approved.version, "bob", "approved").version == approved.version
    with pytest.raises(ConflictError):
        set_status(store, 1, 1, "eve", "rejected")
    with pytest.raises(ConflictError):
        correct(store, 1, 1, "eve", {"total": "1.00"})
    assert [(e.field, e.old_value, e.new_value) for e in store.audit(1) if e.action == "status"] == [
        ("status", "needs_review", "approved")]


def test_a_corrected_merchant_name_is_learned_recalled_and_can_be_forgotten(tmp_path) -> None:
    from schemas import DocumentResult, Receipt, Source
    from workbench.batch import recall_names
    from workbench.review import correct
    from workbench.store import Store

    def read(hash_: str) -> DocumentResult:
        receipt = Receipt(
            merchant_name={"value": "GARDENIA BAKERLES", "confidence": 0.6, "origin": "ocr",
                           "source": Source(page=1, text="GARDENIA BAKERLES (KL)")},
            merchant_phone={"value": "03-5542 3228", "confidence": 0.8, "origin": "ocr"})
        return DocumentResult(file=f"{hash_}.jpg", doc_type="receipt", engine="ocr", pages=1, document=receipt,
                              content_hash=hash_)

    store = Store(tmp_path / "db.sqlite")
    first = store.add(read("a"), [], "ann")
    correct(store, first, 1, "ann", {"merchant_name": "GARDENIA BAKERIES (KL) SDN BHD"})
    assert {fact.key for fact in store.learned_names()} == {"phone:0355423228", "head:GARDENIABAKERLESKL"}

    later = recall_names(read("b"), store)
    assert later.document.merchant_name.value == "GARDENIA BAKERIES (KL) SDN BHD"
    assert later.document.merchant_name.origin == "learned"
    assert 0.6 < later.document.merchant_name.confidence < 1.0

    for fact in store.learned_names():
        store.forget_name(fact.key, "ann")
    assert recall_names(read("c"), store).document.merchant_name.value == "GARDENIA BAKERLES"
    assert [entry.action for entry in store.audit() if entry.action in ("learn", "forget")] == [
        "learn", "learn", "forget", "forget"]


def _euro_receipt(store, **fields) -> int:
    receipt = Receipt(merchant_name=Extracted(value="LIDL", confidence=0.9, origin="ocr"),
                      date=Extracted(value=dt.date(2022, 9, 13), confidence=0.9, origin="ocr"),
                      currency=Extracted(value="EUR", confidence=0.9, origin="ocr"),
                      total=Extracted(value=Decimal("1.50"), confidence=0.9, origin="ocr"), **fields)
    return store.add(DocumentResult(file="lidl.jpg", doc_type="receipt", engine="ocr", document=receipt,
                                    content_hash="e" * 64), [], "ann")


def test_german_decimal_comma_and_day_first_dates_follow_the_documents_currency(store):
    document_id = _euro_receipt(store)
    saved = correct(store, document_id, 1, "bob", {"tax_total": "0,31", "date": "13.08.2022", "total": "1.234,50"})
    assert saved.current.tax_total.value == Decimal("0.31")
    assert saved.current.date.value == dt.date(2022, 8, 13)
    assert saved.current.total.value == Decimal("1234.50")
    again = correct(store, document_id, saved.version, "bob", {"total": "13.5"})
    assert again.current.total.value == Decimal("13.50")
    with pytest.raises(InvalidValueError, match=r"^Date: '31\.02\.2019' is not a date of the calendar"):
        correct(store, document_id, again.version, "bob", {"date": "31.02.2019"})


def test_the_setting_locale_reads_values_of_a_document_without_currency(store):
    with pytest.raises(InvalidValueError, match="not an amount"):
        correct(store, 2, 1, "bob", {"grand_total": "0,31"})
    saved = correct(store, 2, 1, "bob", {"grand_total": "0,31", "issue_date": "13.09.2022"}, locale="de_DE")
    assert saved.current.grand_total.value == Decimal("0.31")
    assert saved.current.issue_date.value == dt.date(2022, 9, 13)
    with pytest.raises(InvalidValueError, match=r"such as 13\.09\.22,"):
        correct(store, 2, saved.version, "bob", {"issue_date": "32.01.2022"}, locale="de_DE")


def test_approval_needs_supplier_date_total_currency_and_an_invoices_number(store):
    with pytest.raises(ApprovalError, match="without date, total, currency, invoice number"):
        set_status(store, 2, 1, "bob", "approved")
    receipt_id = _euro_receipt(store)
    cleared = correct(store, receipt_id, 1, "bob", {"merchant_name": ""})
    with pytest.raises(ApprovalError, match="lidl.jpg cannot be approved without supplier"):
        set_status(store, receipt_id, cleared.version, "bob", "approved")
    assert store.get(receipt_id).status == "needs_review"
    with pytest.raises(ApprovalError, match="could not be read"):
        set_status(store, 3, 1, "bob", "approved")


def test_editing_an_approved_document_reopens_it_audited(store):
    approved = set_status(store, 1, 1, "bob", "approved")
    edited = correct(store, 1, approved.version, "eve", {"total": "9.50"})
    assert edited.status == "needs_review"
    trail = [(e.action, e.old_value, e.new_value, e.user) for e in store.audit(1) if e.action == "status"]
    assert trail[-1] == ("status", "approved", "needs_review", "eve")
    approved = set_status(store, 1, edited.version, "bob", "approved")
    rows = set_line_items(store, 1, approved.version, "eve", [{"description": "Tea", "amount": "9.50"}])
    assert rows.status == "needs_review"


def test_line_items_can_be_added_edited_and_removed_and_the_check_re_runs(store):
    document_id = _euro_receipt(store, line_items=[
        LineItem(description="Brot", amount=Decimal("1.20"), confidence=0.8),
        LineItem(description="BED.NR.:120 KASSE 02", amount=Decimal("120.00"), confidence=0.3)])
    stored = store.get(document_id)
    stored = store.update(document_id, 1, "ann", issues=validate(stored.current))
    assert "line_items_mismatch" in [issue.code for issue in stored.issues]
    saved = set_line_items(store, document_id, stored.version, "bob", [
        {"description": "Brot", "quantity": None, "unit_price": None, "amount": "1,20", "tax_rate": None},
        {"description": "Milch", "quantity": "2", "unit_price": "0,15", "amount": "0,30", "tax_rate": "7"}])
    assert [item.description for item in saved.current.line_items] == ["Brot", "Milch"]
    assert saved.current.line_items[0].confidence == 0.8
    assert saved.current.line_items[1].unit_price == Decimal("0.15") and saved.current.line_items[1].confidence == 1
    assert "line_items_mismatch" not in [issue.code for issue in saved.issues]
    assert saved.original.line_items[1].description == "BED.NR.:120 KASSE 02"
    (entry,) = [e for e in store.audit(document_id) if e.field == "line_items"]
    assert "KASSE" in entry.old_value and "Milch" in entry.new_value and entry.user == "bob"
    with pytest.raises(InvalidValueError, match="^Line item 1 amount: 'viel' is not an amount"):
        set_line_items(store, document_id, saved.version, "bob", [{"description": "x", "amount": "viel"}])


def test_tax_lines_are_edited_and_checked(store):
    document_id = _euro_receipt(store, tax_total=Extracted(value=Decimal("0.10")))
    saved = set_tax_lines(store, document_id, 1, "bob", [{"rate": "19", "base": "1,26", "amount": "0,24"}])
    assert [(line.rate, line.base, line.amount) for line in saved.current.tax_lines] == [
        (Decimal("19"), Decimal("1.26"), Decimal("0.24"))]
    assert "tax_lines_mismatch" in [issue.code for issue in saved.issues]
    fixed = correct(store, document_id, saved.version, "bob", {"tax_total": "0,24"})
    assert "tax_lines_mismatch" not in [issue.code for issue in fixed.issues]
    with pytest.raises(InvalidValueError, match="^Tax line 1 rate: '150' is too large: at most 100"):
        set_tax_lines(store, document_id, fixed.version, "bob", [{"rate": "150", "base": "1", "amount": "1"}])


def test_document_type_can_be_changed_both_ways(store):
    invoice = change_doc_type(store, 1, 1, "bob", "invoice")
    assert invoice.doc_type == "invoice" and isinstance(invoice.current, Invoice)
    assert invoice.current.seller.name.value == "ACME" and invoice.current.grand_total.value == Decimal("9.00")
    assert isinstance(invoice.original, Receipt)
    assert "missing_invoice_number" in [issue.code for issue in invoice.issues]
    back = change_doc_type(store, 1, invoice.version, "bob", "receipt")
    assert isinstance(back.current, Receipt) and back.current.merchant_name.value == "ACME"
    assert [(e.field, e.old_value, e.new_value) for e in store.audit(1) if e.field == "doc_type"] == [
        ("doc_type", "receipt", "invoice"), ("doc_type", "invoice", "receipt")]


def test_rejection_keeps_its_reason(store):
    set_status(store, 1, 1, "bob", "rejected", reason="private purchase")
    assert rejection_reason(store, 1) == "private purchase"
    assert [(e.action, e.new_value) for e in store.audit(1)][-2:] == [("status", "rejected"),
                                                                      ("reason", "private purchase")]


def _xml_invoice(**changes) -> Invoice:
    invoice = Invoice(invoice_number=Extracted(value="RE-1", confidence=1.0, origin="xml"),
                      issue_date=Extracted(value=dt.date(2024, 3, 1), confidence=1.0, origin="xml"),
                      currency=Extracted(value="EUR", confidence=1.0, origin="xml"),
                      seller=Party(name=Extracted(value="Lieferant GmbH", confidence=1.0, origin="xml")),
                      grand_total=Extracted(value=Decimal("119.00"), confidence=1.0, origin="xml"))
    return invoice.model_copy(update=changes)


@pytest.mark.parametrize(("policy", "engine", "confidence", "issues", "approved"), [
    ("xml", "xml", 1.0, [], True),
    ("xml", "ocr", 1.0, [], False),
    ("xml", "xml", 1.0, [Issue(code="vat_id_invalid", message="bad")], False),
    ("off", "xml", 1.0, [], False),
    ("confident", "ocr", 0.95, [], True),
    ("confident", "ocr", 0.85, [], False),
])
def test_auto_approval_policy(policy, engine, confidence, issues, approved):
    invoice = _xml_invoice(grand_total=Extracted(value=Decimal("119.00"), confidence=confidence, origin="ocr"))
    assert auto_approval(invoice, engine, issues, policy, 0.9) is approved
    assert not auto_approval(_xml_invoice(invoice_number=Extracted()), "xml", [], "xml", 0.9)
