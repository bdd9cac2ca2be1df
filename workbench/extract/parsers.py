"""Parse amounts, dates, times and currencies out of printed text, in the formats receipts and invoices use.

The public functions are plain and stateless so that every extractor can share them:

- `parse_amount(text) -> Decimal | None`: the whole text is one amount ("RM 9.00", "1.234,56 €", "9.00-").
- `find_amounts(text, require_cents=True) -> list[(Decimal, (start, end))]`: every amount inside a text.
- `parse_date(text, day_first=True) -> date | None`: the first date inside a text.
- `find_dates(text, day_first=True) -> list[(date, (start, end))]`: every date inside a text.
- `find_times(text) -> list[(str, (start, end))]`: clock times as "HH:MM" or "HH:MM:SS" (24-hour).
- `detect_currency(text) -> str | None`: the ISO 4217 code named or symbolised in a text.

Amount separators are decided per number: the last "." or "," followed by one or two digits is the
decimal mark, the other marks group thousands (1,234.56 / 1.234,56 / 1'234.56 / 1 234,56). A trailing or
leading minus, or parentheses, make the amount negative. Dates accept numeric day-first and month-first
forms (month-first is used when `day_first=False` or when the day-first reading is impossible), ISO
yyyy-mm-dd, month names and abbreviations in English, Malay, German, French and Spanish, and a 4-digit year
glued to a following time as OCR often prints it (`14/03/20185:57:07PM`).
"""

import datetime as dt
import re
import unicodedata
from collections import Counter
from decimal import Decimal, InvalidOperation

PERCENT = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")
"""A rate written as a percentage (7 %, 19%, 5,5 %); group 1 is the number."""

Span = tuple[int, int]

_MINUS = "-\u2212\u2013"
_GROUP = ",.'\u2019 \u00a0\u202f"

# A number: digits with optional grouping marks, then an optional decimal part of 1-2 digits.
_NUMBER = re.compile(
    r"(?<![\d.,])"
    r"(?P<lead>[" + _MINUS + r"(]\s?)?"
    r"(?P<num>\d{1,3}(?:(?P<grp>[,.'\u2019\u00a0\u202f ])\d{3})(?:(?P=grp)\d{3})*(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?"
    r"|[.,]\d{2})"
    r"(?P<trail>\s?[" + _MINUS + r")])?"
    r"(?![\d])"
)

_CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "S$": "SGD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "R$": "BRL",
    "RM": "MYR",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₱": "PHP",
    "฿": "THB",
    "₫": "VND",
    "Rp": "IDR",
    "zł": "PLN",
    "Kč": "CZK",
    "Fr.": "CHF",
    "SFr.": "CHF",
    "$": "USD",
}

_CURRENCY_CODES = frozenset(
    "EUR USD GBP MYR SGD CHF JPY CNY AUD CAD NZD HKD INR IDR THB PHP VND KRW SEK NOK DKK PLN CZK HUF "
    "RON BGN TRY ZAR BRL MXN AED SAR".split()
)

_CODE_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(_CURRENCY_CODES)) + r")(?![A-Za-z])")
_SYMBOL_RE = re.compile(
    "|".join(
        (r"(?<![A-Za-z])" + re.escape(s) + r"(?=\s?[\d.,])" if s[0].isalpha() else re.escape(s))
        for s in sorted(_CURRENCY_SYMBOLS, key=len, reverse=True)
    )
)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "jan january januar janvier janv enero ene januari gen gennaio",
        "feb february februar fevrier fevr feb febrero februari",
        "mar march marz maerz mrz mars marzo mac maart mrt",
        "apr april avril avr abril abr",
        "may mai mei mayo mag maggio",
        "jun june juni juin junio giu giugno",
        "jul july juli juillet juil julio lug luglio",
        "aug august aout agosto ago ogos ogo ogs",
        "sep sept september septembre septiembre set",
        "oct october oktober okt octobre octubre ott ottobre",
        "nov november novembre noviembre",
        "dec december dezember dez decembre diciembre dic dis disember",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_SEP = r"\s*[./\-]\s*"
_YEAR4_GLUED = r"(?:19|20)\d{2}(?=\d{1,2}[:.]\d{2}|\D|$)"
_YEAR = r"(?:" + _YEAR4_GLUED + r"|\d{2}(?=\d{1,2}[:.]\d{2}[^\d.,]|\d{1,2}[:.]\d{2}$)|\d{2}(?!\d))"

_NUMERIC_DATE = re.compile(
    r"(?<![\d.,])(?P<a>\d{1,2})\s*(?P<sep>[./\-])\s*(?P<b>\d{1,2})\s*(?P=sep)\s*(?P<y>" + _YEAR + r")"
)
_ISO_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*([./\-])\s*(?P<m>\d{1,2})\s*\2\s*(?P<d>\d{2}(?=\d{1,2}:\d{2})|\d{1,2}(?!\d))"
)
_COMPACT_DATE = re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")
_COMPACT_DAY_FIRST = re.compile(r"(?<![\d.,])(?P<d>[0-3]\d)(?P<m>[01]\d)(?P<y>20[0-4]\d)(?![\d.,])")
_DAY_MONTH_NAME = re.compile(
    r"(?<![\w])(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?(?:\s*[/\-.]\s*|\s+(?:de|di)\s+|\s*)"
    r"(?P<m>" + _MONTH_ALT + r")[a-z]*\.?,?(?:\s*[/\-.]\s*|\s+(?:de|del)\s+|\s+)?'?(?P<y>" + _YEAR + r")",
    re.IGNORECASE,
)
_MONTH_NAME_DAY = re.compile(
    r"(?<![\w])(?P<m>" + _MONTH_ALT + r")[a-z]*\.?(?:\s*[/\-.]\s*|\s+)(?P<d>\d{1,2})(?:st|nd|rd|th)?,?"
    r"(?:\s*[/\-.]\s*|\s+)'?(?P<y>" + _YEAR + r")",
    re.IGNORECASE,
)

_TIME = re.compile(
    r"(?:(?<![\d:])|(?<=[/.\-\s](?:19|20)\d\d))(?P<h>[01]?\d|2[0-3])\s?[:h]\s?(?P<m>[0-5]\d)(?:\s?:\s?(?P<s>[0-5]\d))?(?!\d)"
    r"(?:\s*(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?"
)


def _fold(text: str) -> str:
    """Lower-case text without accents, so 'März' and 'MARZ' read alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _number_value(raw: str) -> Decimal | None:
    """The value of one number token whose grouping and decimal marks are still in place."""
    raw = raw.replace("\u2019", "'")
    decimal_part = ""
    match = re.search(r"[.,](\d{1,2})$", raw)
    if match:
        decimal_part = match.group(1)
        raw = raw[: match.start()]
    digits = re.sub(r"[,.' \u00a0\u202f]", "", raw) or "0"
    if not digits.isdigit():
        return None
    try:
        return Decimal(f"{digits}.{decimal_part}" if decimal_part else digits)
    except InvalidOperation:
        return None


def find_amounts(text: str, require_cents: bool = True) -> list[tuple[Decimal, Span]]:
    """Every amount in `text` with its character span, left to right.

    With `require_cents` (the default) only numbers printed with a decimal part count, which is how
    receipts print money and keeps quantities, years and phone numbers out.
    """
    found: list[tuple[Decimal, Span]] = []
    for match in _NUMBER.finditer(text):
        num = match.group("num")
        if re.match(r"\s?%", text[match.end():]):
            continue
        has_cents = re.search(r"[.,]\d{1,2}$", num) is not None
        if require_cents and not has_cents:
            continue
        if match.group("grp") == " " and not has_cents:
            continue
        value = _number_value(num)
        if value is None:
            continue
        lead = (match.group("lead") or "").strip()
        trail = (match.group("trail") or "").strip()
        negative = (lead and lead in _MINUS) or (trail and trail in _MINUS) or (lead == "(" and trail == ")")
        start = match.start("num") if lead == "(" and trail != ")" else match.start()
        end = match.end("num") if trail == ")" and lead != "(" else match.end()
        found.append((-value if negative else value, (start, end)))
    return found


def parse_amount(text: str) -> Decimal | None:
    """The amount when `text` is one amount (currency marks and words around it allowed), else None.

    "RM 9.00" → 9.00, "1.234,56 €" → 1234.56, "9.00-" → -9.00, "12" → 12; "12.50 3.00" → None.
    """
    amounts = find_amounts(text, require_cents=False)
    if len(amounts) != 1:
        return None
    return amounts[0][0]


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    if not 1970 <= year <= 2099:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _overlapping(pattern: re.Pattern[str], text: str):
    """Matches of `pattern` starting at every position, so a false start cannot hide a date behind it."""
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            return
        yield match
        position = match.start() + 1


def find_dates(text: str, day_first: bool = True) -> list[tuple[dt.date, Span]]:
    """Every calendar date in `text` with its span, left to right; overlapping readings keep the first kind.

    Numeric dates are read day-first when `day_first` (Malaysian, European) and month-first otherwise
    (US); a reading that is impossible one way is taken the other way.
    """
    found: list[tuple[dt.date, Span]] = []
    taken: list[Span] = []

    def add(value: dt.date | None, span: Span) -> None:
        if value is None or any(s < span[1] and span[0] < e for s, e in taken):
            return
        taken.append(span)
        found.append((value, span))

    folded = _fold(text)
    if len(folded) != len(text):
        folded = text.lower()
    for match in _overlapping(_ISO_DATE, text):
        add(_make_date(int(match["y"]), int(match["m"]), int(match["d"])), match.span())
    for match in _overlapping(_DAY_MONTH_NAME, folded):
        add(_make_date(int(match["y"]), _MONTHS[match["m"].lower()], int(match["d"])), match.span())
    for match in _overlapping(_MONTH_NAME_DAY, folded):
        add(_make_date(int(match["y"]), _MONTHS[match["m"].lower()], int(match["d"])), match.span())
    for match in _overlapping(_NUMERIC_DATE, text):
        a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
        first, second = ((b, a), (a, b)) if day_first else ((a, b), (b, a))
        value = _make_date(year, *first) or _make_date(year, *second)
        add(value, match.span())
    for match in _overlapping(_COMPACT_DATE, text):
        add(_make_date(int(match["y"]), int(match["m"]), int(match["d"])), match.span())
    if day_first:
        for match in _overlapping(_COMPACT_DAY_FIRST, text):
            add(_make_date(int(match["y"]), int(match["m"]), int(match["d"])), match.span())
    return sorted(found, key=lambda item: item[1])


def parse_date(text: str, day_first: bool = True) -> dt.date | None:
    """The first date in `text` ("25/12/2018", "03 JUN 18", "Mar 14, 2018", "14.03.2018"), else None."""
    dates = find_dates(text, day_first=day_first)
    return dates[0][0] if dates else None


def find_times(text: str) -> list[tuple[str, Span]]:
    """Clock times in `text` as 24-hour "HH:MM" or "HH:MM:SS" with their spans ("5:57:07PM" → "17:57:07")."""
    found: list[tuple[str, Span]] = []
    for match in _TIME.finditer(text):
        hour, minute, second = int(match["h"]), int(match["m"]), match["s"]
        ampm = (match["ampm"] or "").lower()
        if ampm:
            if hour > 12 or hour == 0:
                continue
            hour = hour % 12 + (12 if ampm == "p" else 0)
        value = f"{hour:02d}:{minute:02d}" + (f":{second}" if second else "")
        found.append((value, match.span()))
    return found


def find_currencies(text: str) -> list[tuple[str, Span]]:
    """ISO 4217 codes named ("EUR", "MYR") or symbolised ("€", "RM 9.00", "$") in `text`, with spans."""
    found = [(m.group(1), m.span()) for m in _CODE_RE.finditer(text)]
    for match in _SYMBOL_RE.finditer(text):
        if not any(s <= match.start() < e for _, (s, e) in found):
            found.append((_CURRENCY_SYMBOLS[match.group(0)], match.span()))
    return sorted(found, key=lambda item: item[1])


def detect_currency(text: str) -> str | None:
    """The currency a text is priced in: the most frequent code or symbol, the first one on a tie; else None."""
    found = find_currencies(text)
    if not found:
        return None
    counts = Counter(code for code, _ in found)
    best = max(counts.values())
    return next(code for code, _ in found if counts[code] == best)


_US_ADDRESS = re.compile(
    r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|"
    r"ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC),?\s+\d{5}(?:-\d{4})?\b"
)


def day_first_by_dates(texts: list[str]) -> bool | None:
    """Whether the numeric dates printed can only be day-first (True) or month-first (False); None if undecided.

    Each date whose first number exceeds 12 votes day-first, whose second does, month-first.
    """
    day_first_votes = month_first_votes = 0
    for line in texts:
        for match in re.finditer(r"(?<![\w.,/-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2}(?!\d))", line):
            first, second = int(match.group(1)), int(match.group(3))
            day_first_votes += first > 12 and second <= 12
            month_first_votes += second > 12 and first <= 12
    if day_first_votes == month_first_votes:
        return None
    return day_first_votes > month_first_votes


def guess_day_first(texts: list[str], currency: str | None) -> bool:
    """Day-first unless the numeric dates can only be month-first, or the receipt is priced in US dollars at a
    US address."""
    decided = day_first_by_dates(texts)
    if decided is not None:
        return decided
    text = "\n".join(texts)
    american = bool(_US_ADDRESS.search(text)) or bool(re.search(r"\bUSA\b|UNITED STATES", text.upper()))
    return not (currency == "USD" and american)
