"""Turn a file's bytes into a SourceDocument: check size and type by content, then call the right reader."""

import codecs
import hashlib
from pathlib import Path

from schemas import Page, SourceDocument
from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest.images import read_image
from workbench.ingest.pdf import read_pdf
from workbench.ingest.einvoice import check_einvoice_xml

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted((*IMAGE_SUFFIXES, ".pdf", ".xml")))
"""File-name extensions the workbench reads (lower case, with the dot)."""

MEDIA_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "pdf": "application/pdf",
}

_SUFFIX_NAMES = {
    ".bmp": "a BMP image", ".jpeg": "a JPEG image", ".jpg": "a JPEG image", ".png": "a PNG image",
    ".tif": "a TIFF image", ".tiff": "a TIFF image", ".webp": "a WebP image", ".pdf": "a PDF",
}

# A PDF header may follow some junk bytes; readers (and poppler) look for it within the first kilobyte.
_PDF_HEADER_WINDOW = 1024


def content_hash(data: bytes) -> str:
    """The SHA-256 of a file's bytes as hex: the identity used to skip files imported before."""
    return hashlib.sha256(data).hexdigest()


def load_path(path: Path, settings: Settings, name: str | None = None) -> SourceDocument:
    """Load a file from disk; `name` (default: the path) labels the document and its errors."""
    label = name if name is not None else str(path)
    suffix = _checked_suffix(label, path.suffix)
    try:
        status = path.stat()
    except FileNotFoundError as error:
        raise InputError(label, "the file does not exist") from error
    except OSError as error:
        raise InputError(label, f"the file cannot be read ({error.strerror})") from error
    if not path.is_file():
        raise InputError(label, "is not a regular file")
    _check_size(label, status.st_size, settings)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(label, f"the file cannot be read ({error.strerror})") from error
    return _load(data, label, suffix, settings)


def load_bytes(data: bytes, name: str, settings: Settings) -> SourceDocument:
    """Load an upload's bytes; `name` is its file name, whose extension must be a supported one."""
    suffix = _checked_suffix(name, Path(name).suffix)
    _check_size(name, len(data), settings)
    return _load(data, name, suffix, settings)


def _checked_suffix(label: str, suffix: str) -> str:
    supported = ", ".join(SUPPORTED_SUFFIXES)
    if not suffix:
        raise InputError(label, f"the file name has no extension, so its type is unknown; supported types: {supported}")
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(label, f"unsupported file type '{suffix}'; supported types: {supported}")
    return suffix.lower()


def _check_size(label: str, size: int, settings: Settings) -> None:
    if size == 0:
        raise InputError(label, "the file is empty (0 bytes)")
    if size > settings.max_file_mb * 1_000_000:
        raise InputError(
            label,
            f"the file is {size / 1_000_000:.1f} MB, over the limit of {settings.max_file_mb:g} MB "
            "(setting WORKBENCH_MAX_FILE_MB)",
        )


def _load(data: bytes, label: str, suffix: str, settings: Settings) -> SourceDocument:
    kind = sniff(data)
    digest = content_hash(data)
    if kind == "pdf":
        pages, xml, xml_name = read_pdf(data, label, settings)
        return SourceDocument(name=label, media_type=MEDIA_TYPES[kind], content_hash=digest, pages=pages,
                              xml=xml, xml_name=xml_name)
    if kind is not None:
        images = read_image(data, kind, label, settings)
        pages = [Page(number=index, image=image) for index, image in enumerate(images, start=1)]
        return SourceDocument(name=label, media_type=MEDIA_TYPES[kind], content_hash=digest, pages=pages)
    if suffix == ".xml":
        check_einvoice_xml(data, label, Path(label).name)
        return SourceDocument(name=label, media_type="application/xml", content_hash=digest, pages=[],
                              xml=data, xml_name=Path(label).name)
    raise InputError(label, f"is not {_SUFFIX_NAMES[suffix]}: its content is {describe(data)}; "
                            "open the original and save it again as PDF, JPEG, PNG, TIFF, WebP or BMP")


def sniff(data: bytes) -> str | None:
    """The supported binary format the bytes start with ('jpeg', 'png', ..., 'pdf'), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "pdf"
    return None


def describe(data: bytes) -> str:
    """A few words on what unrecognised bytes look like, for an error message."""
    head = data[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:1024]:
        return "an HTML page (perhaps a download or e-mail link saved instead of the file)"
    if text.startswith(b"<"):
        return "XML or other markup text"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (such as a Word or Excel document)"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image, which is not supported"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"):
        return "a HEIC/HEIF or AVIF photo, which is not supported"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "unrecognised binary data"
    return "plain text"
