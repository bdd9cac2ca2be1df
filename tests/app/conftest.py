"""Fixtures for AppTest runs of single pages: a temporary database seeded through Store.add."""

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from schemas import DocumentResult, Extracted, Invoice, Issue, Party, Receipt, Source
from workbench.store import PageImage, Store

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "workbench" / "ui" / "pages"


def page_image(width: int = 600, height: int = 900) -> PageImage:
    """A blank JPEG page of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "JPEG")
    return PageImage(1, width, height, buffer.getvalue())


def field(value: object, confidence: float, bbox: tuple[float, float, float, float] | None = None) -> Extracted:
    """An OCR-read field on page 1."""
    return Extracted(value=value, confidence=confidence, origin="ocr",
                     source=Source(page=1, bbox=bbox, text=str(value)) if bbox else None)


def receipt(merchant: str = "ACME SDN BHD", date: str = "2018-12-25", total: str = "9.00",
            date_confidence: float = 0.5) -> Receipt:
    """A receipt with a confident merchant and total and a date read with `date_confidence`."""
    return Receipt(
        merchant_name=field(merchant, 0.97, (40, 30, 400, 70)),
        date=field(date, date_confidence, (40, 120, 220, 150)),
        total=field(total, 0.95, (300, 700, 420, 740)),
        currency=field("MYR", 0.9, (260, 700, 298, 740)),
    )


def invoice() -> Invoice:
    """An invoice read from its XML (no page image)."""
    return Invoice(
        invoice_number=Extracted(value="RE-1001", confidence=1.0, origin="xml"),
        issue_date=Extracted(value="2024-03-05", confidence=1.0, origin="xml"),
        currency=Extracted(value="EUR", confidence=1.0, origin="xml"),
        seller=Party(name=Extracted(value="Lieferant GmbH", confidence=1.0, origin="xml")),
        grand_total=Extracted(value="119.00", confidence=1.0, origin="xml"),
        tax_total=Extracted(value="19.00", confidence=1.0, origin="xml"),
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """An empty store at a temporary WORKBENCH_DB that the pages will open."""
    path = tmp_path / "workbench.sqlite"
    monkeypatch.setenv("WORKBENCH_DB", str(path))
    monkeypatch.setenv("WORKBENCH_USER", "tester")
    opened = Store(path)
    yield opened
    opened.close()


def add(store: Store, name: str, document: Receipt | Invoice | None, *, status: str | None = None,
        issues: list[Issue] | None = None, error: str | None = None) -> int:
    """Store one document as an import would (a page image for receipts); returns its id."""
    doc_type = None if document is None else "invoice" if isinstance(document, Invoice) else "receipt"
    result = DocumentResult(file=name, doc_type=doc_type, engine="xml" if doc_type == "invoice" else "ocr",
                            pages=1 if doc_type == "receipt" else 0, document=document, issues=issues or [],
                            error=error, content_hash=name.encode().hex())
    pages = [page_image()] if doc_type == "receipt" else []
    return store.add(result, pages, "importer", status=status)


@pytest.fixture
def app() -> Callable[[str], AppTest]:
    """Build an AppTest for one page script (by file stem), not yet run."""
    def make(page: str) -> AppTest:
        return AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60)
    return make
