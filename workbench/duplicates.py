"""Duplicate finding: documents that are likely the same bill (same supplier, date and total, or number) or image."""

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import imagehash
from PIL import Image

from schemas import Invoice, Receipt
from workbench.store import StoredDocument

DuplicateKind = Literal["exact", "same_total", "same_number", "same_image"]

PHASH_MAX_DISTANCE = 6
"""Most differing bits (of 64) between two page-image hashes that still count as the same picture."""

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
    image whose perceptual hash differs in at most `max_distance` bits. Exact copies (same content hash)
    never reach the store twice: import reports them as skipped with the stored document's id.
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
    return {document_id: list(others.values()) for document_id, others in found.items() if others}


def duplicate_ids(documents: list[StoredDocument]) -> dict[int, list[int]]:
    """For each document id with look-alikes, just the other ids (for a grid column)."""
    return {document_id: [d.other_id for d in found] for document_id, found in find_duplicates(documents).items()}
