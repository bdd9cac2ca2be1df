"""Render the e-invoice XMLs of ../shared/data/einvoice-xml as varied printed invoices (text-layer PDFs, scans).

    python scripts/render_einvoices.py                      # 145 XMLs x 3 variants into the user cache dir
    python scripts/render_einvoices.py --variants 5 --seed 7 --scan-share 0.3 --out /tmp/einvoices

The output folder has zugferd-dev's shape: `pdfs/<stem>__v<k>.pdf`, `labels/<stem>__v<k>.json` and
`xml/<stem>.xml` (the source XML, once per stem). A label's `fields` are the source label's fields unchanged
(so `workbench.evaluate.zugferd.score_invoice` scores a reading of the PDF), plus `variant`: the layout
choices, language, number and date locale, whether the PDF is a scan, how many pages it has, the strings
printed for the invoice number, issue date and totals, and the distractor values (customer and order numbers,
order, delivery and print dates) that a reader must not take for the fields.

Everything printed comes from the XML (parties, items, totals, IBAN, order reference, delivery date, payment
terms) except the labels' vocabulary and the distractors, which are plain made-up numbers and dates near the
issue date. Credit notes (type 381) print negative amounts, as the zugferd-dev PDFs do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import io
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from babel import Locale as BabelLocale
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_symbol
from defusedxml.ElementTree import iterparse
from fpdf import FPDF
from pdf2image import convert_from_bytes
from PIL import Image
from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "einvoice-xml"
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
A4_W, A4_H = 210.0, 297.0
PT = 25.4 / 72


def load_generator() -> ModuleType:
    """samples/generate.py as a module (samples/ is a folder of files, not an installed package)."""
    path = REPO / "samples" / "generate.py"
    spec = importlib.util.spec_from_file_location("samples_generate", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GENERATE = load_generator()

# ------------------------------------------------------------------------------------- vocabulary

LANGUAGES = ("de", "en", "fr", "es", "it", "nl")
# Number locales per language: mostly the language's own, sometimes a neighbour's way of writing numbers.
NUMBER_LOCALES = {"de": ("de_DE", "de_DE", "de_AT", "de_CH"), "en": ("en_US", "en_GB", "en_IE", "de_DE"),
                  "fr": ("fr_FR", "fr_FR", "fr_BE", "fr_CH"), "es": ("es_ES", "es_ES", "es_MX"),
                  "it": ("it_IT", "it_IT", "it_CH"), "nl": ("nl_NL", "nl_BE", "nl_NL")}
DATE_LOCALES = {"de": "de_DE", "en": "en_GB", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL"}
DATE_PATTERNS = {"de": ("dd.MM.yyyy", "dd.MM.yyyy", "yyyy-MM-dd", "d. MMMM yyyy", "dd.MM.yy"),
                 "en": ("dd/MM/yyyy", "yyyy-MM-dd", "MMM d, yyyy", "d MMMM yyyy", "MM/dd/yyyy", "d MMM yyyy"),
                 "fr": ("dd/MM/yyyy", "dd/MM/yyyy", "d MMMM yyyy", "yyyy-MM-dd", "dd.MM.yyyy"),
                 "es": ("dd/MM/yyyy", "dd/MM/yyyy", "d 'de' MMMM 'de' yyyy", "yyyy-MM-dd", "dd-MM-yyyy"),
                 "it": ("dd/MM/yyyy", "dd/MM/yyyy", "d MMMM yyyy", "dd.MM.yyyy", "yyyy-MM-dd"),
                 "nl": ("dd-MM-yyyy", "d-M-yyyy", "d MMMM yyyy", "yyyy-MM-dd", "dd/MM/yyyy")}

WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "invoice": ("Rechnung", "RECHNUNG", "Rechnung"), "credit": ("Gutschrift", "Rechnungskorrektur"),
        "corrected": ("Rechnungskorrektur", "Korrigierte Rechnung"), "self_billed": ("Gutschrift (Eigenabrechnung)",),
        "partial": ("Abschlagsrechnung", "Teilrechnung"),
        "number": ("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."),
        "inline": ("{title} Nr. {number} vom {date}", "Rechnungsnummer {number} vom {date}",
                   "{title} {number} vom {date}"),
        "date": ("Rechnungsdatum", "Datum", "Belegdatum"), "due": ("Fällig am", "Zahlbar bis", "Fälligkeit"),
        "customer": ("Kundennummer", "Kunden-Nr.", "Ihre Kundennr."), "order": ("Ihre Bestellung", "Auftrags-Nr.",
                                                                             "Bestellnummer"),
        "order_date": ("Bestelldatum", "Auftragsdatum"), "delivery": ("Lieferdatum", "Leistungsdatum"),
        "printed": ("Druckdatum", "Gedruckt am"), "reference": ("Ihre Referenz", "Leitweg-ID"),
        "page": ("Seite {n} von {m}", "Seite {n}/{m}"), "carry": ("Übertrag", "Zwischensumme Übertrag"),
        "pos": ("Pos.", "Pos"), "desc": ("Bezeichnung", "Beschreibung", "Artikel / Leistung"),
        "qty": ("Menge", "Anzahl"), "unit": ("Einheit", "ME"), "price": ("Einzelpreis", "E-Preis", "Preis/Einh."),
        "rate": ("USt.", "MwSt."), "amount": ("Gesamt", "Betrag", "Gesamtpreis"),
        "lines": ("Summe Positionen", "Warenwert"), "allowance": ("Nachlass", "Rabatt"),
        "charge": ("Zuschlag", "Versandkosten/Zuschläge"),
        "net": ("Nettobetrag", "Summe netto", "Zwischensumme (netto)", "Gesamt netto"),
        "vat": ("zzgl. {rate} % USt.", "MwSt. {rate} %", "Umsatzsteuer {rate} %"),
        "vat_total": ("Umsatzsteuer", "MwSt. gesamt"),
        "gross": ("Rechnungsbetrag", "Gesamtbetrag", "Bruttobetrag", "Endbetrag", "Summe brutto"),
        "gross_cur": ("Gesamtbetrag ({cur})", "Summe ({cur})", "Gesamt {cur}"),
        "prepaid": ("Bereits gezahlt", "Abzüglich Anzahlung", "Geleistete Anzahlung"),
        "rounding": ("Rundung",), "due_amount": ("Zahlbetrag", "Zu zahlen", "Offener Betrag"),
        "vat_head": ("USt-Satz|Netto|USt|Brutto", "Steuersatz|Nettobetrag|Steuer|Bruttobetrag"),
        "pay_until": ("Zahlbar bis {date} ohne Abzug.", "Bitte überweisen Sie den Betrag bis zum {date}."),
        "pay": ("Zahlbar sofort ohne Abzug.", "Bitte überweisen Sie den Betrag unter Angabe der Rechnungsnummer."),
        "bank": ("Bankverbindung", "Bank"), "vat_id": ("USt-IdNr.", "USt-ID"), "phone": ("Tel.", "Telefon"),
        "email": ("E-Mail",), "intro": ("Wir berechnen Ihnen wie folgt:", "Vielen Dank für Ihren Auftrag.", ""),
        "buyer_vat": ("Ihre USt-IdNr.",),
    },
    "en": {
        "invoice": ("Invoice", "INVOICE", "Tax Invoice"), "credit": ("Credit Note", "CREDIT NOTE"),
        "corrected": ("Corrected Invoice",), "self_billed": ("Self-billed Invoice",),
        "partial": ("Interim Invoice", "Progress Invoice"),
        "number": ("Invoice No.", "Invoice number", "Invoice #", "Document no."),
        "inline": ("{title} no. {number} of {date}", "{title} {number} dated {date}", "{title} #{number} - {date}"),
        "date": ("Invoice date", "Date", "Date of issue"), "due": ("Due date", "Payment due", "Due"),
        "customer": ("Customer no.", "Account no.", "Customer ID"), "order": ("PO number", "Your order", "Order no."),
        "order_date": ("Order date",), "delivery": ("Delivery date", "Date of supply"),
        "printed": ("Printed", "Print date"), "reference": ("Your reference", "Buyer reference"),
        "page": ("Page {n} of {m}", "Page {n}/{m}"), "carry": ("Carried forward", "Subtotal c/f"),
        "pos": ("#", "Item", "Line"), "desc": ("Description", "Item description", "Product / Service"),
        "qty": ("Qty", "Quantity"), "unit": ("Unit", "UoM"), "price": ("Unit price", "Price", "Rate"),
        "rate": ("VAT", "Tax"), "amount": ("Amount", "Line total", "Total"),
        "lines": ("Sum of lines", "Items total"), "allowance": ("Discount", "Allowance"),
        "charge": ("Charges", "Surcharge"),
        "net": ("Subtotal", "Net amount", "Total excl. VAT", "Net total"),
        "vat": ("VAT {rate}%", "VAT @ {rate}%", "Tax {rate}%"), "vat_total": ("Total VAT", "VAT", "Tax"),
        "gross": ("Total", "Invoice total", "Total incl. VAT", "Grand total"),
        "gross_cur": ("Total ({cur})", "Total {cur}", "Invoice total ({cur})"),
        "prepaid": ("Paid", "Less prepayment", "Amount paid"), "rounding": ("Rounding",),
        "due_amount": ("Amount due", "Balance due", "Total due"),
        "vat_head": ("VAT rate|Net|VAT|Gross", "Rate|Taxable amount|Tax|Total"),
        "pay_until": ("Please pay by {date}.", "Payment due by {date}.", "Payment terms: due {date}."),
        "pay": ("Payment due on receipt.", "Please quote the invoice number with your payment."),
        "bank": ("Bank details", "Bank"), "vat_id": ("VAT No.", "VAT Reg. No.", "VAT ID"),
        "phone": ("Tel", "Phone"), "email": ("Email",), "intro": ("Thank you for your business.", ""),
        "buyer_vat": ("Customer VAT No.",),
    },
    "fr": {
        "invoice": ("Facture", "FACTURE"), "credit": ("Avoir", "AVOIR"), "corrected": ("Facture rectificative",),
        "self_billed": ("Autofacturation",), "partial": ("Facture d'acompte", "Situation de travaux"),
        "number": ("Facture N°", "N° de facture", "Numéro", "Réf. facture"),
        "inline": ("{title} N° {number} du {date}", "{title} n° {number} en date du {date}"),
        "date": ("Date de facture", "Date", "Date d'émission"),
        "due": ("Échéance", "Date d'échéance", "À payer avant le"),
        "customer": ("N° client", "Code client"), "order": ("Votre commande", "N° de commande", "Bon de commande"),
        "order_date": ("Date de commande",), "delivery": ("Date de livraison", "Livré le"),
        "printed": ("Imprimé le", "Date d'impression"), "reference": ("Votre référence", "Référence acheteur"),
        "page": ("Page {n} / {m}", "Page {n} sur {m}"), "carry": ("Report", "À reporter"),
        "pos": ("N°", "Réf."), "desc": ("Désignation", "Description"), "qty": ("Qté", "Quantité"),
        "unit": ("Unité", "U."), "price": ("P.U. HT", "Prix unitaire HT", "Prix unit."), "rate": ("TVA",),
        "amount": ("Montant HT", "Total HT", "Montant"), "lines": ("Total des lignes",),
        "allowance": ("Remise", "Rabais"), "charge": ("Frais", "Frais de port"),
        "net": ("Total HT", "Montant HT", "Sous-total HT"), "vat": ("TVA {rate} %", "TVA à {rate} %"),
        "vat_total": ("Total TVA", "TVA"), "gross": ("Total TTC", "Montant TTC", "Total à payer TTC"),
        "gross_cur": ("Total TTC ({cur})", "Total ({cur})"), "prepaid": ("Acompte versé", "Déjà réglé"),
        "rounding": ("Arrondi",), "due_amount": ("Net à payer", "Reste à payer", "Montant dû"),
        "vat_head": ("Taux|Base HT|TVA|TTC", "Taux TVA|Montant HT|Montant TVA|Total TTC"),
        "pay_until": ("Paiement au plus tard le {date}.", "À régler avant le {date}."),
        "pay": ("Paiement à réception.", "Merci d'indiquer le numéro de facture lors du règlement."),
        "bank": ("Coordonnées bancaires", "Banque"), "vat_id": ("N° TVA intracom.", "TVA"), "phone": ("Tél.",),
        "email": ("Courriel", "E-mail"), "intro": ("Nous vous remercions de votre confiance.", ""),
        "buyer_vat": ("N° TVA client",),
    },
    "es": {
        "invoice": ("Factura", "FACTURA"), "credit": ("Factura rectificativa", "Nota de crédito"),
        "corrected": ("Factura rectificativa",), "self_billed": ("Autofactura",), "partial": ("Factura parcial",),
        "number": ("N.º de factura", "Factura n.º", "Número de factura", "Nº factura"),
        "inline": ("{title} n.º {number} de fecha {date}", "{title} {number} del {date}"),
        "date": ("Fecha de factura", "Fecha", "Fecha de emisión"), "due": ("Vencimiento", "Fecha de vencimiento"),
        "customer": ("N.º de cliente", "Código cliente"), "order": ("Su pedido", "N.º de pedido"),
        "order_date": ("Fecha de pedido",), "delivery": ("Fecha de entrega",),
        "printed": ("Impreso el", "Fecha de impresión"), "reference": ("Su referencia",),
        "page": ("Página {n} de {m}", "Pág. {n}/{m}"), "carry": ("Suma y sigue",),
        "pos": ("N.º", "Pos."), "desc": ("Descripción", "Concepto"), "qty": ("Cant.", "Cantidad"),
        "unit": ("Unidad", "Ud."), "price": ("Precio unit.", "Precio"), "rate": ("IVA",),
        "amount": ("Importe", "Total"), "lines": ("Suma de líneas",), "allowance": ("Descuento",),
        "charge": ("Recargo", "Portes"), "net": ("Base imponible", "Subtotal", "Importe neto"),
        "vat": ("IVA {rate} %", "IVA ({rate} %)"), "vat_total": ("Total IVA", "Cuota IVA"),
        "gross": ("Total factura", "Total", "Importe total"), "gross_cur": ("Total ({cur})", "Total factura {cur}"),
        "prepaid": ("Anticipo", "Ya pagado"), "rounding": ("Redondeo",),
        "due_amount": ("Importe a pagar", "Total a pagar", "Pendiente de pago"),
        "vat_head": ("Tipo IVA|Base|Cuota|Total", "% IVA|Base imponible|Cuota IVA|Total"),
        "pay_until": ("Pagar antes del {date}.", "Vencimiento del pago: {date}."),
        "pay": ("Pago al contado.", "Indique el número de factura en la transferencia."),
        "bank": ("Datos bancarios", "Banco"), "vat_id": ("NIF-IVA", "N.º IVA"), "phone": ("Tel.", "Teléfono"),
        "email": ("Correo", "E-mail"), "intro": ("Gracias por su confianza.", ""), "buyer_vat": ("NIF cliente",),
    },
    "it": {
        "invoice": ("Fattura", "FATTURA"), "credit": ("Nota di credito", "NOTA DI CREDITO"),
        "corrected": ("Fattura rettificativa",), "self_billed": ("Autofattura",), "partial": ("Fattura d'acconto",),
        "number": ("Fattura n.", "Numero fattura", "N. documento"),
        "inline": ("{title} n. {number} del {date}", "{title} N° {number} del {date}"),
        "date": ("Data fattura", "Data", "Data documento"), "due": ("Scadenza", "Data scadenza"),
        "customer": ("Cod. cliente", "Codice cliente"), "order": ("Vs. ordine", "N. ordine"),
        "order_date": ("Data ordine",), "delivery": ("Data consegna", "Data DDT"),
        "printed": ("Stampato il", "Data stampa"), "reference": ("Vs. riferimento",),
        "page": ("Pagina {n} di {m}", "Pag. {n}/{m}"), "carry": ("A riportare", "Riporto"),
        "pos": ("Pos.", "N."), "desc": ("Descrizione", "Descrizione articolo"), "qty": ("Q.tà", "Quantità"),
        "unit": ("U.M.",), "price": ("Prezzo unit.", "Prezzo"), "rate": ("IVA", "Aliq."),
        "amount": ("Importo", "Totale"), "lines": ("Totale righe",), "allowance": ("Sconto",),
        "charge": ("Spese", "Maggiorazione"), "net": ("Imponibile", "Totale imponibile", "Totale netto"),
        "vat": ("IVA {rate}%", "IVA al {rate}%"), "vat_total": ("Totale IVA", "Imposta"),
        "gross": ("Totale fattura", "Totale documento", "Totale"), "gross_cur": ("Totale ({cur})", "Totale {cur}"),
        "prepaid": ("Acconto", "Già pagato"), "rounding": ("Arrotondamento",),
        "due_amount": ("Netto a pagare", "Totale da pagare", "Importo dovuto"),
        "vat_head": ("Aliquota|Imponibile|Imposta|Totale", "IVA %|Imponibile|IVA|Totale"),
        "pay_until": ("Pagamento entro il {date}.", "Scadenza pagamento: {date}."),
        "pay": ("Pagamento a vista.", "Indicare il numero di fattura nella causale."),
        "bank": ("Coordinate bancarie", "Banca"), "vat_id": ("P. IVA", "Partita IVA"), "phone": ("Tel.",),
        "email": ("E-mail",), "intro": ("Grazie per la fiducia.", ""), "buyer_vat": ("P. IVA cliente",),
    },
    "nl": {
        "invoice": ("Factuur", "FACTUUR"), "credit": ("Creditnota", "CREDITFACTUUR"),
        "corrected": ("Gecorrigeerde factuur",), "self_billed": ("Self-billing factuur",),
        "partial": ("Termijnfactuur", "Voorschotfactuur"),
        "number": ("Factuurnummer", "Factuurnr.", "Nummer"),
        "inline": ("{title} nr. {number} d.d. {date}", "{title} {number} van {date}"),
        "date": ("Factuurdatum", "Datum"), "due": ("Vervaldatum", "Te betalen voor"),
        "customer": ("Klantnummer", "Debiteurnr."), "order": ("Uw bestelling", "Ordernummer"),
        "order_date": ("Besteldatum", "Orderdatum"), "delivery": ("Leverdatum", "Afleverdatum"),
        "printed": ("Afgedrukt op", "Printdatum"), "reference": ("Uw referentie",),
        "page": ("Pagina {n} van {m}", "Blz. {n}/{m}"), "carry": ("Transport", "Over te brengen"),
        "pos": ("Nr.", "Regel"), "desc": ("Omschrijving", "Artikel"), "qty": ("Aantal", "Aant."),
        "unit": ("Eenheid",), "price": ("Prijs", "Stukprijs"), "rate": ("Btw",),
        "amount": ("Bedrag", "Totaal"), "lines": ("Totaal regels",), "allowance": ("Korting",),
        "charge": ("Toeslag", "Verzendkosten"), "net": ("Subtotaal", "Totaal excl. btw", "Netto bedrag"),
        "vat": ("Btw {rate}%", "{rate}% btw"), "vat_total": ("Totaal btw", "Btw"),
        "gross": ("Totaal", "Totaal incl. btw", "Factuurbedrag"), "gross_cur": ("Totaal ({cur})", "Totaal {cur}"),
        "prepaid": ("Reeds betaald", "Aanbetaling"), "rounding": ("Afronding",),
        "due_amount": ("Te betalen", "Openstaand bedrag", "Nog te betalen"),
        "vat_head": ("Btw-tarief|Grondslag|Btw|Totaal", "Tarief|Excl. btw|Btw|Incl. btw"),
        "pay_until": ("Gelieve te betalen voor {date}.", "Betaling uiterlijk {date}."),
        "pay": ("Betaling per omgaande.", "Vermeld bij betaling het factuurnummer."),
        "bank": ("Bankgegevens", "Bank"), "vat_id": ("Btw-nr.", "BTW-nummer"), "phone": ("Tel.",),
        "email": ("E-mail",), "intro": ("Hartelijk dank voor uw opdracht.", ""), "buyer_vat": ("Uw btw-nr.",),
    },
}
UNIT_NAMES = {"C62": ("Stk", "pcs", "pz", "uds", "st", "u."), "H87": ("Stk", "pcs", "pz", "uds", "st", "pc"),
              "EA": ("Stk", "ea", "pz", "ud", "st", "u."), "XPP": ("Stk", "pcs", "pz", "uds", "st", "pc"),
              "HUR": ("Std", "h", "h", "h", "uur", "h"), "DAY": ("Tag", "day", "giorno", "día", "dag", "jour"),
              "KGM": ("kg",) * 6, "MTR": ("m",) * 6, "LTR": ("l",) * 6, "MTK": ("m²",) * 6,
              "LS": ("pausch.", "lump sum", "forfait", "global", "forfait", "forfait"),
              "MON": ("Monat", "month", "mese", "mes", "maand", "mois")}
LETTERHEADS = ("logo-left", "name-left", "name-right", "centered")
METAS = ("table", "inline", "band")
TABLES = ("ruled", "zebra", "plain", "grid")
COLUMN_ORDERS = (("pos", "desc", "qty", "unit", "price", "amount"), ("pos", "qty", "unit", "desc", "price", "amount"),
                 ("desc", "qty", "price", "amount"), ("pos", "desc", "price", "qty", "amount"),
                 ("qty", "desc", "price", "amount"), ("pos", "desc", "qty", "price", "rate", "amount"))
COLUMN_WIDTH = {"pos": 10.0, "qty": 16.0, "unit": 14.0, "price": 26.0, "rate": 14.0, "amount": 28.0}
INVOICE_FAMILIES = GENERATE.INVOICE_FAMILIES

# ------------------------------------------------------------------------------------- the XML's extras

_EXTRA_PATHS: dict[tuple[str, ...], str] = {
    ("PayeeFinancialAccount", "ID"): "iban",
    ("PayeePartyCreditorFinancialAccount", "IBANID"): "iban",
    ("FinancialInstitutionBranch", "ID"): "bic",
    ("PayeeSpecifiedCreditorFinancialInstitution", "BICID"): "bic",
    ("OrderReference", "ID"): "order_reference",
    ("BuyerOrderReferencedDocument", "IssuerAssignedID"): "order_reference",
    ("Delivery", "ActualDeliveryDate"): "delivery_date",
    ("ActualDeliverySupplyChainEvent", "OccurrenceDateTime", "DateTimeString"): "delivery_date",
    ("PaymentTerms", "Note"): "payment_terms",
    ("SpecifiedTradePaymentTerms", "Description"): "payment_terms",
    ("AccountingSupplierParty", "Party", "Contact", "Telephone"): "phone",
    ("AccountingSupplierParty", "Party", "Contact", "ElectronicMail"): "email",
    ("SellerTradeParty", "DefinedTradeContact", "TelephoneUniversalCommunication", "CompleteNumber"): "phone",
    ("SellerTradeParty", "DefinedTradeContact", "EmailURIUniversalCommunication", "URIID"): "email",
}


@dataclass
class Extras:
    """What the XML says beyond the label's fields and an invoice prints: bank account, order, delivery, contact."""

    iban: str | None = None
    bic: str | None = None
    order_reference: str | None = None
    delivery_date: dt.date | None = None
    payment_terms: str | None = None
    phone: str | None = None
    email: str | None = None


def read_extras(path: Path) -> Extras:
    """Stream the XML once, keeping only the few values above; every element is cleared after its end tag,
    so a file with megabytes of base64 attachments never sits in memory as a tree."""
    found: dict[str, str] = {}
    stack: list[str] = []
    for event, element in iterparse(str(path), events=("start", "end")):
        name = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if event == "start":
            stack.append(name)
            continue
        text = (element.text or "").strip()
        if text and len(text) < 400:
            for suffix, key in _EXTRA_PATHS.items():
                if key not in found and tuple(stack[-len(suffix):]) == suffix:
                    found[key] = text
        stack.pop()
        element.clear()
    terms = found.get("payment_terms")
    if terms and (terms.startswith("#") or "#SKONTO" in terms):
        terms = None  # XRechnung's machine-readable discount codes are not what a printed invoice shows
    return Extras(found.get("iban"), found.get("bic"), found.get("order_reference"),
                  _xml_date(found.get("delivery_date")), terms, found.get("phone"), found.get("email"))


def _xml_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    digits = text.replace("-", "")[:8]
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _label_date(text: str | None) -> dt.date | None:
    return None if not text else dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def unusable_reason(fields: dict[str, Any]) -> str | None:
    """Why a label cannot make a training invoice, or None when it can."""
    if not fields.get("invoice_number"):
        return "no invoice number"
    if not (fields.get("totals") or {}).get("grand_total"):
        return "no grand total"
    if not fields.get("issue_date"):
        return "no issue date"
    return None


# ------------------------------------------------------------------------------------- the variant


@dataclass
class Variant:
    """The layout choices of one rendering; stored in the label so a trainer can group or stratify by them."""

    k: int
    letterhead: str
    meta: str
    table: str
    columns: tuple[str, ...]
    language: str
    number_locale: str
    date_pattern: str
    vat_mode: str  # "table", "lines", "table+lines", "total" (one tax line), "none" (tax-free invoices only)
    gross_style: str  # "label" (label + amount with currency) or "currency-label" ("Total (EUR)" + bare amount)
    currency_style: str  # "code", "symbol"
    family: str
    font_pt: float
    roomy: bool
    scan: bool
    degradation: str | None = None
    pages: int = 1
    printed: dict[str, str] = field(default_factory=dict)
    distractors: dict[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        columns = "".join({"pos": "#", "desc": "D", "qty": "Q", "unit": "U", "price": "P", "rate": "R",
                           "amount": "A"}[c] for c in self.columns)
        return f"{self.letterhead}/{self.meta}/{self.table}-{columns}/{self.vat_mode}/{self.gross_style}"


def choose_variant(rng: random.Random, k: int, fields: dict[str, Any], scan_share: float) -> Variant:
    """Draw one rendering's layout choices; the seller's own language is drawn more often than the others."""
    seller_country = ((fields.get("seller") or {}).get("address") or {}).get("country")
    home = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "nl", "NL": "nl", "IT": "it", "ES": "es",
            "GB": "en", "IE": "en", "US": "en"}.get(seller_country or "")
    language = home if home and rng.random() < 0.35 else rng.choice(LANGUAGES)
    tax_free = Decimal((fields.get("totals") or {}).get("tax_total") or "0") == 0
    vat_modes = ["table", "lines", "table+lines", "total"] + (["none", "none"] if tax_free else [])
    items = len(fields.get("line_items") or [])
    roomy = rng.random() < (0.85 if items >= 7 else 0.25)  # generous spacing: long lists then run onto page 2
    return Variant(
        k=k, letterhead=rng.choice(LETTERHEADS), meta=rng.choice(METAS), table=rng.choice(TABLES),
        columns=rng.choice(COLUMN_ORDERS), language=language, number_locale=rng.choice(NUMBER_LOCALES[language]),
        date_pattern=rng.choice(DATE_PATTERNS[language]), vat_mode=rng.choice(vat_modes),
        gross_style=rng.choice(["label", "label", "currency-label"]), currency_style=rng.choice(["code", "symbol"]),
        family=rng.choice(INVOICE_FAMILIES), font_pt=rng.choice([8.5, 9.0, 9.5, 10.0]) + (1.0 if roomy else 0.0),
        roomy=roomy, scan=rng.random() < scan_share)


# ------------------------------------------------------------------------------------- formatting


class Formatter:
    """Amounts, quantities, dates and words the way one variant prints them."""

    def __init__(self, variant: Variant, currency: str, sign: Decimal, rng: random.Random) -> None:
        self.variant = variant
        self.currency = currency
        self.sign = sign
        self.rng = rng
        self.words = WORDS[variant.language]
        self.chosen: dict[str, str] = {}

    def word(self, key: str) -> str:
        """A label from the vocabulary; the same key reads the same everywhere on one document."""
        if key not in self.chosen:
            self.chosen[key] = self.rng.choice(self.words[key])
        return self.chosen[key]

    def number(self, value: Decimal, pattern: str = "#,##0.00") -> str:
        text = format_decimal(value, pattern, locale=self.variant.number_locale)
        return text.replace("\u202f", " ").replace("\xa0", " ")

    def amount(self, text: str | None, signed: bool = True) -> str:
        if text in (None, ""):
            return ""
        value = Decimal(text) * (self.sign if signed else 1)
        return self.number(value, "#,##0.00##" if value != value.quantize(Decimal("0.01")) else "#,##0.00")

    def money(self, text: str | None) -> str:
        """An amount with its currency, the way the variant writes currencies."""
        bare = self.amount(text)
        symbol = self.currency
        if self.variant.currency_style == "symbol":
            symbol = get_currency_symbol(self.currency, locale=self.variant.number_locale)
        if self.variant.language == "en" and len(symbol) == 1:
            return f"-{symbol}{bare[1:]}" if bare.startswith("-") else f"{symbol}{bare}"
        return f"{bare} {symbol}"

    def quantity(self, text: str | None) -> str:
        if text in (None, ""):
            return ""
        value = Decimal(text) * self.sign
        return self.number(value.normalize() if value == value.to_integral() else value, "#,##0.###")

    def rate(self, text: str | None) -> str:
        return "" if text in (None, "") else self.number(Decimal(text), "#,##0.##")

    def date(self, day: dt.date | None) -> str:
        if day is None:
            return ""
        return format_date(day, self.variant.date_pattern, locale=DATE_LOCALES[self.variant.language])


# ------------------------------------------------------------------------------------- the PDF


class InvoicePdf(FPDF):
    """An A4 FPDF whose every page carries the seller's footer and a page number."""

    def __init__(self, family: str, footer_columns: list[list[str]], page_label: str, page_top: bool) -> None:
        super().__init__(unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        self.set_creator("scripts/render_einvoices.py")
        self.family = family
        self.footer_columns = footer_columns
        self.page_label = page_label
        self.page_top = page_top
        for bold in (False, True):
            self.add_font(family, "B" if bold else "", str(GENERATE.font_path(family, bold)))

    def footer(self) -> None:
        left, width = 20.0, A4_W - 40.0
        self.set_draw_color(120)
        self.set_line_width(0.2)
        y = A4_H - 24
        self.line(left, y, left + width, y)
        self.set_font(self.family, "", 7)
        column = width / max(1, len(self.footer_columns))
        for i, lines in enumerate(self.footer_columns):
            for j, text in enumerate(lines):
                self.set_xy(left + i * column, y + 1.5 + j * 3.2)
                self.cell(column - 2, 3.2, text[:70])
        page = self.page_label.format(n=self.page_no(), m="{nb}")
        self.set_font(self.family, "", 8)
        if self.page_top:
            self.set_xy(left, 8)
        else:
            self.set_xy(left, A4_H - 9)
        self.cell(width, 4, page, align="R")


def _address_lines(party: dict[str, Any], language: str, with_country: bool) -> list[str]:
    address = party.get("address") or {}
    lines = [text for text in (address.get("line1"), address.get("line2")) if text]
    city = " ".join(text for text in (address.get("postcode"), address.get("city")) if text)
    if city:
        lines.append(city)
    country = address.get("country")
    if country and with_country:
        lines.append(BabelLocale(language).territories.get(country, country))
    return lines


def _title(fields: dict[str, Any], f: Formatter) -> str:
    code = fields.get("type_code")
    if code in CREDIT_NOTE_CODES:
        return f.word("credit")
    return f.word({"384": "corrected", "389": "self_billed", "875": "partial", "877": "partial"}.get(code or "",
                                                                                                  "invoice"))


class Renderer:
    """Draws one invoice variant with fpdf2 and tracks where the text goes, page by page."""

    def __init__(self, fields: dict[str, Any], extras: Extras, variant: Variant, rng: random.Random) -> None:
        self.fields = fields
        self.extras = extras
        self.v = variant
        self.rng = rng
        credit = fields.get("type_code") in CREDIT_NOTE_CODES
        self.f = Formatter(variant, fields.get("currency") or "EUR", Decimal(-1) if credit else Decimal(1), rng)
        self.left = rng.uniform(16, 24)
        self.width = A4_W - 2 * self.left
        self.bottom = A4_H - 30
        self.line_h = variant.font_pt * PT * (1.9 if variant.roomy else 1.45)
        seller = fields.get("seller") or {}
        self.seller_name = seller.get("name") or ""
        self.seller_lines = _address_lines(seller, variant.language, rng.random() < 0.4)
        footer = [[self.seller_name] + self.seller_lines[:3]]
        contact = [f"{self.f.word('phone')} {extras.phone}"] if extras.phone else []
        contact += [f"{self.f.word('email')}: {extras.email}"] if extras.email else []
        if seller.get("vat_id"):
            contact.append(f"{self.f.word('vat_id')}: {seller['vat_id']}")
        if contact:
            footer.append(contact)
        if extras.iban:
            footer.append([self.f.word("bank"), f"IBAN {extras.iban}"] + ([f"BIC {extras.bic}"] if extras.bic else []))
        self.pdf = InvoicePdf(variant.family, footer, self.f.word("page"), page_top=rng.random() < 0.3)
        self.pdf.add_page()
        self.y = 0.0
        self.title = _title(fields, self.f)

    # -- primitives
    def text(self, x: float, y: float, w: float, text: str, align: str = "L", size: float | None = None,
             bold: bool = False) -> None:
        """One line of text in a cell of width `w`, shrunk until it fits so that it never runs into the next cell."""
        text, size = " ".join(text.split()), size or self.v.font_pt
        self.pdf.set_font(self.v.family, "B" if bold else "", size)
        while size > 5.5 and self.pdf.get_string_width(text) > w:
            size -= 0.5
            self.pdf.set_font(self.v.family, "B" if bold else "", size)
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, self.line_h, text, align=align)

    def wrap(self, text: str, width: float, size: float | None = None) -> list[str]:
        """`text` broken into lines that fit `width` (XML texts carry tabs and newlines a printout would not)."""
        self.pdf.set_font(self.v.family, "", size or self.v.font_pt)
        return self.pdf.multi_cell(width, self.line_h, " ".join(text.split()), dry_run=True, output="LINES") or [""]

    def rule(self, y: float, weight: float = 0.25) -> None:
        self.pdf.set_draw_color(60)
        self.pdf.set_line_width(weight)
        self.pdf.line(self.left, y, self.left + self.width, y)

    # -- first page
    def letterhead(self) -> None:
        size = self.rng.choice([14, 16, 18])
        style = self.v.letterhead
        small = self.v.font_pt - 1
        address = " · ".join(self.seller_lines)
        if style == "logo-left":
            self.pdf.set_fill_color(*[self.rng.randint(40, 160) for _ in range(3)])
            self.pdf.rect(self.left, 12, 26, 18, style="F")
            initials = "".join(word[0] for word in self.seller_name.split()[:3] if word[:1].isalnum()).upper()
            self.pdf.set_text_color(255)
            self.text(self.left, 12 + 9 - self.line_h / 2, 26, initials or "·", align="C", size=15, bold=True)
            self.pdf.set_text_color(0)
            self.text(self.left + 30, 13, self.width - 30, self.seller_name, align="R", size=size, bold=True)
            for i, line in enumerate(self.seller_lines):
                self.text(self.left + 30, 21 + i * small * PT * 1.4, self.width - 30, line, align="R", size=small)
        elif style == "name-left":
            self.text(self.left, 13, self.width, self.seller_name, size=size, bold=True)
            self.text(self.left, 22, self.width, address, size=small)
            self.rule(29)
        elif style == "name-right":
            self.text(self.left, 13, self.width, self.seller_name, align="R", size=size, bold=True)
            for i, line in enumerate(self.seller_lines):
                self.text(self.left, 21 + i * small * PT * 1.4, self.width, line, align="R", size=small)
        else:
            self.text(self.left, 12, self.width, self.seller_name, align="C", size=size + 2, bold=True)
            self.text(self.left, 21, self.width, address, align="C", size=small)
            self.rule(28, 0.5)

    def buyer_block(self) -> float:
        buyer = self.fields.get("buyer") or {}
        y = 46.0
        sender = " · ".join([self.seller_name] + self.seller_lines[:2])
        self.pdf.set_font(self.v.family, "", 6.5)
        self.text(self.left, y, 85, sender[:95], size=6.5)
        self.pdf.set_draw_color(90)
        self.pdf.line(self.left, y + 3.6, self.left + min(85, self.pdf.get_string_width(sender[:95])), y + 3.6)
        y += 6
        lines = [buyer.get("name") or ""] + _address_lines(buyer, self.v.language, self.rng.random() < 0.6)
        for line in lines:
            for part in self.wrap(line, 85):
                self.text(self.left, y, 85, part)
                y += self.line_h
        if buyer.get("vat_id") and self.rng.random() < 0.5:
            self.text(self.left, y, 85, f"{self.f.word('buyer_vat')}: {buyer['vat_id']}", size=self.v.font_pt - 1)
            y += self.line_h
        return y

    def meta_rows(self) -> list[tuple[str, str, str]]:
        """(key, label, value) rows for the meta block: the fields and the distractors, in a plausible order."""
        f, fields, v = self.f, self.fields, self.v
        issue = _label_date(fields.get("issue_date"))
        rows = [("number", f.word("number"), fields["invoice_number"]), ("date", f.word("date"), f.date(issue))]
        distractors = []
        customer = self.rng.choice([f"{self.rng.randint(10000, 99999)}", f"K-{self.rng.randint(1000, 9999)}",
                                    f"{self.rng.randint(100, 999)}-{self.rng.randint(1000, 9999)}"])
        distractors.append(("customer_number", f.word("customer"), customer))
        order = self.extras.order_reference or self.rng.choice(
            [f"{self.rng.randint(4500000000, 4599999999)}", f"PO-{self.rng.randint(10000, 99999)}",
             f"B{issue.year}-{self.rng.randint(100, 999)}" if issue else "B-1"])
        distractors.append(("order_number", f.word("order"), order))
        if issue:
            distractors.append(("order_date", f.word("order_date"),
                                f.date(issue - dt.timedelta(days=self.rng.randint(3, 45)))))
            delivery = self.extras.delivery_date or issue - dt.timedelta(days=self.rng.randint(0, 12))
            distractors.append(("delivery_date", f.word("delivery"), f.date(delivery)))
        self.rng.shuffle(distractors)
        keep = distractors[:self.rng.randint(2, len(distractors))]
        if fields.get("buyer_reference") and self.rng.random() < 0.5:
            keep.append(("buyer_reference", f.word("reference"), fields["buyer_reference"]))
        due = _label_date(fields.get("due_date"))
        if due and self.rng.random() < 0.7:
            rows.append(("due", f.word("due"), f.date(due)))
        rows += keep
        for key, _, value in keep:
            v.distractors[key] = value
        v.printed["invoice_number"] = fields["invoice_number"]
        v.printed["issue_date"] = f.date(issue)
        return rows

    def meta_block(self, buyer_bottom: float) -> None:
        rows = self.meta_rows()
        if self.v.meta == "table":
            x, w = self.left + self.width * 0.55, self.width * 0.45
            y = 46.0
            for _, label, value in rows:
                self.text(x, y, w, f"{label}:", size=self.v.font_pt - 0.5)
                self.text(x, y, w, value, align="R", size=self.v.font_pt - 0.5, bold=label == rows[0][1])
                y += self.line_h
            self.y = max(buyer_bottom, y) + 10
            self.text(self.left, self.y, self.width, self.title, size=self.v.font_pt + 6, bold=True)
            self.y += self.line_h + 6
        elif self.v.meta == "inline":
            self.y = buyer_bottom + 12
            issue = rows[1][2]
            line = self.f.word("inline").format(title=self.title, number=rows[0][2], date=issue)
            self.text(self.left, self.y, self.width, line, size=self.v.font_pt + 3, bold=True)
            self.y += self.line_h + 3
            rest = "   ".join(f"{label}: {value}" for _, label, value in rows[2:])
            for part in self.wrap(rest, self.width, self.v.font_pt - 0.5):
                self.text(self.left, self.y, self.width, part, size=self.v.font_pt - 0.5)
                self.y += self.line_h
            self.y += 4
        else:
            self.y = buyer_bottom + 10
            self.text(self.left, self.y, self.width, self.title, size=self.v.font_pt + 6, bold=True)
            self.y += self.line_h + 5
            shown = rows[:5]
            w = self.width / len(shown)
            self.rule(self.y - 1)
            for i, (_, label, value) in enumerate(shown):
                self.text(self.left + i * w, self.y, w - 1, label, size=self.v.font_pt - 1.5)
                self.text(self.left + i * w, self.y + self.line_h, w - 1, value, bold=i == 0)
            for key, _, _ in rows[5:]:
                self.v.distractors.pop(key, None)  # not printed in the band, so not a distractor on this page
            self.y += 2 * self.line_h + 1
            self.rule(self.y)
            self.y += 6
        intro = self.f.word("intro")
        if intro and self.rng.random() < 0.5:
            self.text(self.left, self.y, self.width, intro)
            self.y += self.line_h + 2

    # -- item table
    def column_layout(self) -> list[tuple[str, float, float, str]]:
        columns = [c for c in self.v.columns if c != "rate" or len(self.fields.get("tax_breakdown") or []) == 1]
        fixed = sum(COLUMN_WIDTH[c] for c in columns if c != "desc")
        x = self.left
        layout = []
        for c in columns:
            w = self.width - fixed if c == "desc" else COLUMN_WIDTH[c]
            layout.append((c, x, w, "L" if c in ("desc", "pos", "unit") else "R"))
            x += w
        return layout

    def table_header(self, layout: list[tuple[str, float, float, str]]) -> None:
        heads = {"pos": "pos", "desc": "desc", "qty": "qty", "unit": "unit", "price": "price", "rate": "rate",
                 "amount": "amount"}
        if self.v.table in ("zebra", "grid"):
            self.pdf.set_fill_color(215)
            self.pdf.rect(self.left, self.y, self.width, self.line_h + 1, style="F")
        for c, x, w, align in layout:
            self.text(x + 0.8, self.y + 0.5, w - 1.6, self.f.word(heads[c]), align=align, bold=True)
        self.y += self.line_h + 1
        self.rule(self.y, 0.35)
        self.y += 0.8

    def item_rows(self) -> list[tuple[dict[str, Any], list[str]]]:
        layout = {c: w for c, _, w, _ in self.column_layout()}
        items = [i for i in self.fields.get("line_items") or [] if i.get("name") or i.get("line_total")]
        return [(item, self.wrap(item.get("name") or "", layout["desc"] - 1.6)) for item in items]

    def continuation_header(self) -> None:
        self.pdf.add_page()
        self.text(self.left, 14, self.width, self.seller_name, size=self.v.font_pt + 1, bold=True)
        self.text(self.left, 14 + self.line_h, self.width,
                  f"{self.f.word('number')} {self.fields['invoice_number']}", size=self.v.font_pt - 0.5)
        self.y = 30.0

    def items(self) -> None:
        layout = self.column_layout()
        self.table_header(layout)
        rows = self.item_rows()
        running = Decimal(0)
        for n, (item, desc_lines) in enumerate(rows, 1):
            height = self.line_h * len(desc_lines) + (1.2 if self.v.roomy else 0.4)
            if self.y + height > self.bottom - self.line_h:
                if self.rng.random() < 0.6:
                    self.rule(self.y, 0.2)
                    self.text(self.left, self.y + 0.5, self.width, self.f.word("carry"), bold=True)
                    self.text(self.left, self.y + 0.5, self.width, self.f.number(running * self.f.sign), align="R",
                              bold=True)
                self.continuation_header()
                self.table_header(layout)
            if self.v.table == "zebra" and n % 2 == 0:
                self.pdf.set_fill_color(238)
                self.pdf.rect(self.left, self.y, self.width, height, style="F")
            unit_name = UNIT_NAMES.get(item.get("unit") or "", (item.get("unit") or "",) * 6)
            values = {"pos": item.get("line_id") or str(n), "qty": self.f.quantity(item.get("quantity")),
                      "unit": unit_name[LANGUAGES.index(self.v.language) % len(unit_name)],
                      "price": self.f.amount(item.get("net_unit_price"), signed=False),
                      "rate": f"{self.f.rate(self.fields['tax_breakdown'][0].get('rate_percent'))} %",
                      "amount": self.f.amount(item.get("line_total"))}
            for c, x, w, align in layout:
                if c == "desc":
                    for j, part in enumerate(desc_lines):
                        self.text(x + 0.8, self.y + j * self.line_h, w - 1.6, part)
                else:
                    self.text(x + 0.8, self.y, w - 1.6, values[c], align=align)
            running += Decimal(item.get("line_total") or 0)
            self.y += height
            if self.v.table in ("ruled", "grid"):
                self.pdf.set_draw_color(170)
                self.pdf.set_line_width(0.15)
                self.pdf.line(self.left, self.y, self.left + self.width, self.y)
            if self.v.table == "grid":
                for _, x, _, _ in layout[1:]:
                    self.pdf.line(x, self.y - height, x, self.y)
        self.rule(self.y + 0.5, 0.35)
        self.y += 3

    # -- totals, VAT table, payment
    def totals_rows(self) -> list[tuple[str, str, bool]]:
        f, totals = self.f, self.fields.get("totals") or {}
        taxes = self.fields.get("tax_breakdown") or []
        rows: list[tuple[str, str, bool]] = []
        lines, net = totals.get("line_total"), totals.get("tax_basis_total")
        if lines and net and Decimal(lines) != Decimal(net):
            rows.append((f.word("lines"), f.amount(lines), False))
            difference = Decimal(net) - Decimal(lines)
            rows.append((f.word("charge" if difference > 0 else "allowance"), f.amount(str(difference)), False))
        mode = self.v.vat_mode
        if net and mode != "none":
            rows.append((f.word("net"), f.money(net) if self.rng.random() < 0.4 else f.amount(net), False))
        if mode in ("lines", "table+lines"):
            for tax in taxes:
                rows.append((f.word("vat").format(rate=f.rate(tax.get("rate_percent"))), f.amount(tax.get("tax")),
                             False))
        elif mode in ("table", "total") and totals.get("tax_total"):
            rows.append((f.word("vat_total"), f.amount(totals["tax_total"]), False))
        gross = totals["grand_total"]
        if self.v.gross_style == "currency-label":
            label, value = f.word("gross_cur").format(cur=f.currency), f.amount(gross)
        else:
            label, value = f.word("gross"), f.money(gross)
        rows.append((label, value, True))
        self.v.printed["grand_total"] = f.amount(gross)
        prepaid, due = totals.get("prepaid"), totals.get("due_payable")
        if due and Decimal(due) != Decimal(gross):
            paid = Decimal(prepaid or 0)
            if paid:
                rows.append((f.word("prepaid"), f.amount(str(-paid)), False))
            rest = Decimal(due) - Decimal(gross) + paid
            if rest:
                rows.append((f.word("rounding"), f.amount(str(rest)), False))
            rows.append((f.word("due_amount"), f.money(due), True))
            self.v.printed["amount_due"] = f.amount(due)
        elif self.rng.random() < 0.3:
            rows.append((f.word("due_amount"), f.money(gross), False))
        return rows

    def vat_table_rows(self) -> list[list[str]]:
        heads = self.f.word("vat_head").split("|")
        rows = [heads]
        for tax in self.fields.get("tax_breakdown") or []:
            basis, amount = Decimal(tax.get("basis") or 0), Decimal(tax.get("tax") or 0)
            rows.append([f"{self.f.rate(tax.get('rate_percent'))} %" + (f" ({tax['category']})"
                                                                        if tax.get("category") not in (None, "S")
                                                                        else ""),
                         self.f.amount(str(basis)), self.f.amount(str(amount)), self.f.amount(str(basis + amount))])
        return rows

    def payment_lines(self) -> list[str]:
        due = _label_date(self.fields.get("due_date"))
        lines = []
        if self.extras.payment_terms and self.rng.random() < 0.6:
            lines += self.wrap(self.extras.payment_terms[:300], self.width)
        elif due:
            lines.append(self.f.word("pay_until").format(date=self.f.date(due)))
        else:
            lines.append(self.f.word("pay"))
        if self.extras.iban and self.rng.random() < 0.6:
            lines.append(f"IBAN {self.extras.iban}" + (f" · BIC {self.extras.bic}" if self.extras.bic else ""))
        return lines

    def closing(self) -> None:
        totals = self.totals_rows()
        vat_rows = self.vat_table_rows() if self.v.vat_mode in ("table", "table+lines") else []
        payment = self.payment_lines()
        needed = len(totals) * (self.line_h + 1.4) + (len(vat_rows) * self.line_h + 4 if vat_rows else 0) \
            + len(payment) * self.line_h + 4
        if self.y + needed > self.bottom:
            self.continuation_header()
        x, w = self.left + self.width * 0.45, self.width * 0.55
        for label, value, bold in totals:
            if bold:
                self.pdf.set_draw_color(40)
                self.pdf.line(x, self.y, x + w, self.y)
                self.y += 0.8
            self.text(x, self.y, w, label, bold=bold)
            self.text(x, self.y, w, value, align="R", bold=bold)
            self.y += self.line_h + (0.6 if bold else 0)
        self.y += 4
        if vat_rows:
            widths = [self.width * 0.16, self.width * 0.16, self.width * 0.14, self.width * 0.16]
            for r, cells in enumerate(vat_rows):
                cx = self.left
                for c, (cell, cw) in enumerate(zip(cells, widths, strict=True)):
                    self.text(cx, self.y, cw - 1, cell, align="L" if c == 0 else "R",
                              size=self.v.font_pt - 1, bold=r == 0)
                    cx += cw
                self.y += self.line_h
                if r == 0:
                    self.pdf.line(self.left, self.y, self.left + sum(widths), self.y)
            self.y += 4
        for line in payment:
            self.text(self.left, self.y, self.width, line, size=self.v.font_pt - 0.5)
            self.y += self.line_h

    def print_stamp(self) -> None:
        """A print date in the top margin, as a browser or an accounting program prints it: a date that is not
        the invoice's."""
        issue = _label_date(self.fields.get("issue_date"))
        if issue is None:
            return
        printed = self.f.date(issue + dt.timedelta(days=self.rng.randint(0, 400)))
        clock = f"{self.rng.randint(7, 19):02d}:{self.rng.randint(0, 59):02d}"
        text = self.rng.choice([f"{printed}, {clock}", f"{self.f.word('printed')}: {printed}"])
        self.v.distractors["print_date"] = printed
        self.text(self.left, 3, self.width * 0.6, text, size=7)

    def render(self) -> bytes:
        if self.rng.random() < 0.4:
            self.print_stamp()
        self.letterhead()
        self.meta_block(self.buyer_block())
        if self.item_rows():
            self.items()
        self.closing()
        self.v.pages = self.pdf.page_no()
        return bytes(self.pdf.output())


# ------------------------------------------------------------------------------------- scans


def degrade(pdf_bytes: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Rasterise a rendered PDF and make it look scanned, faxed or photographed; return an image-only PDF."""
    kind = rng.choices(["scan", "fax", "photo"], weights=[0.75, 0.12, 0.13])[0]
    # a photo's canvas, perspective and lighting arrays are float copies of the page: 150 dpi keeps them small
    dpi = 150 if kind == "photo" else rng.choice([150, 200, 200, 240])
    pages = convert_from_bytes(pdf_bytes, dpi=dpi, grayscale=True)
    out: list[Image.Image] = []
    for page in pages:
        if kind == "scan":
            image = GENERATE.scan(page, rng, strength=rng.uniform(0.2, 0.7))
        elif kind == "fax":
            rough = GENERATE.scan(page, rng, strength=0.25)
            image = rough.point(lambda value: 255 if value > 150 else 0).convert("1").convert("L")
        else:
            image = GENERATE.photograph(page, rng).convert("RGB")
        out.append(image)
    buffer = io.BytesIO()
    resolution = out[0].width / (A4_W / 25.4)
    out[0].save(buffer, "PDF", save_all=True, append_images=out[1:], resolution=resolution,
                quality=rng.randint(55, 80))
    return buffer.getvalue(), kind


# ------------------------------------------------------------------------------------- one invoice


def render_variant(label: dict[str, Any], extras: Extras, k: int, seed: int,
                   scan_share: float) -> tuple[bytes, Variant]:
    """The PDF bytes of variant `k` of one labelled e-invoice, and the variant's record."""
    rng = random.Random(f"{seed}:{label['id']}:{k}")
    variant = choose_variant(rng, k, label["fields"], scan_share)
    pdf = Renderer(label["fields"], extras, variant, rng).render()
    if variant.scan:
        pdf, variant.degradation = degrade(pdf, rng)
    return pdf, variant


def render_folder(source: Path, out: Path, variants: int, seed: int, scan_share: float,
                  limit: int | None = None) -> dict[str, int]:
    """Render every labelled XML under `source` into `out`; return counts of written and skipped files."""
    labels = sorted((source / "labels").glob("*.json"))[:limit]
    if not labels:
        raise SystemExit(f"no labels under {source / 'labels'}: point --source at an einvoice-xml folder")
    for sub in ("pdfs", "labels", "xml"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    counts = {"xml": 0, "skipped": 0, "pdfs": 0, "pages": 0, "scans": 0}
    for label_path in labels:
        label = json.loads(label_path.read_text("utf-8"))
        stem = label_path.stem
        reason = unusable_reason(label["fields"])
        if reason:
            print(f"skipped {stem}: {reason}")
            counts["skipped"] += 1
            continue
        xml_path = source / label.get("xml", f"xml/{stem}.xml")
        extras = read_extras(xml_path)
        shutil.copyfile(xml_path, out / "xml" / f"{stem}.xml")
        counts["xml"] += 1
        for k in range(variants):
            pdf, variant = render_variant(label, extras, k, seed, scan_share)
            name = f"{stem}__v{k}"
            (out / "pdfs" / f"{name}.pdf").write_bytes(pdf)
            record = {"id": name, "pdf": f"pdfs/{name}.pdf", "pages": variant.pages,
                      "embedded_xml": f"xml/{stem}.xml", "source_label": label["id"], "source": label.get("source"),
                      "source_commit": label.get("source_commit"), "licence": label.get("licence"),
                      "syntax": label.get("syntax"), "fields": label["fields"],
                      "variant": {"layout": variant.layout, **asdict(variant)}}
            (out / "labels" / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                                                         "utf-8")
            counts["pdfs"] += 1
            counts["pages"] += variant.pages
            counts["scans"] += variant.scan
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="einvoice-xml folder (labels/, xml/)")
    parser.add_argument("--out", type=Path,
                        default=Path(user_cache_dir("receipt-workbench", appauthor=False)) / "einvoice-rendered",
                        help="output folder (default: the user cache dir)")
    parser.add_argument("--variants", type=int, default=3, help="renderings per XML")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scan-share", type=float, default=0.5, help="share of variants saved as degraded scans")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N XMLs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = render_folder(args.source, args.out, args.variants, args.seed, args.scan_share, args.limit)
    size = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(f"rendered {counts['pdfs']} PDFs ({counts['pages']} pages, {counts['scans']} scans) from {counts['xml']} "
          f"XMLs, skipped {counts['skipped']}, into {args.out}: {size / 2**20:.1f} MiB, "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
