"""Check a read document for problems an accountant would catch: sums, tax, dates, VAT ids, IBAN, signs.

`validate(document)` returns `Issue` values (never raises on bad data). Amount checks allow one cent of
rounding per sum (and per line where a tax or a line amount is rounded). Severity "error" marks what makes
a document unusable for booking as read (no total, totals that contradict each other, an impossible date,
a due date before the issue date, a VAT id or IBAN that fails its check digits); "warning" marks what a
person should look at (line items not adding up, a missing date or number).
"""

import datetime as dt
from decimal import Decimal
from itertools import product

from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_eu_vat
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

from schemas import Invoice, Issue, LineItem, Receipt

_CENT = Decimal("0.01")
_EARLIEST = dt.date(2000, 1, 1)


def validate(document: Receipt | Invoice, today: dt.date | None = None) -> list[Issue]:
    """Every problem found in `document`; `today` (default: the current date) bounds plausible dates."""
    today = today or dt.date.today()
    if isinstance(document, Invoice):
        return _validate_invoice(document, today)
    return _validate_receipt(document, today)


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _close(a: Decimal, b: Decimal, tolerance: Decimal = _CENT) -> bool:
    return abs(a - b) <= tolerance


def _date_issues(value: dt.date | None, field: str, what: str, today: dt.date) -> list[Issue]:
    if value is None:
        return []
    if value > today:
        return [Issue(code="date_in_future", field=field, severity="error",
                      message=f"The {what} {value.isoformat()} lies in the future; check the year and day/month order.")]
    if value < _EARLIEST:
        return [Issue(code="date_implausible", field=field, severity="error",
                      message=f"The {what} {value.isoformat()} is before 2000; it is probably misread.")]
    return []


def _line_amount_issues(document: Receipt | Invoice) -> list[Issue]:
    issues = []
    for number, item in enumerate(document.line_items, start=1):
        if item.quantity is None or item.unit_price is None or item.amount is None:
            continue
        expected = item.quantity * item.unit_price
        # Unit prices are printed rounded to the cent, so a quantity q may shift the product by q/2 cents.
        tolerance = max(_CENT, abs(item.quantity) * Decimal("0.005"))
        if not _close(expected, item.amount, tolerance):
            issues.append(Issue(code="line_item_mismatch", field="line_items", message=(
                f"Line {number} ({item.description or 'no description'}): quantity {item.quantity.normalize():f} × unit "
                f"price {_money(item.unit_price)} = {_money(expected)}, but the line amount reads {_money(item.amount)}.")))
    return issues


def _items_total(document: Receipt | Invoice) -> Decimal | None:
    amounts = [item.amount for item in document.line_items]
    if not amounts or any(amount is None for amount in amounts):
        return None
    return sum((amount for amount in amounts if amount is not None), Decimal(0))


def _line_name(number: int, item: LineItem) -> str:
    description = (item.description or "no description")[:40]
    return f"Line {number} ({description}, {_money(item.amount)})"


def _suspect_line(items: list[LineItem], difference: Decimal, tolerance: Decimal) -> str | None:
    """The line that explains `difference` (items' sum minus the target): one that is no item (its amount
    is the difference) or one whose quantity × unit price differs from its amount by the difference."""
    for number, item in enumerate(items, start=1):
        if item.quantity is None or item.unit_price is None or item.amount is None:
            continue
        product = item.quantity * item.unit_price
        if not _close(product, item.amount) and _close(item.amount - product, difference, tolerance):
            return (f"{_line_name(number, item)} reads {_money(item.amount)} where quantity "
                    f"{item.quantity.normalize():f} × unit price {_money(item.unit_price)} = {_money(product)}; "
                    f"with {_money(product)}")
    # Of the lines whose amount is the difference, the least certain one is the likeliest misreading.
    extra = [(item.confidence, number, item) for number, item in enumerate(items, start=1)
             if item.amount is not None and _close(item.amount, difference, tolerance)]
    if extra:
        _, number, item = min(extra, key=lambda entry: (entry[0], entry[1]))
        return f"{_line_name(number, item)} may be no item (a total, tax or payment row); without it"
    return None


def _items_mismatch(document: Receipt | Invoice, items: Decimal, targets: list[tuple[str, Decimal]]) -> Issue | None:
    """None when the items add up to one of `targets` (name, value), else an issue naming the suspect line."""
    count = len(document.line_items)
    tolerance = _CENT * max(1, count // 10)
    if not targets or any(_close(items, value, tolerance) for _, value in targets):
        return None
    for name, value in targets:
        suspect = _suspect_line(document.line_items, items - value, tolerance)
        if suspect is not None:
            return Issue(code="line_items_mismatch", field="line_items", message=(
                f"The {count} line items add up to {_money(items)}, not to the {name} {_money(value)}. "
                f"{suspect} they add up to it."))
    name, value = targets[0]
    if isinstance(document, Invoice):
        hint = f"the difference ({_money(value - items)}) may be an invoice-level discount or charge, or a missing line"
    elif items < value:
        hint = f"an item of {_money(value - items)} may be missing"
    else:
        hint = f"{_money(items - value)} too much was read, in one line or several"
    return Issue(code="line_items_mismatch", field="line_items", message=(
        f"The {count} line items add up to {_money(items)}, not to the {name} {_money(value)}: {hint}; no single "
        f"line explains the difference."))


def _tax_line_issues(document: Receipt | Invoice, net_field: str, net: Decimal | None) -> list[Issue]:
    issues = []
    for line in document.tax_lines:
        if line.rate is None or line.base is None or line.amount is None:
            continue
        expected = (line.base * line.rate / 100).quantize(_CENT)
        if not _close(expected, line.amount, Decimal("0.02")):
            issues.append(Issue(code="tax_rate_mismatch", field="tax_lines", severity="error", message=(
                f"Tax at {line.rate.normalize():f} % on {_money(line.base)} should be {_money(expected)}, "
                f"but {_money(line.amount)} was read.")))
    amounts = [line.amount for line in document.tax_lines if line.amount is not None]
    if amounts and document.tax_total.value is not None and len(amounts) == len(document.tax_lines):
        total = sum(amounts, Decimal(0))
        if not _close(total, document.tax_total.value, _CENT * len(amounts)):
            issues.append(Issue(code="tax_lines_mismatch", field="tax_total", severity="error", message=(
                f"The tax per rate adds up to {_money(total)}, but the tax total reads "
                f"{_money(document.tax_total.value)}.")))
    bases = [line.base for line in document.tax_lines if line.base is not None]
    if bases and net is not None and len(bases) == len(document.tax_lines):
        total = sum(bases, Decimal(0))
        if not _close(total, net, _CENT * len(bases)):
            issues.append(Issue(code="tax_bases_mismatch", field=net_field, message=(
                f"The taxable amounts per rate add up to {_money(total)}, but the net amount reads {_money(net)}.")))
    return issues


def tax_lines_gross(document: Receipt | Invoice) -> Decimal | None:
    """What the tax lines say the document totals: every line's base plus its tax (None unless all have both)."""
    lines = document.tax_lines
    if not lines or any(line.base is None or line.amount is None for line in lines):
        return None
    return sum((line.base + line.amount for line in lines), Decimal(0))  # type: ignore[operator]


# --- receipts ---------------------------------------------------------------------------------------------

def _validate_receipt(receipt: Receipt, today: dt.date) -> list[Issue]:
    issues: list[Issue] = []
    total = receipt.total.value
    if total is None:
        issues.append(Issue(code="missing_total", field="total", severity="error",
                            message="No total was found; enter the amount paid before booking this receipt."))
    if receipt.date.value is None:
        issues.append(Issue(code="missing_date", field="date",
                            message="No date was found; the receipt cannot be assigned to a period without one."))
    issues += _date_issues(receipt.date.value, "date", "receipt date", today)
    subtotal = receipt.subtotal.value
    if total is not None and subtotal is not None:
        issues += _receipt_sum_issues(receipt, subtotal, total)
    issues += _tax_line_issues(receipt, "subtotal", None)
    items = _items_total(receipt)
    if items is not None:
        mismatch = _items_mismatch(receipt, items, _receipt_item_targets(receipt))
        if mismatch is not None:
            issues.append(mismatch)
    issues += _line_amount_issues(receipt)
    return issues


def _receipt_item_targets(receipt: Receipt) -> list[tuple[str, Decimal]]:
    """What a receipt's items may add up to: the subtotal, the total without tax (and without tip, discount and
    rounding), or the total itself (prices that include the tax)."""
    targets: list[tuple[str, Decimal]] = []
    if receipt.subtotal.value is not None:
        targets.append(("subtotal", receipt.subtotal.value))
    total = receipt.total.value
    if total is not None:
        tax = receipt.tax_total.value or Decimal(0)
        adjustments = ((receipt.tip.value or Decimal(0)) - abs(receipt.discount.value or Decimal(0))
                       + (receipt.rounding.value or Decimal(0)))
        if tax:
            targets.append(("total without tax", total - tax))
        if adjustments:
            targets.append(("total before tip, discount and rounding", total - tax - adjustments))
        targets.append(("total", total))
    return targets


def _receipt_sum_issues(receipt: Receipt, subtotal: Decimal, total: Decimal) -> list[Issue]:
    tax = receipt.tax_total.value or Decimal(0)
    tip = receipt.tip.value or Decimal(0)
    rounding = receipt.rounding.value or Decimal(0)
    discount = abs(receipt.discount.value or Decimal(0))
    # Tax may be added to the subtotal or already included in it; a discount may already be in the subtotal.
    for tax_part, discount_part in product((tax, Decimal(0)), (discount, Decimal(0))):
        if _close(subtotal + tax_part + tip - discount_part + rounding, total):
            return []
    expected = subtotal + tax + tip - discount + rounding
    parts = [f"subtotal {_money(subtotal)}"]
    for name, value in (("tax", receipt.tax_total.value), ("tip", receipt.tip.value),
                        ("discount", receipt.discount.value), ("rounding", receipt.rounding.value)):
        if value is not None:
            parts.append(f"{name} {_money(value)}")
    if len(parts) == 1:
        message = (f"The subtotal {_money(subtotal)} differs from the total {_money(total)} by "
                   f"{_money(total - subtotal)}; a tax, tip, discount or rounding line may be missing or misread.")
    else:
        alternative = f" (or {_money(expected - tax)} with the tax included)" if tax else ""
        message = (f"{', '.join(parts).capitalize()} add up to {_money(expected)}{alternative}, "
                   f"but the total reads {_money(total)}.")
    return [Issue(code="total_mismatch", field="total", severity="error", message=message)]


# --- invoices ---------------------------------------------------------------------------------------------

def _validate_invoice(invoice: Invoice, today: dt.date) -> list[Issue]:
    issues: list[Issue] = []
    net, tax, gross = invoice.net_total.value, invoice.tax_total.value, invoice.grand_total.value
    if gross is None:
        issues.append(Issue(code="missing_total", field="grand_total", severity="error",
                            message="No invoice total was found; enter the gross amount before booking."))
    if invoice.invoice_number.value is None:
        issues.append(Issue(code="missing_invoice_number", field="invoice_number",
                            message="No invoice number was found; it is needed to book and to pay the invoice."))
    if invoice.issue_date.value is None:
        issues.append(Issue(code="missing_date", field="issue_date",
                            message="No invoice date was found; the invoice cannot be assigned to a period."))
    issues += _date_issues(invoice.issue_date.value, "issue_date", "invoice date", today)
    issue_date, due_date = invoice.issue_date.value, invoice.due_date.value
    if issue_date is not None and due_date is not None and due_date < issue_date:
        issues.append(Issue(code="due_before_issue", field="due_date", severity="error", message=(
            f"The due date {due_date.isoformat()} is before the invoice date {issue_date.isoformat()}.")))
    if net is not None and tax is not None and gross is not None and not _close(net + tax, gross):
        issues.append(Issue(code="total_mismatch", field="grand_total", severity="error", message=(
            f"Net {_money(net)} + tax {_money(tax)} = {_money(net + tax)}, but the invoice total reads "
            f"{_money(gross)}.")))
    issues += _tax_line_issues(invoice, "net_total", net)
    items = _items_total(invoice)
    if items is not None and net is not None:
        mismatch = _items_mismatch(invoice, items, [("net total", net)])
        if mismatch is not None:
            issues.append(mismatch)
    issues += _line_amount_issues(invoice)
    for role in ("seller", "buyer"):
        vat_id = getattr(invoice, role).vat_id.value
        if vat_id is not None:
            issues += _vat_issues(vat_id, f"{role}.vat_id", role)
    if invoice.iban.value is not None and not stdnum_iban.is_valid(invoice.iban.value):
        issues.append(Issue(code="iban_invalid", field="iban", severity="error", message=(
            f"The IBAN {invoice.iban.value} fails its checksum; a payment to it would be rejected. Compare it "
            f"with the invoice.")))
    issues += _sign_issues(invoice)
    return issues


def _vat_issues(vat_id: str, field: str, role: str) -> list[Issue]:
    compact = "".join(ch for ch in vat_id.upper() if ch.isalnum())
    country = compact[:2].lower()
    if not country.isalpha():
        return []
    if country in stdnum_eu_vat.MEMBER_STATES or country in ("el", "xi"):
        valid = stdnum_eu_vat.is_valid(compact)
    else:
        try:
            module = get_cc_module(country, "vat")
        except (ImportError, ValidationError):
            return []
        if module is None:
            return []
        valid = module.is_valid(compact) or module.is_valid(compact[2:])
    if valid:
        return []
    return [Issue(code="vat_id_invalid", field=field, severity="error", message=(
        f"The {role}'s VAT id {vat_id} is not a valid {country.upper()} VAT number (format or check digits); "
        f"check it on the invoice or in the VIES service before claiming input tax."))]


def _sign_issues(invoice: Invoice) -> list[Issue]:
    amounts = {name: getattr(invoice, name).value for name in ("net_total", "tax_total", "grand_total", "amount_due")}
    present = {name: value for name, value in amounts.items() if value is not None and value != 0}
    if invoice.kind.value == "credit_note":
        positive = [name for name, value in present.items() if value > 0]
        if positive:
            return [Issue(code="credit_note_sign", field=positive[0], severity="error", message=(
                f"This credit note has positive amounts ({', '.join(positive)}); credit notes are stored with "
                f"negative amounts so that they reduce the supplier balance."))]
        return []
    totals = [present[name] for name in ("net_total", "tax_total", "grand_total") if name in present]
    if totals and any(v > 0 for v in totals) and any(v < 0 for v in totals):
        return [Issue(code="mixed_signs", field="grand_total", message=(
            "Net, tax and total do not share one sign; a minus sign may have been misread."))]
    return []
