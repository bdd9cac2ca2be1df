"""Candidate values for the ranked receipt fields (total, date, merchant name, address) and their features.

Layout first: OCR boxes are grouped into printed rows (`group_rows`), positions are measured against the
extent of the text on the page (scans often carry a margin), and words are folded to upper case without
accents so that keyword lists in English, Malay, German, French and Spanish share one feature each.
Every candidate carries a flat `features` dict of floats; the ranker (ranker.py) scores them.
"""

import datetime as dt
import re
import statistics
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from schemas import PageText, TextLine
from workbench.extract.parsers import find_amounts, find_currencies, find_dates, find_times

BBox = tuple[float, float, float, float]

# Registration numbers printed after Malaysian company names, e.g. "(519537-X)", "Co. No. 12345-A", also with
# a digit misread as a letter inside parentheses ("(1U79369-P)"). Without parentheses five digits at least:
# "LOT 1851-A" is a lot number.
REGISTRATION = re.compile(
    r"\(?\s*(?:CO\.?\s*(?:REG\.?\s*)?NO\.?\s*[:.]?\s*|ROC\s*NO\.?\s*[:.]?\s*)?"
    r"\b[A-Z]{0,2}\d{5,12}\s*[-‐·.]\s*[A-Z]\b\s*\)?|\(\s*[A-Z]{0,2}\d{4,12}\s*[-‐·.]?\s*[A-Z]?\s*\)"
    r"|\(\s*(?=(?:[A-Z]*\d){4})[0-9A-Z]{5,12}\s*[-‐·.]\s*[A-Z]\s*\)"
    r"|\((?:CO\.?\s*NO|COMPANY\s*NO|NO\.?\s|ROC|REG)[^()]*\d{5,}[^()]*\)",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Upper case without accents ("Straße" → "STRASSE", "März" → "MARZ")."""
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def normalise(text: str) -> str:
    """The comparison key the SROIE scoring uses: upper case, letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", fold(text))


def _words(*phrases: str) -> re.Pattern[str]:
    alternatives = sorted({p for phrase in phrases for p in phrase.split("|")}, key=len, reverse=True)
    return re.compile(r"(?<![A-Z])(?:" + "|".join(re.escape(a) for a in alternatives) + r")(?![A-Z])")


KEYWORDS: dict[str, re.Pattern[str]] = {
    "total_strong": _words(
        "GRAND TOTAL|NETT TOTAL|NET TOTAL|TOTAL AMOUNT|AMOUNT DUE|TOTAL DUE|BALANCE DUE|ROUNDED TOTAL|"
        "ROUND TOTAL|TOTAL ROUNDED|TOTAL SALES|TOTAL PAYABLE|AMOUNT PAYABLE|TOTAL INCL|TOTAL INCLUSIVE|"
        "TOTAL (RM)|TOTAL RM|TOTAL(RM)|JUMLAH|JUMLAH BESAR|SUMME|GESAMT|GESAMTBETRAG|ZU ZAHLEN|ENDSUMME|"
        "BETRAG|TOTAL TTC|NET A PAYER|MONTANT|IMPORTE|TOTAL A PAGAR|TOTAL EUR|TOTAL USD|TOTAL GBP|"
        "TOTAL TO PAY|AMOUNT TO PAY|TOTALE|BALANCE"
    ),
    "total_weak": _words("TOTAL|TTL|TOT|AMOUNT|AMT|NETT|NET"),
    "subtotal": _words(
        "SUB TOTAL|SUBTOTAL|SUB-TOTAL|SUBTTL|ZWISCHENSUMME|NETTO|NETTOBETRAG|NET AMOUNT|TOTAL EXCL|"
        "EXCLUDING GST|EXCL GST|EXCL. GST|SOUS-TOTAL|SOUS TOTAL|TOTAL HT|BEFORE TAX|TOTAL BEFORE|"
        "TOTAL EXCLUDE|AMOUNT EXCL"
    ),
    "tax": _words("GST|TAX|VAT|MWST|MWST.|UST|SST|TVA|IVA|SERVICE TAX|STEUER|MEHRWERTSTEUER|SALES TAX"),
    "service": _words("SERVICE CHARGE|SVC CHG|SERVICE CHG|SC|SERVICE"),
    "pay": _words(
        "CASH|TENDER|TENDERED|PAID|VISA|MASTER|MASTERCARD|CARD|CREDIT|DEBIT|BAR|GEGEBEN|EC|GIROCARD|"
        "KARTE|PAYMENT|ESPECES|EFECTIVO|TUNAI|AMEX|CC|RECEIVED|PAYMENT MODE|CB|CARTE"
    ),
    "change": _words("CHANGE|KEMBALI|BAKI|RUCKGELD|RUECKGELD|WECHSELGELD|RENDU|CAMBIO|CHANGE DUE"),
    "rounding": _words("ROUNDING|ROUND|ADJ|ADJUSTMENT|RUNDUNG|RAPPENRUNDUNG|RUNDUNGSDIFFERENZ|PEMBULATAN|ARRONDI"),
    "discount": _words("DISCOUNT|DISC|RABATT|NACHLASS|REDUCTION|BON DE REDUCTION|DESCUENTO|SCONTO|REMISE|DESCUENTO|SAVING|SAVINGS|LESS|PROMO|VOUCHER|COUPON"),
    "tip": _words("TIP|TIPS|GRATUITY|TRINKGELD|POURBOIRE|PROPINA"),
    "qty": _words("QTY|PCS|PC|X|UNIT|ST|STK|EA"),
    "item_count": _words("ITEM|ITEMS|QTY|QUANTITY|NO OF ITEMS|TOTAL QTY|TOTAL ITEM|ARTIKEL"),
    "date_word": _words("DATE|TARIKH|DATUM|FECHA|DATA|DATED|INVOICE DATE|DATE/TIME|DATE:|TRANS DATE|DT"),
    "due_word": _words("DUE|EXPIRY|EXPIRE|EXP|VALID|BEST BEFORE|FAELLIG|FALLIG|VALIDITY|JOINED|MEMBER"),
    "company_word": _words(
        "SDN BHD|SDN. BHD.|SDN.BHD|BHD|S/B|SB|ENTERPRISE|ENTERPRISES|TRADING|RESTORAN|RESTAURANT|STORE|MART|"
        "SHOP|CO.|CO|LTD|LIMITED|GMBH|INC|LLC|PLC|KEDAI|HARDWARE|BOOK|BOOKS|CAFE|BAKERY|BAKERIES|"
        "STATIONERY|SUPERMARKET|MARKET|PHARMACY|FARMASI|SYARIKAT|PERNIAGAAN|INTERNATIONAL|HOLDINGS|"
        "CORPORATION|CORP|AG|KG|SARL|SAS|SA|SL|GROUP|MINI MARKET|ELECTRICAL|MOTOR|AUTO|FOOD|FOODS|KITCHEN|"
        "BISTRO|DINER|GRILL|HOTEL|PHOTO|OPTICAL|NASI|MAMAK|TEA|COFFEE|BAR|PUB|TRADERS|INDUSTRIES|MACHINERY"
    ),
    "address_word": _words(
        "JALAN|JLN|JL|TAMAN|TMN|LOT|NO|NO.|BANDAR|KAWASAN|PERINDUSTRIAN|LORONG|LRG|PERSIARAN|KAMPUNG|KG|"
        "BATU|BLOK|BLOCK|LEVEL|FLOOR|ARAS|TINGKAT|WISMA|PLAZA|MALL|CENTRE|CENTER|SEKSYEN|SECTION|SS|"
        "STREET|ST|ROAD|RD|AVENUE|AVE|BLVD|SUITE|STE|DRIVE|DR|LANE|LN|WAY|HIGHWAY|HWY|STRASSE|STR|STR.|"
        "PLATZ|WEG|ALLEE|GASSE|RUE|AVENUE|BOULEVARD|CALLE|AVENIDA|PLAZA|PARK|INDUSTRIAL|SQUARE|UNIT|"
        "SELANGOR|JOHOR|KUALA LUMPUR|PUTRAJAYA|PERAK|PAHANG|KEDAH|KELANTAN|TERENGGANU|MELAKA|MALACCA|"
        "NEGERI SEMBILAN|PULAU PINANG|PENANG|SABAH|SARAWAK|PERLIS|LABUAN|WILAYAH PERSEKUTUAN|MALAYSIA|"
        "SHAH ALAM|PETALING JAYA|SUBANG JAYA|KLANG|PUCHONG|CHERAS|KAJANG|AMPANG|RAWANG|SERI KEMBANGAN|"
        "JOHOR BAHRU|SKUDAI|SEMENYIH|BANGI|SETIA ALAM|BUKIT|SUNGAI|SG|SERDANG|SEPANG|SELAYANG|KEPONG|"
        "DAMANSARA|BANGSAR|BERLIN|MUNCHEN|HAMBURG|KOLN|PARIS|MADRID|LONDON|NEW YORK|USA|DEUTSCHLAND|FRANCE"
    ),
    "phone_word": _words("TEL|TEL.|TE1|TE1.|TELEPHONE|PHONE|PH|FAX|HP|H/P|TELEFON|MOBILE|WHATSAPP|CONTACT"),
    "taxid_word": _words(
        "GST ID|GST REG|GST NO|GST|REG NO|CO REG|CO. REG|ROC|SST ID|SST NO|TAX ID|VAT NO|VAT REG|UST-ID|"
        "USTIDNR|UST-IDNR|STEUERNR|ST.-NR|TVA|SIRET|NIF|CIF|ABN|COMPANY NO|BUSINESS REG|BRN"
    ),
    "doc_word": _words(
        "TAX INVOICE|INVOICE|RECEIPT|CASH BILL|BILL|RESIT|KWITANSI|QUITTUNG|BELEG|RECHNUNG|FACTURE|TICKET|"
        "FACTURA|SIMPLIFIED|OFFICIAL RECEIPT|CASH SALE|SALES|ORDER"
    ),
    "thanks": _words("THANK|THANKS|TQ|TERIMA KASIH|DANKE|MERCI|GRACIAS|WELCOME|COME AGAIN|VISIT"),
}

_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?\d[\d\s\-()]{6,}\d)(?!\d)")


@dataclass(frozen=True)
class Row:
    """Boxes printed on one row of a page, left to right."""

    page: int
    index: int
    lines: tuple[TextLine, ...]
    origin: str

    @cached_property
    def text(self) -> str:
        return " ".join(line.text.strip() for line in self.lines if line.text.strip())

    @cached_property
    def bbox(self) -> BBox:
        return union(line.bbox for line in self.lines)

    @cached_property
    def score(self) -> float:
        return min(line.score for line in self.lines)

    @cached_property
    def address_text(self) -> str:
        """The row's text as an address part (`clean_address_row`): shared by merchant and address features."""
        return clean_address_row(self.text)

    @cached_property
    def type_height(self) -> float:
        """Height of the row's tallest box: the size of its type."""
        return max(line.bbox[3] - line.bbox[1] for line in self.lines)


def union(boxes) -> BBox:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def group_lines(lines: list[TextLine]) -> list[list[TextLine]]:
    """One page's boxes grouped into printed rows, top to bottom, each row left to right.

    A box joins a row (one of the last four) when it overlaps the row's median extent vertically by half
    its height and overlaps none of the row's boxes sideways by more than 0.6 of its height (word boxes of
    wide print overlap a little; a box above another is not on its row). Empty boxes are dropped.
    """
    groups: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2):
        if not line.text.strip():
            continue
        height = max(line.bbox[3] - line.bbox[1], 1.0)
        best = None
        for group in groups[-4:]:
            top = statistics.median(g.bbox[1] for g in group)
            bottom = statistics.median(g.bbox[3] for g in group)
            overlap = min(bottom, line.bbox[3]) - max(top, line.bbox[1])
            if overlap < 0.5 * min(height, bottom - top):
                continue
            if any(min(g.bbox[2], line.bbox[2]) - max(g.bbox[0], line.bbox[0]) > 0.6 * height for g in group):
                continue
            best = group
        if best is None:
            groups.append([line])
        else:
            best.append(line)
    groups.sort(key=lambda g: min(x.bbox[1] for x in g))
    return [sorted(group, key=lambda g: g.bbox[0]) for group in groups]


def group_rows(pages: list[PageText]) -> list[Row]:
    """Group each page's boxes into printed rows (`group_lines`), top to bottom, numbered across pages."""
    rows: list[Row] = []
    for page in pages:
        for group in group_lines(page.lines):
            rows.append(Row(page.number, len(rows), tuple(group), page.origin))
    return rows


@dataclass
class Layout:
    """Page-relative measures shared by every feature: text extent and the median line height."""

    x0: float
    y0: float
    width: float
    height: float
    line_height: float
    rows: list[Row]

    @classmethod
    def of(cls, rows: list[Row]) -> "Layout":
        if not rows:
            return cls(0, 0, 1, 1, 1, rows)
        box = union(r.bbox for r in rows)
        heights = [ln.bbox[3] - ln.bbox[1] for r in rows for ln in r.lines]
        return cls(box[0], box[1], max(box[2] - box[0], 1), max(box[3] - box[1], 1),
                   max(statistics.median(heights), 1), rows)

    def rel_y(self, bbox: BBox) -> float:
        return ((bbox[1] + bbox[3]) / 2 - self.y0) / self.height

    def rel_x(self, bbox: BBox) -> float:
        return ((bbox[0] + bbox[2]) / 2 - self.x0) / self.width


@dataclass
class Candidate:
    """One possible value of a field with where it was read and the features that argue for it."""

    field: str
    value: object
    text: str
    rows: list[Row]
    bbox: BBox
    page: int
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


_STREET_SUFFIX = re.compile(r"[A-Z]{3,}(?:STRASSE|STR\.|WEG|ALLEE|GASSE|PLATZ|RING|DAMM|UFER|STRAAT|LAAN|GATAN|VEJ)\b")


# "TOTAL" as OCR misreads it on faint print ("IUIAL", "T0TAL", "SUBIUIAL"), read as "TOTAL" by the keywords.
_TOTAL_SLIP = re.compile(r"(?<![A-Z])(SUB\s?)?(?!TOTAL)[TI1][O0UD][TI1][A4][L1I](?![A-Z])")


def keyword_flags(text: str, prefix: str = "") -> dict[str, float]:
    folded = _TOTAL_SLIP.sub(r"\1TOTAL", fold(text))
    flags = {f"{prefix}kw_{name}": float(bool(pattern.search(folded))) for name, pattern in KEYWORDS.items()}
    if not flags[f"{prefix}kw_address_word"] and _STREET_SUFFIX.search(folded):
        flags[f"{prefix}kw_address_word"] = 1.0
    return flags


def _text_shape(text: str) -> dict[str, float]:
    letters = sum(c.isalpha() for c in text)
    digits = sum(c.isdigit() for c in text)
    upper = sum(c.isupper() for c in text)
    n = max(len(text), 1)
    return {
        "len": float(len(text)),
        "alpha_ratio": letters / n,
        "digit_ratio": digits / n,
        "upper_ratio": upper / max(letters, 1),
        "n_words": float(len(text.split())),
        "has_colon": float(":" in text),
        "has_registration": float(bool(REGISTRATION.search(text))),
        "has_postcode": float(bool(_POSTCODE.search(text))),
        "has_phone": float(bool(_PHONE.search(text))),
        "has_amount": float(bool(find_amounts(text))),
        "has_date": float(bool(find_dates(text))),
        "has_time": float(bool(find_times(text))),
    }


# Glyph pairs a text recogniser confuses on receipt print (thermal, dot matrix), in either direction.
_CONFUSABLE = frozenset(
    frozenset(pair)
    for pair in ("IL", "I1", "L1", "IJ", "IT", "O0", "OD", "D0", "OQ", "OC", "OU", "S5", "B8", "B3", "G6", "GC",
                 "Z2", "EF", "EC", "HN", "HM", "NM", "UV", "VY", "RP", "RK", "A4", "T7", "CE", "UN")
)


def confusable(a: str, b: str) -> bool:
    """Whether `a` and `b` (same length, upper case) differ only by glyphs OCR confuses, one at a time."""
    return len(a) == len(b) and all(x == y or frozenset((x, y)) in _CONFUSABLE for x, y in zip(a, b))


# Words that label an amount, recognised through the glyphs OCR confuses ("IUIAL" is TOTAL, "SUBIUIAL" SUBTOTAL).
_AMOUNT_WORDS = ("TOTAL", "SUBTOTAL", "ROUNDING", "CHANGE", "DISCOUNT", "AMOUNT", "BALANCE", "JUMLAH")


def repair_amount_words(text: str) -> str:
    """`text` with words that read as an amount label through OCR-confusable glyphs spelled as that label."""
    def repl(match: re.Match[str]) -> str:
        word = fold(match.group(0))
        return next((w for w in _AMOUNT_WORDS if w != word and confusable(word, w)), match.group(0))

    return re.sub(r"[A-Za-z0-9]{5,}", repl, text) if text.isascii() else text


def _amount_context(row: Row, span_line: TextLine, start: int, end: int) -> str:
    """The label text of an amount: the rest of its box and the boxes to its left on the row."""
    own = span_line.text[:start] + " " + span_line.text[end:]
    left = [ln.text for ln in row.lines if ln.bbox[2] <= span_line.bbox[0] + 2]
    return " ".join(left + [own])


def _left_of(line: TextLine, boxes: list[TextLine], line_height: float) -> str:
    """Text of the nearest box to the left of `line` whose middle is within a line height of its middle,
    whatever row grouping decided (skewed scans put a label and its value on slightly different heights)."""
    middle = (line.bbox[1] + line.bbox[3]) / 2
    near = [b for b in boxes if b is not line and b.bbox[2] <= line.bbox[0] + 2
            and abs((b.bbox[1] + b.bbox[3]) / 2 - middle) <= 0.9 * line_height]
    if not near:
        return ""
    return max(near, key=lambda b: b.bbox[2]).text


def amount_candidates(rows: list[Row], layout: Layout) -> list[Candidate]:
    """One candidate per distinct amount on the receipt, with the strongest evidence of its instances."""
    boxes: dict[int, list[TextLine]] = {}
    for row in rows:
        boxes.setdefault(row.page, []).extend(row.lines)
    instances: dict[Decimal, list[dict[str, float]]] = {}
    where: dict[Decimal, tuple[Row, TextLine, str]] = {}
    all_values: list[Decimal] = []
    for position, row in enumerate(rows):
        for line in row.lines:
            for value, (start, end) in find_amounts(line.text):
                all_values.append(value)
                context = repair_amount_words(_amount_context(row, line, start, end))
                above = repair_amount_words(rows[position - 1].text) if position > 0 else ""
                feats = keyword_flags(context, "ctx_")
                feats.update(keyword_flags(above, "above_"))
                feats.update(keyword_flags(repair_amount_words(_left_of(line, boxes[row.page], layout.line_height)),
                                           "left_"))
                feats.update({
                    "rel_y": layout.rel_y(line.bbox),
                    "rel_x_right": (line.bbox[2] - layout.x0) / layout.width,
                    "rows_below": float(len(rows) - position - 1) / max(len(rows), 1),
                    "ocr_score": line.score,
                    "height_rel": (line.bbox[3] - line.bbox[1]) / layout.line_height,
                    "has_currency": float(bool(find_currencies(line.text)) or bool(find_currencies(context))),
                    "ctx_len": float(len(context.strip())),
                    "ctx_percent": float("%" in context),
                    "alone_in_box": float(len(line.text.strip()) <= end - start + 1),
                    "negative": float(value < 0),
                })
                instances.setdefault(value, []).append(feats)
                where.setdefault(value, (row, line, line.text))
                if feats["ctx_kw_total_strong"] and not feats["ctx_kw_subtotal"]:
                    where[value] = (row, line, line.text)
    if not instances:
        return []
    positive = sorted({v for v in all_values if v > 0}, reverse=True)
    candidates = []
    for value, inst in instances.items():
        feats: dict[str, float] = {}
        for key in inst[0]:
            values = [i[key] for i in inst]
            feats["max_" + key] = max(values)
            if key in ("rel_y", "rel_x_right", "ocr_score", "rows_below"):
                feats["min_" + key] = min(values)
        feats["count"] = float(len(inst))
        feats["rank_desc"] = float(positive.index(value)) if value in positive else -1.0
        feats["is_max"] = float(bool(positive) and value == positive[0])
        feats["value_log"] = float(abs(value)).__add__(1.0).__pow__(0.5)
        feats["is_zero"] = float(value == 0)
        feats["mult_005"] = float((value * 100) % 5 == 0)
        feats["has_rounding_neighbour"] = float(any(0 < abs(other - value) < Decimal("0.05") for other in positive))
        feats["has_cents_nonzero"] = float(value != value.to_integral_value())
        feats["n_amounts"] = float(len(all_values))
        feats["n_distinct"] = float(len(instances))
        larger = [v for v in positive if v > value]
        feats["n_larger"] = float(len(larger))
        feats["equals_pair_sum"] = float(any(a + b == value for a in positive for b in positive if a >= b and a < value))
        feats["is_cash_minus_change"] = 0.0
        row, line, text = where[value]
        candidates.append(Candidate("total", value, text, [row], line.bbox, row.page, feats))
    _mark_cash_change(candidates)
    return candidates


def _mark_cash_change(candidates: list[Candidate]) -> None:
    pays = [c.value for c in candidates if c.features.get("max_ctx_kw_pay")]
    changes = [c.value for c in candidates if c.features.get("max_ctx_kw_change")]
    for cand in candidates:
        cand.features["is_cash_minus_change"] = float(any(p - ch == cand.value for p in pays for ch in changes))


# OCR slips around printed dates, undone before a second reading: a separator read as "~" or "_" or as a
# space beside a real one ("05~05-17", "05 02-18"), a time or a number glued in front ("18:1524/05/18",
# "#19536001/06/2018").
_DATE_REPAIRS = [
    (re.compile(r"(?<=\d)[~_](?=\d)"), "-"),
    (re.compile(r"(?<![\d.,:])(\d{1,2}) (\d{1,2})([-/])(\d{4}|\d{2})(?![\d.,])"), r"\1\3\2\3\4"),
    (re.compile(r"(?<![\d.,:])(\d{1,2})([-/])(\d{1,2}) (\d{4}|\d{2})(?![\d.,:])"), r"\1\2\3\2\4"),
    (re.compile(r"(\d{1,2}:\d{2})(?=\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"), r"\1 "),
    (re.compile(r"(?<=\d)(?=\d{2}[/.-]\d{2}[/.-](?:19|20)\d{2}(?!\d))"), " "),
]


def _read_dates(text: str, day_first: bool):
    """(reading, repaired?, date, span) for each distinct date in the text as printed, then in the text with
    date-like OCR slips undone (flagged 1.0)."""
    repaired = text
    for pattern, replacement in _DATE_REPAIRS:
        repaired = pattern.sub(replacement, repaired)
    seen: set[dt.date] = set()
    for reading, flag in ((text, 0.0), (repaired, 1.0)) if repaired != text else ((text, 0.0),):
        for value, span in find_dates(reading, day_first=day_first):
            if value not in seen:
                seen.add(value)
                yield reading, flag, value, span


def date_candidates(rows: list[Row], layout: Layout, day_first: bool = True) -> list[Candidate]:
    """One candidate per distinct calendar date on the receipt (read also from the text with OCR slips undone)."""
    instances: dict[dt.date, list[dict[str, float]]] = {}
    where: dict[dt.date, tuple[Row, TextLine]] = {}
    for position, row in enumerate(rows):
        for line in row.lines:
            for text, repaired, value, (start, end) in _read_dates(line.text, day_first):
                raw = text[start:end]
                context = " ".join(ln.text for ln in row.lines)
                above = rows[position - 1].text if position > 0 else ""
                numeric = bool(re.fullmatch(r"[\d\s./\-]+", raw))
                parts = [int(p) for p in re.findall(r"\d+", raw)]
                ambiguous = numeric and len(parts) == 3 and parts[0] <= 12 and parts[1] <= 12 and parts[0] != parts[1]
                feats = keyword_flags(context, "ctx_")
                feats.update({
                    "above_kw_date_word": keyword_flags(above)["kw_date_word"],
                    "rel_y": layout.rel_y(line.bbox),
                    "ocr_score": line.score,
                    "numeric": float(numeric),
                    "ambiguous": float(ambiguous),
                    "two_digit_year": float(not re.search(r"(?:19|20)\d\d", raw)),
                    "glued": float(end < len(text) and text[end].isdigit()),
                    "time_on_row": float(bool(find_times(context))),
                    "raw_len": float(len(raw)),
                    "repaired": repaired,
                })
                instances.setdefault(value, []).append(feats)
                where.setdefault(value, (row, line))
    if not instances:
        return []
    years = sorted(v.year for v in instances)
    candidates = []
    for value, inst in instances.items():
        feats = {}
        for key in inst[0]:
            values = [i[key] for i in inst]
            feats["max_" + key] = max(values)
            if key in ("rel_y", "ocr_score"):
                feats["min_" + key] = min(values)
        feats["count"] = float(len(inst))
        feats["n_distinct"] = float(len(instances))
        feats["is_earliest"] = float(value == min(instances))
        feats["is_latest"] = float(value == max(instances))
        feats["year_off_median"] = float(abs(value.year - years[len(years) // 2]))
        row, line = where[value]
        candidates.append(Candidate("date", value, line.text, [row], line.bbox, row.page, feats))
    return candidates


def strip_registration(text: str) -> str:
    """A company line without the registration number printed after it ("99 SPEED MART S/B (519537-X)")."""
    return re.sub(r"\s{2,}", " ", REGISTRATION.sub(" ", text)).strip(" ,.-")


# Legal forms at the end of a company name as OCR misreads them ("5/8", "S7B", "SON. BHD", "Sn Bhd", "6mbH"),
# each with its printed spelling. Matched only at the end of a name, where the form is printed.
_LEGAL_FORMS = [
    (re.compile(r"\b[S5][DO0]?[NM]\s*[.,]?\s*[B8][HN][DO0]\b\.?$"), "SDN BHD", "SDNBHD"),
    (re.compile(r"(?<=\s)[S5]\s*[/7|I1L]\s*[B8D]\.?$"), "S/B", "SB"),
    (re.compile(r"(?<=\(M\)\s)[B8]H[DO0]\.?$"), "BHD", "BHD"),
    (re.compile(r"\b[G6]\s?M\s?[B8]\s?H\.?$"), "GmbH", "GMBH"),
    (re.compile(r"\bL\.?\s?[TI17]\.?\s?D\.?$"), "LTD", "LTD"),
    (re.compile(r"\b[L1I][L1I]C\.?$"), "LLC", "LLC"),
    (re.compile(r"\bP[L1I][T7]\.?$"), "PLT", "PLT"),
]
# After a legal form: a registration number glued to it ("S7B4519537-X)") or a few stray glyphs (".LLT", " SE").
_AFTER_FORM = re.compile(
    r"(?:BHD|S/B|LTD|PLT|LLC|INC|GMBH)\.?"
    r"(?P<tail>\s*\(?\s*(?=(?:[A-Z]*\d){2})[0-9A-Z]{5,12}\s*[-‐·.]\s*[A-Z]\s*\)?|[\s.,]+[A-Z]{1,3})\s*$"
)
_GLUED_REGISTRATION = re.compile(r"(?<=[A-Z/])[(4]?\d{5,12}\s*[-‐·.]\s*[A-Z]\s*\)?\s*$")


def repair_legal_form(text: str) -> str:
    """A company name with its legal form spelled as printed ("99 SPEED MART 5/8" → "99 SPEED MART S/B")."""
    text = _cut_after_form(_GLUED_REGISTRATION.sub("", text).rstrip(" ,"))
    upper = fold(text)
    for pattern, spelling, key in _LEGAL_FORMS:
        match = pattern.search(upper)
        if match:
            if normalise(match.group(0)) != key:
                text = text[:match.start()] + spelling
            break
    return _cut_after_form(text)


def _cut_after_form(text: str) -> str:
    tail = _AFTER_FORM.search(fold(text))
    return (text[:tail.start("tail")] if tail else text).rstrip(" ,")


_DIGIT_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "6": "G", "2": "Z"})


def fix_digits_in_words(text: str) -> str:
    """Digits the OCR read inside letter words turned back into letters ("URBAN 1DEA" → "URBAN IDEA")."""

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        letters = sum(c.isalpha() for c in word)
        digits = sum(c.isdigit() for c in word)
        if digits == 1 and letters >= 3:
            return word.translate(_DIGIT_AS_LETTER)
        return word

    return re.sub(r"[A-Za-z0-9]+", repl, text)


def _row_features(row: Row, layout: Layout, prefix: str) -> dict[str, float]:
    text = row.text
    feats = {prefix + k: v for k, v in _text_shape(text).items()}
    feats.update(keyword_flags(text, prefix))
    feats[prefix + "height_rel"] = row.type_height / layout.line_height
    feats[prefix + "rel_y"] = layout.rel_y(row.bbox)
    feats[prefix + "rel_x"] = layout.rel_x(row.bbox)
    feats[prefix + "width_rel"] = (row.bbox[2] - row.bbox[0]) / layout.width
    feats[prefix + "ocr_score"] = row.score
    feats[prefix + "n_boxes"] = float(len(row.lines))
    return feats


TOP_ROWS = 14
_ENDS_LEGAL_FORM = re.compile(
    r"(?:\bSDN\.?\s*BHD|\bBHD|\bS/?B|\bPLT|\bLTD|\bLIMITED|\bGMBH|\bLLC|\bLLP|\bINC|\bCORP|\bSARL|\bSAS|\bS\.?A|"
    r"\bS\.?L|\bS\.?R\.?L|\bAG|\bKG|\bOHG|\bE\.?K|\bB\.?V|\bN\.?V|\bPTE|\bPTY|\bPLC|\bENTERPRISES?|\bTRADING|\bCO)"
    r"\.?\s*(?:\([^()]*\))?$"
)


# A name line that cannot end a name: it ends with "&", "and", "of", "du", "zur", "de la" ...
_ENDS_CONNECTOR = re.compile(
    r"(?:&|\+|-|(?<![A-Z])(?:AND|OF|THE|FOR|DU|DE|DES|DE LA|LA|LE|LES|ET|AU|AUX|ZUR|ZUM|ZU|AM|IM|VON|DER|DIE|DAS|"
    r"UND|DEL|DELLA|DI|E|Y|EL|LOS|LAS|EN|BY))\s*$"
)


_INNER_LEGAL_FORM = re.compile(
    r"(?<=[A-Z.)] )(?:SDN\.?\s?BHD|BHD|S/B|CO|LTD|GMBH|INC|LLC|PLT|SARL)\.?(?=\s+[A-Z])"
)


def _has_legal_form(text: str) -> float:
    return float(bool(_ENDS_LEGAL_FORM.search(fold(text).rstrip(" .,"))))


# Words that say what a business is or does, not which one it is: a name of only these is half a name.
_TRADE_WORDS = _words(
    "CONFECTIONERY|SUPPLY|SUPPLIES|SERVICES|MARKETING|DISTRIBUTOR|DISTRIBUTORS|FLORIST|FURNITURE|PRINTING|CLINIC|"
    "SALON|VEGETARIAN|GROCERY|GROCERIES|STATIONERS|HYPERMARKET|SUPERSTORE|DELI|CENTRE|CENTER|BOULANGERIE|"
    "PATISSERIE|BRASSERIE|PHARMACIE|BACKEREI|BAECKEREI|METZGEREI|APOTHEKE|PIZZERIA|TRATTORIA|RISTORANTE|"
    "PANADERIA|FARMACIA|M|SDN|BHD|&"
)


def _name_shape(value: str) -> dict[str, float]:
    """How complete a name looks on its own: a legal form at its end, only generic words, a dangling "&"."""
    words = re.findall(r"[A-Z0-9&/]+", fold(value))
    generic = sum(1 for w in words if KEYWORDS["company_word"].fullmatch(w) or _TRADE_WORDS.fullmatch(w))
    return {
        "legal_form": _has_legal_form(value),
        "generic_frac": generic / max(len(words), 1),
        "starts_connector": float(bool(re.match(r"\s*(?:&|AND\b|\+|-|\()", fold(value)))),
        "ends_connector": float(bool(_ENDS_CONNECTOR.search(fold(value)))),
    }


def _plain_name_row(row: Row, address_words: bool) -> bool:
    text = fold(strip_registration(row.text))
    letters = sum(c.isalpha() for c in text)
    if letters < 2 or letters < 0.6 * len(text.replace(" ", "")):
        return False
    flags = keyword_flags(text)
    kinds = ("phone_word", "taxid_word", "doc_word", "date_word", "thanks", "total_strong")
    if address_words and any(c.isdigit() for c in text):
        return False
    return not any(flags[f"kw_{k}"] for k in kinds + (() if address_words else ("address_word",))) \
        and not _POSTCODE.search(text) and not find_dates(text) and not find_amounts(text)


def continues_name(first: Row, second: Row, layout: Layout, dangling: bool = False) -> bool:
    """Whether `second` goes on printing the name begun on `first`: both plain name text (no phone, tax id,
    title, date or amount; no address word either, unless `first` visibly breaks off ("Le Bistrot du") and
    no digit is printed), in nearly the same type size, one right under the other."""
    gap = (second.bbox[1] - first.bbox[3]) / layout.line_height
    return (0.7 <= second.type_height / max(first.type_height, 1.0) <= 1.45 and gap < 1.2
            and _plain_name_row(first, dangling) and _plain_name_row(second, dangling))


def merchant_candidates(rows: list[Row], layout: Layout) -> list[Candidate]:
    """Merchant name candidates: each of the first rows, its single boxes, and pairs of consecutive rows."""
    top = rows[:TOP_ROWS]
    # Where the address block and the registration number are: a name is printed right above them.
    address_rows = [i for i, text in enumerate(r.address_text for r in top)
                    if text and (keyword_flags(text)["kw_address_word"] or _POSTCODE.search(text)
                                 or _NUMBER_START.match(fold(text)))]
    registration_rows = [i for i, r in enumerate(top) if REGISTRATION.search(r.text)]
    candidates: list[Candidate] = []
    for i, row in enumerate(top):
        spans: list[tuple[list[Row], str, BBox, float]] = [([row], row.text, row.bbox, 0.0)]
        if len(row.lines) > 1:
            for line in row.lines:
                spans.append(([row], line.text, line.bbox, 1.0))
        if i + 1 < len(top):
            nxt = top[i + 1]
            spans.append(([row, nxt], row.text + " " + nxt.text, union([row.bbox, nxt.bbox]), 2.0))
        if i + 2 < len(top):
            three = top[i:i + 3]
            spans.append((three, " ".join(r.text for r in three), union(r.bbox for r in three), 3.0))
        for span_rows, text, bbox, kind in list(spans):
            owner = re.match(r"^\s*(?:DIMILIKI(?:\s+OLEH)?|OPERATED BY|OWN(?:ED)? BY|A MEMBER OF)\s*[:.]?\s*",
                             text, re.I)
            if owner:
                spans.append((span_rows, text[owner.end():], bbox, kind + 0.5))
            lead = re.match(r"^\s*(?:#\S*|\S*\d\S*[,:])\s+(?=[A-Za-z])", text)
            if lead:
                spans.append((span_rows, text[lead.end():], bbox, kind + 0.25))
            registration = REGISTRATION.search(text) if kind < 2 else None
            if registration and registration.start() > 0 and text[registration.end():].strip(" )"):
                # "MYNEWS RETAIL SB(306295-X) FKA BISON STORES SB": the name is what precedes its number.
                spans.append((span_rows, text[:registration.start()], bbox, kind + 0.75))
            form = _INNER_LEGAL_FORM.search(fold(text)) if kind < 2 and text.isascii() else None
            if form and text[form.end():].strip(" .,-"):
                # "EIGHT OUNCE COFFEE CO. THE GARDENS MALL": the name ends with its legal form.
                spans.append((span_rows, text[:form.end()], bbox, kind + 0.8))
        for span_rows, text, bbox, kind in spans:
            value = repair_legal_form(fix_digits_in_words(strip_registration(unicodedata.normalize("NFKC", text))))
            if not normalise(value):
                continue
            feats = _row_features(span_rows[0], layout, "row_")
            feats.update(_text_shape(value))
            feats.update(keyword_flags(value))
            feats["kind"] = kind
            feats["index"] = float(i)
            last = i + len(span_rows) - 1
            feats["rows_to_address"] = float(min([a - last for a in address_rows if a > last] or [9]))
            feats["rows_to_registration"] = float(min([a - last for a in registration_rows if a >= last] or [9]))
            feats["index_alpha"] = float(sum(1 for r in top[:i] if sum(c.isalpha() for c in r.text) >= 3))
            feats["stripped"] = float(value != text.strip())
            feats["rel_y"] = layout.rel_y(bbox)
            feats["height_rel"] = (bbox[3] - bbox[1]) / layout.line_height / len(span_rows)
            below = top[i + len(span_rows)] if i + len(span_rows) < len(top) else None
            above = top[i - 1] if i > 0 else None
            feats.update(keyword_flags(below.text if below else "", "below_"))
            feats["below_has_registration"] = float(bool(below and REGISTRATION.search(below.text)))
            feats["below_has_postcode"] = float(bool(below and _POSTCODE.search(below.text)))
            feats.update(keyword_flags(above.text if above else "", "above_"))
            feats.update(_name_shape(value))
            feats["above_legal_form"] = _has_legal_form(strip_registration(above.text)) if above else 0.0
            feats["below_legal_form"] = _has_legal_form(strip_registration(below.text)) if below else 0.0
            below_shape = _name_shape(strip_registration(below.text)) if below else {}
            feats["below_starts_connector"] = below_shape.get("starts_connector", 0.0)
            feats["below_generic_frac"] = below_shape.get("generic_frac", 0.0)
            if len(span_rows) >= 2:
                first, second = span_rows[0], span_rows[1]
                feats["first_legal_form"] = _has_legal_form(strip_registration(first.text))
                feats["second_legal_form"] = _has_legal_form(strip_registration(second.text))
                feats["second_starts_connector"] = _name_shape(second.text)["starts_connector"]
                feats["second_generic_frac"] = _name_shape(strip_registration(second.text))["generic_frac"]
                feats["height_ratio"] = second.type_height / max(first.type_height, 1.0)
                feats["centre_shift"] = abs(layout.rel_x(first.bbox) - layout.rel_x(second.bbox))
                feats["pair_gap"] = (second.bbox[1] - first.bbox[3]) / layout.line_height
                feats["second_height_rel"] = second.type_height / layout.line_height
                feats["second_kw_company"] = keyword_flags(span_rows[1].text)["kw_company_word"]
                feats["second_kw_address"] = keyword_flags(span_rows[1].text)["kw_address_word"]
                feats["second_len"] = float(len(span_rows[1].text))
            candidates.append(Candidate("merchant_name", value, text, span_rows, bbox, row.page, feats))
    return candidates


MAX_ADDRESS_ROWS = 7
_ADDRESS_LABEL = re.compile(
    r"^\s*(?:(?:SITE|BR\.?\s*NO|BRANCH|COMPANY\s*REG\.?\s*NO|CO\.?\s*REG\.?\s*NO|CO\.?\s*NO|ROC\s*NO|REG\.?\s*NO)"
    r"\s*[.:]*\s*(?:\d{1,6}\b)?|(?:ADDRESS|ALAMAT|ADRESSE|ANSCHRIFT)\s*[.:]+)\s*[,:;]?",
    re.IGNORECASE,
)
# A row that opens with a house, unit or lot number: "5,JALAN ...", "A-G-06, DATARAN ...", "NO.19 & 21", "LOT 12,".
_NUMBER_START = re.compile(r"^\s*(?:NO\.?\s*:?\s*|LOT\s*|UNIT\s*|#)?(?=[A-Z0-9-]*\d)[A-Z0-9]{1,5}(?:-[A-Z0-9]{1,4}){0,3}\s*[,&]")
_BRANCH = re.compile(r"^\s*\d{3,4}\s*-\s*[A-Z]", re.IGNORECASE)
# What follows an address on its last row: a phone number or a tax/company number with its label.
_ADDRESS_TAIL = re.compile(
    r"[\s,.;:(]*(?<![A-Z])(?:TEL|TEL/FAX|TELEFON|TELEPHONE|PHONE|FAX|MOBILE|H/P|GST|GSTID|GST\s*ID|SST|TAX\s*ID|VAT|"
    r"COMPANY\s*(?:REG\.?\s*)?NO|CO\.?\s*(?:REG\.?\s*)?NO|ROC|BRN|UST-?ID|STEUER-?NR|SIRET|TVA|E-?MAIL|WWW|HTTPS?)"
    r"(?![A-Z]).*$"
)
_BARE_NUMBER = re.compile(r"^[\s\d\-.#()]*\d{6,}[\s\d\-.#()]*(?:-?\s*[A-Z])?\W*$")


def clean_address_row(text: str) -> str:
    """The address part of a header row: without a registration number, a label ("Address:"), a phone or tax
    number after it, and nothing at all for a document title ("TAX INVOICE") or a bare number."""
    text = unicodedata.normalize("NFKC", text)
    folded = fold(text)
    title = KEYWORDS["doc_word"].search(folded) and not KEYWORDS["address_word"].search(folded)
    if _BARE_NUMBER.match(folded) or (title and not _POSTCODE.search(folded)):
        return ""
    tail = _ADDRESS_TAIL.search(folded) if len(folded) == len(text) else None
    if tail:
        text = text[:tail.start()]
    return _ADDRESS_LABEL.sub("", strip_registration(text)).strip(" ,.:;")


def _name_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Z0-9']{3,}", fold(text)) if not KEYWORDS["company_word"].fullmatch(w)}


def address_candidates(rows: list[Row], layout: Layout, merchant_end: int, merchant: str = "") -> list[Candidate]:
    """Address candidates: runs of 1–7 consecutive rows in the header, described relative to the merchant name
    (usually right under it, now and then above it when the name is printed lower down) and to the name's
    words (a row repeating them names the outlet: "DOMINO'S PIZZA SEGAMBUT")."""
    top = rows[: TOP_ROWS + MAX_ADDRESS_ROWS]
    name_words = _name_words(merchant)
    info = []
    for r in top:
        kw = keyword_flags(r.text)
        clean = r.address_text
        words = _name_words(clean)
        info.append({
            "text": r.text,
            "clean": clean,
            "number_start": float(bool(_NUMBER_START.match(fold(clean)))),
            "name_overlap": len(words & name_words) / len(words) if words else 0.0,
            "branch": float(bool(_BRANCH.match(r.text))),
            "address": kw["kw_address_word"],
            "phone": kw["kw_phone_word"],
            "taxid": kw["kw_taxid_word"],
            "doc": kw["kw_doc_word"],
            "company": kw["kw_company_word"],
            "postcode": float(bool(_POSTCODE.search(r.text))),
            "registration": float(bool(REGISTRATION.search(r.text))),
            "date": float(bool(find_dates(r.text))),
            "amount": float(bool(find_amounts(r.text))),
            "height": r.type_height / layout.line_height,
            "rel_x": layout.rel_x(r.bbox),
        })
    candidates: list[Candidate] = []
    for start in range(len(top)):
        for length in range(1, MAX_ADDRESS_ROWS + 1):
            end = start + length
            if end > len(top):
                break
            span = top[start:end]
            parts = info[start:end]
            value = ", ".join(p["clean"] for p in parts if p["clean"])
            if not normalise(value):
                continue
            feats: dict[str, float] = {
                "start": float(start),
                "length": float(length),
                "from_merchant": float(start - merchant_end),
                "rel_y": layout.rel_y(span[0].bbox),
                "n_address_rows": sum(p["address"] for p in parts),
                "frac_address_rows": sum(p["address"] for p in parts) / length,
                "first_address": parts[0]["address"],
                "first_number_start": parts[0]["number_start"],
                "first_name_overlap": parts[0]["name_overlap"],
                "max_name_overlap": max(p["name_overlap"] for p in parts),
                "last_address": parts[-1]["address"],
                "n_postcode": sum(p["postcode"] for p in parts),
                "last_postcode": parts[-1]["postcode"],
                "n_phone_rows": sum(p["phone"] for p in parts),
                "n_taxid_rows": sum(p["taxid"] for p in parts),
                "n_doc_rows": sum(p["doc"] for p in parts),
                "n_date_rows": sum(p["date"] for p in parts),
                "n_amount_rows": sum(p["amount"] for p in parts),
                "n_company_rows": sum(p["company"] for p in parts),
                "n_registration": sum(p["registration"] for p in parts),
                "last_branch": parts[-1]["branch"],
                "min_score": min(r.score for r in span),
                "mean_height_rel": statistics.mean(p["height"] for p in parts),
                "max_gap": max([(b.bbox[1] - a.bbox[3]) / layout.line_height for a, b in zip(span, span[1:])] or [0.0]),
                "x_spread": max(p["rel_x"] for p in parts) - min(p["rel_x"] for p in parts),
                "len": float(len(value)),
                "digit_ratio": sum(c.isdigit() for c in value) / max(len(value), 1),
            }
            for name, index in (("before", start - 1), ("after", end)):
                exists = 0 <= index < len(top)
                p = info[index] if exists else {}
                feats[name + "_exists"] = float(exists)
                for key in ("address", "phone", "taxid", "doc", "company", "postcode", "registration", "date", "branch",
                            "number_start", "name_overlap"):
                    feats[f"{name}_{key}"] = p.get(key, 0.0)
                if exists:
                    gap = (top[index].bbox[1] - span[-1].bbox[3]) if name == "after" else (span[0].bbox[1] - top[index].bbox[3])
                    feats[name + "_gap"] = gap / layout.line_height
                else:
                    feats[name + "_gap"] = 5.0
            bbox = union(r.bbox for r in span)
            candidates.append(Candidate("merchant_address", value, "\n".join(p["text"] for p in parts), list(span),
                                        bbox, span[0].page, feats))
    return candidates
