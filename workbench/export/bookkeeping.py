"""Bookkeeping CSV layouts: Xero bills, QuickBooks Online bills and the DATEV Buchungsstapel (EXTF)."""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import IO, Literal

from schemas import Invoice
from workbench.duplicates import document_date, document_number, document_total, supplier_name
from workbench.errors import WorkbenchError
from workbench.export.accounts import Account, AccountMap
from workbench.export.text import csv_text
from workbench.store import StoredDocument

Preset = Literal["xero", "quickbooks", "datev"]
PRESETS: tuple[Preset, ...] = ("xero", "quickbooks", "datev")

XERO_COLUMNS = [
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4",
    "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber", "*InvoiceDate", "*DueDate", "Total",
    "InventoryItemCode", "Description", "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "TaxAmount",
    "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency",
]
"""Xero's bill import template, in its order; amounts are tax inclusive (choose so when importing)."""

QUICKBOOKS_COLUMNS = ["Vendor", "DocNumber", "TxnDate", "DueDate", "Memo", "Account", "Description", "Amount",
                      "TaxCode", "TaxAmount", "Currency"]
"""QuickBooks Online bill import: one row per expense line, amounts before tax."""

DATEV_COLUMNS = [
    "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
    "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1",
    "Belegfeld 2", "Skonto", "Buchungstext",
]
"""The leading columns of DATEV's Buchungsstapel (format version 13), in DATEV's order."""

DATEV_ENCODING = "cp1252"
"""DATEV reads its ASCII formats as ANSI (Windows-1252); characters outside it become '?'."""

DATEV_INPUT_TAX_KEYS = {Decimal("19"): "9", Decimal("7"): "8"}
"""Default BU-Schlüssel for German input tax (Vorsteuer) when no rate mapping gives a tax code."""


class ExportError(WorkbenchError):
    """Documents cannot be written in a layout: fields or account codes it needs are missing."""

    exit_code = 6


@dataclass(frozen=True)
class ExportOptions:
    """Per-layout choices: date formats of Xero and QuickBooks (the company's region), DATEV header data."""

    xero_date_format: str = "%d/%m/%Y"
    quickbooks_date_format: str = "%m/%d/%Y"
    datev_consultant: int = 1001
    datev_client: int = 1
    datev_account_length: int = 4
    datev_chart: str = "03"
    datev_initials: str = "WB"
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Booking:
    """One line to book: a document's gross amount at one tax rate, with its accounts."""

    stored: StoredDocument
    supplier: str
    number: str
    date: dt.date
    due_date: dt.date
    currency: str | None
    description: str
    gross: Decimal
    tax: Decimal | None
    rate: Decimal | None
    account: Account
    tax_code: str | None = None

    @property
    def net(self) -> Decimal:
        """The amount before tax (the gross amount when the tax is not known)."""
        return self.gross - (self.tax or Decimal("0"))


@dataclass(frozen=True)
class LeftOut:
    """A document a bookkeeping export left out, and why (shown with a link to it on the Review page)."""

    document_id: int
    file: str
    reason: str


@dataclass(frozen=True)
class CsvReport:
    """What a bookkeeping export wrote: the documents booked, and those left out with their reasons."""

    written: list[StoredDocument]
    left_out: list[LeftOut]

    def refuse_empty(self) -> None:
        """ExportError naming every document when all were left out (a file of headers only helps nobody)."""
        if self.left_out and not self.written:
            raise ExportError("cannot export: " + "; ".join(entry.reason for entry in self.left_out))


def _bookings(stored: StoredDocument, account: Account) -> list[Booking]:
    """The lines of one document: one per tax rate when its tax lines add up to the total, else one."""
    document = stored.current
    missing = []
    supplier = supplier_name(document) if document is not None else None
    date = document_date(document) if document is not None else None
    total = document_total(document) if document is not None else None
    for name, value in (("supplier", supplier), ("date", date), ("total", total)):
        if value is None:
            missing.append(name)
    if missing or document is None or supplier is None or date is None or total is None:
        raise ExportError(f"{stored.file_name} (document {stored.id}): no {', '.join(missing)}")
    due_date = document.due_date.value if isinstance(document, Invoice) else None
    number = document_number(document) or f"WB-{stored.id}"
    # Supplier and number identify the bill in the books; line item text read by OCR is often till noise.
    common = dict(stored=stored, supplier=supplier, number=number, date=date, due_date=due_date or date,
                  currency=document.currency.value, description=f"{supplier} {number}", account=account)
    lines = document.tax_lines
    if lines and all(line.base is not None and line.amount is not None for line in lines):
        gross = sum((line.base + line.amount for line in lines), Decimal("0"))  # type: ignore[operator]
        if abs(gross - total) <= Decimal("0.01"):
            return [Booking(**common, gross=line.base + line.amount, tax=line.amount, rate=line.rate)  # type: ignore[operator,arg-type]
                    for line in lines]
    rate = lines[0].rate if len(lines) == 1 else None
    return [Booking(**common, gross=total, tax=document.tax_total.value, rate=rate)]  # type: ignore[arg-type]


def _percent(rate: Decimal) -> str:
    return f"{rate.normalize():f} %"


def _tax_code(layout: Preset, booking: Booking, lines: int, mapping: AccountMap) -> str | None:
    """A booking line's tax code: its rate's mapping, else DATEV's default key for the rate, else the merchant's
    or category's tax code, which only a document booked in one line may take (it names no rate)."""
    if booking.rate is not None:
        code = mapping.tax_code_for_rate(layout, booking.rate)
        if code is None and layout == "datev":
            code = DATEV_INPUT_TAX_KEYS.get(booking.rate.normalize())
        if code is not None:
            return code
    return booking.account.tax_code if lines == 1 else None


def bookings(layout: Preset, documents: list[StoredDocument], mapping: AccountMap, need_account: bool,
             need_tax_code: bool = False, need_contra: bool = False) -> tuple[list[Booking], list[LeftOut]]:
    """All documents' booking lines, one per tax rate with that rate's tax code, and the documents left out
    (a missing field, account or tax code), each with its reason."""
    left_out: list[LeftOut] = []
    result: list[Booking] = []
    for stored in documents:
        account = mapping.for_document(stored)
        try:
            lines = _bookings(stored, account)
        except ExportError as error:
            left_out.append(LeftOut(stored.id, stored.file_name, error.user_message))
            continue
        lines = [replace(line, tax_code=_tax_code(layout, line, len(lines), mapping)) for line in lines]
        wanted = [("account code", need_account, account.account_code),
                  ("contra account", need_contra, account.contra_account)]
        lacking = [name for name, needed, value in wanted if needed and not value]
        if need_tax_code:
            lacking += [f"tax code for {_percent(line.rate)}" if line.rate is not None and len(lines) > 1
                        else "tax code" for line in lines if not line.tax_code]
        if lacking:
            left_out.append(LeftOut(stored.id, stored.file_name, (
                f"{stored.file_name} (document {stored.id}, supplier {lines[0].supplier!r}): no"
                f" {' or '.join(dict.fromkeys(lacking))}; set one for this merchant, a category or the tax rate on"
                f" the mapping page")))
            continue
        result.extend(lines)
    return result, left_out


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _description(booking: Booking, lines: list[Booking]) -> str:
    """Supplier and number, and the rate when the document is booked in one line per rate."""
    split = sum(other.stored.id == booking.stored.id for other in lines) > 1
    return f"{booking.description} ({_percent(booking.rate)})" if split and booking.rate is not None \
        else booking.description


def _write_xero(lines: list[Booking], options: ExportOptions) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(XERO_COLUMNS)
    for b in lines:
        row = dict.fromkeys(XERO_COLUMNS, "")
        row.update({
            "*ContactName": csv_text(b.supplier), "*InvoiceNumber": csv_text(b.number),
            "*InvoiceDate": b.date.strftime(options.xero_date_format),
            "*DueDate": b.due_date.strftime(options.xero_date_format),
            "Description": csv_text(_description(b, lines)), "*Quantity": "1", "*UnitAmount": _amount(b.gross),
            "*AccountCode": csv_text(b.account.account_code), "*TaxType": csv_text(b.tax_code),
            "TaxAmount": _amount(b.tax), "Currency": b.currency or "",
        })
        writer.writerow(row.values())
    return out.getvalue()


def _write_quickbooks(lines: list[Booking], options: ExportOptions) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(QUICKBOOKS_COLUMNS)
    for b in lines:
        writer.writerow([
            csv_text(b.supplier), csv_text(b.number)[:21], b.date.strftime(options.quickbooks_date_format),
            b.due_date.strftime(options.quickbooks_date_format), csv_text(f"{b.stored.file_name}"),
            csv_text(b.account.account_code), csv_text(_description(b, lines)), _amount(b.net),
            csv_text(b.tax_code), _amount(b.tax), b.currency or "",
        ])
    return out.getvalue()


def _datev_text(text: str | None, limit: int) -> str:
    """A DATEV text field: quoted, quotes doubled, no control characters, within its length."""
    value = re.sub(r"[\x00-\x1f]+", " ", csv_text(text))[:limit]
    return '"' + value.replace('"', '""') + '"'


def _datev_amount(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def _write_datev(lines: list[Booking], options: ExportOptions) -> str:
    not_keys = sorted({b.tax_code for b in lines if b.tax_code and not re.fullmatch(r"\d{1,4}", b.tax_code)})
    if not_keys:
        raise ExportError(f"DATEV needs a BU-Schlüssel of up to 4 digits as tax code, not"
                          f" {', '.join(map(repr, not_keys))}; change the mapping")
    not_accounts = sorted({code for b in lines for code in (b.account.account_code, b.account.contra_account)
                           if code and not re.fullmatch(r"\d{1,9}", code)})
    if not_accounts:
        raise ExportError(f"DATEV account numbers are up to 9 digits, not {', '.join(map(repr, not_accounts))};"
                          " change the mapping")
    years = sorted({b.date.year for b in lines})
    if len(years) > 1:
        raise ExportError(f"a DATEV Buchungsstapel covers one fiscal year, but the documents are dated"
                          f" {', '.join(map(str, years))}; export each year on its own (workbench export --from"
                          f" {years[0]}-01-01 --to {years[0]}-12-31, or choose the period on the Export page)")
    year = years[0] if years else options.created.year
    first = min((b.date for b in lines), default=dt.date(year, 1, 1))
    last = max((b.date for b in lines), default=dt.date(year, 12, 31))
    currencies = {b.currency for b in lines if b.currency}
    header = [
        '"EXTF"', "700", "21", '"Buchungsstapel"', "13", options.created.strftime("%Y%m%d%H%M%S%f")[:17], "",
        '"RE"', '""', '""', str(options.datev_consultant), str(options.datev_client), f"{year}0101",
        str(options.datev_account_length), first.strftime("%Y%m%d"), last.strftime("%Y%m%d"),
        _datev_text("Belege Workbench", 30), _datev_text(options.datev_initials, 2), "1", "0", "0",
        _datev_text(currencies.pop() if len(currencies) == 1 else "EUR", 3), "", '""', "", "",
        _datev_text(options.datev_chart, 2), "", "", '""', '""',
    ]
    rows = [";".join(header), ";".join(DATEV_COLUMNS)]
    for b in lines:
        rows.append(";".join([
            _datev_amount(b.gross), '"S"' if b.gross >= 0 else '"H"', _datev_text(b.currency or "EUR", 3),
            "", "", '""', b.account.account_code or "", b.account.contra_account or "",
            _datev_text(b.tax_code, 4), b.date.strftime("%d%m"),
            _datev_text(re.sub(r"[^A-Za-z0-9$&%*+\-/]", "", b.number), 36), '""', "",
            _datev_text(b.supplier, 60),
        ]))
    return "\r\n".join(rows) + "\r\n"


_NEEDS: dict[Preset, dict[str, bool]] = {
    "xero": {"need_account": True, "need_tax_code": True},
    "quickbooks": {"need_account": True},
    "datev": {"need_account": True, "need_contra": True},
}


def write_csv(preset: Preset, documents: list[StoredDocument], buffer: IO[bytes], mapping: AccountMap,
              options: ExportOptions | None = None) -> CsvReport:
    """Write the documents in a bookkeeping layout to a binary buffer (Xero, QuickBooks: UTF-8 with BOM,
    comma; DATEV: Windows-1252, semicolon, decimal comma, EXTF header), one line per tax rate.

    A document lacking a field, account or tax code the layout needs is left out and listed in the report
    (`CsvReport.refuse_empty` says when nothing could be written); ExportError when the batch itself cannot be
    written (DATEV: documents of two years, tax keys or accounts that are not numbers).
    """
    options = options or ExportOptions()
    if preset not in PRESETS:
        raise ExportError(f"unknown export layout {preset!r}; choose one of: {', '.join(PRESETS)}")
    lines, left_out = bookings(preset, documents, mapping, **_NEEDS[preset])
    if preset == "xero":
        buffer.write(_write_xero(lines, options).encode("utf-8-sig"))
    elif preset == "quickbooks":
        buffer.write(_write_quickbooks(lines, options).encode("utf-8-sig"))
    else:
        buffer.write(_write_datev(lines, options).encode(DATEV_ENCODING, errors="replace"))
    left = {entry.document_id for entry in left_out}
    return CsvReport([stored for stored in documents if stored.id not in left], left_out)
