"""The receipt extractor on hand-built pages (Malaysian, German, US) and on SROIE transcriptions."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import PageText, Receipt, TextLine
from workbench.extract.features import group_rows, strip_registration
from workbench.extract.receipt import extract_receipt

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sroie-train"


def page(rows: list[list[str]], width: int = 600, origin: str = "ocr") -> PageText:
    """A page with one printed row per entry; several strings in a row become boxes left to right."""
    lines = []
    y = 40.0
    for row in rows:
        x = 40.0
        step = (width - 80) / max(len(row), 1)
        for i, text in enumerate(row):
            if len(row) > 1 and i == len(row) - 1:
                x1 = width - 40.0
                x0 = x1 - 12 * len(text)
            else:
                x0 = x
                x1 = x0 + 12 * len(text)
            lines.append(TextLine(text=text, bbox=(x0, y, x1, y + 22), score=0.99))
            x += step
        y += 30
    return PageText(number=1, width=width, height=int(y + 40), lines=lines, origin=origin)


def every_field(receipt: Receipt):
    for name in Receipt.model_fields:
        value = getattr(receipt, name)
        if isinstance(value, list):
            yield from value
        else:
            yield value


def assert_honest(receipt: Receipt) -> None:
    for item in every_field(receipt):
        assert 0.0 <= item.confidence <= 1.0
        if getattr(item, "value", "x") is None:
            assert item.confidence == 0.0


MALAYSIAN = [
    ["KEDAI MAKAN SRI MURNI SDN BHD (123456-A)"],
    ["NO. 12, JALAN BESAR,"],
    ["TAMAN MELATI, 53100 KUALA LUMPUR"],
    ["TEL: 03-41234567"],
    ["GST ID: 001234567890"],
    ["TAX INVOICE"],
    ["INV NO: CS00012345", "DATE: 25/12/2018 13:05"],
    ["NASI LEMAK", "2", "5.00", "10.00"],
    ["TEH TARIK", "1", "2.00", "2.00"],
    ["SUB TOTAL", "12.00"],
    ["GST 6%", "0.72"],
    ["ROUNDING", "-0.02"],
    ["TOTAL", "RM 12.70"],
    ["CASH", "20.00"],
    ["CHANGE", "7.30"],
    ["THANK YOU, PLEASE COME AGAIN"],
]


def test_malaysian_receipt() -> None:
    receipt = extract_receipt([page(MALAYSIAN)])
    assert receipt.total.value == Decimal("12.70")
    assert receipt.date.value == dt.date(2018, 12, 25)
    assert receipt.currency.value == "MYR"
    assert "KEDAI MAKAN SRI MURNI" in receipt.merchant_name.value
    assert "123456" not in receipt.merchant_name.value
    assert "JALAN BESAR" in receipt.merchant_address.value
    assert receipt.subtotal.value == Decimal("12.00")
    assert receipt.tax_total.value == Decimal("0.72")
    assert receipt.rounding.value == Decimal("-0.02")
    assert receipt.time.value == "13:05"
    assert receipt.payment_method.value == "CASH"
    assert receipt.merchant_tax_id.value == "001234567890"
    assert receipt.receipt_number.value == "CS00012345"
    assert [item.amount for item in receipt.line_items] == [Decimal("10.00"), Decimal("2.00")]
    assert receipt.line_items[0].quantity == Decimal(2)
    assert receipt.total.origin == "ocr"
    assert receipt.total.source is not None and receipt.total.source.page == 1
    assert_honest(receipt)


GERMAN = [
    ["Bäckerei Müller GmbH"],
    ["Hauptstraße 12"],
    ["10115 Berlin"],
    ["Tel. 030 1234567"],
    ["USt-IdNr. DE123456789"],
    ["Datum: 14.03.2019", "12:30"],
    ["Brot", "2,14 A"],
    ["Milch", "1,07 A"],
    ["Kaffee 2 x 2,38", "4,76 B"],
    ["Summe EUR", "7,97"],
    ["MwSt 7% Netto 3,00", "0,21"],
    ["MwSt 19% Netto 4,00", "0,76"],
    ["Gegeben Bar", "10,00"],
    ["Rückgeld", "2,03"],
    ["Vielen Dank für Ihren Einkauf"],
]


def test_german_receipt_with_decimal_commas_and_two_vat_rates() -> None:
    receipt = extract_receipt([page(GERMAN, origin="text")])
    assert receipt.total.value == Decimal("7.97")
    assert receipt.date.value == dt.date(2019, 3, 14)
    assert receipt.currency.value == "EUR"
    assert receipt.merchant_name.value == "Bäckerei Müller GmbH"
    rates = {line.rate: line.amount for line in receipt.tax_lines}
    assert rates == {Decimal(7): Decimal("0.21"), Decimal(19): Decimal("0.76")}
    assert {line.base for line in receipt.tax_lines} == {Decimal("3.00"), Decimal("4.00")}
    assert receipt.merchant_tax_id.value == "DE123456789"
    assert receipt.total.origin == "text"
    assert_honest(receipt)


US = [
    ["JOE'S DINER"],
    ["123 Main Street"],
    ["Springfield, IL 62701"],
    ["(217) 555-0199"],
    ["03/04/2019 7:45 PM"],
    ["Check #1234"],
    ["Burger 2 @ 8.50", "17.00"],
    ["Fries", "4.00"],
    ["Subtotal", "21.00"],
    ["Discount", "-2.00"],
    ["Tax 8%", "1.52"],
    ["Tip", "3.00"],
    ["Total", "$23.52"],
    ["VISA ****1234", "23.52"],
    ["Thank you!"],
]


def test_us_receipt_month_first_tip_and_discount() -> None:
    receipt = extract_receipt([page(US)])
    assert receipt.total.value == Decimal("23.52")
    assert receipt.date.value == dt.date(2019, 3, 4)
    assert receipt.time.value == "19:45"
    assert receipt.currency.value == "USD"
    assert receipt.merchant_name.value == "JOE'S DINER"
    assert receipt.subtotal.value == Decimal("21.00")
    assert receipt.discount.value == Decimal("2.00")
    assert receipt.tip.value == Decimal("3.00")
    assert receipt.tax_total.value == Decimal("1.52")
    assert receipt.payment_method.value == "VISA"
    assert receipt.receipt_number.value == "1234"
    # the arithmetic agrees, so the amounts read by rule are trusted more than a lone reading
    assert receipt.subtotal.confidence > 0.9
    assert_honest(receipt)


def test_empty_page_gives_empty_fields() -> None:
    receipt = extract_receipt([PageText(number=1, width=100, height=100, lines=[])])
    assert receipt.total.value is None and receipt.total.confidence == 0.0
    assert receipt.merchant_name.value is None


def test_rows_join_boxes_printed_on_one_line() -> None:
    rows = group_rows([page([["GARDENIA", "BAKERIES", "(KL) SDN BHD"], ["NEXT ROW"]])])
    assert [r.text for r in rows] == ["GARDENIA BAKERIES (KL) SDN BHD", "NEXT ROW"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("99 SPEED MART S/B (519537-X)", "99 SPEED MART S/B"),
        ("BOOK TA .K (TAMAN DAYA) SDN BHD", "BOOK TA .K (TAMAN DAYA) SDN BHD"),
        ("SYARIKAT PERNIAGAAN GIN KEE (81109-A)", "SYARIKAT PERNIAGAAN GIN KEE"),
    ],
)
def test_registration_numbers_are_dropped(text: str, expected: str) -> None:
    assert strip_registration(text) == expected


def sroie_page(label_file: Path) -> PageText:
    """A page built from the dataset's own transcription (a test input only; never used at prediction)."""
    data = json.loads(label_file.read_text())
    lines = []
    for item in data["ocr_lines"]:
        xs, ys = item["quad"][0::2], item["quad"][1::2]
        lines.append(TextLine(text=item["text"], bbox=(min(xs), min(ys), max(xs), max(ys)), score=1.0))
    return PageText(number=1, width=int(max(xs)) + 50, height=int(max(ys)) + 50, lines=lines)


def test_sroie_transcriptions_run_through_the_extractor() -> None:
    if not DATA.is_dir():
        pytest.skip("../shared/data not present")
    files = sorted((DATA / "labels").glob("*.json"))[:12]
    right = 0
    for label_file in files:
        receipt = extract_receipt([sroie_page(label_file)])
        assert_honest(receipt)
        expected = json.loads(label_file.read_text())["fields"]
        right += receipt.total.value is not None and str(receipt.total.value) == f"{Decimal(expected['total']):.2f}"
    assert right >= 10


def test_corrections_teach_the_merchant_name() -> None:
    from schemas import Extracted, Source
    from workbench.extract.memory import MerchantFact, apply_memory, merchant_keys

    read = Receipt(
        merchant_name=Extracted(value="GARDENIA BAKERLES", confidence=0.6,
                                source=Source(page=1, text="GARDENIA BAKERLES (KL)"), origin="ocr"),
        merchant_phone=Extracted(value="03-5542 3228", confidence=0.8),
    )
    keys = merchant_keys(read)
    assert keys == ["phone:0355423228", "head:GARDENIABAKERLESKL"]
    facts = {"phone:0355423228": MerchantFact("phone:0355423228", "GARDENIA BAKERIES (KL) SDN BHD", confirmed=3)}
    learned = apply_memory(read, facts)
    assert learned.merchant_name.value == "GARDENIA BAKERIES (KL) SDN BHD"
    assert learned.merchant_name.origin == "learned"
    assert learned.merchant_name.confidence == pytest.approx(0.8)
    assert apply_memory(read, {}) is read


_WORDS = ["TOTAL", "RM", "12.50", "1,234.56", "9,00", "25/12/2018", "SDN BHD", "JALAN", "GST 6%", "CASH", "-0.02",
          "Summe", "MwSt 19%", "€", "$", "x", "2", "TEL", "03-1234567", "14/03/20185:57:07PM", "Tip", ":", "(123-A)"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4), min_size=1, max_size=25))
def test_any_text_gives_a_valid_receipt(rows: list[list[str]]) -> None:
    receipt = extract_receipt([page([[" ".join(row)] for row in rows])])
    Receipt.model_validate(receipt.model_dump())
    assert_honest(receipt)
