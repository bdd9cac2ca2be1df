"""The embedded default engine: PDF text layer or rapidocr for each page, then the project's extractors."""

from typing import Literal

from schemas import DocType, Invoice, PageText, Receipt, SourceDocument
from workbench.config import Settings
from workbench.extract.classify import classify
from workbench.extract.invoice import extract_invoice
from workbench.extract.receipt import extract_receipt
from workbench.ocr import OcrReader, RapidOcrReader
from workbench.ocr.rapid import import_runtimes


def preload() -> None:
    """Import everything the engine runs on; its extractors and their model libraries come with this module."""
    import_runtimes()


class OcrEngine:
    """Reads every page once (text layer first, OCR only where there is none) and extracts the fields."""

    name = "ocr"

    def __init__(self, settings: Settings, reader: OcrReader | None = None) -> None:
        self._reader = RapidOcrReader(settings) if reader is None else reader

    def page_texts(self, source: SourceDocument) -> list[PageText]:
        """The text of each page with boxes, from its text layer when it has one, else from OCR."""
        texts = []
        for page in source.pages:
            width, height = page.image.size
            if page.text_lines:
                texts.append(PageText(number=page.number, width=width, height=height,
                                      lines=page.text_lines, origin="text"))
            else:
                texts.append(PageText(number=page.number, width=width, height=height,
                                      lines=self._reader.read(page.image), origin="ocr"))
        return texts

    def read(self, source: SourceDocument, doc_type: DocType | Literal["auto"]) -> Receipt | Invoice:
        """Extract a Receipt or an Invoice; with `auto` the page text decides which."""
        pages = self.page_texts(source)
        kind = classify(pages) if doc_type == "auto" else doc_type
        return extract_invoice(pages) if kind == "invoice" else extract_receipt(pages)
