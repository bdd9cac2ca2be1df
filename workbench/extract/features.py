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

# Registration numbers printed after Malaysian company names, e.g. "(519537-X)", "Co. No. 12345-A".
REGISTRATION = re.compile(
    r"\(?\s*(?:CO\.?\s*(?:REG\.?\s*)?NO\.?\s*[:.]?\s*|ROC\s*NO\.?\s*[:.]?\s*)?"
    r"\b[A-Z]{0,2}\d{4,12}\s*[-‐·.]\s*[A-Z]\b\s*\)?|\(\s*[A-Z]{0,2}\d{4,12}\s*[-‐·.]?\s*[A-Z]?\s*\)"
    r"|\((?:CO\.?\s*NO|ROC|REG)[^()]*\d{5,}[^()]*\)",
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
    "thanks": _words("THANK|THANKS|TERIMA KASIH|DANKE|MERCI|GRACIAS|WELCOME|COME AGAIN|VISIT"),
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


def union(boxes) -> BBox:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def group_rows(pages: list[PageText]) -> list[Row]:
    """Group each page's boxes into printed rows (vertical overlap, no horizontal overlap), top to bottom."""
    rows: list[Row] = []
    for page in pages:
        groups: list[list[TextLine]] = []
        for line in sorted(page.lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2):
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
                if any(min(g.bbox[2], line.bbox[2]) - max(g.bbox[0], line.bbox[0]) > 0.3 * height for g in group):
                    continue
                best = group
            if best is None:
                groups.append([line])
            else:
                best.append(line)
        groups.sort(key=lambda g: min(x.bbox[1] for x in g))
        for group in groups:
            rows.append(Row(page.number, len(rows), tuple(sorted(group, key=lambda g: g.bbox[0])), page.origin))
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


def keyword_flags(text: str, prefix: str = "") -> dict[str, float]:
    folded = fold(text)
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
                context = _amount_context(row, line, start, end)
                above = rows[position - 1].text if position > 0 else ""
                feats = keyword_flags(context, "ctx_")
                feats.update(keyword_flags(above, "above_"))
                feats.update(keyword_flags(_left_of(line, boxes[row.page], layout.line_height), "left_"))
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


def date_candidates(rows: list[Row], layout: Layout, day_first: bool = True) -> list[Candidate]:
    """One candidate per distinct calendar date on the receipt."""
    instances: dict[dt.date, list[dict[str, float]]] = {}
    where: dict[dt.date, tuple[Row, TextLine]] = {}
    for position, row in enumerate(rows):
        for line in row.lines:
            for value, (start, end) in find_dates(line.text, day_first=day_first):
                raw = line.text[start:end]
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
                    "glued": float(end < len(line.text) and line.text[end].isdigit()),
                    "time_on_row": float(bool(find_times(context))),
                    "raw_len": float(len(raw)),
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
    feats[prefix + "height_rel"] = max(ln.bbox[3] - ln.bbox[1] for ln in row.lines) / layout.line_height
    feats[prefix + "rel_y"] = layout.rel_y(row.bbox)
    feats[prefix + "rel_x"] = layout.rel_x(row.bbox)
    feats[prefix + "width_rel"] = (row.bbox[2] - row.bbox[0]) / layout.width
    feats[prefix + "ocr_score"] = row.score
    feats[prefix + "n_boxes"] = float(len(row.lines))
    return feats


TOP_ROWS = 14


def merchant_candidates(rows: list[Row], layout: Layout) -> list[Candidate]:
    """Merchant name candidates: each of the first rows, its single boxes, and pairs of consecutive rows."""
    top = rows[:TOP_ROWS]
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
            owner = re.match(r"^\s*(?:DIMILIKI(?:\s+OLEH)?|OPERATED BY|OWNED BY|A MEMBER OF)\s*[:.]?\s*", text, re.I)
            if owner:
                spans.append((span_rows, text[owner.end():], bbox, kind + 0.5))
            lead = re.match(r"^\s*(?:#\S*|\S*\d\S*[,:])\s+(?=[A-Za-z])", text)
            if lead:
                spans.append((span_rows, text[lead.end():], bbox, kind + 0.25))
        for span_rows, text, bbox, kind in spans:
            value = fix_digits_in_words(strip_registration(text))
            if not normalise(value):
                continue
            feats = _row_features(span_rows[0], layout, "row_")
            feats.update(_text_shape(value))
            feats.update(keyword_flags(value))
            feats["kind"] = kind
            feats["index"] = float(i)
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
            if len(span_rows) >= 2:
                feats["second_height_rel"] = max(ln.bbox[3] - ln.bbox[1] for ln in span_rows[1].lines) / layout.line_height
                feats["second_kw_company"] = keyword_flags(span_rows[1].text)["kw_company_word"]
                feats["second_kw_address"] = keyword_flags(span_rows[1].text)["kw_address_word"]
                feats["second_len"] = float(len(span_rows[1].text))
            candidates.append(Candidate("merchant_name", value, text, span_rows, bbox, row.page, feats))
    return candidates


MAX_ADDRESS_ROWS = 6
_ADDRESS_LABEL = re.compile(
    r"^\s*(?:(?:SITE|BR\.?\s*NO|BRANCH|COMPANY\s*REG\.?\s*NO|CO\.?\s*REG\.?\s*NO|CO\.?\s*NO|ROC\s*NO|REG\.?\s*NO)"
    r"\s*[.:]*\s*(?:\d{1,6}\b)?|(?:ADDRESS|ALAMAT|ADRESSE|ANSCHRIFT)\s*[.:]+)\s*[,:;]?",
    re.IGNORECASE,
)
_BRANCH = re.compile(r"^\s*\d{3,4}\s*-\s*[A-Z]", re.IGNORECASE)


def address_candidates(rows: list[Row], layout: Layout, merchant_end: int) -> list[Candidate]:
    """Address candidates: runs of 1–6 consecutive rows in the header, described relative to the merchant."""
    top = rows[: TOP_ROWS + MAX_ADDRESS_ROWS]
    info = []
    for r in top:
        kw = keyword_flags(r.text)
        info.append({
            "text": r.text,
            "clean": _ADDRESS_LABEL.sub("", strip_registration(r.text)).strip(" ,.:;"),
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
            "height": max(ln.bbox[3] - ln.bbox[1] for ln in r.lines) / layout.line_height,
            "rel_x": layout.rel_x(r.bbox),
        })
    candidates: list[Candidate] = []
    for start in range(min(merchant_end, len(top) - 1), len(top)):
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
                for key in ("address", "phone", "taxid", "doc", "company", "postcode", "registration", "date", "branch"):
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
