"""Read a PDF: refuse encrypted, corrupt and over-long files, render each page once, take text layer and XML."""

import logging
import math
from io import BytesIO
from statistics import median
from typing import Any

import pdfplumber
from pdf2image import convert_from_bytes
from pdf2image.exceptions import (
    PDFInfoNotInstalledError,
    PDFPageCountError,
    PDFPopplerTimeoutError,
    PDFSyntaxError,
    PopplerNotInstalledError,
)
from PIL import Image
from pypdf import PasswordType, PdfReader

from schemas import Page, TextLine
from workbench.config import Settings
from workbench.errors import ConfigError, InputError
from workbench.ingest.einvoice import find_embedded_einvoice
from workbench.ingest.limits import check_page_count

log = logging.getLogger(__name__)

_POINTS_PER_INCH = 72.0
# Below this resolution text is unreadable; a page that only fits the pixel limit below it is refused.
_MIN_DPI = 50
_RENDER_TIMEOUT_S = 30
_RENDER_TIMEOUT_PER_PAGE_S = 10
# Words on one baseline further apart than this many text heights are separate lines (table columns,
# a label and its far-right amount), as an OCR detector would box them.
_COLUMN_GAP_HEIGHTS = 1.5
# Words whose bottoms differ by less than this share of their height sit on one baseline.
_BASELINE_TOLERANCE = 0.3
# A page mostly covered by one image is a scan; its few text characters (a stamp, a page number, a fax
# header) are no text layer unless there are at least this many, as an OCR layer over the scan has.
_SCAN_COVERAGE = 0.5
_MIN_CHARS_OVER_SCAN = 50
# Text drawn with fonts that lack a Unicode map comes out as "(cid:12)"; such a layer is unusable.
_MAX_UNMAPPED_SHARE = 0.2
_MAX_DETAIL = 160


def read_pdf(data: bytes, label: str, settings: Settings) -> tuple[list[Page], bytes | None, str | None]:
    """The PDF's pages (rendered once at settings.render_dpi, with their text layer) and e-invoice XML."""
    reader, sizes = _open(data, label, settings)
    try:
        embedded = find_embedded_einvoice(reader, label)
    except InputError:
        raise
    except Exception as error:
        raise InputError(label, f"the PDF is corrupt: its attachments cannot be read ({_brief(error)})") from error
    images = _render(data, label, _fitting_dpi(sizes, label, settings), len(sizes))
    text_lines = _text_layer(data, label, images)
    pages = [Page(number=number, image=image, text_lines=lines)
             for number, (image, lines) in enumerate(zip(images, text_lines, strict=True), start=1)]
    xml, xml_name = embedded if embedded is not None else (None, None)
    return pages, xml, xml_name


def _open(data: bytes, label: str, settings: Settings) -> tuple[PdfReader, list[tuple[float, float]]]:
    """The pypdf reader and each page's size in inches; refuses password-protected and over-long PDFs."""
    try:
        reader = PdfReader(BytesIO(data), strict=False)
        # Many PDFs are encrypted only against editing, with an empty password for reading.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise InputError(label, "the PDF is password-protected; open it with its password, save or print "
                                    "it as a new PDF without one, and try again")
        count = len(reader.pages)
        if count == 0:
            raise InputError(label, "the PDF has no pages")
        check_page_count(label, count, settings)
        sizes = [_size_in_inches(page) for page in reader.pages]
    except InputError:
        raise
    # pypdf raises many types on damaged files (PdfReadError, ValueError, KeyError, TypeError, ...).
    except Exception as error:
        raise InputError(label, f"the PDF is corrupt or not a PDF ({_brief(error)})") from error
    return reader, sizes


def _size_in_inches(page: Any) -> tuple[float, float]:
    box = page.mediabox
    unit = float(page.user_unit)
    return abs(float(box.width)) * unit / _POINTS_PER_INCH, abs(float(box.height)) * unit / _POINTS_PER_INCH


def _fitting_dpi(sizes: list[tuple[float, float]], label: str, settings: Settings) -> int:
    """settings.render_dpi, lowered so that the largest page stays within settings.max_pixels."""
    number, (width, height) = max(enumerate(sizes, start=1), key=lambda item: item[1][0] * item[1][1])
    area = max(width * height, 1e-6)
    dpi = min(settings.render_dpi, math.floor(math.sqrt(settings.max_pixels / area)))
    if dpi < _MIN_DPI:
        raise InputError(
            label,
            f"refused: page {number} measures {width:.0f} x {height:.0f} inches; even at {_MIN_DPI} dpi it would "
            f"exceed the limit of {settings.max_pixels:,} pixels (setting WORKBENCH_MAX_PIXELS)",
        )
    return dpi


def _render(data: bytes, label: str, dpi: int, count: int) -> list[Image.Image]:
    """Every page rendered by poppler's pdftoppm in one run, decoded to RGB images."""
    try:
        images = convert_from_bytes(data, dpi=dpi, fmt="ppm", strict=False,
                                    timeout=_RENDER_TIMEOUT_S + _RENDER_TIMEOUT_PER_PAGE_S * count)
    except (PDFInfoNotInstalledError, PopplerNotInstalledError) as error:
        raise ConfigError("poppler-utils is not installed, so PDFs cannot be rendered; install it "
                          "(Debian/Ubuntu: apt-get install poppler-utils) or run scripts/setup.sh") from error
    except PDFPopplerTimeoutError as error:
        raise InputError(label, f"rendering the PDF took longer than {_RENDER_TIMEOUT_S} s plus "
                                f"{_RENDER_TIMEOUT_PER_PAGE_S} s per page; the file may be damaged") from error
    except (PDFPageCountError, PDFSyntaxError) as error:
        raise InputError(label, f"the PDF is corrupt: poppler cannot read it ({_brief(error)})") from error
    if len(images) != count:
        raise InputError(label, f"the PDF is corrupt: only {len(images)} of its {count} pages could be rendered")
    try:
        for image in images:
            image.load()
    except Exception as error:
        raise InputError(label, f"the PDF is corrupt: a rendered page cannot be decoded ({_brief(error)})") from error
    return [image if image.mode == "RGB" else image.convert("RGB") for image in images]


def _text_layer(data: bytes, label: str, images: list[Image.Image]) -> list[list[TextLine] | None]:
    """Each page's text lines in its image's pixels, or None for a page without a usable text layer.

    pdfminer fails on some fonts and structures that poppler renders fine; such a page is read like a
    scan (None), and the failure is logged.
    """
    try:
        with pdfplumber.open(BytesIO(data), password="") as pdf:
            lines = []
            for page, image in zip(pdf.pages, images, strict=True):
                try:
                    lines.append(_page_lines(page, image.size))
                except Exception as error:
                    log.warning("%s: page %d's text layer cannot be read (%s); it will be OCR'd",
                                label, page.page_number, error)
                    lines.append(None)
                finally:
                    page.close()
            return lines
    except Exception as error:
        log.warning("%s: the text layer cannot be read (%s); the pages will be OCR'd", label, error)
        return [None] * len(images)


def _page_lines(page: Any, pixels: tuple[int, int]) -> list[TextLine] | None:
    """The page's words grouped into lines, in pixel coordinates, when the page has real text."""
    page_x0, page_top, page_x1, page_bottom = page.bbox
    upright = page.filter(lambda obj: obj["object_type"] != "char" or _reads_upright(obj))
    words = [
        word for word in upright.dedupe_chars().extract_words(x_tolerance_ratio=0.15)
        if word["x1"] > page_x0 and word["x0"] < page_x1 and word["bottom"] > page_top and word["top"] < page_bottom
    ]
    if not _is_real_text(page, words):
        return None
    scale_x = pixels[0] / page.width
    scale_y = pixels[1] / page.height
    lines = []
    for group in _group_lines(words):
        x0 = max(0.0, (min(word["x0"] for word in group) - page_x0) * scale_x)
        top = max(0.0, (min(word["top"] for word in group) - page_top) * scale_y)
        x1 = min(float(pixels[0]), (max(word["x1"] for word in group) - page_x0) * scale_x)
        bottom = min(float(pixels[1]), (max(word["bottom"] for word in group) - page_top) * scale_y)
        text = " ".join(word["text"] for word in group)
        lines.append(TextLine(text=text, bbox=(round(x0, 1), round(top, 1), round(x1, 1), round(bottom, 1))))
    return lines


def _reads_upright(char: dict[str, Any]) -> bool:
    """Whether a character appears upright (within 45 degrees) on the rendered page.

    pdfplumber's character matrix already includes the page's /Rotate. Sideways or upside-down text
    (a margin note, or a page turned in a viewer) is left to OCR, which sees the page the same way.
    """
    a, b = char["matrix"][:2]
    return a > abs(b)


def _is_real_text(page: Any, words: list[dict[str, Any]]) -> bool:
    """Whether the words are a text layer worth reading instead of the pixels."""
    characters = sum(1 for word in words for char in word["text"] if char.isalnum())
    if characters == 0:
        return False
    unmapped = sum(1 for word in words if "(cid:" in word["text"] or "\ufffd" in word["text"])
    if unmapped > _MAX_UNMAPPED_SHARE * len(words):
        return False
    page_area = max(page.width * page.height, 1e-6)
    largest_image = max(((image["x1"] - image["x0"]) * (image["bottom"] - image["top"]) for image in page.images),
                        default=0.0)
    return largest_image < _SCAN_COVERAGE * page_area or characters >= _MIN_CHARS_OVER_SCAN


def _group_lines(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Words grouped by baseline, left to right, split where a wide gap separates columns."""
    rows: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda word: (word["bottom"], word["x0"])):
        height = word["bottom"] - word["top"]
        if rows and word["bottom"] - rows[-1][0]["bottom"] <= _BASELINE_TOLERANCE * max(height, 1.0):
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = []
    for row in rows:
        row.sort(key=lambda word: word["x0"])
        gap_limit = _COLUMN_GAP_HEIGHTS * median(word["bottom"] - word["top"] for word in row)
        line = [row[0]]
        for word in row[1:]:
            if word["x0"] - line[-1]["x1"] > gap_limit:
                lines.append(line)
                line = []
            line.append(word)
        lines.append(line)
    return lines


def _brief(error: Exception) -> str:
    """An exception's first line, short enough for a one-line message (poppler prints pages of them)."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
