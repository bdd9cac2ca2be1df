"""Score invoice reading on a ZUGFeRD-layout folder (pdfs/, xml/, labels/) by three routes against the labels.

Routes:
- xml: the embedded XML read by `read_einvoice` — every labelled field must match exactly.
- text: the PDF's text layer only (XML removed) through the engine — how born-digital PDFs fare.
- image: the pages rendered at `settings.render_dpi` (150–200 dpi), XML and text layer removed, OCR only
  — how the same invoices fare as scans.

How label keys map onto `schemas.Invoice` (label dates are YYYYMMDD, label amounts decimal strings):
- `invoice_number`, `currency`, `issue_date`, `due_date` → the fields of the same name.
- `type_code` → `kind`: a credit-note code (see einvoice.CREDIT_NOTE_CODES) must read "credit_note".
- `seller`/`buyer` `name`, `vat_id` → the party's fields; `address` {line1, line2, postcode, city, country}
  → the party's one-line address as `einvoice.address_line` joins it.
- `totals`: `tax_basis_total` → `net_total`, `tax_total` → `tax_total`, `grand_total` → `grand_total`,
  `due_payable` → `amount_due`. `line_total` and `prepaid` have no Invoice field and are not scored (a
  sum of the line items would not stand in for `line_total`: some sample XMLs' own lines do not add up
  to it, and `grand_total - amount_due` is not `prepaid` in ZUGFeRD 1 corrections).
- `tax_breakdown` → `tax_lines` as a multiset of (category, rate, base, tax).
- `line_items` → `line_items` in order, as (description, quantity, unit price, amount); label lines that are
  only notes (no name and no amount) are dropped first. Unit prices are compared to the cent, because the
  schema's money type holds two decimals (the XML's four-decimal prices are rounded half up).
- `profile`, `buyer_reference` and line `unit`/`line_id` have no Invoice field and are not scored.
Credit notes: the XML and its labels carry positive amounts; the workbench negates them, so expected
amounts are negated for credit-note type codes before comparing.

Comparisons: the xml route compares exactly (text with runs of whitespace collapsed, amounts as decimals,
dates as dates). The text and image routes compare names and addresses upper-cased with spaces and
punctuation removed, invoice numbers without spaces, amounts as decimals, dates as dates; an address counts
when its street lines, postcode and city all appear in the one-line address read (the country code of the
XML is rarely printed).
"""

import csv
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from schemas import Invoice, Receipt, SourceDocument
from workbench.config import Settings
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.evaluate.calibration import calibration, reliability_diagram
from workbench.extract.einvoice import CREDIT_NOTE_CODES, address_line, read_einvoice
from workbench.ingest import load_path

TARGETS: dict[str, float] = {
    "invoice_number": 0.95, "issue_date": 0.95, "seller.name": 0.90, "grand_total": 0.95,
    "tax_total": 0.90, "net_total": 0.90, "currency": 0.98,
}
"""Accuracy the image route must reach per field on zugferd-dev."""

_ROUTES = ("xml", "text", "image")

Scores = dict[str, bool]


def is_zugferd_folder(folder: Path) -> bool:
    """True when `folder` has the pdfs/ + labels/ layout of zugferd-dev."""
    return (folder / "pdfs").is_dir() and (folder / "labels").is_dir()


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


def _spaces(text: str) -> str:
    return " ".join(text.split())


def _dec(text: Any) -> Decimal | None:
    return None if text in (None, "") else Decimal(str(text))


def _cent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _label_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _label_address(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    return address_line(address.get("line1"), address.get("line2"), None, address.get("postcode"),
                        address.get("city"), address.get("country"))


def score_invoice(invoice: Invoice, fields: dict[str, Any], exact: bool) -> Scores:
    """Per scored field key: does the invoice match the label? Keys absent from the label are left out."""
    credit = fields.get("type_code") in CREDIT_NOTE_CODES
    sign = Decimal(-1) if credit else Decimal(1)
    text_same: Callable[[str | None, str | None], bool] = (
        (lambda a, b: a is not None and b is not None and _spaces(a) == _spaces(b)) if exact
        else (lambda a, b: a is not None and b is not None and _fold(a) == _fold(b)))
    scores: Scores = {}

    def put(key: str, expected: Any, got: Any, same: Callable[[Any, Any], bool] = lambda a, b: a == b) -> None:
        if expected is not None:
            scores[key] = got is not None and same(expected, got)

    number_same = text_same if exact else (lambda a, b: re.sub(r"\s+", "", a).upper() == re.sub(r"\s+", "", b).upper())
    put("invoice_number", fields.get("invoice_number"), invoice.invoice_number.value, number_same)
    if fields.get("type_code"):
        scores["kind"] = invoice.kind.value == ("credit_note" if credit else "invoice")
    put("issue_date", _label_date(fields.get("issue_date")), invoice.issue_date.value)
    put("due_date", _label_date(fields.get("due_date")), invoice.due_date.value)
    put("currency", fields.get("currency"), invoice.currency.value)
    for role in ("seller", "buyer"):
        label_party = fields.get(role) or {}
        party = getattr(invoice, role)
        put(f"{role}.name", label_party.get("name"), party.name.value, text_same)
        address = label_party.get("address") or {}
        if exact:
            put(f"{role}.address", _label_address(address), party.address.value, text_same)
        else:
            parts = [_fold(str(address[key])) for key in ("line1", "line2", "postcode", "city") if address.get(key)]
            put(f"{role}.address", parts or None, party.address.value,
                lambda expected, got: all(part in _fold(got) for part in expected))
        put(f"{role}.vat_id", label_party.get("vat_id"), party.vat_id.value, number_same)

    totals = fields.get("totals") or {}

    def amount(key: str) -> Decimal | None:
        value = _dec(totals.get(key))
        return None if value is None else value * sign

    put("net_total", amount("tax_basis_total"), invoice.net_total.value)
    put("tax_total", amount("tax_total"), invoice.tax_total.value)
    put("grand_total", amount("grand_total"), invoice.grand_total.value)
    put("amount_due", amount("due_payable"), invoice.amount_due.value)

    if fields.get("tax_breakdown"):
        def tax_key(category: Any, rate: Any, base: Any, tax: Any) -> tuple[Any, ...]:
            key = (_dec(rate), _dec(base), _dec(tax))
            return ((category,) + key) if exact else key

        expected_taxes = Counter(tax_key(t.get("category"), t.get("rate_percent"),
                                         None if t.get("basis") is None else _dec(t["basis"]) * sign,
                                         None if t.get("tax") is None else _dec(t["tax"]) * sign)
                                 for t in fields["tax_breakdown"])
        got_taxes = Counter(tax_key(t.category, t.rate, t.base, t.amount) for t in invoice.tax_lines)
        scores["tax_lines"] = expected_taxes == got_taxes

    label_items = [item for item in fields.get("line_items") or []
                   if item.get("name") is not None or item.get("line_total") is not None]
    if label_items:
        def item_key(description: str | None, quantity: Any, price: Any, total: Any) -> tuple[Any, ...]:
            text = _spaces(description) if description and exact else (_fold(description) if description else None)
            return (text, _dec(quantity), _cent(_dec(price)), _dec(total))

        expected_items = [item_key(i.get("name"), None if i.get("quantity") is None else _dec(i["quantity"]) * sign,
                                   i.get("net_unit_price"),
                                   None if i.get("line_total") is None else _dec(i["line_total"]) * sign)
                          for i in label_items]
        got_items = [item_key(i.description, i.quantity, i.unit_price, i.amount) for i in invoice.line_items]
        scores["line_items"] = expected_items == got_items
    return scores


def _field_value(invoice: Invoice, key: str) -> tuple[Any, float | None]:
    head, _, tail = key.partition(".")
    target: Any = getattr(invoice, head, None)
    if tail and target is not None:
        target = getattr(target, tail, None)
    if hasattr(target, "value"):
        return target.value, target.confidence
    if isinstance(target, list):
        return f"{len(target)} rows", None
    return None, None


def _strip(source: SourceDocument, keep_text: bool) -> SourceDocument:
    pages = [page if keep_text else page.model_copy(update={"text_lines": None}) for page in source.pages]
    return source.model_copy(update={"xml": None, "xml_name": None, "pages": pages})


def _read_route(route: str, pdf: Path, xml_path: Path, engine: Engine, settings: Settings) -> Invoice:
    if route == "xml":
        return read_einvoice(xml_path.read_bytes(), xml_path.name)
    source = load_path(pdf, settings)
    document: Invoice | Receipt = engine.read(_strip(source, keep_text=route == "text"), "invoice")
    if not isinstance(document, Invoice):
        raise WorkbenchError(f"{pdf.name}: the engine returned a {type(document).__name__}, not an invoice")
    if route == "text" and not any(page.text_lines for page in source.pages):
        raise WorkbenchError(f"{pdf.name}: the PDF has no text layer")
    return document


def _summary(route: str, per_file: list[Scores], seconds: float, failures: int) -> list[str]:
    keys = sorted({key for scores in per_file for key in scores}, key=lambda k: (k not in TARGETS, k))
    lines = [f"[{route}] {len(per_file)} read, {failures} failed, {seconds:.1f} s"]
    for key in keys:
        hits = [scores[key] for scores in per_file if key in scores]
        accuracy = sum(hits) / len(hits)
        target = TARGETS.get(key) if route == "image" else (1.0 if route == "xml" else None)
        mark = "" if target is None else ("  ok" if accuracy >= target else f"  below target {target:.0%}")
        lines.append(f"  {key:<16} {accuracy:7.1%}  ({sum(hits)}/{len(hits)}){mark}")
    return lines


def evaluate_zugferd(folder: Path, engine: Engine, out_dir: Path, settings: Settings,
                     routes: tuple[str, ...] = _ROUTES, limit: int | None = None) -> str:
    """Score the routes on `folder`; write the misses CSV and the image route's reliability diagram to `out_dir`."""
    labels = sorted((folder / "labels").glob("*.json"))[:limit]
    if not (folder / "xml").is_dir():
        routes = tuple(route for route in routes if route != "xml")  # rendered invoices carry no XML
    out_dir.mkdir(parents=True, exist_ok=True)
    report: list[str] = [f"ZUGFeRD layout: {folder} ({len(labels)} labelled invoices)"]
    misses: list[dict[str, Any]] = []
    reliability: list[tuple[float, bool]] = []
    for route in routes:
        per_file: list[Scores] = []
        failures = 0
        started = time.perf_counter()
        for label_path in labels:
            label = json.loads(label_path.read_text(encoding="utf-8"))
            fields = label["fields"]
            pdf = folder / label.get("pdf", f"pdfs/{label_path.stem}.pdf")
            xml_path = folder / label.get("embedded_xml", f"xml/{label_path.stem}.xml")
            try:
                invoice = _read_route(route, pdf, xml_path, engine, settings)
            except WorkbenchError as error:
                failures += 1
                misses.append({"route": route, "file": label_path.stem, "field": "*", "expected": "",
                               "got": error.user_message, "confidence": ""})
                continue
            scores = score_invoice(invoice, fields, exact=route == "xml")
            per_file.append(scores)
            for key, correct in scores.items():
                got, confidence = _field_value(invoice, key)
                if route == "image" and confidence is not None and got is not None:
                    reliability.append((confidence, correct))
                if not correct:
                    misses.append({"route": route, "file": label_path.stem, "field": key,
                                   "expected": _expected_text(fields, key), "got": got,
                                   "confidence": "" if confidence is None else f"{confidence:.2f}"})
        report += _summary(route, per_file, time.perf_counter() - started, failures)
    with (out_dir / "zugferd_misses.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["route", "file", "field", "expected", "got", "confidence"])
        writer.writeheader()
        writer.writerows(misses)
    report.append(f"misses: {out_dir / 'zugferd_misses.csv'}")
    if reliability:
        confidences, correct = [c for c, _ in reliability], [ok for _, ok in reliability]
        report.append(f"[image] {calibration(confidences, correct).text()}")
        diagram = reliability_diagram(confidences, correct, out_dir / "zugferd_reliability.png",
                                      "Invoice field confidence, image route (zugferd-dev)")
        report.append(f"reliability diagram: {diagram}")
    return "\n".join(report)


def _expected_text(fields: dict[str, Any], key: str) -> str:
    head, _, tail = key.partition(".")
    totals = fields.get("totals") or {}
    mapped = {"net_total": "tax_basis_total", "amount_due": "due_payable"}
    if head in ("net_total", "tax_total", "grand_total", "amount_due"):
        return str(totals.get(mapped.get(head, head)))
    value = fields.get(head)
    if tail and isinstance(value, dict):
        value = value.get(tail)
        if tail == "address" and isinstance(value, dict):
            value = _label_address(value)
    if isinstance(value, list):
        return f"{len(value)} rows"
    return str(value)
