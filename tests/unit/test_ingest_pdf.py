"""Ingest of PDFs: rendering, the text layer in pixel coordinates, embedded e-invoice XML, and refusals."""

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest import load_bytes
from workbench.ingest import pdf as ingest_pdf
from workbench.ingest.einvoice import find_embedded_einvoice

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
LETTER = (612, 792)
CII = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice '
       b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"><rsm:ExchangedDocument/>'
       b"</rsm:CrossIndustryInvoice>")
UBL = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>7</ID></Invoice>'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "db.sqlite", render_dpi=100)


def text_pdf(pages: list[list[tuple[float, float, str]]], size: tuple[float, float] = LETTER) -> bytes:
    """A PDF with a text layer: each page a list of (x, y from the top, text) in points, Helvetica 12."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=size)
    for strings in pages:
        canvas.setFont("Helvetica", 12)
        for x, top, text in strings:
            canvas.drawString(x, size[1] - top, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def scan_pdf(stamp: str | None = None) -> bytes:
    """A PDF whose only page is a full-page picture, optionally with a short text stamp on it."""
    picture = Image.new("RGB", (200, 260), "white")
    picture.paste((0, 0, 0), (40, 40, 160, 60))
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    canvas.drawImage(ImageReader(picture), 0, 0, *LETTER)
    if stamp:
        canvas.drawString(500, 20, stamp)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def with_attachments(pdf: bytes, attachments: dict[str, bytes]) -> bytes:
    writer = PdfWriter(clone_from=BytesIO(pdf))
    for name, data in attachments.items():
        writer.add_attachment(name, data)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf(pages: int, size: tuple[float, float] = LETTER) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(*size)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def ink_in(image: Image.Image, bbox: tuple[float, float, float, float]) -> int:
    """The darkest value inside a box of a page image: low where text was drawn."""
    return min(image.convert("L").crop(tuple(round(value) for value in bbox)).get_flattened_data())


def test_text_layer_lines_are_grouped_by_baseline_and_scaled_to_pixels(settings: Settings) -> None:
    data = text_pdf([[(72, 100, "ACME"), (110, 100, "Trading"), (160, 100, "Ltd"), (400, 100, "9.00"),
                      (72, 200, "Total due")], [(72, 72, "Page two")]])
    document = load_bytes(data, "invoice.pdf", settings)
    assert document.media_type == "application/pdf" and document.xml is None
    first, second = document.pages
    assert first.image.size == (850, 1100) and first.image.mode == "RGB"  # 8.5 x 11 in at 100 dpi
    assert [line.text for line in first.text_lines] == ["ACME Trading Ltd", "9.00", "Total due"]
    acme = first.text_lines[0]
    scale = 100 / 72
    assert acme.score == 1.0
    assert acme.bbox[0] == pytest.approx(72 * scale, abs=2)
    assert acme.bbox[3] == pytest.approx(100 * scale, abs=6)  # the baseline, a descender's depth above bottom
    assert acme.bbox[1] < acme.bbox[3] < 100 * scale + 6
    for line in first.text_lines:
        assert ink_in(first.image, line.bbox) < 100, line.text
    assert [line.text for line in second.text_lines] == ["Page two"]


def landscape_pdf(rotation: int) -> bytes:
    """A portrait page with /Rotate `rotation` whose text is drawn counter-rotated: it displays upright."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    canvas.setFont("Helvetica", 12)
    canvas.translate(LETTER[0] / 2, LETTER[1] / 2)
    canvas.rotate(rotation)
    canvas.drawString(-100, 50, "Landscape invoice 42")
    canvas.drawString(-100, 20, "Total 9.00")
    canvas.showPage()
    canvas.save()
    writer = PdfWriter(clone_from=BytesIO(buffer.getvalue()))
    writer.pages[0].rotate(rotation)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_text_boxes_follow_a_rotated_page(rotation: int, settings: Settings) -> None:
    page = load_bytes(landscape_pdf(rotation), "turned.pdf", settings).pages[0]
    assert page.image.size == ((1100, 850) if rotation % 180 else (850, 1100))
    assert [line.text for line in page.text_lines] == ["Landscape invoice 42", "Total 9.00"]
    for line in page.text_lines:
        assert ink_in(page.image, line.bbox) < 100, line.text


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_sideways_text_is_left_to_ocr(rotation: int, settings: Settings) -> None:
    writer = PdfWriter(clone_from=BytesIO(text_pdf([[(72, 100, "Turned in a viewer")]])))
    writer.pages[0].rotate(rotation)
    out = BytesIO()
    writer.write(out)
    assert load_bytes(out.getvalue(), "sideways.pdf", settings).pages[0].text_lines is None


def test_scanned_page_has_no_text_layer_even_with_a_stamp(settings: Settings) -> None:
    for data in (scan_pdf(), scan_pdf(stamp="Page 1")):
        page = load_bytes(data, "scan.pdf", settings).pages[0]
        assert page.text_lines is None
        assert page.image.getpixel((300, 200)) == (0, 0, 0)  # the picture's black bar, rendered


def test_page_is_rendered_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    render = ingest_pdf.convert_from_bytes
    monkeypatch.setattr(ingest_pdf, "convert_from_bytes",
                        lambda *args, **kwargs: calls.append(1) or render(*args, **kwargs))
    assert len(load_bytes(blank_pdf(3), "three.pdf", settings).pages) == 3
    assert calls == [1]


def test_page_limit_refuses_before_rendering(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_pdf, "convert_from_bytes", lambda *args, **kwargs: pytest.fail("rendered"))
    with pytest.raises(InputError, match="60 pages, over the limit of 50 pages.*WORKBENCH_MAX_PAGES"):
        load_bytes(blank_pdf(60), "long.pdf", settings.model_copy(update={"max_pages": 50}))


def test_huge_page_is_rendered_within_the_pixel_limit_or_refused(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_pixels": 1_000_000})
    image = load_bytes(blank_pdf(1), "letter.pdf", capped).pages[0].image
    assert image.width * image.height <= 1_000_000 and image.width > 800
    with pytest.raises(InputError, match="page 1 measures 200 x 200 inches.*WORKBENCH_MAX_PIXELS"):
        load_bytes(blank_pdf(1, size=(14_400, 14_400)), "poster.pdf", settings)


def test_password_protected_pdf_is_refused_and_owner_only_protection_is_not(settings: Settings) -> None:
    for user_password, readable in (("secret", False), ("", True)):
        writer = PdfWriter(clone_from=BytesIO(text_pdf([[(72, 72, "Confidential")]])))
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
        out = BytesIO()
        writer.write(out)
        if readable:
            page = load_bytes(out.getvalue(), "locked.pdf", settings).pages[0]
            assert [line.text for line in page.text_lines] == ["Confidential"]
        else:
            with pytest.raises(InputError, match="password-protected"):
                load_bytes(out.getvalue(), "locked.pdf", settings)


@pytest.mark.parametrize("content", [
    b"%PDF-1.7\n" + bytes(range(256)) * 8,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_corrupt_pdf_is_refused(content: bytes, settings: Settings) -> None:
    with pytest.raises(InputError, match="corrupt"):
        load_bytes(content, "broken.pdf", settings)


def test_text_named_pdf_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match="is not a PDF: its content is plain text"):
        load_bytes(b"invoice 42, total 9.00", "invoice.pdf", settings)


@pytest.mark.parametrize("name,xml,found", [
    ("factur-x.xml", CII, True),
    ("ZUGFeRD-invoice.xml", CII, True),
    ("XRechnung.XML", CII, True),
    ("invoice-data.xml", UBL, True),
    ("notes.xml", b"<notes>not an invoice</notes>", False),
    ("broken-extra.xml", b"<a><b></a>", False),
])
def test_embedded_einvoice_xml_is_found_by_name_or_root(name: str, xml: bytes, found: bool,
                                                        settings: Settings) -> None:
    data = with_attachments(blank_pdf(1), {name: xml})
    document = load_bytes(data, "hybrid.pdf", settings)
    assert (document.xml, document.xml_name) == ((xml, name) if found else (None, None))
    assert len(document.pages) == 1


def test_standard_name_wins_over_other_invoice_xml(settings: Settings) -> None:
    data = with_attachments(blank_pdf(1), {"a-ubl.xml": UBL, "factur-x.xml": CII})
    assert load_bytes(data, "hybrid.pdf", settings).xml_name == "factur-x.xml"


@pytest.mark.parametrize("xml,reason", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>', "entities"),
    (b"<rsm:CrossIndustryInvoice xmlns:rsm='x'><oops></rsm:CrossIndustryInvoice>", "not well-formed"),
])
def test_unsafe_or_broken_embedded_einvoice_is_refused(xml: bytes, reason: str, settings: Settings) -> None:
    data = with_attachments(blank_pdf(1), {"factur-x.xml": xml})
    with pytest.raises(InputError, match=reason) as refused:
        load_bytes(data, "hybrid.pdf", settings)
    assert refused.value.file == "hybrid.pdf"
    assert refused.value.reason.startswith("its attachment factur-x.xml: ")


def test_every_zugferd_dev_pdf_yields_its_xml_byte_for_byte() -> None:
    folder = DATA / "zugferd-dev"
    if not folder.is_dir():
        pytest.skip("../shared/data not present")
    pdfs = sorted((folder / "pdfs").glob("*.pdf"))
    assert len(pdfs) == 80
    for pdf in pdfs:
        found = find_embedded_einvoice(PdfReader(pdf), pdf.name)
        assert found is not None, pdf.name
        assert found[0] == (folder / "xml" / f"{pdf.stem}.xml").read_bytes(), pdf.name


def test_zugferd_pdf_loads_with_xml_text_layer_and_pages(settings: Settings) -> None:
    pdf = DATA / "zugferd-dev" / "pdfs" / "XML-Rechnung__FX__EN16931_Einfach.pdf"
    if not pdf.is_file():
        pytest.skip("../shared/data not present")
    document = load_bytes(pdf.read_bytes(), pdf.name, settings)
    assert document.xml_name == "factur-x.xml" and document.xml.startswith(b"<?xml")
    assert len(document.pages) == 2
    texts = [line.text for line in document.pages[0].text_lines]
    assert any("471102" in text for text in texts)
    assert any(text == "Lieferant GmbH" for text in texts)
