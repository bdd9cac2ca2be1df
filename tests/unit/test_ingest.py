"""Ingest of images and the checks every file passes: type by content, size, emptiness, pixel bombs."""

import struct
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest import SUPPORTED_SUFFIXES, content_hash, load_bytes, load_path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "db.sqlite")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def halves(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: orientation changes are visible in the pixels."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with one tiny compressed row: never allocated."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png"), ("TIFF", ".tiff"), ("WEBP", ".webp"),
                                        ("BMP", ".bmp")])
def test_each_image_format_loads_as_one_rgb_page(fmt: str, suffix: str, settings: Settings) -> None:
    data = encode(halves(), fmt)
    document = load_bytes(data, f"scan{suffix}", settings)
    assert document.media_type.startswith("image/")
    assert document.content_hash == content_hash(data)
    assert len(document.pages) == 1
    page = document.pages[0]
    assert page.number == 1 and page.text_lines is None
    assert page.image.mode == "RGB" and page.image.size == (40, 20)
    assert document.xml is None


def test_content_hash_is_sha256_hex() -> None:
    assert content_hash(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_exif_orientation_is_applied(settings: Settings) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left: display rotated 90 degrees clockwise
    data = encode(halves((80, 40)), "JPEG", exif=exif.tobytes(), quality=95)
    image = load_bytes(data, "phone.jpg", settings).pages[0].image
    assert image.size == (40, 80)
    top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
    assert top[0] > 200 and top[2] < 60, top  # red, the stored left half, is now on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_multi_page_tiff_gives_one_page_each(settings: Settings) -> None:
    frames = [Image.new("RGB", (30, 30), colour) for colour in ("red", "green", "blue")]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    document = load_bytes(data, "fax.tif", settings)
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert [page.image.getpixel((5, 5)) for page in document.pages] == [(255, 0, 0), (0, 128, 0), (0, 0, 255)]


def test_tiff_over_the_page_limit_is_refused(settings: Settings) -> None:
    frames = [Image.new("L", (8, 8)) for _ in range(4)]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(InputError, match="4 pages.*limit of 3.*WORKBENCH_MAX_PAGES"):
        load_bytes(data, "fax.tif", settings.model_copy(update={"max_pages": 3}))


def test_transparency_becomes_white_and_16_bit_grey_keeps_its_contrast(settings: Settings) -> None:
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert load_bytes(encode(clear, "PNG"), "logo.png", settings).pages[0].image.getpixel((1, 1)) == (255, 255, 255)
    grey = Image.new("I;16", (10, 10), 40000)
    pixel = load_bytes(encode(grey, "PNG"), "deep.png", settings).pages[0].image.getpixel((1, 1))
    assert pixel == (156, 156, 156)


def test_image_type_is_read_from_content_not_suffix(settings: Settings) -> None:
    document = load_bytes(encode(halves(), "PNG"), "actually-png.jpg", settings)
    assert document.media_type == "image/png"


@pytest.mark.parametrize("content,looks_like", [
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML page"),
    (b"Dear customer, please find attached", "plain text"),
    (b"PK\x03\x04" + bytes(100), "ZIP archive"),
])
def test_non_image_named_jpg_is_refused_saying_what_it_is(content: bytes, looks_like: str,
                                                          settings: Settings) -> None:
    with pytest.raises(InputError, match=f"is not a JPEG image: its content is .*{looks_like}") as caught:
        load_bytes(content, "receipt.jpg", settings)
    assert caught.value.file == "receipt.jpg"


@pytest.mark.parametrize("fmt,name", [("JPEG", "cut.jpg"), ("PNG", "cut.png")])
def test_truncated_image_is_refused(fmt: str, name: str, settings: Settings) -> None:
    noisy = Image.effect_noise((200, 200), 60).convert("RGB")
    data = encode(noisy, fmt)
    with pytest.raises(InputError, match="the image is truncated or corrupt"):
        load_bytes(data[: len(data) // 2], name, settings)


def test_decompression_bomb_header_is_refused_before_decoding(settings: Settings) -> None:
    with pytest.raises(InputError, match="refused: .*too large.*WORKBENCH_MAX_PIXELS"):
        load_bytes(png_header_only(50_000, 50_000), "bomb.png", settings)


def test_image_over_the_pixel_setting_is_refused(settings: Settings) -> None:
    strict = settings.model_copy(update={"max_pixels": 100 * 100 - 1})
    with pytest.raises(InputError, match="claims 100 x 100 pixels.*WORKBENCH_MAX_PIXELS"):
        load_bytes(png_header_only(100, 100), "big.png", strict)


def test_zero_byte_file_is_refused(tmp_path: Path, settings: Settings) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        load_path(empty, settings)
    with pytest.raises(InputError, match="empty"):
        load_bytes(b"", "upload.pdf", settings)


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path, settings: Settings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + bytes(3_000_000))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    small = settings.model_copy(update={"max_file_mb": 1.5})
    with pytest.raises(InputError, match=r"3\.0 MB, over the limit of 1\.5 MB.*WORKBENCH_MAX_FILE_MB"):
        load_path(big, small)
    with pytest.raises(InputError, match="over the limit"):
        load_bytes(bytes(2_000_000), "upload.png", small)


def test_unsupported_type_names_the_supported_ones(settings: Settings) -> None:
    with pytest.raises(InputError, match=r"unsupported file type '\.docx'; supported types: .*\.jpg.*\.pdf"):
        load_bytes(b"PK\x03\x04", "letter.docx", settings)
    with pytest.raises(InputError, match="no extension"):
        load_bytes(b"\xff\xd8\xff", "README", settings)


def test_supported_suffixes_are_lower_case_with_a_dot() -> None:
    assert set(SUPPORTED_SUFFIXES) == {".bmp", ".jpeg", ".jpg", ".pdf", ".png", ".tif", ".tiff", ".webp", ".xml"}


def test_load_path_labels_with_the_name_and_reports_missing_files(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "r.png"
    path.write_bytes(encode(halves(), "PNG"))
    assert load_path(path, settings).name == str(path)
    assert load_path(path, settings, name="inbox/r.png").name == "inbox/r.png"
    with pytest.raises(InputError, match="does not exist"):
        load_path(tmp_path / "gone.png", settings)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        load_path(tmp_path / "folder.png", settings)
