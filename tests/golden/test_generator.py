"""The sample generator: expected values fit the schemas and add up, output is deterministic, photos need EXIF."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from schemas import Invoice, Receipt
from tests.golden.sampleset import EXPECTED, SAMPLES, expected_of, load_generator, sample_names

DOCUMENT_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".pdf", ".xml"}


def _as_model(doc_type: str, values: dict) -> Receipt | Invoice:
    """Expected values wrapped as Extracted fields and validated by the real schema."""
    wrapped: dict[str, object] = {}
    for key, value in values.items():
        if key in ("tax_lines", "line_items"):
            wrapped[key] = value
        elif key in ("seller", "buyer"):
            wrapped[key] = {part: {"value": v} for part, v in value.items()}
        else:
            wrapped[key] = {"value": value}
    model = Receipt if doc_type == "receipt" else Invoice
    return model.model_validate(wrapped)


def _fonts_present() -> bool:
    generator = load_generator()
    try:
        for family in generator.RECEIPT_FAMILIES + generator.INVOICE_FAMILIES:
            generator.font_path(family, False)
            generator.font_path(family, True)
    except FileNotFoundError:
        return False
    return True


def test_every_sample_document_has_expected_values() -> None:
    documents = {p.name for p in SAMPLES.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES}
    expected = set(sample_names())
    assert documents == expected
    assert len(documents) >= 8
    assert sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file()) < 3_000_000


@pytest.mark.parametrize("name", sample_names())
def test_expected_values_fit_the_schema(name: str) -> None:
    record = expected_of(name)
    model = _as_model(record["doc_type"], record["document"])
    assert (model.total if isinstance(model, Receipt) else model.grand_total).value is not None


@pytest.mark.parametrize("name", [n for n in sample_names() if not n.startswith("zugferd_")])
def test_synthetic_amounts_add_up(name: str) -> None:
    record = expected_of(name)
    values = record["document"]

    def amount(key: str) -> Decimal:
        return Decimal(values.get(key) or "0")

    items = sum((Decimal(item["amount"]) for item in values["line_items"]), Decimal("0"))
    taxes = values["tax_lines"]
    if record["doc_type"] == "invoice":
        assert amount("net_total") + amount("tax_total") == amount("grand_total")
        assert items == amount("net_total")
        assert sum(Decimal(t["amount"]) for t in taxes) == amount("tax_total")
        return
    if values["subtotal"] is not None:
        assert items == amount("subtotal")
    if taxes:
        gross = sum(Decimal(t["base"]) + Decimal(t["amount"]) for t in taxes)
        assert gross + amount("tip") + amount("rounding") == amount("total")
        assert sum(Decimal(t["amount"]) for t in taxes) == amount("tax_total")
    else:
        assert amount("subtotal") - amount("discount") + amount("tip") + amount("rounding") == amount("total")


def test_phone_photo_is_upright_only_through_its_exif_orientation() -> None:
    with Image.open(SAMPLES / "receipt_gb_photo.jpg") as photo:
        assert photo.getexif().get(0x0112) == 6
        assert photo.width > photo.height
        upright = ImageOps.exif_transpose(photo)
        assert upright.height > upright.width


def test_multi_page_tiff_has_two_pages() -> None:
    with Image.open(SAMPLES / "invoice_fr_fax.tiff") as tiff:
        assert tiff.n_frames == 2


def test_generate_receipts_is_deterministic_and_labelled(tmp_path: Path) -> None:
    if not _fonts_present():
        pytest.skip("fonts missing: apt-get install fonts-dejavu-core fonts-liberation fonts-freefont-ttf")
    generator = load_generator()
    first = generator.generate_receipts(4, 11, tmp_path / "a")
    second = generator.generate_receipts(4, 11, tmp_path / "b")
    other = generator.generate_receipts(1, 12, tmp_path / "c")
    assert [d.path.read_bytes() for d in first] == [d.path.read_bytes() for d in second]
    assert first[0].path.read_bytes() != other[0].path.read_bytes()
    assert len({d.locale for d in first}) == 4
    for doc in first:
        label = json.loads((doc.path.parent.parent / "labels" / f"{doc.path.stem}.json").read_text("utf-8"))
        assert label["fields"]["total"] == doc.expected["total"]
        assert label["fields"]["date"] == doc.expected["date"]
        assert label["expected"] == doc.expected
        _as_model("receipt", doc.expected)
        with Image.open(doc.path) as image:
            assert image.format == "JPEG"


def test_expected_folder_holds_only_sample_records() -> None:
    assert all(path.suffix == ".json" for path in EXPECTED.iterdir())
