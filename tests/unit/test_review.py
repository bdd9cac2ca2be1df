"""Corrections and decisions: schema-checked values, the original kept, the audit trail, version checks."""

import datetime as dt
from decimal import Decimal

import pytest

from schemas import DocumentResult, Extracted, Invoice, Party, Receipt
from workbench.errors import ConflictError
from workbench.review import InvalidValueError, correct, field_value, set_status
from workbench.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    receipt = Receipt(merchant_name=Extracted(value="ACME", confidence=0.4, origin="ocr"),
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
    ("date", "31/02/2019", "date"),
    ("total", "nine", "total"),
    ("currency", "EURO", "currency"),
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
