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
# Rows that print no purchased item: totals, tax, payment and change, and header data (words, on folded text).
_NOT_ITEM = re.compile(
    r"(?<![A-Z])(?:TOTAL|TOTAAL|SUBTOTAL|SUBTOT|SUB ?-?TOTAL|GESAMT|JUMLAH|SUMMA|SALDO|TAX|GST|VAT|MWST|UST|TVA|"
    r"IVA|HST|PST|QST|TAXES?|IMPUESTOS?|NETTO|BRUTTO|CASH|CHANGE|TENDER(?:ED)?|ROUNDING|TIPS?|GRATUITY|"
    r"BALANCE|PAID|VISA|MASTER ?CARD|AMEX|CARD|KARTE|EC|GIROCARD|GEGEBEN|AMOUNT DUE|DUE|CREDIT|DEBIT|PURCHASE|"
    r"REFUND|VOID|DATE|DATUM|TIME|UHRZEIT|TEL|PHONE|FAX|INVOICE|RECEIPT|CASHIER|KASSE|KASSIERER|BELEG|BON-?NR|"
    r"TABLE|TISCH|ITEMS|POINTS|PUNKTE|PAYMENT|SERVICE (?:CHARGE|CHG|FEE|TAX)|SVC|EAT IN|DINE IN|TAKE ?OUT|TO GO|"
    r"CONTADO|EFECTIVO|CAMBIO|ENTREGADO|ESPECES|RENDU|ZU ZAHLEN|AUTH|APPROVAL|TERMINAL)(?![A-Z])"
    r"|SUMME|BETRAG|STEUER|UMSATZ|GELD|RUNDUNG|ZWISCHENTOTAL|(?:QTY|ITEM)\s*:|^\s*BAR(?![A-Z])"
)
# Fewest letters a description has: "FF" (French fries) is one, a tax row's "A 7 %" is not.
_MIN_LETTERS = 2


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


# A quantity times a unit price: "2 x 3,90", "3 St x 0,45", "0,536 kg x 2,99 EUR/kg", "2 @ 4.25".
_TIMES = re.compile(
    r"(?<![\w.,])(?P<q>\d{1,4}(?:[.,]\d{1,3})?)\s*(?:(?:ST(?:K|CK|UCK)?|PCS?|EA|KG|G|L|LB)\.?\s*)?[X×*@]\s*"
    r"(?:[$€£]|EUR)?\s*(?P<p>\d{1,6}[.,]\d{2,3})(?!\d)(?:\s*(?:EUR|€)?\s*/\s*[A-Z]{1,3}\b)?",
    re.IGNORECASE,
)
# A quantity opening the row before the description: "2 Burger", "1,00 COPA RIOJA", "2x Cola".
_LEADING_QTY = re.compile(r"^\s*(?P<q>\d{1,3}(?:[.,]0{1,3})?)(?:\s*[xX*]\s*|\s+)(?=[^\W\d_]|[\"'#(<-])")
# What a till prints after the amount: tax codes and flags ("A", "B", "T2", "N F", "SR", "*"), a currency ("€"),
# with the specks OCR reads around them ("A.", "'A").
_TAX_CODE = re.compile(
    r"^['’.]?(?:\s*(?:[A-Z]{1,3}\d?[*.]?|\d|[*#€$]|<[A-Z]>|\([A-Z]\)))(?:\s+(?:[A-Z]{1,3}\d?\.?|\d|[*#])){0,2}\s*$",
    re.IGNORECASE,
)
_DISCOUNT_ROW = re.compile(r"RABATT|PREISVORTEIL|(?<![A-Z])(?:NACHLASS|DISCOUNT|DISC|COUPON|SAVINGS?|YOU SAVED|PROMO|"
                           r"MARKDOWN|REMISE|REDUCTION|DESCUENTO|SCONTO)(?![A-Z])")
# Empties brought back (Leergut, Pfandrückgabe) and returned goods: items of their own, with a negative amount.
_RETURNED = re.compile(r"LEERGUT|RUCKGABE|RUECKGABE|(?<![A-Z])(?:RETURN|RETOUR|REFUND)")
# A deposit charged with the item above it.
_DEPOSIT_ROW = re.compile(r"PFAND|(?<![A-Z])(?:DEPOSIT|BOTTLE DEP|CRV)(?![A-Z])")


@dataclass
class _ItemRow:
    """One row read as (part of) a line item: its description and the numbers printed right of it."""

    row: Row
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amounts: list[Decimal]

    @property
    def letters(self) -> int:
        return sum(c.isalpha() for c in self.description)


def _blank(text: str, spans) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _close_enough(quantity: Decimal, price: Decimal, amount: Decimal) -> bool:
    # A weighed quantity times a unit price is rounded to the cent on the receipt.
    return abs(quantity * price - amount) <= max(CENT, abs(quantity) * Decimal("0.005"))


# A whole amount with thousands grouped ("50,000", "1.250"), as receipts in currencies without cents print it.
_WHOLE_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*(?![\d]|[.,]\d)")


def _find_amounts(text: str, whole: bool) -> list[tuple[Decimal, tuple[int, int]]]:
    if not whole:
        return find_amounts(text)
    return [(Decimal(re.sub(r"\D", "", m.group(0))), m.span()) for m in _WHOLE_AMOUNT.finditer(text)]


def _priced_in_whole_units(rows: list[RowAmounts]) -> bool:
    """Whether the receipt prints its total without cents ("Total Bill : 224,400", IDR, JPY, KRW)."""
    totals = [r.row.text for r in rows if _has("total_strong", r.label) or _has("total_weak", r.label)
              or _has("subtotal", r.label)]
    return any(_WHOLE_AMOUNT.search(t) for t in totals) and not any(find_amounts(t) for t in totals)


def _item_row(row: Row, whole: bool = False) -> _ItemRow:
    """The row's description and its quantity, unit price and amounts; dates and times are no amounts.
    With `whole`, amounts are whole numbers with grouped thousands (a receipt priced without cents)."""
    text = row.text
    # Numeric dates only: "2 Margarita 24.00" reads as 2 March 2024 too.
    dates = [span for _, span in find_dates(text) if not any(c.isalpha() for c in text[span[0]:span[1]])]
    masked = _blank(text, dates + [span for _, span in find_times(text)])
    quantity = unit_price = None
    times = _TIMES.search(masked)
    if times:
        quantity, unit_price = _number(times.group("q")), _number(times.group("p"))
        masked = _blank(masked, [times.span()])
    # "-$1.99": a minus printed before the currency sign.
    amounts = [(-value if value > 0 and re.search(r"-\s?[$€£]\s?$", masked[:span[0]]) else value, span)
               for value, span in _find_amounts(masked, whole)]
    if amounts and _TAX_CODE.match(masked[amounts[-1][1][1]:]):
        masked = masked[:amounts[-1][1][1]]
    letters_end = max((i + 1 for i, c in enumerate(masked) if c.isalpha()), default=0)
    right = [(value, span) for value, span in amounts if span[0] >= letters_end]
    head = masked[:right[0][1][0]] if right else masked
    if quantity is None:
        leading = _LEADING_QTY.match(head)
        if leading and letters_end > leading.end():
            quantity = _number(leading.group("q"))
            head = _blank(head, [leading.span()])
    values = [value for value, _ in right]
    if quantity is None and values:
        # A count printed between the description and the prices: "French Fries 2 4.25 8.50".
        count = re.search(r"(?<![\w.,])(\d{1,3})\s*$", head)
        if count and count.start() >= letters_end and head[:count.start()].strip():
            guess = Decimal(count.group(1))
            if len(values) == 1 or _close_enough(guess, values[-2], values[-1]):
                quantity = guess
                head = head[:count.start()]
    description = re.sub(r"\s{2,}", " ", head).strip(" :.-*$€£")
    return _ItemRow(row, description, quantity, unit_price, values)


@dataclass
class _Item:
    """A line item being read, from one row or a few (description, quantity row, discount or deposit)."""

    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    rows: list[Row]
    adjustment: Decimal = Decimal(0)

    @classmethod
    def of(cls, parts: list[_ItemRow], description: str) -> "_Item":
        values = parts[-1].amounts
        amount = values[-1]
        quantity = next((p.quantity for p in parts if p.quantity is not None), None)
        unit_price = next((p.unit_price for p in parts if p.unit_price is not None), None)
        if unit_price is None and len(values) >= 2:
            if quantity is None and len(values) >= 3 and _close_enough(values[-3], values[-2], amount):
                quantity = values[-3]
            unit_price = values[-2]
            count = amount / unit_price if unit_price else Decimal(0)
            if quantity is None and count == count.to_integral_value() and 0 < count <= 999:
                # "Coffee 2.50 5.00": two of them.
                quantity = count
        return cls(description, quantity, unit_price, amount, [p.row for p in parts])

    def take_quantity(self, part: _ItemRow) -> bool:
        """Take the quantity and unit price of a "2 x 3,90" row when they make this item's amount."""
        known = self.quantity is not None and self.unit_price is not None
        if known or part.quantity is None or part.unit_price is None:
            return False
        if not _close_enough(part.quantity, part.unit_price, self.amount):
            return False
        self.quantity, self.unit_price = part.quantity, part.unit_price
        self.rows.append(part.row)
        return True

    def line_item(self) -> LineItem:
        quantity, unit_price, amount = self.quantity, self.unit_price, self.amount + self.adjustment
        if quantity is not None and not 0 < abs(quantity) <= 999:
            quantity = None
        if quantity and unit_price is None:
            unit_price = (amount / quantity).quantize(CENT)
        if self.adjustment and quantity:
            # The price paid per unit once the item's own discount or deposit is counted in.
            unit_price = (amount / quantity).quantize(CENT)
        consistent = quantity is not None and unit_price is not None and _close_enough(quantity, unit_price, amount)
        if quantity is not None and unit_price is not None and not consistent and self.adjustment:
            unit_price = None
        rows = sorted(self.rows, key=lambda r: r.index)
        box = tuple(round(v, 1) for v in (min(r.bbox[0] for r in rows), min(r.bbox[1] for r in rows),
                                          max(r.bbox[2] for r in rows), max(r.bbox[3] for r in rows)))
        return LineItem(
            description=self.description[:500], quantity=quantity, unit_price=unit_price, amount=amount,
            confidence=round(min(r.score for r in rows) * (0.8 if consistent else 0.6), 4),
            source=Source(page=rows[0].page, bbox=box, text=" / ".join(r.text for r in rows)[:1000]),
        )


def _is_tax_row(text: str, part: _ItemRow) -> bool:
    """A rate with a base and its tax on one row ("I.V.A. 10% 44.77 4.48 49.25"), whatever the tax is called."""
    rate = PERCENT.search(text)
    if rate is None or len(part.amounts) < 2:
        return False
    share = _number(rate.group(1)) / 100
    return any(abs(base * share - tax) <= Decimal("0.02") or abs(base * share / (1 + share) - tax) <= Decimal("0.02")
               for base in part.amounts for tax in part.amounts if 0 < tax < base)


def _items_end(rows: list[RowAmounts]) -> int:
    """Index of the first total-like row: a total or subtotal label with an amount."""
    return next((i for i, r in enumerate(rows) if r.amounts and (_has("total_strong", r.label) or
                                                                _has("total_weak", r.label) or
                                                                _has("subtotal", r.label))), len(rows))


def read_line_items(rows: list[RowAmounts]) -> tuple[list[LineItem], list[Row]]:
    """Purchased items between the header and the first total-like row, and the discount, deposit and other
    negative rows they took in.

    A row is an item when it has a description and an amount at its right ("Milch 1,19 A", "2 Burger 12.50",
    "Fries 2 4.25 8.50"). A description row without an amount takes the amount of the next row ("Brötchen" /
    "3 x 0,45 1,35 A"); a "2 x 3,90" row without an amount gives quantity and unit price to the item above or
    below whose amount they make. Discount rows (Rabatt, Savings, Coupon), deposit rows (Pfand) and other
    negative rows belong to the item above and change its amount; empties brought back are items of their own.
    Totals, tax, payment and header rows (date, table, cashier) are no items, and the items end at a row whose
    amount is their sum (a subtotal, however its label was misread).
    """
    items: list[_Item] = []
    absorbed: list[Row] = []
    description_row: _ItemRow | None = None
    quantity_row: _ItemRow | None = None
    last: _Item | None = None
    whole = _priced_in_whole_units(rows)
    for entry in rows[:_items_end(rows)]:
        text = fold(entry.row.text)
        part = _item_row(entry.row, whole)
        discount = bool(_DISCOUNT_ROW.search(text))
        deposit = not discount and bool(_DEPOSIT_ROW.search(text)) and not _RETURNED.search(text)
        if (discount or deposit) and part.amounts:
            value = -abs(part.amounts[-1]) if discount else part.amounts[-1]
            if last is not None:
                last.adjustment += value
                last.rows.append(entry.row)
                absorbed.append(entry.row)
            elif deposit:
                items.append(_Item(part.description, None, None, value, [entry.row]))
            description_row = quantity_row = None
            continue
        running = sum((i.amount + i.adjustment for i in items), Decimal(0))
        sums_items = bool(items) and bool(part.amounts) and abs(part.amounts[-1] - running) <= CENT
        if _NOT_ITEM.search(text) or _is_tax_row(entry.row.text, part):
            description_row = quantity_row = last = None
            if sums_items or (items and (not part.amounts or whole)
                              and (_has("total_strong", text) or _has("subtotal", text))):
                break
            continue
        if len(items) >= 2 and sums_items:
            # The items' sum printed under them is their subtotal, whatever its (misread) label says.
            break
        if part.amounts and part.amounts[-1] < 0 and last is not None and not _RETURNED.search(text):
            # A negative row under an item ("article gratuit -1.99", "2.00-") takes its price down.
            last.adjustment += part.amounts[-1]
            last.rows.append(entry.row)
            absorbed.append(entry.row)
            continue
        if part.letters < _MIN_LETTERS and part.unit_price is not None and not part.amounts:
            if last is None or not last.take_quantity(part):
                quantity_row = part
            continue
        if part.letters >= _MIN_LETTERS and part.amounts:
            item = _Item.of([part], part.description)
            if quantity_row is not None:
                item.take_quantity(quantity_row)
        elif part.letters >= _MIN_LETTERS:
            description_row, quantity_row, last = part, None, None
            continue
        elif part.amounts and description_row is not None:
            item = _Item.of([description_row, part], description_row.description)
        else:
            description_row = quantity_row = last = None
            continue
        if not item.description:
            continue
        items.append(item)
        last, description_row, quantity_row = item, None, None
    return [item.line_item() for item in items], absorbed


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
    fields.items, absorbed = read_line_items(amounts)
    if fields.items:
        fields.items_sum = sum((i.amount for i in fields.items if i.amount is not None), Decimal(0))
        # The arithmetic takes the receipt's discount off the items' sum: an item's own discount already is.
        if fields.discount is not None and any(row is fields.discount_row for row in absorbed):
            fields.items_sum += fields.discount
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
