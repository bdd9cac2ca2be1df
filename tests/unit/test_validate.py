"""Tests of validation: receipt and invoice arithmetic, dates, VAT ids, IBAN and credit-note signs."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from schemas import Invoice, LineItem, Receipt, TaxLine
from workbench.validate import validate

TODAY = dt.date(2026, 11, 21)


def f(value: Any) -> dict[str, Any]:
    return {"value": value, "confidence": 0.9, "origin": "ocr"}


def receipt(**fields: Any) -> Receipt:
    data = {"total": f("10.60"), "date": f("2024-03-01")}
    data.update({key: f(value) for key, value in fields.items() if key != "line_items"})
    return Receipt.model_validate({**data, "line_items": fields.get("line_items", [])})


def invoice(**fields: Any) -> Invoice:
    data: dict[str, Any] = {"invoice_number": f("R-1"), "issue_date": f("2024-03-01"), "net_total": f("100.00"),
                            "tax_total": f("19.00"), "grand_total": f("119.00"), "kind": f("invoice")}
    for key, value in fields.items():
        if key in ("line_items", "tax_lines"):
            data[key] = value
        elif key in ("seller", "buyer"):
            data[key] = {"vat_id": f(value)}
        else:
            data[key] = f(value)
    return Invoice.model_validate(data)


def codes(document: Receipt | Invoice) -> list[str]:
    return [issue.code for issue in validate(document, today=TODAY)]


@pytest.mark.parametrize("fields", [
    {"subtotal": "10.00", "tax_total": "0.60"},                                # tax added
    {"subtotal": "10.60", "tax_total": "0.60"},                                # tax included
    {"subtotal": "11.60", "tax_total": "0.60", "discount": "1.60"},            # discount given as positive
    {"subtotal": "11.60", "tax_total": "0.60", "discount": "-1.60"},           # discount given as negative
    {"subtotal": "10.00", "tax_total": "0.58", "rounding": "0.02"},            # cash rounding
    {"subtotal": "9.00", "tax_total": "0.60", "tip": "1.00"},                  # tip
])
def test_consistent_receipts_have_no_issues(fields: dict[str, str]) -> None:
    assert codes(receipt(**fields)) == []


def test_receipt_total_mismatch_is_explained() -> None:
    issues = validate(receipt(subtotal="10.00", tax_total="0.60", total="11.60"), today=TODAY)
    assert [i.code for i in issues] == ["total_mismatch"]
    assert "10.60" in issues[0].message and "11.60" in issues[0].message
    assert issues[0].severity == "error"


def test_receipt_missing_total_and_date() -> None:
    document = Receipt.model_validate({})
    assert codes(document) == ["missing_total", "missing_date"]


@pytest.mark.parametrize("date, code", [("2027-01-05", "date_in_future"), ("1999-12-31", "date_implausible")])
def test_implausible_receipt_dates(date: str, code: str) -> None:
    assert codes(receipt(date=date)) == [code]


def test_receipt_line_items_must_add_up() -> None:
    items = [LineItem(description="Tea", quantity=Decimal(2), unit_price=Decimal("2.50"), amount=Decimal("5.00")),
             LineItem(description="Cake", amount=Decimal("5.00"))]
    assert codes(receipt(subtotal="10.00", tax_total="0.60", line_items=items)) == []
    items[1] = LineItem(description="Cake", amount=Decimal("4.00"))
    assert codes(receipt(subtotal="10.00", tax_total="0.60", line_items=items)) == ["line_items_mismatch"]


def test_line_quantity_times_price() -> None:
    items = [LineItem(description="Tea", quantity=Decimal(3), unit_price=Decimal("2.50"), amount=Decimal("5.00"))]
    assert "line_item_mismatch" in codes(receipt(line_items=items, total="5.00"))


def test_consistent_invoice_has_no_issues() -> None:
    lines = [TaxLine(rate=Decimal(19), base=Decimal("100.00"), amount=Decimal("19.00"))]
    items = [LineItem(description="Work", quantity=Decimal(1), unit_price=Decimal("100.00"), amount=Decimal("100.00"))]
    document = invoice(tax_lines=lines, line_items=items, seller="DE136695976", iban="DE88200800000970375700",
                       due_date="2024-03-31", currency="EUR")
    assert codes(document) == []


def test_invoice_net_plus_tax_must_equal_gross() -> None:
    issues = validate(invoice(grand_total="120.00"), today=TODAY)
    assert [i.code for i in issues] == ["total_mismatch"]
    assert "100.00" in issues[0].message and "120.00" in issues[0].message


def test_tax_per_rate_is_checked() -> None:
    lines = [TaxLine(rate=Decimal(7), base=Decimal("50.00"), amount=Decimal("3.50")),
             TaxLine(rate=Decimal(19), base=Decimal("50.00"), amount=Decimal("15.50"))]
    assert codes(invoice(tax_lines=lines)) == ["tax_rate_mismatch"]
    lines = [TaxLine(rate=Decimal(19), base=Decimal("100.00"), amount=Decimal("19.00")),
             TaxLine(rate=Decimal(7), base=Decimal("10.00"), amount=Decimal("0.70"))]
    assert set(codes(invoice(tax_lines=lines))) == {"tax_lines_mismatch", "tax_bases_mismatch"}


def test_invoice_line_items_sum_to_net() -> None:
    items = [LineItem(description="Work", amount=Decimal("90.00"))]
    issues = validate(invoice(line_items=items), today=TODAY)
    assert [i.code for i in issues] == ["line_items_mismatch"]
    assert "10.00" in issues[0].message


def test_due_date_before_issue_date() -> None:
    assert codes(invoice(due_date="2024-02-01")) == ["due_before_issue"]


@pytest.mark.parametrize("vat_id, ok", [
    ("DE136695976", True), ("DE123456789", False), ("FR40303265045", True), ("GB980780684", True),
    ("CHE-116.281.710 MWST", True), ("XX123", True),
])
def test_vat_ids_are_checked_with_stdnum(vat_id: str, ok: bool) -> None:
    assert ("vat_id_invalid" not in codes(invoice(seller=vat_id))) is ok


def test_iban_checksum() -> None:
    assert codes(invoice(iban="DE88200800000970375701")) == ["iban_invalid"]


def test_credit_note_amounts_must_be_negative() -> None:
    good = invoice(kind="credit_note", net_total="-100.00", tax_total="-19.00", grand_total="-119.00")
    assert codes(good) == []
    assert codes(invoice(kind="credit_note")) == ["credit_note_sign"]


def test_mixed_signs_are_flagged() -> None:
    assert "mixed_signs" in codes(invoice(net_total="-100.00", tax_total="19.00", grand_total="-81.00"))


def test_missing_invoice_fields() -> None:
    assert codes(Invoice.model_validate({})) == ["missing_total", "missing_invoice_number", "missing_date"]
