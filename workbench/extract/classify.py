"""Tell a receipt from an invoice by the words and the shape of its pages.

Evidence for an invoice: invoice words in German, English and French that receipts do not use (payment
terms, due dates, bill-to blocks, bank details with a valid IBAN, a VAT id, order and delivery references),
several pages, a PDF text layer, and an A4/Letter page full of text. Evidence for a receipt: till words
(cash, change, cashier, thank you, card terminal lines, rounding), printed clock times, and a narrow
till-roll page. "Tax invoice" alone proves nothing: many till receipts carry that title (Malaysia,
Singapore, Australia), so the bare word "invoice" weighs little.
"""

import re

from stdnum import iban as stdnum_iban

from schemas import DocType, PageText
from workbench.extract.invoice import fold

_INVOICE_CUES: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\brechnung|\bfacture\b|\bfactura\b|\bfattura\b|\bfactuur\b"), 1.5),
    (re.compile(r"\binvoice\s*(?:date|number|no\b|nr|#)|\binvoice\b"), 0.5),
    (re.compile(r"fallig|faellig|zahlungsziel|zahlbar\s*(?:innerhalb|bis|sofort)|due\s*date|payment\s*terms"
                r"|payable\s*(?:within|by|on)|net\s*\d{2}\s*days|echeance|a\s*payer\s*avant|conditions\s*de\s*paiement"
                r"|please\s*remit|remit\s*to"), 1.5),
    (re.compile(r"bill\s*to|billed\s*to|invoice\s*to|sold\s*to|ship\s*to|rechnungsempfanger|leistungsempfanger"
                r"|facture\s*a|adresse\s*de\s*facturation|kundennummer|kunden-?nr|customer\s*(?:no|number|id)"
                r"|n[°o]\s*client"), 1.0),
    (re.compile(r"\biban\b|\bbic\b|swift|bankverbindung|bank\s*details|coordonnees\s*bancaires|\brib\b"), 1.0),
    (re.compile(r"ust-?\s?id|ust\.-id|umsatzsteuer-?id|steuernummer|vat\s*(?:reg|no|number|id)|tva\s*intra"
                r"|n[°o]\s*tva|siret|siren|handelsregister|\bhrb\b|amtsgericht"), 1.0),
    (re.compile(r"bestellnummer|bestell-?nr|purchase\s*order|\bp\.?o\.?\s*(?:no|number|#)|lieferschein"
                r"|delivery\s*note|bon\s*de\s*commande|leistungsdatum|leistungszeitraum|date\s*of\s*supply"), 0.75),
    (re.compile(r"nettobetrag|summe\s*netto|total\s*ht\b|net\s*total|total\s*ttc|umsatzsteuer|mehrwertsteuer"), 0.5),
)
_RECEIPT_CUES: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\bcash\b|\bchange\b|tendered|kembali|tunai|ruckgeld|\bbar\s*(?:gegeben|bezahlt)|\bgegeben\b"
                r"|rendu\s*monnaie|\bespeces\b"), 1.5),
    (re.compile(r"thank\s*you|terima\s*kasih|danke\s*fur\s*ihren|vielen\s*dank\s*fur\s*ihren\s*einkauf|merci\s*de\s*votre"
                r"|please\s*come\s*again|see\s*you\s*again|goods\s*sold\s*are\s*not"), 1.0),
    (re.compile(r"cashier|kassierer|\bkasse\b|caisse|\btable\b|\btisch\b|server|\bpax\b|\bcounter\b|\bpos\b|terminal"), 1.0),
    (re.compile(r"\breceipt\b|kassenbon|kassenbeleg|quittung|\brecu\b|ticket\s*de\s*caisse|\bbon\s*n"), 1.0),
    (re.compile(r"rounding|round\s*adj|rundung|arrondi"), 1.0),
    (re.compile(r"visa|mastercard|master\s*card|\bamex\b|debit|credit\s*card|ec-?karte|girocard|\bcb\b|contactless"
                r"|approval\s*code|auth\s*code"), 0.75),
)
_TIME = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3])[:h][0-5]\d(?::[0-5]\d)?(?!\d)")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30})")


def invoice_evidence(pages: list[PageText]) -> float:
    """Positive when the pages look like an invoice, negative when like a receipt (roughly -6 .. +10)."""
    if not pages:
        return 0.0
    text = "\n".join(line.text for page in pages for line in page.lines)
    folded = fold(text)
    score = sum(weight for pattern, weight in _INVOICE_CUES if pattern.search(folded))
    score -= sum(weight for pattern, weight in _RECEIPT_CUES if pattern.search(folded))
    if any(stdnum_iban.is_valid(re.sub(r"\s", "", m.group(1))[:34]) for m in _IBAN.finditer(text.upper())):
        score += 1.0
    if _TIME.search(text):
        score -= 0.75
    if len(pages) > 1:
        score += 1.0
    if all(page.origin == "text" for page in pages):
        score += 0.75
    first = pages[0]
    aspect = first.height / first.width
    if aspect >= 1.8:
        score -= 2.0
    elif 1.25 <= aspect <= 1.5 and len(first.lines) >= 25:
        score += 0.75
    return score


def classify(pages: list[PageText]) -> DocType:
    """ "invoice" when the invoice evidence outweighs the receipt evidence, else "receipt"."""
    return "invoice" if invoice_evidence(pages) >= 1.5 else "receipt"
