"""Duplicates: same supplier+date+total, same number, near-identical page image; names compared loosely."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from schemas import DocumentResult, Extracted, Invoice, LineItem, Party, Receipt, Source, TaxLine
from workbench.duplicates import (PageContent, crop_hash, duplicate_ids, find_duplicates, image_hash, name_key,
                                  same_page, shared_blocks)
from workbench.store import Store


def _receipt(merchant: str, date: str, total: str, number: str | None = None) -> Receipt:
    return Receipt(merchant_name=Extracted(value=merchant), date=Extracted(value=dt.date.fromisoformat(date)),
                   total=Extracted(value=Decimal(total)), receipt_number=Extracted(value=number))


def _invoice(seller: str, number: str, total: str) -> Invoice:
    return Invoice(seller=Party(name=Extracted(value=seller)), invoice_number=Extracted(value=number),
                   grand_total=Extracted(value=Decimal(total)), issue_date=Extracted(value=dt.date(2024, 1, 2)))


def _page(seed: int) -> Image.Image:
    image = Image.new("RGB", (300, 400), "white")
    draw = ImageDraw.Draw(image)
    for row in range(12):
        width = 60 + (row * 37 + seed * 53) % 200
        draw.rectangle((20, 20 + row * 30, 20 + width, 34 + row * 30), fill="black")
    return image


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    yield store
    store.close()


def _add(store: Store, number: int, document: Receipt | Invoice, phash: str | None = None) -> int:
    kind = "invoice" if isinstance(document, Invoice) else "receipt"
    result = DocumentResult(file=f"f{number}", doc_type=kind, engine="fake", document=document,
                            content_hash=f"{number:064d}")
    return store.add(result, [], "ann", phash=phash)


def test_name_key_ignores_case_punctuation_legal_form_and_registration():
    assert name_key("99 Speed Mart S/B (519537-X)") == name_key("99 SPEED MART")
    assert name_key("Müller GmbH") == name_key("MULLER")
    assert name_key("ACME Sdn. Bhd.") == name_key("acme sdn bhd")
    assert name_key("ACME") != name_key("ACNE")
    assert name_key("(...)") is None and name_key(None) is None


def test_same_supplier_date_and_total_is_a_likely_duplicate(store):
    a = _add(store, 1, _receipt("ACME SDN BHD", "2018-12-25", "9.00"))
    b = _add(store, 2, _receipt("Acme Sdn. Bhd.", "2018-12-25", "9.00"))
    _add(store, 3, _receipt("ACME SDN BHD", "2018-12-25", "9.10"))
    _add(store, 4, _receipt("ACME SDN BHD", "2018-12-26", "9.00"))
    found = find_duplicates(store.list())
    assert set(found) == {a, b}
    assert [(d.other_id, d.kind) for d in found[a]] == [(b, "same_total")]
    assert "2018-12-25" in found[b][0].reason


def test_same_invoice_number_from_the_same_supplier(store):
    a = _add(store, 1, _invoice("Lieferant GmbH", "RE-471102", "100.00"))
    b = _add(store, 2, _invoice("LIEFERANT", "re 471102", "90.00"))
    _add(store, 3, _invoice("Other AG", "RE-471102", "100.00"))
    found = find_duplicates(store.list())
    assert set(found) == {a, b}
    assert found[a][0].kind == "same_number"


def test_near_identical_page_images_by_perceptual_hash(store):
    original = _page(1)
    rescanned = original.resize((290, 390)).rotate(0.5, fillcolor="white")
    other = _page(7)
    a = _add(store, 1, _receipt("A", "2020-01-01", "1.00"), image_hash(original))
    b = _add(store, 2, _receipt("B", "2021-01-01", "2.00"), image_hash(rescanned))
    c = _add(store, 3, _receipt("C", "2022-01-01", "3.00"), image_hash(other))
    found = find_duplicates(store.list())
    assert [d.other_id for d in found[a]] == [b]
    assert found[b][0].kind == "same_image"
    assert c not in found


def test_unread_documents_and_missing_fields_are_not_matched(store):
    _add(store, 1, _receipt("ACME", "2018-12-25", "9.00"))
    store.add(DocumentResult(file="bad", engine="fake", error="bad: corrupt", content_hash="f" * 64), [], "ann")
    _add(store, 2, Receipt(merchant_name=Extracted(value="ACME"), total=Extracted(value=Decimal("9.00"))))
    assert find_duplicates(store.list()) == {}


def test_duplicate_ids_for_the_grid(store):
    a = _add(store, 1, _receipt("ACME", "2018-12-25", "9.00"))
    b = _add(store, 2, _receipt("ACME", "2018-12-25", "9.00"))
    assert duplicate_ids(store.list()) == {a: [b], b: [a]}


SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "receipt_de_bakery.png"


class _TwoScans:
    """Reads every page as the same receipt, but with the name and date misread differently per scan."""

    name = "fake-scans"

    def read(self, source, doc_type):
        cropped = source.pages[0].image.height < 700
        text = "BACKEREI MULLER Brot 1,20 Kaffee 2,40 SUMME 9,15"
        return Receipt(
            merchant_name=Extracted(value="BACKERE1" if cropped else "BÄCKEREI MÜLLER", confidence=0.6,
                                    source=Source(page=1, text=text)),
            date=Extracted(value=dt.date(2022, 9, 3 if cropped else 13), confidence=0.6),
            total=Extracted(value=Decimal("9.15"), confidence=0.9),
            tax_lines=[TaxLine(rate=Decimal("7"), base=Decimal("8.55"), amount=Decimal("0.60"))],
            line_items=[LineItem(description="Brot", amount=Decimal("1.20"))])


def test_a_cropped_second_scan_is_found_at_import_before_any_correction(tmp_path):
    from workbench.batch import import_bytes
    from workbench.config import Settings

    settings = Settings(db=tmp_path / "db.sqlite", auto_approve="off")
    store = Store(settings.db)
    original = Image.open(SAMPLE).convert("RGB")
    width, height = original.size
    cropped = original.crop((int(width * 0.04), int(height * 0.12), int(width * 0.95), int(height * 0.86)))
    ids = []
    for name, image in (("scan.png", original), ("scan-cropped.png", cropped)):
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        ids.append(import_bytes(buffer.getvalue(), name, store, _TwoScans(), settings)[0])
    documents = store.list()
    assert all(d.crop_hash for d in documents)
    assert shared_blocks(documents[0].crop_hash, documents[1].crop_hash) >= 1
    found = find_duplicates(documents)
    assert [(d.other_id, d.kind) for d in found[ids[0]]] == [(ids[1], "same_page")]
    assert "amounts alike" in found[ids[0]][0].reason and "of print alike" in found[ids[0]][0].reason
    store.close()


def test_crop_hash_tells_different_receipts_apart():
    samples = Path(__file__).resolve().parents[2] / "samples"
    bakery = crop_hash(Image.open(SAMPLE).convert("RGB"))
    for other in ("receipt_us_diner.jpg", "receipt_ch_grocery.jpg", "receipt_my_hardware.jpg"):
        assert shared_blocks(bakery, crop_hash(Image.open(samples / other).convert("RGB"))) == 0


def test_same_amounts_alone_are_not_the_same_page():
    one = PageContent(Decimal("9.15"), frozenset({Decimal("9.15"), Decimal("1.20")}), "BACKEREI Brot", None)
    other = PageContent(Decimal("9.15"), frozenset({Decimal("9.15")}), "TANKSTELLE Diesel", None)
    assert same_page(one, other) is None
    assert same_page(one, PageContent(Decimal("9.15"), one.amounts, "BACKEREI Brot SUMME", None)).startswith(
        "same page content: 2 of 2 amounts alike, text")
    assert same_page(one, PageContent(Decimal("3.00"), frozenset({Decimal("3.00")}), one.text, None)) is None
