"""The limits every loaded document keeps: pixels per page and pages per document, with their messages."""

from workbench.config import Settings
from workbench.errors import InputError


def check_pixels(label: str, size: tuple[int, int], settings: Settings) -> None:
    """Refuse an image whose header claims more pixels than settings.max_pixels (a decompression bomb)."""
    width, height = size
    if width * height > settings.max_pixels:
        raise InputError(
            label,
            f"refused: the image claims {width} x {height} pixels, over the limit of {settings.max_pixels:,} "
            "pixels (setting WORKBENCH_MAX_PIXELS); it may be a decompression bomb",
        )


def check_page_count(label: str, count: int, settings: Settings) -> None:
    """Refuse a document with more pages than settings.max_pages."""
    if count > settings.max_pages:
        raise InputError(
            label,
            f"the document has {count} pages, over the limit of {settings.max_pages} pages "
            "(setting WORKBENCH_MAX_PAGES); split it or raise the limit",
        )
