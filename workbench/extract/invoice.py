"""Extract an Invoice from page text (a PDF text layer or OCR lines) by labels, layout and arithmetic.

How each field is found:
- Labels in German, English, French, Spanish, Italian and Dutch ("Rechnungsnummer", "Invoice No.", "N° de
  facture", "Factura n.º", "Fattura n.", "Factuurnummer", "Nettobetrag", "Total HT", "Base imponible", "MwSt",
  "TVA", "IVA", "btw", "Gesamtbetrag", "Total TTC", "Totale documento", "Fällig", "Échéance", ...) are matched on
  accent-folded, lower-cased text. A label's value is read after it in the same line, in the next box of
  the same printed row, or below it in the same column (tables whose header sits above the values).
- Totals: every labelled amount is a candidate for net, tax, gross or amount due; the chosen triple is the
  one with the best label evidence, strongly preferring net + tax = gross, and tax lines (rows where a base
  and a tax amount agree with a printed rate) add evidence. Totals are looked for on every page, later
  pages and lower rows weighing a little more (they usually close the last page).
- Header fields (number, dates, parties) come from the first page first.
- Seller: a labelled supplier block ("Verkäufer", "Lieferant", "Seller", "Fournisseur"), the sender line
  above the address window ("Acme GmbH | Street 1 | 12345 Town"), names with a legal form (GmbH, Ltd,
  SARL...) in the letterhead or footer, or the letterhead's largest line — the best supported wins.
- Currency: an ISO code or symbol printed on the invoice (never assumed); IBAN and VAT ids are checked with
  python-stdnum (a VAT id that fails only its check digits is kept with low confidence).
Confidence combines how the value was found (label and arithmetic agreement high, layout guesses low)
with the reading score of the text it came from. Credit notes carry negative amounts.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import product
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import InvalidChecksum, ValidationError

from schemas import Extracted, Invoice, LineItem, PageText, Party, Source, TaxLine
from workbench.extract.features import group_lines
from workbench.extract.parsers import (
    PERCENT,
    day_first_by_dates,
    detect_currency,
    find_amounts,
    find_currencies,
    find_dates,
)
from workbench.extract.ranker import INVOICE_MODEL_PATH, ExtractionModel, load_model

_CENT = Decimal("0.01")
_MAX_MONEY = Decimal("999999999.99")


# --- text boxes and printed rows --------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lower-case, accents dropped, one character per character (spans stay valid on the original)."""
    out = []
    for char in text:
        if char == "ß":
            out.append("s")
            continue
        base = unicodedata.normalize("NFKD", char)
        kept = "".join(c for c in base if not unicodedata.combining(c))
        out.append(kept[:1].lower() if kept else char.lower())
    return "".join(out)


@dataclass(frozen=True)
class Box:
    """One text line or box on a page."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    page_width: float
    page_height: float
    folded: str = field(default="", compare=False)

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def source(self) -> Source:
        return Source(page=self.page, bbox=(self.x0, self.y0, self.x1, self.y1), text=self.text[:1000])


@dataclass
class Row:
    """Boxes printed on one line of a page, left to right."""

    boxes: list[Box]

    @property
    def text(self) -> str:
        return "  ".join(box.text for box in self.boxes)

    @property
    def page(self) -> int:
        return self.boxes[0].page


_GLUED_WORD = re.compile(r"(?<=\d)(vom|von|van|dated|date|from|of|du|le|del|de|am)(?=\s*\d)", re.IGNORECASE)
"""A short word run together with the numbers around it in a text layer ("471102vom13.11.2019")."""


class Layout:
    """The document's boxes grouped into rows per page (a word glued between numbers spaced out)."""

    def __init__(self, pages: list[PageText]) -> None:
        self.pages = pages
        self.boxes: list[list[Box]] = []
        self.rows: list[list[Row]] = []
        for page in pages:
            page_rows = []
            for group in group_lines(page.lines):
                texts = [" ".join(_GLUED_WORD.sub(r" \1 ", line.text).split()) for line in group]
                page_rows.append(Row([Box(page.number, text, *line.bbox, line.score, page.width, page.height,
                                          fold(text)) for text, line in zip(texts, group, strict=True)]))
            self.rows.append(page_rows)
            self.boxes.append(sorted((box for row in page_rows for box in row.boxes), key=lambda b: (b.cy, b.x0)))
        self.origin = "text" if pages and all(p.origin == "text" for p in pages) else "ocr"

    def all_boxes(self) -> Iterable[Box]:
        for boxes in self.boxes:
            yield from boxes

    def all_rows(self) -> Iterable[Row]:
        for rows in self.rows:
            yield from rows

    def row_of(self, box: Box) -> Row:
        for row in self.rows[box.page - 1]:
            if box in row.boxes:
                return row
        return Row([box])

    def right_of(self, box: Box) -> list[Box]:
        return [b for b in self.row_of(box).boxes if b.x0 >= box.x1 - box.height * 0.5 and b is not box]

    def below(self, box: Box, max_lines: float = 4.0, slack: float = 0.0) -> list[Box]:
        """Boxes under `box` whose horizontal extent overlaps it, nearest first."""
        found = []
        for other in self.boxes[box.page - 1]:
            if other.y0 <= box.y1 - box.height * 0.3 or other.y0 - box.y1 > max_lines * box.height * 1.6:
                continue
            if min(other.x1, box.x1 + slack) - max(other.x0, box.x0 - slack) > 0:
                found.append(other)
        return sorted(found, key=lambda b: b.y0)


# --- lexicon (accent-folded, lower case) ------------------------------------------------------------------

_NUMBER_LABEL = re.compile(
    r"(?:(?<![a-z])rechnungs?\s?-?\s?(?:nummer|nr|no|num)|(?<![a-z])re\s?-?\s?nr|(?<![a-z])beleg\s?-?\s?(?:nummer|nr)"
    r"|invoice\s*(?:no|number|nr|num|#|id)|^(?:invoice|rechnung|facture|factura|fattura|factuur)(?=\s*:)"
    r"|^n\s?[°o](?=\s*[:.]?\s*[a-z-]*\d)|(?<![a-z])factuur\s?-?\s?(?:nummer|nr|no)"
    r"|^(?:invoice|rechnung|facture|factura|fattura|factuur)(?=\s+[a-z-]*\d[\w\-/.]*\s+(?:vom|van|du|del|de|of|dated)\s)"
    r"|ref\.?\s*(?:de\s*)?(?:la\s*)?facture|referencia\s*(?:de\s*)?(?:la\s*)?factura|rif\.?\s*fattura"
    r"|(?:factura|fattura|factuur)\s*(?:n\.?\s?[°o]\.?|no|nr|num|numero|n\.|#)"
    r"|(?:n\.?\s?[°o]\.?|numero|nummer|num|n\.)\s*(?:de\s*|del\s*|della\s*)?(?:la\s*)?(?:factura|fattura|factuur|documento)"
    r"|inv\s?(?:no|#)|facture\s*(?:n\s?[°o]|no|numero|num|#)|n\s?[°o]\s*(?:de\s*)?(?:la\s*)?facture"
    r"|numero\s*(?:de\s*)?(?:la\s*)?facture|(?:gutschrift|credit\s?note|avoir|korrektur)\w*\s*(?:nummer|nr|no|n\s?°|#)"
    r"|document\s*(?:no|number|#)|bill\s*(?:no|number|#)"
    r"|\w*(?:rechnung|invoice|facture|factura|fattura|factuur|gutschrift|korrektur)\w*\)?"
    r"(?:\s*\([^)]{0,40}\)|\s+[a-z]{2,25}){0,3}?\s*(?:nr|no|n\s?°|#|nummer|number|num))(?![a-z])\.?\s*[:#]?\s*",
)
_NUMBER_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]|[0-9]")

_ISSUE_LABEL = re.compile(
    r"(?:rechnungs\s?-?\s?datum|invoice\s*date|date\s*of\s*(?:invoice|issue)|issue\s*date|date\s*d.emission"
    r"|date\s*(?:de\s*(?:la\s*)?)?facture|beleg\s?-?\s?datum|belegdatum|datum\s*der\s*rechnung|ausstellungsdatum"
    r"|ausgestellt\s*am|issued\s*(?:at|on)?|emise?\s*le|fecha\s*(?:de\s*)?(?:la\s*)?(?:factura|emision|expedicion)"
    r"|data\s*(?:della\s*)?(?:fattura|documento|emissione)|factuurdatum|\bde\s*fecha\b|\bd\.\s?d\."
    r"|\b(?:datum|date|dated|le|vom|von|du|fecha|data|del)\b)"
)
_ISSUE_STRONG = re.compile(r"rechnungs|invoice|issue|facture|factura|fattura|factuur|beleg|emission|emisi|emise?\s"
                           r"|ausstell")
_OTHER_DATE = re.compile(
    r"liefer|leistung|bestell|auftrag|order|deliver|shipping|versand|due|fallig|faellig|echeance|livraison"
    r"|commande|zahl|payment|paiement|period|zeitraum|skonto|abrechnungs|geburt|gultig|valid|bis\b|until|from\b"
    r"|\bab\b|druck|print|reklamation|telefonat|schreiben|entrega|pedido|vencimiento|impres|consegna|ordine|scadenza"
    r"|stampa|\bddt\b|levering|lever|bestel|verval|afgedrukt|imprim"
)
_DUE_LABEL = re.compile(
    r"fallig|faellig|zahlungsziel|zahlbar\s*(?:bis|am|spatestens)|due\s*(?:date|on|by)|payment\s*due|pay\s*by"
    r"|payable\s*(?:by|before|on)|echeance|a\s*payer\s*avant|payable\s*avant|date\s*limite|\bbis\s*zum\b|netto\s*bis"
    r"|spatestens|(?:remit|pay)\s*(?:until|by|before)|vencimiento|pagar\s*antes|scadenza|pagare\s*entro|vervaldatum"
    r"|te\s*betalen\s*(?:voor|uiterlijk)|uiterlijk"
)

_EXCLUDE_TOTAL = re.compile(
    r"zuschl|abschl|rabatt|skonto|discount|allowance|\bcharge|remise|frais|anzahlung|prepaid|already\s*paid|deposit"
    r"|acompte|erhalten|bereits|versand|shipping|fracht|porto|\bid\b|idnr|id-nr|\bnr\b|nummer|number|\bno\b|intracom"
    r"|steuersatz|tax\s*rate|taux|vat\s*reg|registration|siret|siren|rcs|basis\s*:|pfand|descuento|anticipo"
    r"|ya\s*pagado|redondeo|portes|recargo|sconto|acconto|gia\s*pagato|arrotondamento|maggiorazione|korting"
    r"|aanbetaling|vooruitbetaald|reeds\s*betaald|afronding|toeslag|verzendkosten|\btipo\b|aliq"
)
_GROSS_STRONG = re.compile(
    r"gesamtbetrag|bruttobetrag|brutto\s?-?summe|rechnungsbetrag|endbetrag"
    r"|gesamtsumme|(?:summe|betrag|total|gesamt)\s*inkl|inkl\.?\s*(?:mwst|ust)|summe\s*brutto|\bbrutto\b"
    r"|(?:inklusive|including|incl\.?)\s*(?:\d+(?:[.,]\d+)?\s*%\s*)?\w*(?:steuer|mwst|ust|vat|tax)\b"
    r"|grand\s*total|total\s*amount|invoice\s*total|total\s*(?:incl|inc\b|including)|amount\s*incl|total\s*ttc"
    r"|montant\s*ttc|\bttc\b|montant\s*total|tota(?:l|le|al)\s*\(?(?:eur|usd|gbp|chf|sek|dkk|nok|huf|pln|czk)\b"
    r"|total\s*factura|importe\s*total|totale\s*(?:fattura|documento)|totaal\s*incl|factuurbedrag"
)
_DUE_AMOUNT = re.compile(
    r"zahlbetrag|zu\s*zahlen|zahlbarer\s*betrag|offener\s*betrag|faelliger\s*betrag|falliger\s*betrag"
    r"|amount\s*(?:due|payable)|due\s*payable|payable\s*amount|total\s*due|balance\s*due|balance|please\s*pay"
    r"|net\s*a\s*payer|reste\s*a\s*payer"
    r"|total\s*a\s*payer|montant\s*a\s*payer|montant\s*du\b|importe\s*a\s*pagar|total\s*a\s*pagar|pendiente"
    r"|da\s*pagare|netto\s*a\s*pagare|te\s*betalen|openstaand|nog\s*te\s*betalen"
)
_NET_STRONG = re.compile(
    r"summe\s*netto|netto\s?-?summe|nettobetrag|netto\s?-?betrag|gesamt\s*netto|netto\s*gesamt|nettowert"
    r"|(?:rechnungs)?summe\s*(?:ohne|exkl|excl)|betrag\s*(?:ohne|exkl)|zwischensumme\s*netto|warenwert\s*netto"
    r"|net\s*total|total\s*net|net\s*amount|total\s*(?:excl|exc\b|excluding|before\s*tax|w/o)|amount\s*(?:excl|before)"
    r"|subtotal\s*(?:excl|before)|total\s*ht\b|montant\s*ht|total\s*hors\s*tax|sous\s?-?total\s*ht|\bnet\s*ht"
    r"|base\s*ht|tax\s*basis|taxable\s*amount|steuerbasis|steuerpflichtiger\s*betrag|\bht\b|base\s*imponible"
    r"|importe\s*neto|imponibile|totale\s*netto|totaal\s*excl|netto\s*bedrag"
)
_NET_WEAK = re.compile(r"\bsubtotal|sub\s?-?total|zwischensumme|sous\s?-?total|\bnetto\b|\bnet\b|warenwert"
                       r"|positionssumme|subtotaal|subtotale|suma\s*de\s*lineas|totale\s*righe")
_TAX = re.compile(
    r"mwst|\bust\b|\bust\.|\bu\.?st\b|steuer\b|steuerbetrag|\bvat\b|v\.a\.t|\btva\b"
    r"|\bgst\b|\bhst\b|sales\s*tax|\btax\b|\btaxes\b|\btaxe\b|\biva\b|\bbtw\b|\bimposta\b|cuota\s*iva"
)
_GROSS_WEAK = re.compile(r"\btotal\b|summe\b|\bgesamt\b|\bbetrag\b|\bmontant\b|\bamount\b|\btotale\b|\btotaal\b"
                         r"|\bimporte\b|\bimporto\b|\bbedrag\b")

_SELLER_LABEL = re.compile(
    r"^(?:verkaufer|lieferant|leistungserbringer|rechnungssteller|seller|supplier|vendor|from|bill\s*from"
    r"|fournisseur|vendeur|emetteur|prestataire|absender|auftragnehmer|proveedor|vendedor|emisor|fornitore"
    r"|cedente|venditore|leverancier|verkoper)\b"
)
_BUYER_LABEL = re.compile(
    r"^(?:kaufer|kunde|rechnungsempfanger|leistungsempfanger|auftraggeber|bill\s*to|billed\s*to|invoice\s*to"
    r"|sold\s*to|customer|client|buyer|facture\s*a|facturer\s*a|adresse\s*de\s*facturation|destinataire"
    r"|acheteur|empfanger|cliente|comprador|facturar\s*a|destinatario|committente|cessionario|klant|afnemer"
    r"|koper|factuuradres)\b"
)
_BUYER_CONTEXT = re.compile(r"ihre|your|kunde|customer|client|kaufer|buyer|acheteur|votre|empfanger|bill\s*to|klant"
                            r"|\bsu\b|\bvs\.|\buw\b")
_LEGAL_FORM = re.compile(
    r"\b(?:gmbh|ag|kg|kgaa|ohg|ug|gbr|e\.?\s?k|e\.?\s?v|mbh|ltd|limited|llc|llp|inc|corp|corporation|plc|co"
    r"|sarl|s\.?a\.?r\.?l|sas|sasu|s\.?a|eurl|sci|snc|bv|b\.?v|nv|n\.?v|spa|s\.?p\.?a|s\.?l|srl|oy|ab|as|aps|a\.g"
    r"|sa/nv|gie)\b\.?"
)
_TITLE_WORDS = re.compile(
    r"^(?:\w*rechnung\w*|invoice|facture|factura|fattura|factuur|gutschrift|credit\s*note|avoir|tax\s*invoice"
    r"|proforma|seite|page|pagina|nota\s*de\s*credito|nota\s*di\s*credito|creditnota"
    r"|rechnungskorrektur|storno\w*)\b"
)
_NAME_FIELD = re.compile(r"^(?:name|firma|company|raison\s*sociale|societe|soci[eé]t[eé]|nom)\s*:?\s*", re.IGNORECASE)
_SALUTATION = re.compile(r"^(?:herrn?|frau|firma|mr|mrs|ms|m\.|mme|mlle|attn|z\.?\s?hd\.?)\b\.?\s*$")
_CREDIT_WORDS = re.compile(r"\bcredit\s*(?:note|memo)\b|\bavoir\b|\bkreditnote\b|\bstornorechnung\b"
                           r"|\bnota\s*de\s*credito\b|\bnota\s*di\s*credito\b|\bcreditnota\b|\bcreditfactuur\b"
                           r"|\bfactura\s*rectificativa\b")
_PO_LABEL = re.compile(
    r"(?:bestell\s?-?\s?(?:nummer|nr|no)|bestellung|ihre\s*bestellung|auftrags?\s?-?\s?nr|purchase\s*order"
    r"|\bpo\s*(?:no|number|#)?|order\s*(?:no|number|#|ref)|votre\s*commande|bon\s*de\s*commande|commande\s*n"
    r"|su\s*pedido|n\.?\s?[°o]\.?\s*de\s*pedido|vs\.?\s*ordine|n\.\s*ordine|uw\s*bestelling|ordernummer)"
    r"\b\.?\s*[:#]?\s*"
)
_SEPARATORS = re.compile(r"\s*[|•●·∙◦]\s*|\s+[-–]\s+")
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}-)?\d{4,5}\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_VAT_CANDIDATE = re.compile(
    r"\b(ATU\s?\d{8}|BE\s?[01]?\d{9}|BG\d{9,10}|CHE[- ]?\d{3}[.]?\d{3}[.]?\d{3}|CY\d{8}[A-Z]|CZ\d{8,10}"
    r"|DE\s?\d{3}\s?\d{3}\s?\d{3}|DK\d{8}|EE\d{9}|EL\d{9}|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}"
    r"|FR\s?[A-Z0-9]{2}\s?\d{3}\s?\d{3}\s?\d{3}|GB\s?\d{3}\s?\d{4}\s?\d{2}(?:\d{3})?|HR\d{11}|HU\d{8}|IE\d[A-Z0-9]\d{5}[A-Z]{1,2}"
    r"|IT\d{11}|LT\d{9,12}|LU\d{8}|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|PT\d{9}|RO\d{2,10}|SE\d{12}"
    r"|SI\d{8}|SK\d{10}|XI\d{9})\b"
)
_IBAN_CANDIDATE = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30})")


_CURRENCY_LABEL = re.compile(r"(?:wahrung|currency|devise|monnaie|moneda|valuta)\s*:?\s*([A-Z]{3})\b", re.IGNORECASE)


def _currency(layout: Layout) -> tuple[str, float, Box | None] | None:
    """A labelled currency ("Währung: EUR") first, else the codes and symbols printed next to amounts."""
    for box in layout.all_boxes():
        row_text = layout.row_of(box).text
        match = _CURRENCY_LABEL.search(fold(row_text))
        if match:
            code = match.group(1).upper()
            if detect_currency(code) == code:
                return code, 0.95 * _ocr_factor(box), box
    counts: dict[str, float] = {}
    for row in layout.all_rows():
        text = row.text
        for code, (start, end) in find_currencies(text):
            # "Mo.-Fr. 08.30" is a weekday range, not Swiss francs.
            if text[start:end].startswith("Fr") and re.search(r"(?:mo|di|mi|do)\.?\s?-\s?$", text[:start], re.IGNORECASE):
                continue
            counts[code] = counts.get(code, 0.0) + (2.0 if text[start:end].isupper() and len(text[start:end]) == 3 else 1.0)
    if not counts:
        return None
    code = max(counts, key=lambda c: counts[c])
    share = counts[code] / sum(counts.values())
    return code, (0.6 + 0.3 * share) if counts[code] >= 2 else 0.6 * share + 0.2, None


def _ocr_factor(box: Box) -> float:
    return 0.5 + 0.5 * box.score


# --- amounts and their labels -----------------------------------------------------------------------------

@dataclass
class Candidate:
    value: Any
    weight: float
    box: Box | None


def _money(text: str) -> list[tuple[Decimal, tuple[int, int]]]:
    """Amounts in a text, leaving out percentages ("5,5 %" is a rate, not money)."""
    blanked = PERCENT.sub(lambda m: " " * len(m.group(0)), text)
    return find_amounts(blanked)


def _amounts(box: Box, start: int = 0) -> list[tuple[Decimal, int]]:
    return [(value, span[0]) for value, span in _money(box.text[start:]) if abs(value) <= _MAX_MONEY]


def _value_after_label(layout: Layout, box: Box, end: int) -> tuple[Decimal, Box, str] | None:
    """The amount printed after a label: the rightmost one on its row, else the column below it."""
    right: list[tuple[Decimal, Box]] = []
    rest = _amounts(box, end)
    if rest:
        right.append((rest[-1][0], box))
    for other in layout.right_of(box):
        if _TAX.search(other.folded) or _GROSS_STRONG.search(other.folded) or _NET_STRONG.search(other.folded):
            break
        found = _amounts(other)
        if found:
            right.append((found[-1][0], other))
    if right:
        value, source = right[-1]
        return value, source, "row"
    column = []
    for other in layout.below(box, max_lines=8, slack=box.height):
        found = _amounts(other)
        labelled = any(re.search(r"[^\W\d_]{4,}", b.text) for b in layout.row_of(other).boxes)
        if not found or len(found) > 1 or labelled:
            if column or labelled:
                break
            continue
        column.append((found[0][0], other))
    if column:
        return column[-1][0], column[-1][1], "column"
    return None


def _total_candidates(layout: Layout) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {"net": [], "tax": [], "gross": [], "due": []}
    page_count = len(layout.pages)
    for boxes in layout.boxes:
        for box in boxes:
            text = box.folded
            if not re.search(r"[a-z]", text):
                continue
            if _EXCLUDE_TOTAL.search(text) and not _GROSS_STRONG.search(text):
                continue
            kind, weight, match = _classify_total_label(text)
            if kind is None or match is None:
                continue
            row_text = layout.row_of(box).text
            if kind in ("net", "tax") and PERCENT.search(row_text) and len(_money(row_text)) >= 2:
                continue  # a tax line (rate, base, tax): read by _tax_lines, not as a total
            result = _value_after_label(layout, box, match.end())
            if result is None:
                continue
            value, source, how = result
            if kind == "tax" and re.search(r"enthalten|included|inclus|\bdont\b|\binkl|\bincl", text):
                value = abs(value)  # "(included VAT 35.13)": the brackets mark a part of the total, not a credit
            # Totals close the document: later pages and lower rows weigh a little more.
            position = 0.1 * (box.page / page_count) + 0.1 * (box.y0 / box.page_height)
            weight = (weight + position) * (0.9 if how == "column" else 1.0) * _ocr_factor(source)
            found[kind].append(Candidate(value, weight, source))
    return found


def _classify_total_label(text: str) -> tuple[str | None, float, re.Match[str] | None]:
    for pattern, kind, weight in ((_DUE_AMOUNT, "due", 1.0), (_NET_STRONG, "net", 1.0),
                                  (_GROSS_STRONG, "gross", 1.0), (_TAX, "tax", 0.9), (_NET_WEAK, "net", 0.5),
                                  (_GROSS_WEAK, "gross", 0.5)):
        match = pattern.search(text)
        if match:
            return kind, weight, match
    return None, 0.0, None


# VAT rates in use in Europe and beyond; a bare number on a row counts as a rate only if it is one of them.
_COMMON_RATES = frozenset(Decimal(r) for r in (
    "2.1", "2.5", "2.6", "3", "3.8", "4", "5", "5.5", "6", "7", "8", "8.1", "9", "10", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "27"))


def _tax_lines(layout: Layout) -> list[tuple[TaxLine, Box]]:
    """Rows where a rate, a base and a tax amount agree (tax = base x rate, to the cent)."""
    lines: list[tuple[TaxLine, Box]] = []
    seen: set[tuple[Decimal, Decimal, Decimal]] = set()
    for row in layout.all_rows():
        text = row.text
        folded = fold(text)
        if _EXCLUDE_TOTAL.search(folded) and not _TAX.search(folded):
            continue
        amounts = [value for value, _ in _money(text)]
        if len(amounts) < 2:
            continue
        rates = {Decimal(m.group(1).replace(",", ".")) for m in PERCENT.finditer(text)}
        explicit = bool(rates)
        for token in re.findall(r"(?<![\w.,%])(\d{1,2}(?:[.,]\d{1,2})?)(?![\w%]|[.,]\d)", text):
            if Decimal(token.replace(",", ".")) in _COMMON_RATES:
                rates.add(Decimal(token.replace(",", ".")))
        for rate in sorted(rates, reverse=True):
            if not Decimal(0) <= rate <= Decimal(30) or (rate == 0 and not explicit):
                continue
            for base, tax in product(amounts, amounts):
                if base == tax and rate != 100 or abs(base) < abs(tax):
                    continue
                if rate == 0 and tax != 0:
                    continue
                if abs((base * rate / 100).quantize(_CENT) - tax) <= _CENT and (tax != 0 or rate == 0):
                    key = (rate, base, tax)
                    if key in seen:
                        continue
                    seen.add(key)
                    score = min(box.score for box in row.boxes)
                    box = row.boxes[-1]
                    lines.append((TaxLine(rate=rate, base=base, amount=tax,
                                          confidence=round(0.85 * (0.5 + 0.5 * score), 3),
                                          source=Source(page=box.page, bbox=_row_bbox(row), text=text[:1000])),
                                  box))
                    break
            else:
                continue
            break
    return lines


def _summation_blocks(layout: Layout) -> list[tuple[Decimal | None, Decimal, Decimal, Decimal, Row, bool]]:
    """Stacked totals whatever their words: a tax row under a base and above base + tax.

    A tax row holds one amount and a tax word or a rate. Returns (rate, base, tax, gross, tax row,
    rate agrees) for each block found; `rate agrees` when tax = base x the printed rate.
    """
    blocks = []
    for rows in layout.rows:
        values = [[value for value, _ in _money(row.text)] for row in rows]
        for index, row in enumerate(rows):
            if len(values[index]) != 1:
                continue
            folded = fold(row.text)
            rates = [Decimal(m.group(1).replace(",", ".")) for m in PERCENT.finditer(row.text)]
            if not rates and not _TAX.search(folded):
                continue
            tax = values[index][0]
            grosses = [v for below in values[index + 1:index + 4] for v in below[-1:]]
            bases = [v for above in values[max(0, index - 3):index] for v in above[-1:]]
            found = None
            for base in reversed(bases):
                if not any(abs(base + tax - gross) <= _CENT for gross in grosses) or abs(base) < abs(tax):
                    continue
                agreeing = [r for r in rates if Decimal(0) < r <= 30 and abs((base * r / 100).quantize(_CENT) - tax) <= _CENT]
                if agreeing:
                    found = (agreeing[0], base, tax, base + tax, row, True)
                    break
                if found is None and tax != 0:
                    found = (None, base, tax, base + tax, row, False)
            if found is not None:
                blocks.append(found)
    return blocks


def _row_bbox(row: Row) -> tuple[float, float, float, float]:
    return (min(b.x0 for b in row.boxes), min(b.y0 for b in row.boxes),
            max(b.x1 for b in row.boxes), max(b.y1 for b in row.boxes))


def _distinct(candidates: list[Candidate], limit: int = 12) -> list[Candidate]:
    best: dict[Decimal, Candidate] = {}
    for candidate in candidates:
        kept = best.get(candidate.value)
        if kept is None or candidate.weight > kept.weight:
            best[candidate.value] = candidate
    return sorted(best.values(), key=lambda c: -c.weight)[:limit]


@dataclass
class Totals:
    net: Candidate | None
    tax: Candidate | None
    gross: Candidate | None
    due: Candidate | None
    consistent: bool
    tax_lines: list[TaxLine]


def _solve_totals(layout: Layout) -> Totals:
    candidates = _total_candidates(layout)
    tax_rows = _tax_lines(layout)
    # Several rates: keep the tax lines whose rates differ; repeated rows of one rate are one line.
    by_rate: dict[Decimal, tuple[TaxLine, Box]] = {}
    for line, box in tax_rows:
        if line.rate is not None and (line.rate not in by_rate or box.page >= by_rate[line.rate][1].page):
            by_rate[line.rate] = (line, box)
    for rate, base, tax_value, gross_value, row, agrees in _summation_blocks(layout):
        box = row.boxes[-1]
        for kind, value in (("net", base), ("tax", tax_value), ("gross", gross_value)):
            candidates[kind].append(Candidate(value, (0.8 if agrees else 0.6) * _ocr_factor(box), box))
        if rate is not None and rate not in by_rate:
            by_rate[rate] = (TaxLine(rate=rate, base=base, amount=tax_value, confidence=round(0.8 * _ocr_factor(box), 3),
                                     source=Source(page=box.page, bbox=_row_bbox(row), text=row.text[:1000])), box)
    tax_lines = [line for line, _ in by_rate.values()]
    if tax_lines:
        net_sum = sum((line.base for line in tax_lines if line.base is not None), Decimal(0))
        tax_sum = sum((line.amount for line in tax_lines if line.amount is not None), Decimal(0))
        candidates["net"].append(Candidate(net_sum, 0.45, None))
        candidates["tax"].append(Candidate(tax_sum, 0.45, None))
    nets = _distinct(candidates["net"]) + [None]
    taxes = _distinct(candidates["tax"]) + [None]
    grosses = _distinct(candidates["gross"] + [Candidate(c.value, c.weight * 0.6, c.box) for c in candidates["due"]])
    grosses = grosses + [None]
    best: tuple[float, Any] = (-1.0, (None, None, None, False))
    for net, tax, gross in product(nets, taxes, grosses):
        score = sum(c.weight for c in (net, tax, gross) if c is not None)
        consistent = (net is not None and tax is not None and gross is not None
                      and abs(net.value + tax.value - gross.value) <= _CENT)
        if consistent:
            score += 1.5
            if tax_lines and abs(sum(line.amount or 0 for line in tax_lines) - tax.value) <= _CENT:
                score += 0.5
        elif net is not None and gross is not None and tax is None and net.value == gross.value:
            score += 0.3
        if net is not None and gross is not None and abs(net.value) > abs(gross.value):
            score -= 1.0
        if tax is not None and gross is not None and abs(tax.value) >= abs(gross.value) and gross.value != 0:
            score -= 1.0
        if score > best[0]:
            best = (score, (net, tax, gross, consistent))
    net, tax, gross, consistent = best[1]
    if net is None and tax is not None and gross is not None and abs(tax.value) < abs(gross.value):
        # Invoices priced with tax included print the total and the tax in it, not the net.
        net = Candidate(gross.value - tax.value, 0.3, None)
    dues = _distinct(candidates["due"])
    due = dues[0] if dues else None
    if tax_lines and tax is not None and abs(sum(line.amount or 0 for line in tax_lines) - tax.value) > _CENT:
        tax_lines = [line for line in tax_lines if abs((line.amount or 0) - tax.value) <= _CENT] or []
    return Totals(net, tax, gross, due, consistent, tax_lines)


# --- header fields ----------------------------------------------------------------------------------------

_REFERENCED = re.compile(r"(?:ursprungs|original|bezug|referenz|reference|related|bestell|order|liefer|auftrag"
                         r"|kunden|customer|gemass|according)\S*\s*$")


def _invoice_number(layout: Layout) -> tuple[str, float, Box] | None:
    """The number after an invoice-number label; a title ("Rechnung Nr.") beats numbers of referenced papers."""
    best: tuple[float, float, str, Box] | None = None
    for page_index, boxes in enumerate(layout.boxes[:2]):
        for box in boxes:
            for match in _NUMBER_LABEL.finditer(box.folded):
                value, source = _code_after(layout, box, match.end())
                if value is None or source is None:
                    continue
                label = match.group(0)
                strength = 0.95 if re.search(r"rechnung|invoice|facture", label) else 0.85
                if re.search(r"(?:rechnung|invoice|facture|gutschrift)\w*\)?(?:\s*\([^)]{0,40}\))?(?:\s+[a-z]{2,25}){1,3}"
                             r"(?:\s*\([^)]{0,40}\))?\s*(?:nr|no|n|#)", label):
                    strength -= 0.15  # words between the title and "Nr." ("Rechnung gemäß Bestellung Nr.")
                if _REFERENCED.search(box.folded[:match.start()]) or _REFERENCED.search(label.split(" ")[0] + " "):
                    strength -= 0.3
                if len(box.folded.split()) > 8:
                    strength -= 0.1  # a number mentioned inside a sentence, not a labelled field
                strength -= 0.1 * page_index + 0.05 * box.y0 / box.page_height
                if best is None or strength > best[0]:
                    best = (strength, strength * _ocr_factor(source), value, source)
    if best is None:
        # A lone title with the number beside it ("INVOICE      10023").
        for box in layout.boxes[0] if layout.boxes else []:
            if re.fullmatch(r"(?:invoice|rechnung|facture)\s*#?", box.folded):
                right = layout.right_of(box)[:1]
                if right and re.fullmatch(r"[A-Za-z]{0,4}[-/]?\d[\w\-/.]{0,30}", right[0].text.strip()) \
                        and not find_dates(right[0].text) and not _money(right[0].text):
                    return right[0].text.strip(), 0.7 * _ocr_factor(right[0]), right[0]
        return None
    return best[2], best[1], best[3]


def _code_after(layout: Layout, box: Box, end: int) -> tuple[str | None, Box | None]:
    def pick(text: str) -> str | None:
        for match in _NUMBER_VALUE.finditer(text):
            token = match.group(0).rstrip(".")
            whole_date = any(end - start >= len(token) - 1 for _, (start, end) in find_dates(token))
            if any(ch.isdigit() for ch in token) and not whole_date and len(token) <= 40:
                return token
            if fold(token) not in ("vom", "du", "from", "dated", "date", "datum", "de", "le"):
                if len(token) >= 3 and token.isalpha():
                    return None
        return None

    value = pick(box.text[end:])
    if value:
        return value, box
    if box.text[end:].strip(" :#.-"):
        return None, None
    for other in layout.right_of(box)[:1]:
        value = pick(other.text)
        if value:
            return value, other
    for other in layout.below(box, max_lines=1.5)[:1]:
        value = pick(other.text)
        if value and len(other.text.split()) <= 2:
            return value, other
    return None, None


def _dates_after(layout: Layout, box: Box, end: int, day_first: bool) -> tuple[Any, Box] | None:
    dates = find_dates(box.text[end:], day_first=day_first)
    if dates:
        return dates[0][0], box
    for other in layout.right_of(box)[:2]:
        dates = find_dates(other.text, day_first=day_first)
        if dates:
            return dates[0][0], other
    for other in layout.below(box, max_lines=1.5)[:1]:
        dates = find_dates(other.text, day_first=day_first)
        if dates and len(other.text) <= 24:
            return dates[0][0], other
    return None


def _issue_date(layout: Layout, day_first: bool) -> tuple[Any, float, Box] | None:
    best: tuple[float, float, Any, Box] | None = None
    for page_index, boxes in enumerate(layout.boxes[:2]):
        for box in boxes:
            for match in _ISSUE_LABEL.finditer(box.folded):
                before = box.folded[max(0, match.start() - 40):match.end() + 20]
                if _OTHER_DATE.search(before) or _DUE_LABEL.search(before):
                    continue
                found = _dates_after(layout, box, match.end(), day_first)
                if found is None:
                    continue
                strong = _ISSUE_STRONG.search(match.group(0)) or _NUMBER_LABEL.search(box.folded[:match.start()])
                strength = (0.95 if strong else 0.75) - 0.15 * page_index
                if best is None or strength > best[0]:
                    best = (strength, strength * _ocr_factor(found[1]), found[0], found[1])
            title = re.fullmatch(r"\w*(?:rechnung|invoice|facture|gutschrift)\w*\s*:?", box.folded)
            if page_index == 0 and (title or _NUMBER_LABEL.search(box.folded)) and not find_dates(box.text):
                # A title with the date beside it ("Beitragsrechnung ... Nr. 123      24. Januar 2014").
                found = _dates_after(layout, box, len(box.text), day_first)
                if found is not None and (best is None or best[0] < 0.7):
                    best = (0.7, 0.7 * _ocr_factor(found[1]), found[0], found[1])
    if best is None:
        for box in layout.boxes[0] if layout.boxes else []:
            if _OTHER_DATE.search(box.folded) or _DUE_LABEL.search(box.folded):
                continue
            dates = find_dates(box.text, day_first=day_first)
            if dates and box.y0 < box.page_height * 0.5:
                return dates[0][0], 0.4 * _ocr_factor(box), box
        return None
    return best[2], best[1], best[3]


def _due_date(layout: Layout, day_first: bool) -> tuple[Any, float, Box] | None:
    for boxes in layout.boxes:
        for box in boxes:
            match = _DUE_LABEL.search(box.folded)
            if not match:
                continue
            found = _dates_after(layout, box, match.end(), day_first)
            if found is not None:
                return found[0], 0.8 * _ocr_factor(found[1]), found[1]
    return None


def _purchase_order(layout: Layout) -> tuple[str, float, Box] | None:
    for boxes in layout.boxes[:1]:
        for box in boxes:
            match = _PO_LABEL.search(box.folded)
            if match and not _OTHER_DATE.search(box.folded[match.start():match.end()].replace("bestell", "")):
                if "datum" in box.folded[match.start():match.end() + 8]:
                    continue
                value, source = _code_after(layout, box, match.end())
                if value and source:
                    return value, 0.7 * _ocr_factor(source), source
    return None


# --- parties ----------------------------------------------------------------------------------------------

def _clean_name(text: str) -> str:
    text = _NAME_FIELD.sub("", text.strip()) if _NAME_FIELD.match(fold(text.strip())) else text.strip()
    return text.strip(" ,;:|-–").strip()


def _is_name_like(box: Box) -> bool:
    letters = sum(ch.isalpha() for ch in box.text)
    if letters < 3 or letters < len(box.text) * 0.5:
        return False
    folded = box.folded
    if _TITLE_WORDS.search(folded) or _is_section_label(box) or re.search(r":\s*\S", folded):
        return False
    if re.match(r"^(?:gln|nr|nummer|tel|fax|fon|e-?mail|www|http|ust|vat|tva|iban|bic|datum|date|seite|page)\b", folded):
        return False
    return not find_amounts(box.text) and not find_dates(box.text)


def _is_section_label(box: Box, pattern: re.Pattern[str] | None = None) -> bool:
    """A heading such as "Verkäufer:" or "Bill to" (not a name that merely starts like one)."""
    patterns = [pattern] if pattern is not None else [_SELLER_LABEL, _BUYER_LABEL]
    if not any(p.search(box.folded) for p in patterns):
        return False
    return not _LEGAL_FORM.search(box.folded) and len(box.folded.split()) <= 3 and not re.search(r"\d", box.folded)


def _block_under(layout: Layout, label: Box) -> list[Box]:
    """The lines of the block under a section label (a party's name and address), top to bottom.

    A label alone on its row heads a block of whole rows ("Name: ...", "Anschrift: ..."); a label
    sharing its row with other column heads ("Lieferant   Käufer") heads only its own column.
    """
    row = layout.row_of(label)
    neighbours = [b for b in row.boxes if b.x0 > label.x1]
    right_limit = neighbours[0].x0 - label.height * 0.5 if neighbours else label.page_width
    left_limit = label.x0 - 2 * label.height
    block: list[Box] = []
    last_bottom, last_height = label.y1, label.height
    for other in layout.boxes[label.page - 1]:
        if other.y0 <= label.y1 - label.height * 0.3 or other is label:
            continue
        if other.x1 < left_limit or other.x0 > right_limit or (neighbours and other.x1 > right_limit + label.height * 4):
            continue
        if other.y0 - last_bottom > 2.2 * last_height:
            break
        if _is_section_label(other):
            break
        block.append(other)
        last_bottom, last_height = max(last_bottom, other.y1), other.height
        if len(block) >= 16:
            break
    return block


def _cell_right_of(layout: Layout, key: Box) -> list[Box]:
    """The value of a "Key:" field: the boxes to its right, down to halfway to the keys above and below."""
    keys = [b for b in layout.boxes[key.page - 1] if b is not key and abs(b.x0 - key.x0) <= key.height]
    above = max((b.cy for b in keys if b.cy < key.cy), default=key.cy - 2 * key.height)
    below = min((b.cy for b in keys if b.cy > key.cy), default=key.cy + 2 * key.height)
    low, high = max((above + key.cy) / 2, key.cy - 1.5 * key.height), min((below + key.cy) / 2, key.cy + 1.5 * key.height)
    cell = [b for b in layout.boxes[key.page - 1]
            if b.x0 >= key.x1 and low < b.cy < high and b.x0 - key.x1 < key.page_width * 0.5]
    cell.sort(key=lambda b: b.y0)
    if not cell:
        return []
    return [b for b in cell if abs(b.x0 - cell[0].x0) <= key.height]


def _party_from_label(layout: Layout, label: re.Pattern[str]) -> tuple[str, Box, list[Box], Box] | None:
    """The name under a party heading ("Name: ..." or the first name-like line), the lines after it, the heading.

    A heading followed by its value on the same line ("Client : SAS Dupont") gives that value as the name.
    """
    for boxes in layout.boxes[:2]:
        for box in boxes:
            inline = None
            if not _is_section_label(box, label):
                match = label.search(box.folded)
                if not match or not re.match(r"\s*:\s*\S", box.folded[match.end():]):
                    continue
                inline = _clean_name(box.text[match.end():].lstrip(" :"))
                if not inline or re.search(r"\d{3}", inline):
                    continue
            block = _block_under(layout, box)
            if inline:
                return inline[:200], box, block, box
            target: Box | None = None
            value = ""
            for other in block:
                if _NAME_FIELD.match(other.folded) and len(other.folded) < 60:
                    value, target = _clean_name(other.text), other
                    if not value:
                        cell = _cell_right_of(layout, other)
                        value, target = (_clean_name(" ".join(b.text for b in cell)), cell[0]) if cell else ("", None)
                    if value:
                        break
            if not value:
                names = [b for b in block if _is_name_like(b)]
                if names:
                    value, target = _clean_name(names[0].text), names[0]
                    after = block[block.index(target) + 1:block.index(target) + 2]
                    if (after and _is_name_like(after[0]) and _LEGAL_FORM.search(after[0].folded)
                            and not _LEGAL_FORM.search(target.folded) and not re.search(r"\d", after[0].text)):
                        # A firm name broken over two lines, the legal form on the second.
                        value, target = f"{value} {_clean_name(after[0].text)}", after[0]
            if value and target is not None:
                rest = [b for b in block if b.y0 > target.y1 - target.height * 0.3]
                return value[:200], target, rest, box
    return None


_ADDRESS_LIKE = re.compile(
    r"^(?:[a-z]{1,2}-)?\d{4,5}\s+[a-z]|^\d{4}\s?[a-z]{2}\s|^[a-z]{1,2}\d[a-z\d]?\s?\d[a-z]{2}\b"
    r"|(?:strasse|str\.|street|road|\brd\b|weg|gasse|allee|platz|avenue|\bave\b|calle|\bvia\b|\brue\b|laan|straat"
    r"|gatan|vagen|vej|\bbox\b|postbus|postfach|\bpo\s*box)\s*\d|^\d+[a-z]?,?\s+\w+\s+(?:street|road|avenue|lane|drive)"
    r"|address\s*line|^\w*(?:strasse|street|straat|gatan)$"
)
"""A postcode-and-town line, a street with its number, a post box: an address, not a party's name."""


def _seller_name(layout: Layout, buyer_names: set[str], buyer_boxes: set[Box]) -> tuple[str, float, Box] | None:
    scores: dict[str, list[Any]] = {}

    def add(name: str, weight: float, box: Box) -> None:
        if box in buyer_boxes:
            return
        name = _clean_name(name)
        if _ADDRESS_LIKE.search(fold(name)):
            return
        key = re.sub(r"[\W_]+", "", fold(name))
        if len(key) < 2 or key in buyer_names:
            return
        entry = scores.setdefault(key, [0.0, name, box])
        entry[0] += weight * _ocr_factor(box)

    labelled = _party_from_label(layout, _SELLER_LABEL)
    if labelled:
        add(labelled[0], 0.9, labelled[1])
    first = layout.boxes[0] if layout.boxes else []
    for row in (layout.rows[0] if layout.rows else []):
        if row.boxes[0].y0 > row.boxes[0].page_height * 0.45:
            break
        parts = [p for p in _SEPARATORS.split(row.text) if p.strip()]
        if len(parts) >= 2 and any(_POSTCODE.search(p) for p in parts[1:]) and not _POSTCODE.search(parts[0]):
            add(parts[0], 0.85, row.boxes[0])
    for boxes in layout.boxes:
        for box in boxes:
            if not _LEGAL_FORM.search(box.folded) or not _is_name_like(box):
                continue
            relative = box.y0 / box.page_height
            if box.page == 1 and relative < 0.25:
                add(_with_line_above(layout, box, _SEPARATORS.split(box.text)[0]), 0.5, box)
            elif relative > 0.85:
                add(_SEPARATORS.split(box.text)[0], 0.4, box)
    top = [b for b in first if b.y0 < b.page_height * 0.15 and _is_name_like(b)]
    if top:
        tallest = max(top, key=lambda b: b.height)
        add(tallest.text, 0.35, tallest)
    if not scores:
        return None
    weight, name, box = max(scores.values(), key=lambda entry: entry[0])
    return name, min(0.95, 0.35 + 0.5 * weight), box


def _with_line_above(layout: Layout, box: Box, name: str) -> str:
    """A name whose first part sits on the line above, left-aligned with it ("MVM Musterhafter / Verein a.G.")."""
    for other in layout.boxes[box.page - 1]:
        gap = box.y0 - other.y1
        if (other is not box and -0.2 * box.height <= gap <= 0.8 * box.height and abs(other.x0 - box.x0) <= box.height
                and _is_name_like(other) and not re.search(r"\d", other.text) and not _LEGAL_FORM.search(other.folded)):
            return f"{other.text} {name}"
    return name


def _address_of(block: list[Box]) -> tuple[str, Box] | None:
    """Street lines down to the postcode-and-town line; None when no such line follows soon."""
    lines = []
    for box in block:
        folded = box.folded
        if re.match(r"^(?:gln|nr|nummer|tel|fax|fon|e-?mail|www|http|ust|vat|tva|iban|bic|steuer|kunden-?\s?(?:nr|nummer)|globale)", folded):
            if lines:
                break
            continue
        if re.match(r"^(?:anschrift|adresse|address)\s*:?\s*$", folded):
            continue
        if find_amounts(box.text) or len(lines) >= 4:
            return None
        text = re.sub(r"^(?:anschrift|adresse|address)\s*:\s*", "", box.text, flags=re.IGNORECASE)
        lines.append(text.strip())
        if _POSTCODE.search(box.text) and re.search(r"[A-Za-z]{3}", box.text):
            break
    else:
        return None
    if not lines:
        return None
    return ", ".join(lines)[:500], block[0]


# --- ids --------------------------------------------------------------------------------------------------

def _vat_ids(layout: Layout, buyer_boxes: set[Box]) -> tuple[tuple[str, float, Box] | None, tuple[str, float, Box] | None]:
    seller: tuple[str, float, Box] | None = None
    buyer: tuple[str, float, Box] | None = None
    for row in layout.all_rows():
        for box in row.boxes:
            for match in _VAT_CANDIDATE.finditer(box.text.upper()):
                number = re.sub(r"[\s.\-]", "", match.group(1))
                try:
                    stdnum_vat.validate(number)
                    confidence = 0.9
                except InvalidChecksum:
                    confidence = 0.75  # read as printed, but the check digits fail: validation reports it
                except ValidationError:
                    continue
                before = fold(" ".join(b.text for b in row.boxes if b.x1 <= box.x1))
                is_buyer = box in buyer_boxes or bool(_BUYER_CONTEXT.search(before))
                item = (number, confidence * _ocr_factor(box), box)
                if is_buyer and buyer is None:
                    buyer = item
                elif not is_buyer and seller is None:
                    seller = item
    return seller, buyer


def _iban(layout: Layout) -> tuple[str, float, Box] | None:
    for box in layout.all_boxes():
        for match in _IBAN_CANDIDATE.finditer(box.text.upper()):
            compact = re.sub(r"\s", "", match.group(1))
            for end in range(len(compact), 14, -1):
                if stdnum_iban.is_valid(compact[:end]):
                    return compact[:end], 0.95 * _ocr_factor(box), box
    return None


# --- line items -------------------------------------------------------------------------------------------

_ITEM_HEADER = {
    "qty": re.compile(r"^(?:menge|anzahl|qty|quantity|quantite|qte|stk|anz)\b"),
    "desc": re.compile(r"^(?:beschreibung|bezeichnung|artikelbezeichnung|artikel|description|designation|produkt"
                       r"|product|item|leistung|libelle|position|descripcion|articolo|omschrijving)\b"),
    "price": re.compile(r"^(?:einzelpreis|e-?preis|preis|nettopreis|stuckpreis|unit\s*price|price|prix\s*unitaire|prix"
                        r"|p\.?u|einzel|rate|precio|prezzo|prijs)\b"),
    "vat": re.compile(r"^(?:mwst|ust|vat|tva|steuersatz|tax|iva)\b"),
    "amount": re.compile(r"^(?:betrag|gesamt|gesamtpreis|gesamtbetrag|positionsbetrag|summe|amount|total|montant"
                         r"|nettobetrag|nettowert|line\s*total"
                         r"|total\s*ht|montant\s*ht|importe|importo|bedrag)\b"),
}
# Header words counted towards a table header; a VAT column alone does not make one.
_HEADER_KINDS = ("qty", "desc", "price", "amount")


_TOTALS_ROW = re.compile(
    r"^(?:summe|zwischensumme|gesamt|netto|brutto|rechnungssumme|rechnungsbetrag|total|subtotal|sub-total|net\b"
    r"|montant|sous-total|tva|mwst|ust|vat|tax|steuer|umsatzsteuer|endbetrag|endsumme|warenwert|positionssumme"
    r"|positionen\s*netto|amount\s*due|net\s*a\s*payer|gesamtbetrag|invoice\s*total|balance)"
)
# Section titles that close a line-item table even without an amount on their row.
_AFTER_ITEMS = re.compile(
    r"^(?:zahlungsbedingungen|zahlungsart|steueraufschlusselung|umsatzsteueraufschlusselung|zu-?\s*und\s*abschlage"
    r"|belegsummen|bankverbindung|payment\s*terms|conditions\s*de\s*(?:paiement|reglement)|tax\s*(?:breakdown|summary)"
    r"|vat\s*(?:breakdown|summary)|detail\s*tva|recapitulatif|warenwert)"
)
# Rows inside an item table that are no items: amounts carried over a page break, allowances and charges on the
# whole invoice.
_NOT_AN_ITEM = re.compile(
    r"^(?:ubertrag|uebertrag|report|a\s*reporter|carried\s*(?:forward|over)|brought\s*forward"
    r"|zwischensumme|sous-total|subtotal|remise|charge|zuschlag|abschlag|rabatt|skonto|nachlass|allowance|discount"
    r"|acompte|anzahlung|versandkosten)\b"
)


def _header_cells(box: Box) -> list[tuple[str, Box]]:
    """The header kinds a box names, each with the part of the box its word takes (in proportion to its
    characters): "Einzelpreis Summe" in one box is a price column and an amount column; a box naming one
    kind is that column whole."""
    found: list[tuple[str, Box]] = []
    text = box.folded
    width = box.x1 - box.x0
    taken = 0
    for word in re.finditer(r"[^\s|/]+", text):
        if word.start() < taken:
            continue
        rest = text[word.start():]
        kind, match = next(((k, m) for k, p in _ITEM_HEADER.items() if (m := p.match(rest))), (None, None))
        if kind is None or match is None:
            continue
        start, end = word.start(), word.start() + max(match.end(), len(word.group(0)))
        x0 = box.x0 + width * start / max(len(text), 1)
        x1 = box.x0 + width * min(end, len(text)) / max(len(text), 1)
        found.append((kind, Box(box.page, box.text[start:end], x0, box.y0, x1, box.y1, box.score, box.page_width,
                                box.page_height, text[start:end])))
        taken = end
    if len(found) == 1:
        return [(found[0][0], box)]
    return found


def _item_header(rows: list[Row]) -> dict[str, Box] | None:
    """The columns of a line-item table header over 1-3 stacked rows (amount = the rightmost money column)."""
    found: dict[str, list[Box]] = {}
    for box in (b for row in rows for b in row.boxes):
        for kind, cell in _header_cells(box):
            found.setdefault(kind, []).append(cell)
    kinds = [k for k in found if k in _HEADER_KINDS]
    if "amount" not in found or len(kinds) < 3 - (len(found["amount"]) > 1):
        return None
    header = {kind: boxes[0] for kind, boxes in found.items()}
    header["amount"] = max(found["amount"], key=lambda b: b.x1)
    if "qty" not in header and len(found["amount"]) > 1:
        # "Amount | Product | Price | Total": a left "amount" column counts pieces.
        header["qty"] = min(found["amount"], key=lambda b: b.x0)
    return header


def _line_items(layout: Layout) -> list[LineItem]:
    """Rows under a line-item table header, down to the first totals row or section title of that page.

    An item is a row with a description and an amount in the amount column. A row with a description but no
    amount lends it to the next row (a cell printed a line lower); a row with an amount but no description
    takes the description printed right under it. Carried-over amounts (Übertrag, report) and invoice-level
    allowances and charges are no items. A table continues on the next page under a repeated header.
    """
    items: list[LineItem] = []
    carried: dict[str, Box] | None = None
    for rows in layout.rows:
        header = carried
        carried = None
        pending: Row | None = None
        orphan: Row | None = None
        last_row: Row | None = None
        continued = 0
        skip = 0
        for index, row in enumerate(rows):
            if skip:
                skip -= 1
                continue
            if header is None:
                stacked = [r for r in rows[max(0, index - 2):index + 1]
                           if row.boxes[0].y0 - r.boxes[0].y1 < 2.5 * row.boxes[0].height]
                header = _item_header(stacked)
                # Header cells printed over two lines: take in the header words of the next lines too.
                while header is not None and index + skip + 1 < len(rows):
                    following = rows[index + skip + 1]
                    if following.boxes[0].y0 - stacked[-1].boxes[0].y1 > 1.5 * row.boxes[0].height:
                        break
                    if _money(following.text):
                        break
                    wider = _item_header([*stacked, following])
                    if wider is None or len(wider) <= len(header):
                        break
                    header, stacked, skip = wider, [*stacked, following], skip + 1
                continue
            first = fold(row.boxes[0].text)
            if (_TOTALS_ROW.search(first) and _money(row.text)) or _AFTER_ITEMS.search(first):
                header = None
                break
            if _NOT_AN_ITEM.search(first) or _item_header([row]) is not None:
                pending = orphan = None
                continue
            if items and last_row is not None and continued < 3 and _continues(row, last_row, header):
                # A description printed over more lines than its item's numbers.
                items[-1] = items[-1].model_copy(update={
                    "description": f"{items[-1].description} {_description_text(row, header)}"[:500]})
                last_row, continued = row, continued + 1
                continue
            last_row = None
            item = None
            if orphan is not None:
                item = _item_from_row(Row(orphan.boxes + row.boxes), header)
                orphan = None
                if item is not None and _item_from_row(row, header) is None:
                    items.append(item)
                    pending, last_row, continued = None, row, 0
                    continue
                item = None
            if pending is not None and not _numbers_only(row):
                item = _item_from_row(Row(pending.boxes + row.boxes), header, description_from=pending)
            if item is None:
                item = _item_from_row(row, header)
            if item is not None:
                items.append(item)
                pending, last_row, continued = None, row, 0
            elif _item_amount(row, header) is not None:
                orphan, pending = row, None
            elif any(sum(ch.isalpha() for ch in b.text) >= 3 for b in row.boxes):
                pending = None if _is_note(_description_text(row, header)) else row
        # A table not closed by a totals row or a section title goes on over the page break.
        carried = header
    return items[:1000]


def _description_bounds(header: dict[str, Box]) -> tuple[float, float]:
    """The left and right edge of the description column (the whole row when there is no such column)."""
    if "desc" not in header:
        return 0.0, float("inf")
    desc = header["desc"]
    right = min((b.x0 for b in header.values() if b.x0 > desc.x0 + desc.height), default=float("inf"))
    return desc.x0 - 2 * desc.height, right - desc.height / 2


def _description_text(row: Row, header: dict[str, Box]) -> str:
    left, right = _description_bounds(header)
    return " ".join(b.text for b in row.boxes if left <= b.x0 < right)


def _continues(row: Row, above: Row, header: dict[str, Box]) -> bool:
    """Whether `row` goes on with the description of the item on `above`: right under it, a short text in the
    description column only, nothing in the amount column; notes and sentences do not."""
    gap = row.boxes[0].y0 - max(b.y1 for b in above.boxes)
    if row.page != above.page or gap > 0.6 * row.boxes[0].height or _item_amount(row, header) is not None:
        return False
    left, right = _description_bounds(header)
    if any(not left <= b.x0 < right for b in row.boxes):
        return False
    text = _description_text(row, header).strip()
    return sum(ch.isalpha() for ch in text) >= 3 and len(text) <= 40 and not _is_note(text)


def _is_note(text: str) -> bool:
    """An item's note rather than its name: a bullet ("• Herkunftsland: DE") or a label and value
    ("Verpackung: Karton", "Basismenge: 1 Stk")."""
    text = text.strip()
    return bool(re.match(r"[•*·\-–]", text) or re.search(r"\S\s?:(?:\s|$)", text))


def _numbers_only(row: Row) -> bool:
    """Whether a row prints an item's numbers (quantity, price, amount) and no description: its description is
    the row under it, not a text row above (which belongs to the item before)."""
    numeric = [b for b in row.boxes if re.search(r"\d", b.text) and sum(ch.isalpha() for ch in b.text) <= 3]
    return len(numeric) >= 3 and len(numeric) == len(row.boxes)


def _item_amount(row: Row, header: dict[str, Box]) -> tuple[Decimal, Box] | None:
    """The row's amount in the header's amount column, with its box."""
    amount_col = header["amount"]
    slack = amount_col.height * 2
    in_column = [b for b in row.boxes if _money(b.text) and b.x1 >= amount_col.x0 - slack and b.x0 <= amount_col.x1 + slack]
    if not in_column:
        return None
    last = max(in_column, key=lambda b: b.x1)
    amount = _money(last.text)[-1][0]
    return None if abs(amount) > _MAX_MONEY else (amount, last)


_DESCRIPTION_RATE = re.compile(r"\s*\(\s*(\d{1,2}(?:[.,]\d{1,2})?)\s?%\s*\)\s*$")


def _wordy(text: str) -> bool:
    """Whether a cell holds words, not only an amount with its currency ("Leergut 20 x 0,5l" does; "EUR 46,50" not)."""
    for _, (start, end) in reversed(find_amounts(text)):
        text = text[:start] + text[end:]
    text = re.sub(r"(?<![A-Za-z])(?:EUR|USD|GBP|CHF)(?![A-Za-z])", "", text)
    return sum(ch.isalpha() for ch in text) >= 3


def _item_from_row(row: Row, header: dict[str, Box], description_from: Row | None = None) -> LineItem | None:
    found = _item_amount(row, header)
    if found is None:
        return None
    amount, last = found
    left, right = _description_bounds(header)
    source = description_from.boxes if description_from is not None else row.boxes
    desc_boxes = [b for b in sorted(source, key=lambda b: (b.y0, b.x0)) if b is not last
                  and left <= b.x0 < right and _wordy(b.text) and not PERCENT.fullmatch(b.text.strip())]
    if not desc_boxes:
        return None
    used = [*desc_boxes, last]

    def nearest(box: Box) -> str | None:
        centre = (box.x0 + box.x1) / 2
        kind = min(header, key=lambda k: min(abs(centre - (header[k].x0 + header[k].x1) / 2),
                                             abs(box.x0 - header[k].x0), abs(box.x1 - header[k].x1)))
        col = header[kind]
        overlaps = min(box.x1, col.x1 + col.height) - max(box.x0, col.x0 - col.height) > 0
        return kind if overlaps else None

    quantity = None
    if "qty" in header:
        for box in row.boxes:
            if box is not last and nearest(box) == "qty":
                number = re.match(r"^\s*(-?\d+(?:[.,]\d+)?)", box.text)
                if number:
                    quantity = Decimal(number.group(1).replace(",", "."))
                    break
    unit_price = None
    if "price" in header:
        for box in row.boxes:
            if box is not last and nearest(box) == "price":
                prices = _money(box.text)
                if prices:
                    unit_price = prices[-1][0]
                    break
                # Unit prices may carry 3-4 decimals ("9,9000"); the schema keeps them to the cent.
                fine = re.fullmatch(r"\s*(-?\d+)[.,](\d{3,4})\s*\S{0,3}\s*", box.text)
                if fine:
                    unit_price = Decimal(f"{fine.group(1)}.{fine.group(2)}").quantize(_CENT, rounding=ROUND_HALF_UP)
                    break
    if quantity is None and unit_price:
        # No quantity column: the number left of the description whose product with the unit price is the amount.
        for box in row.boxes:
            number = re.fullmatch(r"\s*(-?\d{1,6}(?:[.,]\d{1,4})?)\s*[A-Za-z.]{0,5}\s*", box.text)
            if box is not last and number and box.x0 < last.x0:
                guess = Decimal(number.group(1).replace(",", "."))
                if guess and abs(guess * unit_price - amount) <= Decimal("0.05"):
                    quantity = guess
                    break
    if quantity is not None and abs(quantity) > Decimal(999999):
        quantity = None
    if quantity is None and unit_price:
        # A blank (or unread) quantity cell: the amount over the unit price says how many, when it is whole.
        ratio = amount / unit_price
        if ratio == ratio.to_integral_value() and 1 <= ratio <= 9999:
            quantity = ratio.quantize(Decimal(1))
    tax_rate = None
    if "vat" in header:
        for box in row.boxes:
            rate = PERCENT.search(box.text) if box is not last and nearest(box) == "vat" else None
            if rate:
                tax_rate = Decimal(rate.group(1).replace(",", "."))
                break
    description = " ".join(b.text for b in desc_boxes)
    in_description = _DESCRIPTION_RATE.search(description)
    if in_description:
        # "Toner schwarz (19 %)": the VAT rate printed in the description cell.
        description = description[:in_description.start()]
        tax_rate = tax_rate if tax_rate is not None else Decimal(in_description.group(1).replace(",", "."))
    score = min(b.score for b in used)
    consistent = quantity is not None and unit_price is not None and abs(quantity * unit_price - amount) <= Decimal("0.05")
    # The source is the description and amount cells: a position number or a quantity cell the OCR may or may not
    # find is not part of it (the box spans the row between them all the same).
    used.sort(key=lambda b: (b.y0, b.x0))
    return LineItem(description=description[:500] or None, quantity=quantity, unit_price=unit_price, amount=amount,
                    tax_rate=tax_rate if tax_rate is not None and tax_rate <= 100 else None,
                    confidence=round((0.8 if consistent else 0.55) * (0.5 + 0.5 * score), 3),
                    source=Source(page=row.page, bbox=_row_bbox(Row(used)), text=Row(used).text[:1000]))


# --- assembly ---------------------------------------------------------------------------------------------

def _field(value: Any, confidence: float, box: Box | None, origin: str) -> dict[str, Any]:
    if value is None:
        return {"value": None, "confidence": 0.0, "origin": None}
    return {"value": value, "confidence": round(max(0.0, min(1.0, confidence)), 3),
            "source": box.source() if box is not None else None, "origin": origin}


JUDGED_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "seller.name", "seller.address",
                 "seller.vat_id", "buyer.name", "buyer.address", "buyer.vat_id", "net_total", "tax_total",
                 "grand_total", "amount_due")
"""Fields whose confidence comes from the judges and calibration map of the invoice model."""


def judged_value(invoice: Invoice, path: str) -> Extracted:
    head, _, tail = path.partition(".")
    target = getattr(invoice, head)
    return getattr(target, tail) if tail else target


def _evidence(invoice: Invoice, layout: Layout, totals: "Totals", rule: dict[str, float]) -> dict[str, dict[str, float]]:
    """Judge features of each judged field that has a value: how the rules found it and what argues for it.

    Every field: the rules' own confidence, the reading score of its source, text layer or OCR, whether net +
    tax = gross. Amounts: whether the value is the largest amount printed, or zero. Dates: how many dates the document prints and how far this one lies from the others (a print
    or delivery date far from the rest is suspect). Texts: length, digits, legal form.
    """
    amounts = [value for row in layout.all_rows() for value, _ in _money(row.text) if abs(value) <= _MAX_MONEY]
    largest = max((abs(a) for a in amounts), default=Decimal(0))
    dates = sorted({d for row in layout.all_rows() for d, _ in find_dates(row.text)})
    # Measures of the document's size (pages, rows) are left out: they tell training sets apart, not readings.
    common = {"text_layer": float(layout.origin == "text"), "consistent": float(totals.consistent)}
    found: dict[str, dict[str, float]] = {}
    for path in JUDGED_FIELDS:
        field = judged_value(invoice, path)
        if field.value is None:
            continue
        features = {**common, "rule": rule.get(path, field.confidence),
                    "ocr": _source_score(layout, field.source)}
        value = field.value
        if isinstance(value, Decimal):
            features |= {"is_largest": float(abs(value) == largest), "zero": float(value == 0)}
        elif isinstance(value, dt.date):
            others = [d for d in dates if d != value]
            gaps = sorted(abs((d - value).days) for d in others)
            features |= {"dates": float(len(dates)), "nearest_other_days": float(min(gaps[0], 3650)) if gaps else -1.0,
                         "median_other_days": float(min(gaps[len(gaps) // 2], 3650)) if gaps else -1.0,
                         "earliest": float(not others or value <= min(others))}
        else:
            text = str(value)
            features |= {"length": float(len(text)), "digits": sum(ch.isdigit() for ch in text) / max(len(text), 1),
                         "words": float(len(text.split())), "legal_form": float(bool(_LEGAL_FORM.search(fold(text))))}
        found[path] = features
    return found


def _source_score(layout: Layout, source: Source | None) -> float:
    """The reading score of the box a value was read from (1 for a text layer); -1 without a source."""
    if source is None:
        return -1.0
    for box in layout.boxes[source.page - 1] if 0 < source.page <= len(layout.boxes) else []:
        if (box.x0, box.y0, box.x1, box.y1) == tuple(source.bbox):
            return box.score
    return -1.0


def extract_invoice(pages: list[PageText], model: ExtractionModel | None = None) -> Invoice:
    """Read an invoice's fields from its pages' text lines, each with the calibrated confidence of `model`."""
    invoice, evidence = read_invoice(pages)
    return calibrate(invoice, evidence, model or load_model(INVOICE_MODEL_PATH))


def calibrate(invoice: Invoice, evidence: dict[str, dict[str, float]], model: ExtractionModel) -> Invoice:
    """The invoice with each judged field's confidence from `model`'s judges and calibration map."""
    updates: dict[str, Any] = {}
    for path, features in evidence.items():
        if path not in model.fields:
            continue
        confidence = round(model.fields[path].confidence(features), 4)
        head, _, tail = path.partition(".")
        if tail:
            party = updates.get(head) or getattr(invoice, head)
            updates[head] = party.model_copy(update={tail: getattr(party, tail).model_copy(
                update={"confidence": confidence})})
        else:
            updates[head] = getattr(invoice, head).model_copy(update={"confidence": confidence})
    return invoice.model_copy(update=updates)


def read_invoice(pages: list[PageText]) -> tuple[Invoice, dict[str, dict[str, float]]]:
    """The fields the rules read (page 1 for the header, all pages for totals) and each one's judge features."""
    layout = Layout(pages)
    origin = layout.origin
    currency = _currency(layout)
    # The dates themselves decide where one reading is impossible; else US dollars mean month first.
    decided = day_first_by_dates([row.text for row in layout.all_rows()])
    day_first = decided if decided is not None else currency is None or currency[0] != "USD"

    buyer_found = _party_from_label(layout, _BUYER_LABEL)
    buyer_names = {re.sub(r"[\W_]+", "", fold(buyer_found[0]))} if buyer_found else set()
    buyer_boxes = set(_block_under(layout, buyer_found[3])) | {buyer_found[1]} if buyer_found else set()
    seller = _seller_name(layout, buyer_names, buyer_boxes)
    seller_found = _party_from_label(layout, _SELLER_LABEL)
    seller_address = _address_of(seller_found[2]) if seller_found else None
    if seller_address is None and seller is not None:
        seller_address = _address_of(_block_under(layout, seller[2]))
    buyer_address = _address_of(buyer_found[2]) if buyer_found else None
    seller_vat, buyer_vat = _vat_ids(layout, buyer_boxes)

    number = _invoice_number(layout)
    issue = _issue_date(layout, day_first)
    due = _due_date(layout, day_first)
    if due is not None and issue is not None and due[0] < issue[0]:
        due = None
    order = _purchase_order(layout)
    totals = _solve_totals(layout)
    iban = _iban(layout)
    credit = bool(_CREDIT_WORDS.search(fold(" ".join(b.text for b in (layout.boxes[0] if layout.boxes else [])
                                                       if b.y0 < b.page_height * 0.4))))

    def money(candidate: Candidate | None, strong: float) -> dict[str, Any]:
        if candidate is None:
            return _field(None, 0, None, origin)
        confidence = strong if totals.consistent else 0.45 + 0.35 * min(candidate.weight, 1.0)
        if candidate.box is not None:
            confidence *= _ocr_factor(candidate.box)
        return _field(candidate.value, confidence, candidate.box, origin)

    net, tax, gross = totals.net, totals.tax, totals.gross
    due_amount = totals.due
    if due_amount is None and gross is not None:
        due_amount = Candidate(gross.value, 0.3, gross.box)
    sign = Decimal(-1) if credit and gross is not None and gross.value > 0 else Decimal(1)
    if sign < 0:
        net, tax, gross, due_amount = (None if c is None else Candidate(-c.value, c.weight, c.box)
                                       for c in (net, tax, gross, due_amount))
    tax_lines = [line.model_copy(update={"base": None if line.base is None else line.base * sign,
                                         "amount": None if line.amount is None else line.amount * sign})
                 for line in totals.tax_lines]
    items = _line_items(layout)
    if sign < 0:
        items = [item.model_copy(update={"amount": None if item.amount is None else -abs(item.amount)}) for item in items]

    data = {
        "kind": _field("credit_note" if credit else "invoice", 0.85 if credit else 0.9, None, origin),
        "invoice_number": _field(*(number if number else (None, 0, None)), origin),
        "issue_date": _field(*(issue if issue else (None, 0, None)), origin),
        "due_date": _field(*(due if due else (None, 0, None)), origin),
        "currency": _field(*(currency if currency else (None, 0, None)), origin),
        "seller": Party.model_validate({
            "name": _field(*(seller if seller else (None, 0, None)), origin),
            "address": _field(seller_address[0] if seller_address else None, 0.75,
                              seller_address[1] if seller_address else None, origin),
            "vat_id": _field(*(seller_vat if seller_vat else (None, 0, None)), origin),
        }),
        "buyer": Party.model_validate({
            "name": _field(buyer_found[0] if buyer_found else None, 0.7 * _ocr_factor(buyer_found[1]) if buyer_found else 0,
                           buyer_found[1] if buyer_found else None, origin),
            "address": _field(buyer_address[0] if buyer_address else None, 0.75,
                              buyer_address[1] if buyer_address else None, origin),
            "vat_id": _field(*(buyer_vat if buyer_vat else (None, 0, None)), origin),
        }),
        "purchase_order": _field(*(order if order else (None, 0, None)), origin),
        "net_total": money(net, 0.95),
        "tax_total": money(tax, 0.95),
        "grand_total": money(gross, 0.97),
        "amount_due": money(due_amount, 0.9 if totals.due is not None else 0.6),
        "tax_lines": tax_lines[:20],
        "iban": _field(*(iban if iban else (None, 0, None)), origin),
        "line_items": items,
    }
    invoice = Invoice.model_validate(data)
    rule = {path: judged_value(invoice, path).confidence for path in JUDGED_FIELDS}
    return invoice, _evidence(invoice, layout, totals, rule)
