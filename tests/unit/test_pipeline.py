"""Tests of the pipeline recipe: the XML route, the engine route and the fallback between them."""

import datetime as dt
from typing import Literal

import pytest

from schemas import DocType, Invoice, Page, Receipt, SourceDocument
from workbench.errors import InputError
from workbench.pipeline import process

CII = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>INV-7</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20240131</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeSettlement>
  <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
  <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
   <ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount>
   <ram:GrandTotalAmount>119.00</ram:GrandTotalAmount><ram:DuePayableAmount>119.00</ram:DuePayableAmount>
  </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
 </ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


class PagesEngine:
    """Reads every document as one fixed receipt and counts its calls."""

    name = "pages"

    def __init__(self) -> None:
        self.calls = 0

    def read(self, source: SourceDocument, doc_type: DocType | Literal["auto"]) -> Receipt | Invoice:
        self.calls += 1
        return Receipt(total={"value": "9.00", "confidence": 0.9, "origin": "ocr"},
                       date={"value": dt.date(2024, 1, 2), "confidence": 0.9, "origin": "ocr"})


def _source(xml: bytes | None, pages: int) -> SourceDocument:
    return SourceDocument(name="doc.pdf", media_type="application/pdf", content_hash="abc",
                          pages=[Page(number=n + 1, image=None) for n in range(pages)], xml=xml)


def test_embedded_xml_is_read_exactly_without_the_engine() -> None:
    engine = PagesEngine()
    result = process(_source(CII, pages=1), engine)
    assert engine.calls == 0
    assert result.engine == "xml" and result.doc_type == "invoice"
    assert result.document.invoice_number.value == "INV-7"
    assert str(result.document.grand_total.value) == "119.00"


def test_unreadable_embedded_xml_falls_back_to_the_pages_with_an_issue() -> None:
    engine = PagesEngine()
    result = process(_source(b"<not-xml", pages=1), engine)
    assert engine.calls == 1
    assert result.engine == "pages" and result.doc_type == "receipt"
    assert result.issues[0].code == "einvoice_unreadable"


def test_unreadable_standalone_xml_is_an_input_error() -> None:
    with pytest.raises(InputError):
        process(_source(b"<not-xml", pages=0), PagesEngine())
