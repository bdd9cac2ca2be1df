"""Tests of the e-invoice reader: CII and UBL documents, credit-note signs, unsafe XML refused."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.extract.einvoice import read_einvoice

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "zugferd-dev"

CII = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument>
  <ram:ID>F-2024-17</ram:ID><ram:TypeCode>TYPE</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20240131</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:IncludedSupplyChainTradeLineItem>
   <ram:SpecifiedTradeProduct><ram:Name>Conseil
     technique</ram:Name></ram:SpecifiedTradeProduct>
   <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>
     <ram:ChargeAmount>33.3333</ram:ChargeAmount><ram:BasisQuantity unitCode="HUR">1</ram:BasisQuantity>
   </ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
   <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="HUR">3</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
   <ram:SpecifiedLineTradeSettlement>
    <ram:ApplicableTradeTax><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>20</ram:RateApplicablePercent></ram:ApplicableTradeTax>
    <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>100.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
   </ram:SpecifiedLineTradeSettlement>
  </ram:IncludedSupplyChainTradeLineItem>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Atelier Dupont SARL</ram:Name>
    <ram:PostalTradeAddress><ram:PostcodeCode>75011</ram:PostcodeCode><ram:LineOne>12 rue Oberkampf</ram:LineOne>
     <ram:CityName>Paris</ram:CityName><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">123/456</ram:ID></ram:SpecifiedTaxRegistration>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR40303265045</ram:ID></ram:SpecifiedTaxRegistration>
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Kunde GmbH</ram:Name></ram:BuyerTradeParty>
   <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-9</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementPaymentMeans><ram:PayeePartyCreditorFinancialAccount>
     <ram:IBANID>FR76 3000 6000 0112 3456 7890 189</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
   </ram:SpecifiedTradeSettlementPaymentMeans>
   <ram:ApplicableTradeTax><ram:CalculatedAmount>20.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
    <ram:BasisAmount>100.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
    <ram:RateApplicablePercent>20</ram:RateApplicablePercent></ram:ApplicableTradeTax>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20240229</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:LineTotalAmount>100.00</ram:LineTotalAmount><ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="USD">21.50</ram:TaxTotalAmount><ram:TaxTotalAmount currencyID="EUR">20.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>120.00</ram:GrandTotalAmount><ram:DuePayableAmount>120.00</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""

UBL_CREDIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>CN-7</cbc:ID><cbc:IssueDate>2024-03-02</cbc:IssueDate><cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
 <cbc:DocumentCurrencyCode>GBP</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PostalAddress><cbc:StreetName>1 High Street</cbc:StreetName><cbc:CityName>London</cbc:CityName>
   <cbc:PostalZone>EC1A 1BB</cbc:PostalZone><cac:Country><cbc:IdentificationCode>GB</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
  <cac:PartyTaxScheme><cbc:CompanyID>GB980780684</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>Acme Supplies Ltd</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyName><cbc:Name>Buyer plc</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
 <cac:TaxTotal><cbc:TaxAmount currencyID="GBP">4.00</cbc:TaxAmount>
  <cac:TaxSubtotal><cbc:TaxableAmount currencyID="GBP">20.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="GBP">4.00</cbc:TaxAmount>
   <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>20</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal>
 </cac:TaxTotal>
 <cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="GBP">20.00</cbc:LineExtensionAmount>
  <cbc:TaxExclusiveAmount currencyID="GBP">20.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="GBP">24.00</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="GBP">24.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
 <cac:CreditNoteLine><cbc:ID>1</cbc:ID><cbc:CreditedQuantity unitCode="C62">2</cbc:CreditedQuantity>
  <cbc:LineExtensionAmount currencyID="GBP">20.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Returned widget</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>20</cbc:Percent></cac:ClassifiedTaxCategory></cac:Item>
  <cac:Price><cbc:PriceAmount currencyID="GBP">10.00</cbc:PriceAmount></cac:Price>
 </cac:CreditNoteLine>
</CreditNote>"""


def test_cii_invoice_fields_are_read_exactly_with_origin_xml() -> None:
    invoice = read_einvoice(CII.replace(b"TYPE", b"380"), "f.xml")
    assert invoice.kind.value == "invoice"
    assert invoice.invoice_number.value == "F-2024-17"
    assert invoice.issue_date.value == dt.date(2024, 1, 31)
    assert invoice.due_date.value == dt.date(2024, 2, 29)
    assert invoice.currency.value == "EUR"
    assert invoice.seller.name.value == "Atelier Dupont SARL"
    assert invoice.seller.address.value == "12 rue Oberkampf, 75011 Paris, FR"
    assert invoice.seller.vat_id.value == "FR40303265045"
    assert invoice.buyer.name.value == "Kunde GmbH" and invoice.buyer.vat_id.value is None
    assert invoice.purchase_order.value == "PO-9"
    assert invoice.tax_total.value == Decimal("20.00"), "the tax total in the invoice currency is chosen"
    assert (invoice.net_total.value, invoice.grand_total.value, invoice.amount_due.value) == (
        Decimal("100.00"), Decimal("120.00"), Decimal("120.00"))
    assert invoice.iban.value == "FR7630006000011234567890189"
    [tax] = invoice.tax_lines
    assert (tax.rate, tax.base, tax.amount, tax.category) == (Decimal(20), Decimal("100.00"), Decimal("20.00"), "S")
    [item] = invoice.line_items
    assert item.description == "Conseil technique"
    assert (item.quantity, item.unit_price, item.amount, item.tax_rate) == (
        Decimal(3), Decimal("33.3333"), Decimal("100.00"), Decimal(20))
    assert invoice.grand_total.origin == "xml" and invoice.grand_total.confidence == 1.0
    assert invoice.due_date.source is None


def test_cii_credit_note_amounts_are_negative() -> None:
    invoice = read_einvoice(CII.replace(b"TYPE", b"381"), "c.xml")
    assert invoice.kind.value == "credit_note"
    assert invoice.grand_total.value == Decimal("-120.00")
    assert invoice.tax_lines[0].base == Decimal("-100.00")
    assert invoice.line_items[0].amount == Decimal("-100.00")
    assert invoice.line_items[0].quantity == Decimal(-3)
    assert invoice.line_items[0].unit_price == Decimal("33.3333")


def test_ubl_credit_note() -> None:
    invoice = read_einvoice(UBL_CREDIT, "cn.xml")
    assert invoice.kind.value == "credit_note"
    assert invoice.invoice_number.value == "CN-7"
    assert invoice.currency.value == "GBP"
    assert invoice.seller.name.value == "Acme Supplies Ltd"
    assert invoice.seller.address.value == "1 High Street, EC1A 1BB London, GB"
    assert invoice.seller.vat_id.value == "GB980780684"
    assert invoice.grand_total.value == Decimal("-24.00")
    assert invoice.tax_total.value == Decimal("-4.00")
    assert invoice.line_items[0].description == "Returned widget"
    assert invoice.line_items[0].quantity == Decimal(-2)


def test_ubl_invoice_keeps_positive_amounts() -> None:
    xml = (UBL_CREDIT.replace(b"CreditNote-2", b"Invoice-2").replace(b"<CreditNote ", b"<Invoice ")
           .replace(b"</CreditNote>", b"</Invoice>").replace(b"CreditNoteTypeCode>381", b"InvoiceTypeCode>380")
           .replace(b"CreditNoteTypeCode", b"InvoiceTypeCode").replace(b"CreditNoteLine", b"InvoiceLine")
           .replace(b"CreditedQuantity", b"InvoicedQuantity"))
    invoice = read_einvoice(xml, "inv.xml")
    assert invoice.kind.value == "invoice"
    assert invoice.grand_total.value == Decimal("24.00")
    assert invoice.line_items[0].quantity == Decimal(2)


@pytest.mark.parametrize("xml, reason", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "unsafe"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
     "unsafe"),
    (b"<Invoice><unclosed></Invoice>", "not well-formed"),
    (b"<Order xmlns='urn:x'><ID>1</ID></Order>", "neither a CII"),
])
def test_bad_xml_raises_input_error_naming_the_file(xml: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        read_einvoice(xml, "bad.xml")
    assert caught.value.file == "bad.xml"
    assert reason in caught.value.reason


def test_non_numeric_amount_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not a number"):
        read_einvoice(CII.replace(b"TYPE", b"380").replace(b"<ram:GrandTotalAmount>120.00", b"<ram:GrandTotalAmount>12O.00"),
                      "typo.xml")


def test_zugferd_dev_xml_route_matches_every_label() -> None:
    if not DATA.is_dir():
        pytest.skip("../shared/data not present")
    from workbench.evaluate.zugferd import score_invoice

    misses = []
    for label_path in sorted((DATA / "labels").glob("*.json")):
        fields = json.loads(label_path.read_text(encoding="utf-8"))["fields"]
        invoice = read_einvoice((DATA / "xml" / f"{label_path.stem}.xml").read_bytes(), label_path.name)
        misses += [(label_path.stem, key) for key, ok in score_invoice(invoice, fields, exact=True).items() if not ok]
    assert misses == []


def test_credit_note_labels_are_compared_with_negated_amounts() -> None:
    from workbench.evaluate.zugferd import score_invoice

    invoice = read_einvoice(CII.replace(b"TYPE", b"381"), "c.xml")
    fields = {"invoice_number": "F-2024-17", "type_code": "381", "issue_date": "20240131", "currency": "EUR",
              "totals": {"tax_basis_total": "100.00", "tax_total": "20.00", "grand_total": "120.00",
                         "due_payable": "120.00", "line_total": "100.00", "prepaid": None},
              "tax_breakdown": [{"category": "S", "rate_percent": "20", "basis": "100.00", "tax": "20.00"}]}
    scores = score_invoice(invoice, fields, exact=True)
    assert scores == {"invoice_number": True, "kind": True, "issue_date": True, "currency": True, "net_total": True,
                      "tax_total": True, "grand_total": True, "amount_due": True, "tax_lines": True}
    fields["totals"]["grand_total"] = "121.00"
    assert score_invoice(invoice, fields, exact=True)["grand_total"] is False


def test_evaluate_zugferd_xml_route_report_and_misses(tmp_path: Path) -> None:
    if not DATA.is_dir():
        pytest.skip("../shared/data not present")
    from workbench.config import Settings
    from workbench.evaluate.zugferd import evaluate_zugferd

    class NoEngine:
        name = "none"

        def read(self, source, doc_type):  # type: ignore[no-untyped-def]
            raise AssertionError("the xml route must not call the engine")

    report = evaluate_zugferd(DATA, NoEngine(), tmp_path, Settings(), routes=("xml",), limit=6)
    assert "[xml] 6 read, 0 failed" in report
    assert "below target" not in report
    misses = (tmp_path / "zugferd_misses.csv").read_text(encoding="utf-8").splitlines()
    assert misses == ["route,file,field,expected,got,confidence"]
