"""Rule-read receipt fields: phone, tax id, receipt number, time, currency, subtotal, tax lines, tip,
discount, rounding, payment method and line items.

These fields are read from labelled rows (a keyword, then the value on the same printed row). Their
confidence is the row's OCR score scaled by how certain the rule is, raised when the receipt's arithmetic
confirms the value (subtotal + tax + tip − discount + rounding = total; quantity × unit price = amount).
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from schemas import Extracted, LineItem, Receipt, Source, TaxLine
from workbench.extract.features import KEYWORDS, Row, fold
from workbench.extract.parsers import PERCENT, detect_currency, find_amounts, find_dates, find_times

CENT = Decimal("0.01")
_PHONE_NUMBER = re.compile(r"\+?\(?\d[\d\s\-()/.]{6,}\d")
_MALAYSIA = re.compile(r"SDN\.? ?BHD|\bBHD\b|\bS/B\b|MALAYSIA|SELANGOR|JOHOR|KUALA LUMPUR|\bGST\b|\bJALAN\b|\bTAMAN\b")
_VAT_ID = re.compile(r"\b(?:CHE[- ]?\d{3}[.\s]?\d{3}[.\s]?\d{3}|(?:DE|FR|AT|IT|ES|NL|BE|LU|PT|IE|GB)\s?[0-9A-Z]{2}[\d\s]{7,11}\d)\b")
_TAX_ID = re.compile(
    r"(?:UID\s*(?:NR|NO)?\.?|GST\s*(?:REG(?:ISTRATION)?)?\s*(?:ID|NO|NUMBER|#)?|SST\s*(?:ID|NO|REG)?|VAT\s*(?:REG(?:ISTRATION)?)?\s*"
    r"(?:NO|NUMBER|ID)?|TAX\s*ID|UST\.?\s*-?\s*ID\.?\s*-?\s*(?:NR)?\.?|STEUER\s*-?\s*NR\.?|ST\.?\s*-?\s*NR\.?|"
    r"TVA\s*INTRA(?:COM)?\.?|N°\s*TVA|SIRET|NIF|CIF|ABN|EIN)"
    r"\s*[:.#]?\s*(?P<id>[A-Z]{0,3}\s?\d[\dA-Z\-/ ]{4,}[\dA-Z])"
)
_RECEIPT_NO = re.compile(
    r"(?:RECEIPT|RCPT|INVOICE|INV|BILL|DOC(?:UMENT)?|TRANS(?:ACTION)?|TRX|TXN|ORDER|CHECK|CHK|TICKET|BELEG|BON|"
    r"KASSENBON|QUITTUNG|RECHNUNG|FACTURE|FACTURA|RESIT|SLIP|REF(?:ERENCE)?|CASH\s*SALE|CS|SALES?|NOTE)"
    r"[\s\-]*(?:NO\.?|NUMBER|NUM|#|NR\.?|N°|N\.|ID)\s*[:.#]?\s*(?P<id>[A-Z]{0,4}[-/]?\d[A-Z0-9\-/]{1,40})"
)
_PAYMENT = [
    ("VISA", re.compile(r"\bVISA\b")),
    ("MASTERCARD", re.compile(r"\bMASTER\s?CARD\b|\bMASTER\b|\bMC\b")),
    ("AMEX", re.compile(r"\bAMEX\b|AMERICAN EXPRESS")),
    ("DEBIT CARD", re.compile(r"\bDEBIT\b|\bEC[- ]?KARTE\b|\bGIROCARD\b|\bMAESTRO\b")),
    ("CREDIT CARD", re.compile(r"CREDIT\s?CARD|\bCARTE\b|\bTARJETA\b|\bKREDITKARTE\b")),
    ("E-WALLET", re.compile(r"TOUCH\s?N\s?GO|\bTNG\b|GRAB\s?PAY|\bBOOST\b|APPLE\s?PAY|GOOGLE\s?PAY|PAYPAL")),
    ("CARD", re.compile(r"\bCARD\b|\bKARTE\b|\bCB\b")),
    ("CASH", re.compile(r"\bCASH\b|\bBAR\b|\bBARGELD\b|\bTUNAI\b|\bESPECES\b|\bEFECTIVO\b|\bCONTANTI\b")),
]
_NOT_ITEM = re.compile(
    r"TOTAL|SUBTOTAL|SUB TOTAL|SUMME|GESAMT|JUMLAH|TAX|GST|VAT|MWST|UST|TVA|IVA|CASH|CHANGE|TENDER|ROUND|"
    r"DISCOUNT|RABATT|TIP|GRATUITY|BALANCE|PAID|VISA|MASTER|CARD|KARTE|RUCKGELD|BAR\b|GEGEBEN|NETTO|BRUTTO|"
    r"AMOUNT DUE|DUE|CREDIT|DEBIT|DATE|TIME|TEL|PHONE|FAX|INVOICE|RECEIPT|CASHIER|TABLE|QTY\s*:|ITEM\s*:|"
    r"ITEMS|POINTS|SAVING|PAYMENT|SERVICE"
)


@dataclass
class RowAmounts:
    """A row's label text (without its amounts) and its amounts, left to right."""

    row: Row
    label: str
    amounts: list[Decimal]


@dataclass
class RuleFields:
    """Values read by rules, with the rows they came from."""

    currency_code: str | None = None
    subtotal: Decimal | None = None
    subtotal_row: Row | None = None
    tax_total: Decimal | None = None
    tax_row: Row | None = None
    tax_lines: list[TaxLine] = field(default_factory=list)
    tip: Decimal | None = None
    tip_row: Row | None = None
    discount: Decimal | None = None
    discount_row: Row | None = None
    rounding: Decimal | None = None
    rounding_row: Row | None = None
    items: list[LineItem] = field(default_factory=list)
    items_sum: Decimal | None = None


def _row_amounts(row: Row) -> RowAmounts:
    text = row.text
    amounts = find_amounts(text)
    label = text
    for _, (start, end) in reversed(amounts):
        label = label[:start] + " " + label[end:]
    return RowAmounts(row, fold(label), [value for value, _ in amounts])


def _has(name: str, text: str) -> bool:
    return bool(KEYWORDS[name].search(text))


def _first_row(rows: list[RowAmounts], test) -> RowAmounts | None:
    return next((r for r in rows if r.amounts and test(r.label)), None)


def _source(row: Row) -> Source:
    return Source(page=row.page, bbox=tuple(round(v, 1) for v in row.bbox), text=row.text[:1000])


_COUNTRY_HINTS = [
    ("CHF", re.compile(r"\bCHE[- ]?\d{3}[.\s]?\d{3}[.\s]?\d{3}\b|\bSCHWEIZ\b|\bSUISSE\b|\bCH-\d{4}\b")),
    ("GBP", re.compile(r"\bGB\s?\d{3}\s?\d{4}\s?\d{2}\b|\bUNITED KINGDOM\b|\b[A-Z]{1,2}\d{1,2}[A-Z]?\s?\d[A-Z]{2}\b")),
    ("EUR", re.compile(r"\b(?:DE|FR|AT|IT|ES|NL|BE|LU|PT|IE|FI)\s?[0-9A-Z]{2}\d{7,10}\b|\bUST|\bMWST|\bTVA\b|\bIVA\b|"
                       r"\bDEUTSCHLAND\b|\bFRANCE\b|\bESPANA\b|\bITALIA\b|\bOSTERREICH\b")),
    ("USD", re.compile(r"\b[A-Z]{2},?\s+\d{5}(?:-\d{4})?\b|\bUSA\b|\bSALES TAX\b")),
]


def read_currency(rows: list[Row]) -> str | None:
    """The currency code of the receipt: a code or symbol printed on it, else what its country suggests.

    A "$" on a Malaysian receipt means ringgit; without any mark, VAT ids, postcodes and tax names
    (MWST, TVA, UST, CHE-…, GB VAT numbers, US state + ZIP) suggest the country and so the currency.
    """
    text = "\n".join(r.text for r in rows)
    code = detect_currency(text)
    folded = fold(text)
    if _MALAYSIA.search(folded) and code in (None, "USD"):
        return "MYR"
    if code is not None:
        return code
    return next((hint for hint, pattern in _COUNTRY_HINTS if pattern.search(folded)), None)


def read_tax_lines(rows: list[RowAmounts]) -> list[TaxLine]:
    """Tax at each rate printed on a row with a percentage: rate, base (when printed) and tax amount."""
    lines: list[TaxLine] = []
    seen: set[tuple] = set()
    for position, item in enumerate(rows):
        rate_match = PERCENT.search(item.row.text)
        if not rate_match or not item.amounts:
            continue
        in_tax_table = len(item.amounts) >= 2 and any(_has("tax", r.label) for r in rows[max(0, position - 4):position])
        if not _has("tax", item.label) and not in_tax_table:
            continue
        rate = Decimal(rate_match.group(1).replace(",", "."))
        if not 0 < rate <= 30:
            continue
        values = [a for a in item.amounts if a > 0 and a != rate]
        base = tax = None
        for b in values:
            for t in values:
                if t >= b:
                    continue
                if abs(b * rate / 100 - t) <= Decimal("0.02"):
                    base, tax = b, t
                elif base is None and abs(b * rate / (100 + rate) - t) <= Decimal("0.02"):
                    base, tax = b - t, t
        if tax is None and values:
            tax = values[-1] if len(values) == 1 or values[-1] < values[0] else min(values)
        key = (rate, tax)
        if tax is None or key in seen:
            continue
        seen.add(key)
        confirmed = base is not None
        lines.append(TaxLine(rate=rate, base=base, amount=tax, confidence=round(item.row.score * (0.85 if confirmed else 0.6), 4),
                             source=_source(item.row)))
    return lines


def read_line_items(rows: list[RowAmounts]) -> list[LineItem]:
    """Purchased items: rows between the header and the first total-like row, with an amount at the right."""
    items: list[LineItem] = []
    end = next((i for i, r in enumerate(rows) if r.amounts and (_has("total_strong", r.label) or
                                                               _has("total_weak", r.label) or
                                                               _has("subtotal", r.label))), len(rows))
    pending: Row | None = None
    for item in rows[:end]:
        text = fold(item.row.text)
        letters = sum(c.isalpha() for c in item.label)
        if not item.amounts:
            pending = item.row if letters >= 3 and not _NOT_ITEM.search(text) else None
            continue
        if _NOT_ITEM.search(text) or item.amounts[-1] <= 0:
            pending = None
            continue
        description = re.sub(r"\s{2,}", " ", item.label).strip(" :.-")
        description = re.sub(r"^\d+\s*(?:[X@*]|PCS?|ST)\s+", "", description)
        rows_used = [item.row]
        if letters < 3:
            if pending is None:
                continue
            description = pending.text
            rows_used = [pending, item.row]
        pending = None
        if not description:
            continue
        quantity = None
        qty_match = re.search(r"(?<![\d.,])(\d{1,3})\s*(?:[Xx@*]|PCS?\b|ST\b|UNITS?\b)", item.row.text)
        if qty_match is None:
            qty_match = re.search(r"(?:^|\s)(\d{1,3})(?:\s|$)", item.row.text)
        if qty_match:
            quantity = Decimal(qty_match.group(1))
        amount = item.amounts[-1]
        unit_price = item.amounts[0] if len(item.amounts) >= 2 else None
        if quantity is not None and unit_price is None and quantity > 0:
            unit_price = (amount / quantity).quantize(CENT)
        consistent = quantity is not None and unit_price is not None and abs(quantity * unit_price - amount) <= CENT
        if quantity is not None and not 0 < quantity <= 999:
            quantity = None
        score = min(r.score for r in rows_used)
        box = tuple(round(v, 1) for v in (min(r.bbox[0] for r in rows_used), min(r.bbox[1] for r in rows_used),
                                          max(r.bbox[2] for r in rows_used), max(r.bbox[3] for r in rows_used)))
        items.append(LineItem(
            description=description[:500], quantity=quantity, unit_price=unit_price, amount=amount,
            confidence=round(score * (0.8 if consistent else 0.6), 4),
            source=Source(page=item.row.page, bbox=box, text=" / ".join(r.text for r in rows_used)[:1000]),
        ))
    return items


def read_rule_fields(rows: list[Row]) -> RuleFields:
    """The amounts the extractor reads by keyword, and the line items, of a receipt's rows."""
    amounts = [_row_amounts(row) for row in rows]
    fields = RuleFields(currency_code=read_currency(rows))
    sub = _first_row(amounts, lambda t: _has("subtotal", t))
    if sub:
        fields.subtotal, fields.subtotal_row = sub.amounts[-1], sub.row
    fields.tax_lines = read_tax_lines(amounts)
    tax = _first_row(amounts, lambda t: _has("tax", t) and not _has("subtotal", t) and not re.search(
        r"INCL|INKL|EXCL|INCLUSIVE|ENTH|SUMMARY|REG|ID\b|NO\b", t) and not _has("total_strong", t))
    if tax and abs(tax.amounts[-1]) < (fields.subtotal or Decimal("1e9")):
        fields.tax_total, fields.tax_row = abs(tax.amounts[-1]), tax.row
    elif fields.tax_lines:
        fields.tax_total = sum((t.amount for t in fields.tax_lines if t.amount is not None), Decimal(0))
        fields.tax_row = None
    for name in ("tip", "discount", "rounding"):
        found = _first_row(amounts, lambda t, n=name: _has(n, t) and not _has("total_strong", t))
        if found:
            value = found.amounts[-1]
            setattr(fields, name, abs(value) if name in ("tip", "discount") else value)
            setattr(fields, name + "_row", found.row)
    fields.items = read_line_items(amounts)
    if fields.items:
        fields.items_sum = sum((i.amount for i in fields.items if i.amount is not None), Decimal(0))
    return fields


def _rule_value(rows: list[Row], pattern: re.Pattern[str], group: str | int = "id") -> tuple[str, Row] | None:
    for row in rows:
        match = pattern.search(fold(row.text))
        if match:
            return match.group(group).strip(" -/."), row
    return None


def _phone(rows: list[Row]) -> tuple[str, Row] | None:
    for row in rows[:25]:
        folded = fold(row.text)
        keyword = KEYWORDS["phone_word"].search(folded)
        if not keyword:
            continue
        match = _PHONE_NUMBER.search(folded, keyword.end())
        if match and sum(c.isdigit() for c in match.group(0)) >= 7:
            return re.sub(r"\s{2,}", " ", match.group(0)).strip(" -/."), row
    for row in rows[:8]:
        text = row.text.strip()
        if re.fullmatch(r"\+?[\d\s\-()/.]{9,20}", text) and 9 <= sum(c.isdigit() for c in text) <= 13 \
                and not find_amounts(text) and not find_dates(text):
            return text, row
    return None


def _payment(rows: list[Row]) -> tuple[str, Row] | None:
    half = rows[len(rows) // 3:]
    for name, pattern in _PAYMENT:
        for row in half:
            if pattern.search(fold(row.text)):
                return name, row
    return None


def _time(rows: list[Row]) -> tuple[str, Row] | None:
    for row in rows:
        times = find_times(row.text)
        if times:
            return times[0][0], row
    return None


def _field(value, row: Row | None, confidence: float, origin: str) -> Extracted:
    if value is None:
        return Extracted()
    return Extracted(value=value, confidence=round(max(0.0, min(confidence, 1.0)), 4),
                     source=_source(row) if row else None, origin=origin)


def _agrees(rules: RuleFields, total: Decimal | None) -> bool:
    if total is None or rules.subtotal is None:
        return False
    computed = (rules.subtotal + (rules.tax_total or 0) + (rules.tip or 0) - (rules.discount or 0)
                + (rules.rounding or 0))
    return abs(computed - total) <= CENT or abs(rules.subtotal + (rules.rounding or 0) - total) <= CENT


def build_receipt(rows: list[Row], rules: RuleFields, origin: str, total: Decimal | None) -> Receipt:
    """A Receipt holding the rule-read fields; the ranked fields are filled in by the caller."""
    agree = _agrees(rules, total)
    certainty = 0.95 if agree else 0.7

    def amount_field(value, row):
        return _field(value, row, (row.score if row else 0.9) * certainty, origin)

    phone = _phone(rows)
    tax_id = _rule_value(rows, _TAX_ID) or _rule_value(rows[:12], _VAT_ID, group=0)
    number = _rule_value(rows, _RECEIPT_NO)
    time = _time(rows)
    payment = _payment(rows)
    currency_row = next((r for r in rows if detect_currency(r.text)), None)
    return Receipt(
        merchant_phone=_field(phone[0][:64], phone[1], phone[1].score * 0.8, origin) if phone else Extracted(),
        merchant_tax_id=_field(tax_id[0][:64], tax_id[1], tax_id[1].score * 0.75, origin) if tax_id else Extracted(),
        receipt_number=_field(number[0][:64], number[1], number[1].score * 0.7, origin) if number else Extracted(),
        time=_field(time[0], time[1], time[1].score * 0.85, origin) if time else Extracted(),
        currency=_field(rules.currency_code, currency_row,
                        0.9 if currency_row is not None else 0.6, origin) if rules.currency_code else Extracted(),
        subtotal=amount_field(rules.subtotal, rules.subtotal_row),
        tax_total=amount_field(rules.tax_total, rules.tax_row),
        tax_lines=rules.tax_lines[:20],
        tip=amount_field(rules.tip, rules.tip_row),
        discount=amount_field(rules.discount, rules.discount_row),
        rounding=amount_field(rules.rounding, rules.rounding_row),
        payment_method=_field(payment[0], payment[1], payment[1].score * 0.7, origin) if payment else Extracted(),
        line_items=rules.items[:500],
    )
