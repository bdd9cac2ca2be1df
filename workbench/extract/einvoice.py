"""Read an e-invoice XML (UN/CEFACT CII: ZUGFeRD 1/2, Factur-X, XRechnung; UBL 2.1) exactly into an Invoice.

Every field comes out with origin "xml" and confidence 1.0; a field the XML does not carry is `None` with
the same confidence, because the XML is the authoritative invoice. Values have no page box (`source` None).

Sign convention: the workbench stores credit notes with negative amounts. An XML credit note (CII type codes
81, 83, 261, 262, 296, 308, 381, 396, 420, 458, 532; a UBL `CreditNote`) states its amounts as positive
numbers, so every amount of a credit note is sign-flipped: totals, tax lines (base and tax), line amounts and
line quantities (so that quantity x unit price still equals the line amount; unit prices stay positive).
An invoice (type 380, 384 corrections, ...) keeps the signs its XML gives, so a correction invoice written
with negative amounts stays negative.

Parsing is safe: defusedxml refuses DTD entity declarations and external references (no XXE, no entity
expansion bombs); any such XML raises InputError.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError

from schemas import Invoice
from workbench.errors import InputError

CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
"""UNTDID 1001 document type codes that denote a credit note."""

_MAX_XML_BYTES = 20_000_000
_SHORT, _LONG = 200, 500


def read_einvoice(xml: bytes, name: str) -> Invoice:
    """Parse a CII or UBL invoice / credit note; raise InputError when the XML is unsafe, broken or unknown."""
    if len(xml) > _MAX_XML_BYTES:
        raise InputError(name, f"the e-invoice XML is larger than {_MAX_XML_BYTES // 1_000_000} MB")
    try:
        root = fromstring(xml)
    except DefusedXmlException as error:
        raise InputError(name, f"the e-invoice XML was refused as unsafe ({type(error).__name__}): "
                               "it declares entities or references external files") from error
    except ParseError as error:
        raise InputError(name, f"the e-invoice XML is not well-formed: {error}") from error
    kind = _local(root.tag)
    if _at(root, "ExchangedDocument|HeaderExchangedDocument") is not None:
        fields = _read_cii(root, name)
    elif kind in ("Invoice", "CreditNote") and "oasis" in root.tag:
        fields = _read_ubl(root, name)
    else:
        raise InputError(name, f"the XML root <{kind}> is neither a CII (ZUGFeRD, Factur-X, XRechnung) "
                               "nor a UBL 2.1 Invoice/CreditNote")
    return _build(fields, name)


# --- element helpers: CII and UBL use several namespace versions, so paths match local names --------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(element: Element | None, name: str) -> Iterator[Element]:
    if element is None:
        return
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            yield child


def _at(element: Element | None, path: str) -> Element | None:
    """First element along a '/'-separated path of local names; a step 'A|B' accepts either name."""
    current = [element] if element is not None else []
    for step in path.split("/"):
        names = step.split("|")
        current = [kid for parent in current for name in names for kid in _kids(parent, name)]
        if not current:
            return None
    return current[0]


def _all(element: Element | None, path: str) -> list[Element]:
    *head, last = path.split("/")
    parent = _at(element, "/".join(head)) if head else element
    return [kid for name in last.split("|") for kid in _kids(parent, name)]


def _text(element: Element | None, path: str | None = None) -> str | None:
    target = _at(element, path) if path else element
    if target is None or target.text is None:
        return None
    text = " ".join(target.text.split())
    return text or None


def _amount(element: Element | None, path: str, name: str, currency: str | None = None) -> Decimal | None:
    """Amount at `path`; with `currency`, prefer the repetition in that currency (tax totals may repeat)."""
    candidates = _all(element, path)
    if currency is not None:
        candidates = [c for c in candidates if c.get("currencyID") in (None, currency)] or candidates
    if not candidates:
        return None
    return _decimal(_text(candidates[0]), path, name)


def _decimal(text: str | None, where: str, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise InputError(name, f"the e-invoice value {text!r} in {where} is not a number") from None
    if not value.is_finite():
        raise InputError(name, f"the e-invoice value {text!r} in {where} is not a finite number")
    return value


def _date(text: str | None, fmt: str | None, where: str, name: str) -> dt.date | None:
    """A CII DateTimeString (format 102 = YYYYMMDD, 610 = YYYYMM, 616 = YYYYWW) or an ISO date."""
    if text is None:
        return None
    try:
        if fmt == "610":
            return dt.date(int(text[:4]), int(text[4:6]), 1)
        if fmt == "616":
            return dt.date.fromisocalendar(int(text[:4]), int(text[4:6]), 1)
        if fmt == "102" or (len(text) == 8 and text.isdigit()):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(name, f"the e-invoice date {text!r} in {where} is not a valid date") from None


def _cii_date(element: Element | None, path: str, name: str) -> dt.date | None:
    target = _at(element, path)
    if target is None:
        return None
    inner = _at(target, "DateTimeString|DateString")
    if inner is not None:
        return _date(_text(inner), inner.get("format"), path, name)
    return _date(_text(target), target.get("format"), path, name)


def _clip(text: str | None, limit: int) -> str | None:
    return text[:limit].rstrip() if text else None


def _join(*parts: str | None) -> str | None:
    joined = ", ".join(p for p in parts if p)
    return joined or None


def address_line(line1: str | None, line2: str | None, line3: str | None, postcode: str | None,
                 city: str | None, country: str | None) -> str | None:
    """The one-string address the workbench stores: street lines, 'postcode city', country, comma-joined."""
    place = " ".join(p for p in (postcode, city) if p) or None
    return _join(line1, line2, line3, place, country)


# --- CII --------------------------------------------------------------------------------------------------

def _cii_party(party: Element | None) -> dict[str, Any]:
    if party is None:
        return {}
    address = _at(party, "PostalTradeAddress")
    vat_ids = [_text(r, "ID") for r in _all(party, "SpecifiedTaxRegistration")
               if (_at(r, "ID") is not None and _at(r, "ID").get("schemeID") == "VA")]
    return {
        "name": _clip(_text(party, "Name"), _SHORT),
        "address": _clip(address_line(_text(address, "LineOne"), _text(address, "LineTwo"),
                                      _text(address, "LineThree"), _text(address, "PostcodeCode"),
                                      _text(address, "CityName"), _text(address, "CountryID")), _LONG),
        "vat_id": next((v for v in vat_ids if v), None),
    }


def _read_cii(root: Element, name: str) -> dict[str, Any]:
    header = _at(root, "ExchangedDocument|HeaderExchangedDocument")
    transaction = _at(root, "SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction")
    agreement = _at(transaction, "ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement")
    settlement = _at(transaction, "ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement")
    if header is None or settlement is None:
        raise InputError(name, "the CII e-invoice lacks its document header or trade settlement")
    currency = _text(settlement, "InvoiceCurrencyCode")
    summation = next((kid for kid in settlement if isinstance(kid.tag, str)
                      and _local(kid.tag).endswith("MonetarySummation")), None)
    due = None
    for terms in _all(settlement, "SpecifiedTradePaymentTerms"):
        due = _cii_date(terms, "DueDateDateTime", name)
        if due is not None:
            break
    iban = next((text for means in _all(settlement, "SpecifiedTradeSettlementPaymentMeans")
                 if (text := _text(means, "PayeePartyCreditorFinancialAccount/IBANID"))), None)
    tax_lines = [
        {"rate": _decimal(_text(tax, "RateApplicablePercent|ApplicablePercent"), "ApplicableTradeTax", name),
         "base": _amount(tax, "BasisAmount", name),
         "amount": _amount(tax, "CalculatedAmount", name),
         "category": _text(tax, "CategoryCode")}
        for tax in _all(settlement, "ApplicableTradeTax")
    ]
    items = []
    for line in _all(transaction, "IncludedSupplyChainTradeLineItem"):
        line_agreement = _at(line, "SpecifiedLineTradeAgreement|SpecifiedSupplyChainTradeAgreement")
        line_delivery = _at(line, "SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery")
        line_settlement = _at(line, "SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement")
        price = _at(line_agreement, "NetPriceProductTradePrice")
        unit_price = _amount(price, "ChargeAmount", name)
        basis = _decimal(_text(price, "BasisQuantity"), "BasisQuantity", name)
        if unit_price is not None and basis:
            unit_price = unit_price / basis
        items.append({
            "description": _text(line, "SpecifiedTradeProduct/Name"),
            "quantity": _decimal(_text(line_delivery, "BilledQuantity"), "BilledQuantity", name),
            "unit_price": unit_price,
            "amount": _amount(_at(line_settlement, "SpecifiedTradeSettlementLineMonetarySummation|"
                                                   "SpecifiedTradeSettlementMonetarySummation"),
                              "LineTotalAmount", name),
            "tax_rate": _decimal(_text(line_settlement, "ApplicableTradeTax/RateApplicablePercent|"
                                                        "ApplicablePercent"), "line tax rate", name),
        })
    type_code = _text(header, "TypeCode")
    return {
        "credit": type_code in CREDIT_NOTE_CODES,
        "invoice_number": _text(header, "ID"),
        "issue_date": _cii_date(header, "IssueDateTime", name),
        "due_date": due,
        "currency": currency,
        "seller": _cii_party(_at(agreement, "SellerTradeParty")),
        "buyer": _cii_party(_at(agreement, "BuyerTradeParty")),
        "purchase_order": _text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID|ID"),
        "net_total": _amount(summation, "TaxBasisTotalAmount", name),
        "tax_total": _amount(summation, "TaxTotalAmount", name, currency),
        "grand_total": _amount(summation, "GrandTotalAmount", name),
        "amount_due": _amount(summation, "DuePayableAmount", name),
        "tax_lines": tax_lines,
        "iban": iban,
        "line_items": items,
    }


# --- UBL 2.1 ----------------------------------------------------------------------------------------------

def _ubl_party(party: Element | None) -> dict[str, Any]:
    if party is None:
        return {}
    address = _at(party, "PostalAddress")
    vat_id = None
    for scheme in _all(party, "PartyTaxScheme"):
        tax_scheme = _text(scheme, "TaxScheme/ID")
        if tax_scheme in (None, "VAT"):
            vat_id = _text(scheme, "CompanyID")
            break
    return {
        "name": _clip(_text(party, "PartyName/Name") or _text(party, "PartyLegalEntity/RegistrationName"), _SHORT),
        "address": _clip(address_line(_text(address, "StreetName"), _text(address, "AdditionalStreetName"),
                                      _text(address, "AddressLine/Line"), _text(address, "PostalZone"),
                                      _text(address, "CityName"), _text(address, "Country/IdentificationCode")),
                         _LONG),
        "vat_id": vat_id,
    }


def _read_ubl(root: Element, name: str) -> dict[str, Any]:
    credit_root = _local(root.tag) == "CreditNote"
    currency = _text(root, "DocumentCurrencyCode")
    totals = _at(root, "LegalMonetaryTotal")
    tax_totals = _all(root, "TaxTotal")
    main_tax = next((t for t in tax_totals
                     if (_at(t, "TaxAmount") is not None and _at(t, "TaxAmount").get("currencyID") in (None, currency))),
                    tax_totals[0] if tax_totals else None)
    tax_lines = [
        {"rate": _decimal(_text(sub, "TaxCategory/Percent"), "TaxCategory/Percent", name),
         "base": _amount(sub, "TaxableAmount", name),
         "amount": _amount(sub, "TaxAmount", name),
         "category": _text(sub, "TaxCategory/ID")}
        for sub in _all(main_tax, "TaxSubtotal")
    ]
    items = []
    for line in _all(root, "InvoiceLine|CreditNoteLine"):
        unit_price = _amount(line, "Price/PriceAmount", name)
        basis = _decimal(_text(line, "Price/BaseQuantity"), "BaseQuantity", name)
        if unit_price is not None and basis:
            unit_price = unit_price / basis
        items.append({
            "description": _text(line, "Item/Name") or _text(line, "Item/Description"),
            "quantity": _decimal(_text(line, "InvoicedQuantity|CreditedQuantity"), "quantity", name),
            "unit_price": unit_price,
            "amount": _amount(line, "LineExtensionAmount", name),
            "tax_rate": _decimal(_text(line, "Item/ClassifiedTaxCategory/Percent"), "line tax rate", name),
        })
    due_text = (_text(root, "DueDate") or _text(root, "PaymentMeans/PaymentDueDate")
                or _text(root, "PaymentTerms/PaymentDueDate"))
    iban = next((text for means in _all(root, "PaymentMeans")
                 if (text := _text(means, "PayeeFinancialAccount/ID"))), None)
    type_code = _text(root, "InvoiceTypeCode|CreditNoteTypeCode")
    return {
        "credit": credit_root or type_code in CREDIT_NOTE_CODES,
        "invoice_number": _text(root, "ID"),
        "issue_date": _date(_text(root, "IssueDate"), None, "IssueDate", name),
        "due_date": _date(due_text, None, "DueDate", name),
        "currency": currency,
        "seller": _ubl_party(_at(root, "AccountingSupplierParty/Party")),
        "buyer": _ubl_party(_at(root, "AccountingCustomerParty/Party")),
        "purchase_order": _text(root, "OrderReference/ID"),
        "net_total": _amount(totals, "TaxExclusiveAmount", name),
        "tax_total": _amount(main_tax, "TaxAmount", name, currency),
        "grand_total": _amount(totals, "TaxInclusiveAmount", name),
        "amount_due": _amount(totals, "PayableAmount", name),
        "tax_lines": tax_lines,
        "iban": iban,
        "line_items": items,
    }


# --- assembly ---------------------------------------------------------------------------------------------

def _places(value: Decimal | None, places: int) -> Decimal | None:
    """Round half up to the places the schema holds."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _price(value: Decimal | None) -> Decimal | None:
    """A unit price to four places, or to the cent when it has no finer digits (9.00, 3.3333)."""
    fine = _places(value, 4)
    if fine is None or fine != fine.quantize(Decimal("0.01")):
        return fine
    return fine.quantize(Decimal("0.01"))


def _build(fields: dict[str, Any], name: str) -> Invoice:
    credit = fields["credit"]
    sign: Callable[[Decimal | None], Decimal | None] = (
        (lambda v: -v if v is not None else None) if credit else (lambda v: v))

    def xml(value: Any) -> dict[str, Any]:
        return {"value": value, "confidence": 1.0, "origin": "xml"}

    def party(data: dict[str, Any]) -> dict[str, Any]:
        return {key: xml(data.get(key)) for key in ("name", "address", "vat_id")}

    items = [
        {"description": _clip(item["description"], _LONG), "quantity": _places(sign(item["quantity"]), 4),
         "unit_price": _price(item["unit_price"]), "amount": sign(item["amount"]),
         "tax_rate": _places(item["tax_rate"], 3),
         "confidence": 1.0}
        for item in fields["line_items"]
        if item["description"] is not None or item["amount"] is not None
    ]
    data = {
        "kind": xml("credit_note" if credit else "invoice"),
        "invoice_number": xml(fields["invoice_number"]),
        "issue_date": xml(fields["issue_date"]),
        "due_date": xml(fields["due_date"]),
        "currency": xml(fields["currency"]),
        "seller": party(fields["seller"]),
        "buyer": party(fields["buyer"]),
        "purchase_order": xml(fields["purchase_order"]),
        "net_total": xml(sign(fields["net_total"])),
        "tax_total": xml(sign(fields["tax_total"])),
        "grand_total": xml(sign(fields["grand_total"])),
        "amount_due": xml(sign(fields["amount_due"])),
        "tax_lines": [{**line, "rate": _places(line["rate"], 3), "base": sign(line["base"]), "amount": sign(line["amount"]), "confidence": 1.0}
                      for line in fields["tax_lines"]],
        "iban": xml(fields["iban"].replace(" ", "") if fields["iban"] else None),
        "line_items": items,
    }
    try:
        return Invoice.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part not in ("value",))
        raise InputError(name, f"the e-invoice field {where} is invalid: {first['msg']}") from error

