"""Line items on receipts and invoices, rule by rule, from synthetic rows; and the check naming a suspect line."""

import datetime as dt
from decimal import Decimal

import pytest

from schemas import Invoice, LineItem, PageText, Receipt, TextLine
from workbench.extract.features import Row
from workbench.extract.invoice import extract_invoice
from workbench.extract.receipt_fields import read_rule_fields
from workbench.validate import validate

TODAY = dt.date(2025, 1, 15)


def receipt_rows(*rows: str | tuple[str, ...]) -> list[Row]:
    """Printed rows, one box per string, each row under the previous one."""
    built = []
    for index, row in enumerate(rows):
        boxes = (row,) if isinstance(row, str) else row
        y = 40.0 + 30 * index
        lines = tuple(TextLine(text=text, bbox=(40.0 + 200 * i, y, 40.0 + 200 * i + 10 * len(text), y + 22), score=0.99)
                      for i, text in enumerate(boxes))
        built.append(Row(page=1, index=index, lines=lines, origin="ocr"))
    return built


def items_of(*rows: str | tuple[str, ...]) -> list[tuple]:
    fields = read_rule_fields(receipt_rows(*rows))
    return [(i.description, i.quantity, i.unit_price, i.amount) for i in fields.items]


def d(text: str) -> Decimal:
    return Decimal(text)


# --- receipts ---------------------------------------------------------------------------------------------

def test_quantity_row_under_the_description_carries_the_amount() -> None:
    assert items_of("Brötchen", "3 x 0,45 1,35 A", "Summe EUR 1,35") == [("Brötchen", d("3"), d("0.45"), d("1.35"))]


def test_quantity_row_under_the_item_gives_quantity_and_unit_price() -> None:
    assert items_of("Cola 1,5L 2,98 B", "2 x 1,49", "Summe 2,98") == [("Cola 1,5L", d("2"), d("1.49"), d("2.98"))]


def test_quantity_row_above_the_item() -> None:
    assert items_of("2 x 1,29", "Joghurt 2,58 A", "Summe 2,58") == [("Joghurt", d("2"), d("1.29"), d("2.58"))]


def test_quantity_row_that_does_not_make_the_amount_is_not_taken() -> None:
    assert items_of("Cola 2,98 B", "3 x 1,49", "Summe 2,98") == [("Cola", None, None, d("2.98"))]


def test_weighed_quantity_is_rounded_to_the_cent() -> None:
    assert items_of("Bananen", "0,536 kg x 2,99 EUR/kg 1,60 A", "Summe 1,60") == [
        ("Bananen", d("0.536"), d("2.99"), d("1.60"))]


@pytest.mark.parametrize("code", ["A", "B", "T2", "N F", "*", "€", "A.", "'A"])
def test_tax_code_after_the_amount_is_not_part_of_the_description(code: str) -> None:
    gap = "" if code.startswith("'") else " "
    assert items_of(f"Milch 1,19{gap}{code}", "Summe 1,19") == [("Milch", None, None, d("1.19"))]


def test_deposit_row_belongs_to_the_item_above() -> None:
    assert items_of("Wasser 0,49 A", "Pfand 0,25 A", "Summe 0,74") == [("Wasser", None, None, d("0.74"))]


def test_discount_row_belongs_to_the_item_above() -> None:
    assert items_of("2 x 2,99", "Kaffee 5,98 A", "Rabatt 1,00-", "Summe 4,98") == [
        ("Kaffee", d("2"), d("2.49"), d("4.98"))]


def test_discount_without_an_item_above_is_no_item() -> None:
    assert items_of("Coupon -1.00", "Tea 2.00", "Subtotal 1.00") == [("Tea", None, None, d("2.00"))]


def test_empties_brought_back_are_an_item_of_their_own() -> None:
    assert items_of("Wasser 0,49 A", "Leergut -0,25", "Summe 0,24") == [
        ("Wasser", None, None, d("0.49")), ("Leergut", None, None, d("-0.25"))]


def test_an_items_own_discount_is_not_taken_off_their_sum_twice() -> None:
    fields = read_rule_fields(receipt_rows("Kaffee 5,99 A", "Rabatt -1,00", "Summe 4,99"))
    assert fields.discount == d("1.00")
    assert fields.items_sum - fields.discount == d("4.99")


def test_negative_row_under_an_item_takes_its_price_down() -> None:
    assert items_of("Soy drink $3.79", "article gratuit -$3.79", "Tea $2.00", "Subtotal $2.00") == [
        ("Soy drink", None, None, d("0.00")), ("Tea", None, None, d("2.00"))]


def test_items_end_at_a_row_printing_their_sum_under_a_misread_label() -> None:
    assert items_of("Tea 2.00", "Cake 3.00", "Sous-tatal 5.00", "Taxe 0.00", "Umsat2 10% 0.45") == [
        ("Tea", None, None, d("2.00")), ("Cake", None, None, d("3.00"))]


def test_a_rate_with_its_base_and_tax_is_no_item_whatever_its_label() -> None:
    assert items_of("Agua 5.90", "Pan 2.95", "I.U.A. 10% 8.04 0.81 8.85", "TOTAL 8.85") == [
        ("Agua", None, None, d("5.90")), ("Pan", None, None, d("2.95"))]


def test_a_service_is_an_item_a_service_charge_is_not() -> None:
    assert items_of("1 Full Service 27.99", "Service charge 10% 2.80", "Subtotal 30.79") == [
        ("Full Service", d("1"), d("27.99"), d("27.99"))]


def test_receipt_priced_without_cents() -> None:
    assert items_of("1 Sop Buntut 69,000", "2 Zuppa Soup 68,000", "Sub Total : 137,000", "Pajak 10% : 13,700",
                    "Total Bill : 150,700") == [("Sop Buntut", d("1"), d("69000"), d("69000")),
                                                ("Zuppa Soup", d("2"), d("34000"), d("68000"))]


def test_rounding_difference_is_no_item() -> None:
    assert items_of("Tea 2.03", "Rundungsdifferenz -0.03", "Total 2.00") == [("Tea", None, None, d("2.03"))]


def test_header_and_payment_rows_are_no_items() -> None:
    assert items_of("Datum: 04.09.24 14:44:37", "Kasse 2 Bed. 11", "Brot 3,10 A", "Summe EUR 3,10", "Bar 5,00",
                    "Rückgeld 1,90", "MwSt 19% 0,49") == [("Brot", None, None, d("3.10"))]


@pytest.mark.parametrize("label", ["Zwischensumme", "Summe", "Subtotal", "Total", "Zwischentotal"])
def test_items_end_at_the_first_sum(label: str) -> None:
    assert items_of("Tea 2.00", f"{label} 2.00", "Cake 3.00") == [("Tea", None, None, d("2.00"))]


def test_quantity_column_at_the_left() -> None:
    assert items_of("2 Burger 12.50", "1,00 COPA RIOJA 3,10 3,10", "Subtotal 15.60") == [
        ("Burger", d("2"), d("6.25"), d("12.50")), ("COPA RIOJA", d("1.00"), d("3.10"), d("3.10"))]


def test_quantity_between_description_and_prices() -> None:
    assert items_of("French Fries 2 4.25 8.50", "Subtotal 8.50") == [("French Fries", d("2"), d("4.25"), d("8.50"))]


def test_tax_tip_and_subtotal_rows_of_a_us_receipt() -> None:
    assert items_of("Club Sandwich 11.50", "Subtotal 11.50", "Tax 0.95", "Tip 2.00", "Total 14.45") == [
        ("Club Sandwich", None, None, d("11.50"))]


def test_month_names_in_a_description_are_no_date() -> None:
    assert items_of("2 Margarita 24.00", "Subtotal 24.00") == [("Margarita", d("2"), d("12.00"), d("24.00"))]


@pytest.mark.parametrize("name", ["Vegetable Soup", "Cashew Nuts", "Custard Tart", "Chocolate Bar"])
def test_non_item_words_count_as_whole_words(name: str) -> None:
    assert items_of(f"{name} 4.50", "Subtotal 4.50") == [(name, None, None, d("4.50"))]


def test_short_descriptions_count() -> None:
    assert items_of("FF 1.65", "Subtotal 1.65") == [("FF", None, None, d("1.65"))]


def test_free_items_are_items() -> None:
    assert items_of("Burger 9.00", "Extra cheese 0.00", "Subtotal 9.00") == [
        ("Burger", None, None, d("9.00")), ("Extra cheese", None, None, d("0.00"))]


# --- invoices ---------------------------------------------------------------------------------------------

def invoice_page(rows: list[list[tuple[float, str]]], number: int = 1) -> PageText:
    lines = []
    for index, row in enumerate(rows):
        y = 100 + index * 40
        for x, text in row:
            lines.append(TextLine(text=text, bbox=(x, y, x + 12 * len(text), y + 24), score=0.98))
    return PageText(number=number, width=1654, height=2339, lines=lines, origin="text")


def invoice_items(*pages: list[list[tuple[float, str]]]) -> list[tuple]:
    invoice = extract_invoice([invoice_page(rows, number) for number, rows in enumerate(pages, start=1)])
    return [(i.description, i.quantity, i.unit_price, i.amount, i.tax_rate) for i in invoice.line_items]


HEADER = [(150, "Pos"), (250, "Bezeichnung"), (800, "Menge"), (1000, "Einzelpreis"), (1300, "Betrag")]


def test_header_words_sharing_one_box() -> None:
    rows = [[(150, "Menge"), (300, "Produkt"), (900, "Einzelpreis        Summe")],
            [(150, "2,00"), (300, "Luftballon"), (900, "0,79"), (1190, "1,58")],
            [(700, "Summe netto: 1,58")]]
    assert invoice_items(rows) == [("Luftballon", d("2.00"), d("0.79"), d("1.58"), None)]


def test_table_goes_on_over_the_page_break() -> None:
    first = [HEADER, [(150, "1"), (250, "Toner"), (800, "2"), (1000, "10,00"), (1300, "20,00")]]
    second = [[(150, "2"), (250, "Papier"), (800, "1"), (1000, "5,00"), (1300, "5,00")],
              [(900, "Summe netto"), (1300, "25,00")]]
    assert [item[0] for item in invoice_items(first, second)] == ["Toner", "Papier"]


def test_table_closed_by_its_totals_does_not_go_on() -> None:
    first = [HEADER, [(150, "1"), (250, "Toner"), (800, "2"), (1000, "10,00"), (1300, "20,00")],
             [(900, "Summe netto"), (1300, "20,00")]]
    second = [[(150, "Bankgebühr laut Vertrag"), (1300, "3,00")]]
    assert [item[0] for item in invoice_items(first, second)] == ["Toner"]


def test_carried_over_amount_and_allowances_are_no_items() -> None:
    rows = [HEADER, [(150, "1"), (250, "Toner"), (800, "2"), (1000, "10,00"), (1300, "20,00")],
            [(250, "Übertrag"), (1300, "20,00")],
            [(150, "2"), (250, "Papier"), (800, "1"), (1000, "5,00"), (1300, "5,00")],
            [(250, "Rabatt 10 %"), (1300, "-2,50")],
            [(900, "Summe netto"), (1300, "22,50")]]
    assert [item[0] for item in invoice_items(rows)] == ["Toner", "Papier"]


def test_section_title_ends_the_table() -> None:
    rows = [HEADER, [(150, "1"), (250, "Toner"), (800, "2"), (1000, "10,00"), (1300, "20,00")],
            [(150, "Zahlungsbedingungen:")],
            [(250, "Zahlbar bis 30.01.2025"), (1300, "20,00")]]
    assert [item[0] for item in invoice_items(rows)] == ["Toner"]


def test_description_printed_under_its_amount_row() -> None:
    rows = [[(150, "GTIN"), (400, "Menge"), (700, "Nettopreis"), (1300, "Nettowert")],
            [(150, "Artikelbezeichnung")],
            [(150, "4123456000014"), (400, "5"), (700, "1,00"), (1300, "5,00")],
            [(150, "Zitronensäure 100ml")],
            [(900, "Summe netto"), (1300, "5,00")]]
    assert invoice_items(rows) == [("Zitronensäure 100ml", d("5"), d("1.00"), d("5.00"), None)]


def test_vat_rate_in_the_description_cell() -> None:
    rows = [HEADER, [(150, "1"), (250, "Toner schwarz (19 %)"), (800, "2"), (1000, "10,00"), (1300, "20,00")],
            [(900, "Summe netto"), (1300, "20,00")]]
    assert invoice_items(rows) == [("Toner schwarz", d("2"), d("10.00"), d("20.00"), d("19"))]


def test_vat_column() -> None:
    rows = [[(150, "Beschreibung"), (600, "Menge"), (800, "Preis"), (1000, "MwSt"), (1300, "Betrag")],
            [(150, "Beratung"), (600, "3"), (800, "100,00"), (1000, "19 %"), (1300, "300,00")],
            [(900, "Summe netto"), (1300, "300,00")]]
    assert invoice_items(rows) == [("Beratung", d("3"), d("100.00"), d("300.00"), d("19"))]


def test_quantity_without_its_column_from_quantity_times_price() -> None:
    rows = [[(150, "#"), (300, "Produkt"), (900, "Einzelpreis"), (1300, "Summe")],
            [(150, "400,00"), (300, "Luftballon"), (900, "0,79"), (1300, "316,00")],
            [(700, "Summe netto"), (1300, "316,00")]]
    assert invoice_items(rows) == [("Luftballon", d("400.00"), d("0.79"), d("316.00"), None)]


# --- the check --------------------------------------------------------------------------------------------

def receipt(items: list[LineItem], **fields: str) -> Receipt:
    values = {"date": {"value": "2024-09-04"}, **{k: {"value": v} for k, v in fields.items()}}
    return Receipt.model_validate({**values, "line_items": [i.model_dump() for i in items]})


def mismatch(document: Receipt | Invoice) -> str:
    found = [i for i in validate(document, today=TODAY) if i.code == "line_items_mismatch"]
    assert len(found) == 1
    return found[0].message


def test_a_line_that_is_no_item_is_named() -> None:
    items = [LineItem(description="DATUM: .24 14:44:37", amount=d("4.09"), confidence=0.59),
             LineItem(description="Brötchen", quantity=d(3), unit_price=d("0.45"), amount=d("1.35"), confidence=0.8),
             LineItem(description="Roggenbrot", quantity=d(2), unit_price=d("3.90"), amount=d("7.80"), confidence=0.8)]
    message = mismatch(receipt(items, total="9.15"))
    assert "Line 1 (DATUM" in message and "may be no item" in message and "9.15" in message


def test_a_line_whose_quantity_times_price_explains_the_difference_is_named() -> None:
    items = [LineItem(description="Brötchen", quantity=d(3), unit_price=d("0.45"), amount=d("1.35")),
             LineItem(description="Roggenbrot", quantity=d(2), unit_price=d("3.90"), amount=d("8.30"))]
    message = mismatch(receipt(items, subtotal="9.15", total="9.15"))
    assert "Line 2 (Roggenbrot" in message and "7.80" in message


def test_items_matching_the_total_without_tax_raise_nothing() -> None:
    items = [LineItem(description="Tea", amount=d("10.00"))]
    issues = validate(receipt(items, total="10.80", tax_total="0.80"), today=TODAY)
    assert "line_items_mismatch" not in [i.code for i in issues]


def test_no_single_line_explains_the_difference() -> None:
    items = [LineItem(description="Tea", amount=d("2.00")), LineItem(description="Cake", amount=d("3.00"))]
    message = mismatch(receipt(items, subtotal="9.00", total="9.00"))
    assert "4.00 may be missing" in message and "no single line" in message


def test_invoice_suspect_line() -> None:
    items = [LineItem(description="Work", quantity=d(10), unit_price=d("9.00"), amount=d("90.00"), confidence=0.8),
             LineItem(description="Übertrag", amount=d("90.00"), confidence=0.4)]
    invoice = Invoice.model_validate({"net_total": {"value": "90.00"},
                                      "line_items": [i.model_dump() for i in items]})
    message = mismatch(invoice)
    assert "Line 2 (Übertrag" in message and "net total" in message


def test_description_over_two_lines_without_its_notes() -> None:
    rows = [HEADER,
            [(150, "1"), (250, "Mineralwasser"), (800, "20"), (1000, "5,49"), (1300, "109,80")],
            [(250, "Medium 12 x 1,0l")],
            [(250, "Verpackung: Kiste")],
            [(150, "2"), (250, "Kunstrasen"), (800, "3"), (1000, "3,33"), (1300, "10,00")],
            [(900, "Summe netto"), (1300, "119,80")]]
    invoice = extract_invoice([PageText(number=1, width=1654, height=2339, origin="text", lines=[
        TextLine(text=text, bbox=(x, 100 + i * 26, x + 12 * len(text), 124 + i * 26), score=0.98)
        for i, row in enumerate(rows) for x, text in row])])
    assert [item.description for item in invoice.line_items] == ["Mineralwasser Medium 12 x 1,0l", "Kunstrasen"]


def test_description_with_a_number_in_it() -> None:
    rows = [HEADER, [(150, "5"), (250, "Leergutpfand 20 x 0,5l"), (800, "15"), (1000, "3,10"), (1300, "46,50")],
            [(900, "Summe netto"), (1300, "46,50")]]
    assert invoice_items(rows) == [("Leergutpfand 20 x 0,5l", d("15"), d("3.10"), d("46.50"), None)]
