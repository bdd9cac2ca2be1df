"""Tests of receipt vs invoice classification: words, page shape, and the SROIE 'tax invoice' trap."""

import json
from pathlib import Path

import pytest
from PIL import Image

from schemas import PageText, TextLine
from workbench.extract.classify import classify

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def page(texts: list[str], width: int = 1654, height: int = 2339, origin: str = "ocr") -> PageText:
    lines = [TextLine(text=text, bbox=(100, 100 + 40 * i, 100 + 14 * len(text), 124 + 40 * i), score=0.95)
             for i, text in enumerate(texts)]
    return PageText(number=1, width=width, height=height, lines=lines, origin=origin)


MALAYSIAN_RECEIPT = [
    "99 SPEED MART S/B (519537-X)", "LOT P.T. 2811, JALAN ANGSA,", "TAX INVOICE", "INVOICE NO: 18214/102/T0225",
    "DATE: 25/12/2018 12:39:22", "CASHIER: NURUL", "MILO 1KG 1 X 15.90 15.90 SR", "TOTAL SALES (INCLUSIVE GST) 15.90",
    "ROUNDING ADJ 0.00", "CASH 20.00", "CHANGE 4.10", "THANK YOU. PLEASE COME AGAIN",
]

GERMAN_INVOICE = [
    "Muster GmbH | Hauptstr. 5 | 10115 Berlin", "Rechnung Nr. RE-2024-0815", "Rechnungsdatum 14.03.2024",
    "Kundennummer 4711", "Leistungsdatum 10.03.2024", "Summe netto 120,00 €", "MwSt. 19 % 22,80 €",
    "Gesamtbetrag 142,80 €", "Zahlbar innerhalb 14 Tagen ohne Abzug",
    "IBAN DE88 2008 0000 0970 3757 00  BIC COBADEFFXXX", "USt-IdNr. DE136695976",
]

FRENCH_INVOICE = [
    "Boulangerie Martin SARL", "FACTURE N° F2024-031", "Date de facture : 02/05/2024", "Échéance : 01/06/2024",
    "Total HT 500,00 €", "TVA 5,5 % 27,50 €", "Total TTC 527,50 €", "N° TVA intracommunautaire FR40303265045",
]

ENGLISH_INVOICE = [
    "Northwind Traders Ltd", "INVOICE", "Invoice No. INV-10442", "Invoice date 5 February 2024",
    "Bill to: Contoso plc", "Payment terms: net 30 days", "Subtotal £950.00", "VAT 20% £190.00", "Total due £1,140.00",
]


def test_till_receipt_titled_tax_invoice_is_a_receipt() -> None:
    assert classify([page(MALAYSIAN_RECEIPT, width=600, height=1500)]) == "receipt"


def test_receipt_photographed_on_an_a4_shaped_image_is_still_a_receipt() -> None:
    assert classify([page(MALAYSIAN_RECEIPT, width=1240, height=1754)]) == "receipt"


@pytest.mark.parametrize("texts", [GERMAN_INVOICE, FRENCH_INVOICE, ENGLISH_INVOICE])
def test_invoices_in_three_languages(texts: list[str]) -> None:
    assert classify([page(texts)]) == "invoice"


def test_invoice_scanned_without_bank_details_is_an_invoice() -> None:
    assert classify([page(ENGLISH_INVOICE[:6])]) == "invoice"


def test_empty_document_defaults_to_receipt() -> None:
    assert classify([]) == "receipt"


def test_sroie_receipts_read_as_receipts() -> None:
    """Every SROIE training receipt, from the dataset's own line transcriptions and image size (≥ 99 %)."""
    labels = DATA / "sroie-train" / "labels"
    if not labels.is_dir():
        pytest.skip("../shared/data not present")
    paths = sorted(labels.glob("*.json"))
    receipts = 0
    for path in paths:
        label = json.loads(path.read_text(encoding="utf-8"))
        with Image.open(DATA / "sroie-train" / label["image"]) as image:
            width, height = image.size
        lines = [TextLine(text=line["text"], bbox=(min(line["quad"][0::2]), min(line["quad"][1::2]),
                                                   max(line["quad"][0::2]), max(line["quad"][1::2])))
                 for line in label["ocr_lines"]]
        receipts += classify([PageText(number=1, width=width, height=height, lines=lines)]) == "receipt"
    assert receipts >= 0.99 * len(paths)
