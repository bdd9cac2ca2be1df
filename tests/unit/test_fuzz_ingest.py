"""Fuzzing ingest: random and mutated files of every supported type give a document or an InputError, nothing else."""

from io import BytesIO

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from PIL import Image, ImageDraw
from pypdf import PdfWriter
from reportlab.pdfgen.canvas import Canvas

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest import SUPPORTED_SUFFIXES, load_bytes

SETTINGS = Settings(max_pixels=2_000_000, max_pages=3, render_dpi=72)


def _image(fmt: str, **options: object) -> bytes:
    image = Image.new("RGB", (48, 32), "white")
    ImageDraw.Draw(image).text((2, 10), "9.00", fill="black")
    buffer = BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _pdf() -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(200, 100))
    canvas.drawString(10, 50, "Total 9.00")
    canvas.showPage()
    canvas.save()
    writer = PdfWriter(clone_from=BytesIO(buffer.getvalue()))
    writer.add_attachment("factur-x.xml", b'<x:CrossIndustryInvoice xmlns:x="urn:x"><a>1</a></x:CrossIndustryInvoice>')
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8
    return _image("JPEG", exif=exif.tobytes())


SEEDS = [
    _image("JPEG"), _exif_jpeg(), _image("PNG"), _image("TIFF", compression="tiff_lzw"), _image("WEBP"),
    _image("BMP"), _pdf(),
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</ID></Invoice>',
]
MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP", b"BM",
         b"%PDF-1.7\n", b"<?xml version='1.0'?>"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[position:position + draw(st.integers(1, 64))]
        if not data:
            break
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


FILES = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda magic, tail: magic + tail, st.sampled_from(MAGIC), st.binary(max_size=2048)),
    mutated(),
)


@hypothesis_settings(max_examples=300, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=FILES, suffix=st.sampled_from(SUPPORTED_SUFFIXES + (".docx", "")))
def test_only_input_errors_come_out(data: bytes, suffix: str) -> None:
    try:
        document = load_bytes(data, f"fuzz{suffix}", SETTINGS)
    except InputError as error:
        assert error.file == f"fuzz{suffix}" and error.reason
        return
    assert len(document.pages) <= SETTINGS.max_pages
    for page in document.pages:
        assert page.image.mode == "RGB"
        assert page.image.width * page.image.height <= SETTINGS.max_pixels
    assert document.pages or document.xml is not None
