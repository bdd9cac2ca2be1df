"""Pydantic models of the workbench: the JSON contract between every stage."""

from schemas.extracted import Extracted, Origin, Source
from schemas.invoice import Invoice
from schemas.lines import LineItem, Party, TaxLine
from schemas.receipt import Receipt
from schemas.result import DocType, DocumentResult, Issue, Severity
from schemas.source import Page, PageText, SourceDocument, TextLine

__all__ = [
    "DocType",
    "DocumentResult",
    "Extracted",
    "Invoice",
    "Issue",
    "LineItem",
    "Origin",
    "Page",
    "PageText",
    "Party",
    "Receipt",
    "Severity",
    "Source",
    "SourceDocument",
    "TaxLine",
    "TextLine",
]
