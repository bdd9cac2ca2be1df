"""Duplicate finding: documents that are likely the same bill (same supplier, date and total, or number) or page.

A page is compared by what was read from it at import (its amounts and text, from the original reading, so
corrections of name or date change nothing) and by a cropping-tolerant image hash: imagehash's crop-resistant
hash over the page's blocks of print, which still matches when one scan cuts off a margin or a header.
"""

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import imagehash
from PIL import Image, ImageFilter, ImageOps
from rapidfuzz import fuzz

from schemas import Extracted, Invoice, Receipt
from workbench.store import StoredDocument

DuplicateKind = Literal["exact", "same_total", "same_number", "same_image", "same_page"]

PHASH_MAX_DISTANCE = 6
"""Most differing bits (of 64) between two page-image hashes that still count as the same picture."""

CROP_HASH_HAMMING = 10
"""Most differing bits (of 64) between two print blocks' hashes that still count as the same block."""
TEXT_ALIKE = 80.0
"""Least rapidfuzz token-set similarity (0-100) of two pages' read text that counts as the same text."""
AMOUNTS_ALIKE = 0.6
"""Least share of amounts two readings have in common (Jaccard) that counts as the same amounts."""

_LEGAL_FORMS = re.compile(r"\b(SDN|BHD|S B|GMBH|MBH|AG|KG|LTD|LIMITED|INC|LLC|CO|CORP|SARL|SAS|BV|NV|PLC)\b")


@dataclass(frozen=True)
class Duplicate:
    """One document looks like another: which one, and why."""

    other_id: int
    kind: DuplicateKind
    reason: str


def image_hash(image: Image.Image) -> str:
    """The perceptual hash (64-bit pHash, hex) of a page image."""
    return str(imagehash.phash(image))


def _blocks(image: Image.Image) -> Image.Image:
    """The page in grey, shrunk, with its print thickened so that lines of text merge into blocks to segment."""
    grey = ImageOps.grayscale(image)
    grey.thumbnail((600, 600))
    return grey.filter(ImageFilter.MinFilter(7)).convert("RGB")


def crop_hash(image: Image.Image) -> str:
    """The cropping-tolerant hash of a page image: a perceptual hash per block of print (imagehash, hex)."""
    # Segmented at 150 px rather than imagehash's 300: the blocks of print stay apart, and the segmentation
    # (pure Python) costs a sixth, 0.05 s of CPU a page instead of 0.3 s (bulk import reads 3-4 receipts/s).
    return str(imagehash.crop_resistant_hash(_blocks(image), hash_func=imagehash.phash, min_segment_size=15,
                                             segment_threshold=200, segmentation_image_size=150))


def shared_blocks(one: str, other: str) -> int:
    """How many print blocks of one page hash match a block of the other (0 when nothing is alike)."""
    matched, _ = imagehash.hex_to_multihash(one).hash_diff(imagehash.hex_to_multihash(other),
                                                           hamming_cutoff=CROP_HASH_HAMMING)
    return int(matched)


def read_amounts(document: Receipt | Invoice) -> set[Decimal]:
    """Every amount read from a page: totals, tax per rate and line items (signs dropped, zero left out)."""
    amounts: list[Decimal | None] = [document_total(document), document.tax_total.value]
    amounts.append(document.net_total.value if isinstance(document, Invoice) else document.subtotal.value)
    amounts += [line.amount for line in document.tax_lines] + [line.base for line in document.tax_lines]
    amounts += [item.amount for item in document.line_items]
    return {abs(amount) for amount in amounts if amount}


def read_text(document: Receipt | Invoice) -> str:
    """The text read from a page, as the fields' source boxes and the line items carry it."""
    texts = [field.source.text for _, field in _sources(document) if field.source and field.source.text]
    texts += [item.description for item in document.line_items if item.description]
    return " ".join(texts)


def _sources(model: object) -> list[tuple[str, Extracted]]:  # type: ignore[type-arg]
    found = []
    for name in type(model).model_fields:  # type: ignore[attr-defined]
        value = getattr(model, name)
        if isinstance(value, Extracted):
            found.append((name, value))
        elif hasattr(type(value), "model_fields"):
            found.extend(_sources(value))
    return found


@dataclass(frozen=True)
class PageContent:
    """What was read from a document's page at import: its total, every amount, its text and its print blocks."""

    total: Decimal | None
    amounts: frozenset[Decimal]
    text: str
    crop_hash: str | None

    @classmethod
    def of(cls, stored: StoredDocument) -> "PageContent | None":
        """The content of a stored document's original reading (None when it could not be read)."""
        if stored.original is None:
            return None
        return cls(document_total(stored.original), frozenset(read_amounts(stored.original)),
                   read_text(stored.original), stored.crop_hash)


def same_page(one: PageContent, other: PageContent) -> str | None:
    """Why two pages look like one page read twice (same amounts, and alike text or print), or None."""
    shared = one.amounts & other.amounts
    every = one.amounts | other.amounts
    same_total = one.total is not None and one.total == other.total
    if not (same_total or (len(shared) >= 2 and len(shared) / len(every) >= AMOUNTS_ALIKE)):
        return None
    text = fuzz.token_set_ratio(one.text, other.text) if one.text and other.text else 0.0
    blocks = shared_blocks(one.crop_hash, other.crop_hash) if one.crop_hash and other.crop_hash else 0
    if blocks == 0 and text < TEXT_ALIKE:
        return None
    reasons = [f"{len(shared)} of {len(every)} amounts alike"]
    if text >= TEXT_ALIKE:
        reasons.append(f"text {text:.0f} % alike")
    if blocks:
        reasons.append(f"{blocks} block{'s' if blocks != 1 else ''} of print alike")
    return "same page content: " + ", ".join(reasons)


def name_key(name: str | None) -> str | None:
    """A merchant or supplier name reduced to compare equal across OCR noise: case, accents, punctuation."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    text = re.sub(r"\([^)]*\)", " ", text)
    text = re.sub(r"[^A-Z0-9]+", " ", text)
    text = _LEGAL_FORMS.sub(" ", text)
    return text.replace(" ", "") or None


def supplier_name(document: Receipt | Invoice) -> str | None:
    """The merchant (receipt) or seller (invoice) name."""
    if isinstance(document, Invoice):
        return document.seller.name.value
    return document.merchant_name.value


def document_date(document: Receipt | Invoice) -> dt.date | None:
    """The receipt date or the invoice's issue date."""
    return document.issue_date.value if isinstance(document, Invoice) else document.date.value


def document_total(document: Receipt | Invoice) -> Decimal | None:
    """The amount paid or owed: the receipt total or the invoice's grand total."""
    return document.grand_total.value if isinstance(document, Invoice) else document.total.value


def document_number(document: Receipt | Invoice) -> str | None:
    """The invoice number or the receipt number."""
    return document.invoice_number.value if isinstance(document, Invoice) else document.receipt_number.value


def find_duplicates(documents: list[StoredDocument],
                    max_distance: int = PHASH_MAX_DISTANCE) -> dict[int, list[Duplicate]]:
    """For each document id that has look-alikes among `documents`, the others and why (both ways).

    Likely duplicates: same supplier, date and total; same number from the same supplier; a first-page
    image whose perceptual hash differs in at most `max_distance` bits; the same page read twice (see
    `same_page`). Exact copies (same content hash) never reach the store twice: import reports them as
    skipped with the stored document's id.
    """
    found: dict[int, dict[int, Duplicate]] = defaultdict(dict)

    def link(ids: list[int], kind: DuplicateKind, reason: str) -> None:
        for one in ids:
            for other in ids:
                if other != one and other not in found[one]:
                    found[one][other] = Duplicate(other, kind, reason)

    by_total: dict[tuple[str, dt.date, Decimal], list[int]] = defaultdict(list)
    by_number: dict[tuple[str, str], list[int]] = defaultdict(list)
    for stored in documents:
        document = stored.current
        if document is None:
            continue
        supplier = name_key(supplier_name(document))
        date, total, number = document_date(document), document_total(document), document_number(document)
        if supplier and date and total is not None:
            by_total[(supplier, date, total)].append(stored.id)
        number_key = re.sub(r"[^0-9A-Z]", "", number.upper()) if number else ""
        if supplier and number_key:
            by_number[(supplier, number_key)].append(stored.id)
    for (_, date, total), ids in by_total.items():
        if len(ids) > 1:
            link(ids, "same_total", f"same supplier, date {date.isoformat()} and total {total}")
    for (_, number), ids in by_number.items():
        if len(ids) > 1:
            link(ids, "same_number", f"same supplier and number {number}")

    hashed = [(stored.id, int(stored.phash, 16)) for stored in documents if stored.phash]
    for index, (one, one_hash) in enumerate(hashed):
        for other, other_hash in hashed[index + 1:]:
            distance = (one_hash ^ other_hash).bit_count()
            if distance <= max_distance:
                link([one, other], "same_image", f"near-identical page image ({distance} of 64 bits differ)")
    # Only pages sharing an amount can be the same page: pairs come from an index of amounts, not all pairs.
    pages = {stored.id: content for stored in documents if (content := PageContent.of(stored)) is not None}
    by_amount: dict[Decimal, list[int]] = defaultdict(list)
    for document_id, content in pages.items():
        for amount in content.amounts:
            by_amount[amount].append(document_id)
    pairs = {(one, other) for ids in by_amount.values() for i, one in enumerate(ids) for other in ids[i + 1:]}
    for one, other in sorted(pairs):
        if other not in found[one] and (reason := same_page(pages[one], pages[other])) is not None:
            link([one, other], "same_page", reason)
    return {document_id: list(others.values()) for document_id, others in found.items() if others}


def duplicate_ids(documents: list[StoredDocument]) -> dict[int, list[int]]:
    """For each document id with look-alikes, just the other ids (for a grid column)."""
    return {document_id: [d.other_id for d in found] for document_id, found in find_duplicates(documents).items()}
