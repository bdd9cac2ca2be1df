"""Render synthetic till receipts in German, US, UK and French styles, with labels a trainer can use.

    python scripts/render_receipts.py                      # 400 receipts (100 per country) into the user cache dir
    python scripts/render_receipts.py -n 40 --seed 7 --countries de us --out /tmp/receipts

Styles: German supermarkets and drugstores (A/B tax-code column, `2 x 0,79` quantity rows, weighed goods,
`Pfand` and `Rabatt` rows, `Summe`, `Bar`/`Rückgeld` or card, `MwSt A 19 % / B 7 %` breakdown), US shops and
restaurants (`Subtotal`, `Sales Tax`, `Tip`, `Total`, month-first dates, 12-hour times, card slips), UK VAT
receipts (`£`, VAT codes, a 20 %/5 %/0 % summary) and French tickets (`TVA`, `Total HT`/`TTC`, decimal comma).
Every merchant, street and number is made up.

The folder has sroie-train's shape: `images/<id>.jpg` and `labels/<id>.json` with `fields` (company, date as
ISO, address, total: what `workbench eval` scores) and `expected`, every field as `schemas.Receipt` holds it
(merchant name and address, date, time, currency, subtotal, tax total and lines, tip, discount, total,
payment method, line items with description, quantity, unit price and amount). Line items are every priced
row as printed, deposits (`Pfand`) and discounts (`Rabatt`, coupons) included as their own rows; `line_kinds`
says which is which (item, deposit, discount), and the rows always add up to the subtotal when one is
printed, else to the total. `style` names the layout and `printed` the strings printed for the total and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType

from babel.dates import format_date
from babel.numbers import format_decimal
from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
CENT = Decimal("0.01")


def load_generator() -> ModuleType:
    """samples/generate.py as a module (samples/ is a folder of files, not an installed package)."""
    path = REPO / "samples" / "generate.py"
    spec = importlib.util.spec_from_file_location("samples_generate", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GENERATE = load_generator()
Row, Span, Sheet, row = GENERATE.Row, GENERATE.Span, GENERATE.Sheet, GENERATE.row


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------- what they sell

# (description, price, flags): r = reduced tax rate, w = sold by weight (price per kg or lb),
# p = a bottle with a deposit, 5 = the UK's 5 % rate
GOODS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "de-grocery": (("Vollmilch 3,5% 1L", "1.09", "r"), ("Butter 250g", "2.29", "r"), ("Bananen", "1.39", "rw"),
                   ("Äpfel Braeburn", "2.49", "rw"), ("Tomaten Rispe", "2.99", "rw"), ("Gouda Scheiben", "1.79", "r"),
                   ("Spaghetti 500g", "0.89", "r"), ("Toastbrot", "1.19", "r"), ("Eier Bodenh. 10St", "2.59", "r"),
                   ("Joghurt Natur 500g", "0.85", "r"), ("Kaffee Crema 1kg", "12.99", "r"),
                   ("Mineralwasser 1,5L", "0.29", "p"), ("Cola 1,5L", "1.09", "p"), ("Pils 0,5L", "0.79", "p"),
                   ("Orangensaft 1L", "1.49", ""), ("Spülmittel", "0.95", ""), ("Küchenrolle 4er", "2.49", ""),
                   ("Waschmittel 20WL", "4.99", ""), ("Kartoffeln 2,5kg", "2.79", "r"), ("Hähnchenbrust", "4.99", "r"),
                   ("Schokolade Vollmilch", "0.99", "r"), ("Chips Paprika", "1.29", "r"),
                   ("Zwiebeln 1kg", "1.19", "r")),
    "de-drugstore": (("Duschgel 250ml", "0.95", ""), ("Shampoo 300ml", "1.75", ""), ("Zahnpasta 75ml", "0.65", ""),
                     ("Toilettenpapier 8x150", "3.45", ""), ("Feuchttücher 2x80", "2.25", ""),
                     ("Handcreme 100ml", "1.45", ""), ("Deo Spray 150ml", "1.95", ""),
                     ("Taschentücher 10x10", "0.85", ""), ("Müsliriegel 6er", "1.29", "r"),
                     ("Pfefferminztee", "1.15", "r"), ("Wattepads 120St", "0.75", ""), ("Zahnbürste", "1.25", ""),
                     ("Babybrei Karotte", "0.79", "r"), ("Sonnencreme LSF30", "3.95", "")),
    "us-grocery": (("WHOLE MILK GAL", "3.48", ""), ("BANANAS", "0.58", "w"), ("EGGS LARGE 12CT", "3.12", ""),
                   ("BREAD WHEAT", "2.50", ""), ("CHEDDAR SHRED 8OZ", "2.97", ""), ("PAPER TOWELS 6RL", "8.97", ""),
                   ("DISH SOAP", "2.94", ""), ("GROUND BEEF 1LB", "5.47", ""), ("APPLES GALA 3LB", "4.27", ""),
                   ("COFFEE GROUND 12OZ", "6.98", ""), ("CEREAL OAT", "3.64", ""), ("SODA 12PK", "6.48", ""),
                   ("TOMATOES ROMA", "1.28", "w"), ("PEANUT BUTTER", "2.78", ""), ("TRASH BAGS 30CT", "7.97", "")),
    "us-restaurant": (("Cheeseburger", "12.95", ""), ("Caesar Salad", "9.50", ""), ("Fish Tacos", "13.75", ""),
                      ("French Fries", "4.25", ""), ("Iced Tea", "2.95", ""), ("Club Sandwich", "11.50", ""),
                      ("Draft Beer", "6.00", ""), ("Chicken Wings", "10.95", ""), ("Soup of the Day", "5.75", ""),
                      ("Pancakes", "8.25", ""), ("Coke", "2.50", ""), ("Apple Pie", "6.50", "")),
    "uk-grocery": (("Semi Skimmed Milk 2pt", "1.45", "r"), ("Wholemeal Bread", "1.10", "r"),
                   ("Free Range Eggs 6", "1.95", "r"), ("Mature Cheddar 400g", "3.50", "r"),
                   ("Bananas Loose", "0.94", "rw"), ("Orange Juice 1L", "1.60", ""), ("Crisps 6pk", "2.25", ""),
                   ("Washing Up Liquid", "1.20", ""), ("Still Water 2L", "0.65", ""), ("Chocolate Bar", "0.85", ""),
                   ("Tea Bags 80", "2.30", "r"), ("Nicotine Patches 7", "9.99", "5"),
                   ("Porridge Oats 1kg", "1.35", "r"),
                   ("Toilet Roll 9pk", "4.50", ""), ("Sausage Roll", "1.20", "")),
    "fr-grocery": (("Baguette tradition", "1.20", "r"), ("Lait demi-écrémé 1L", "1.05", "r"),
                   ("Beurre doux 250g", "2.49", "r"), ("Comté 12 mois", "14.80", "rw"),
                   ("Pommes Golden", "2.49", "rw"), ("Eau minérale 6x1,5L", "2.95", "r"),
                   ("Vin rouge AOP", "6.50", ""),
                   ("Café moulu 250g", "3.20", "r"), ("Yaourt nature x4", "1.65", "r"),
                   ("Papier toilette x6", "3.40", ""), ("Lessive liquide", "7.90", ""),
                   ("Chocolat noir 70%", "1.99", "r"), ("Jambon blanc x4", "2.89", "r"), ("Shampooing", "2.60", "")),
}
NAMES = {
    "de-grocery": ("NORDKAUF", "Preisbaum Discount", "MARKTKORB", "Frischland Markt", "KORNFELD MARKT",
                   "SPARGUT", "Tageskauf", "Grünhof Frischemarkt"),
    "de-drugstore": ("Drogerie Lindgrün", "DROGERIEMARKT SONNENTAU", "Pflegewelt Drogerie", "drogerie blau"),
    "us-grocery": ("MAPLE STREET GROCERY", "Bluebird Market", "CORNERSTONE FOODS", "Prairie Fresh Market"),
    "us-restaurant": ("Bluebird Diner", "The Copper Kettle", "Lucky Fork Grill", "Sunny Side Cafe"),
    "uk-grocery": ("THISTLE FOODS", "Corner Grocer Ltd", "Hedgerow Stores", "Kingfisher Express"),
    "fr-grocery": ("Marché des Tilleuls", "SUPÉRETTE DU PORT", "Épicerie Beaulieu", "PRIXDOUX Market"),
}
COUNTRIES = {"de": ("de-grocery", "de-grocery", "de-drugstore"), "us": ("us-grocery", "us-restaurant"),
             "uk": ("uk-grocery",), "fr": ("fr-grocery",)}
LOCALE = {"de": "de-DE", "us": "en-US", "uk": "en-GB", "fr": "fr-FR"}
BABEL = {"de": "de_DE", "us": "en_US", "uk": "en_GB", "fr": "fr_FR"}
CURRENCY = {"de": "EUR", "us": "USD", "uk": "GBP", "fr": "EUR"}
DATE_PATTERNS = {"de": ("dd.MM.yyyy", "dd.MM.yy", "dd.MM.yyyy"), "us": ("MM/dd/yyyy", "MM/dd/yy", "MMM d, yyyy",
                                                                       "M/d/yyyy"),
                 "uk": ("dd/MM/yyyy", "dd/MM/yy", "d MMM yyyy"), "fr": ("dd/MM/yyyy", "dd/MM/yy", "dd-MM-yyyy")}


# ------------------------------------------------------------------------------------- the receipt


@dataclass
class Line:
    """One priced row as printed: an article, a deposit or a discount."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    rate: Decimal
    kind: str = "item"
    weight_unit: str | None = None  # "kg" or "lb" for goods sold by weight


@dataclass
class TaxLine:
    code: str
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass
class Receipt:
    """Everything one receipt prints, and so everything a reader should find."""

    country: str
    store: str
    merchant: str
    address: list[str]
    phone: str | None
    tax_id: str | None
    day: dt.date
    time_24: str
    lines: list[Line]
    tax_included: bool
    tax_lines: list[TaxLine] = field(default_factory=list)
    subtotal: Decimal | None = None
    tip: Decimal | None = None
    total: Decimal = Decimal("0.00")
    payment: str = "cash"
    tendered: Decimal | None = None
    number: str = ""
    printed: dict[str, str] = field(default_factory=dict)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _rates(country: str) -> dict[str, Decimal]:
    return {"de": {"": Decimal(19), "r": Decimal(7)}, "fr": {"": Decimal(20), "r": Decimal("5.5")},
            "uk": {"": Decimal(20), "r": Decimal(0), "5": Decimal(5)}, "us": {"": Decimal(0)}}[country]


def make_receipt(rng: random.Random, country: str, store: str | None = None) -> Receipt:
    """Draw one receipt's content: merchant, priced rows (with deposits and discounts), taxes, tip, payment."""
    store = store or rng.choice(COUNTRIES[country])
    locale = LOCALE[country]
    streets, cities = GENERATE.STREETS[locale]
    words = GENERATE.STREET_WORDS[locale]
    street = rng.choice(streets).format(w=rng.choice(words), w2=rng.choice(words), n=rng.randint(1, 250),
                                        m=rng.randint(1, 40), k=rng.randint(1, 12))
    rates = _rates(country)
    lines: list[Line] = []
    restaurant = store == "us-restaurant"
    count = rng.choice([1, 2, 2, 3, 4, 5, 6] if restaurant else [2, 3, 4, 5, 6, 7, 8, 10, 12, 15])
    for description, price, flags in rng.sample(GOODS[store], min(count, len(GOODS[store]))):
        rate = rates.get("5" if "5" in flags else "r" if "r" in flags else "", rates[""])
        unit = Decimal(price)
        if "w" in flags:
            weight_unit = "lb" if country == "us" else "kg"
            quantity = Decimal(rng.randint(150, 2400)) / 1000
            lines.append(Line(description, quantity, unit, money(unit * quantity), rate, "item", weight_unit))
        else:
            quantity = Decimal(rng.choice([1, 1, 1, 2, 2, 3] if restaurant else [1, 1, 1, 1, 2, 2, 3, 4, 6]))
            lines.append(Line(description, quantity, unit, money(unit * quantity), rate))
        if "p" in flags and country == "de":
            deposit = Decimal("0.08") if "Pils" in description else Decimal("0.25")
            lines.append(Line("Pfand", quantity, deposit, money(deposit * quantity), rate, "deposit"))
        if country != "us" and rng.random() < 0.07 and lines[-1].kind == "item":
            cut = money(lines[-1].amount * Decimal(rng.choice([10, 20, 25, 30])) / 100)
            word = {"de": "Rabatt", "uk": "Multibuy saving", "fr": "Remise"}[country]
            lines.append(Line(word, Decimal(1), -cut, -cut, rate, "discount"))
        elif country == "us" and rng.random() < 0.08:
            cut = Decimal(rng.choice(["0.50", "1.00", "1.50"]))
            lines.append(Line("COUPON", Decimal(1), -cut, -cut, rate, "discount"))
    hour, minute, second = rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)
    start = dt.date(2019, 1, 1)
    receipt = Receipt(country, store, rng.choice(NAMES[store]), [street, rng.choice(cities)],
                      GENERATE.phone_for(rng, GENERATE.LOCALES[locale]) if rng.random() < 0.8 else None,
                      GENERATE.vat_id(rng, locale) if country in ("de", "uk", "fr") and rng.random() < 0.8 else None,
                      start + dt.timedelta(days=rng.randint(0, 2500)), f"{hour:02d}:{minute:02d}:{second:02d}",
                      lines, tax_included=country != "us")
    gross = sum((line.amount for line in lines), Decimal("0.00"))
    if receipt.tax_included:
        codes = _tax_codes(rng, country, sorted({line.rate for line in lines}, reverse=True))
        for rate, code in codes.items():
            part = sum((line.amount for line in lines if line.rate == rate), Decimal("0.00"))
            tax = money(part * rate / (100 + rate))
            receipt.tax_lines.append(TaxLine(code, rate, part - tax, tax, part))
        receipt.total = gross
        receipt.subtotal = gross if country in ("uk", "fr") and rng.random() < 0.4 else None
    else:
        rate = Decimal(rng.choice(["6", "7.25", "8.25", "8.875", "9.5", "4"]))
        tax = money(gross * rate / 100)
        receipt.tax_lines.append(TaxLine("T", rate, gross, tax, gross + tax))
        receipt.subtotal = gross
        if store == "us-restaurant" and rng.random() < 0.8:
            receipt.tip = money(gross * Decimal(rng.choice([15, 18, 20, 22])) / 100)
        receipt.total = gross + tax + (receipt.tip or 0)
    receipt.payment = rng.choice(["cash", "card", "card"] if receipt.tip is None else ["card"])
    if receipt.payment == "cash":
        notes = [Decimal(v) for v in (5, 10, 20, 50, 100)]
        receipt.tendered = next((n for n in notes if n >= receipt.total and rng.random() < 0.8), receipt.total)
    receipt.number = rng.choice([_digits(rng, 4), _digits(rng, 6), f"{_digits(rng, 4)}/{_digits(rng, 3)}"])
    return receipt


def _tax_codes(rng: random.Random, country: str, rates: list[Decimal]) -> dict[Decimal, str]:
    if country == "de":
        letters = rng.choice(["AB", "BA"])  # some chains code 19 % as A, others 7 %
        full = {Decimal(19): letters[0], Decimal(7): letters[1]}
        return {rate: full[rate] for rate in sorted(rates, key=lambda r: full[r])}
    if country == "uk":
        scheme = rng.choice([{Decimal(20): "A", Decimal(5): "B", Decimal(0): "Z"},
                             {Decimal(20): "S", Decimal(5): "R", Decimal(0): "Z"},
                             {Decimal(20): "1", Decimal(5): "2", Decimal(0): "0"}])
        return {rate: scheme[rate] for rate in rates}
    return {rate: str(i + 1) for i, rate in enumerate(rates)}


# ------------------------------------------------------------------------------------- printing


class Printer:
    """Formats amounts, dates and times the way one receipt prints them, on a roll `capacity` characters wide."""

    def __init__(self, receipt: Receipt, rng: random.Random, capacity: int) -> None:
        self.r = receipt
        self.capacity = capacity
        self.locale = BABEL[receipt.country]
        self.date_pattern = rng.choice(DATE_PATTERNS[receipt.country])
        self.twelve_hour = receipt.country == "us" and rng.random() < 0.85

    def pair(self, left: str, right: str) -> list[Row]:
        """One row, or two when the left and right texts would run into each other on this roll."""
        if len(left) + len(right) + 2 <= self.capacity:
            return [row(left=left, right=right)]
        return [row(left=left), row(right=right)]

    def amount(self, value: Decimal) -> str:
        return format_decimal(value, "#,##0.00", locale=self.locale).replace("\u202f", " ").replace("\xa0", " ")

    def quantity(self, value: Decimal) -> str:
        return format_decimal(value, "#,##0.###", locale=self.locale)

    def date(self) -> str:
        return format_date(self.r.day, self.date_pattern, locale=self.locale)

    def time(self, seconds: bool) -> str:
        hour, minute, second = (int(part) for part in self.r.time_24.split(":"))
        if self.twelve_hour:
            text = f"{(hour - 1) % 12 + 1}:{minute:02d}" + (f":{second:02d}" if seconds else "")
            return f"{text} {'PM' if hour >= 12 else 'AM'}"
        return f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if seconds else "")


def header_rows(r: Receipt, p: Printer, rng: random.Random) -> list[Row]:
    size = min(rng.choice([1.3, 1.5, 1.8]), p.capacity / (len(r.merchant) + 2))
    rows = [row(center=r.merchant, size=max(1.0, size), bold=True)]
    if rng.random() < 0.3 and r.country == "de":
        rows.append(row(center=f"{r.merchant.title()} GmbH & Co. KG", size=0.85))
    rows += [row(center=line) for line in r.address]
    if r.phone:
        rows.append(row(center=rng.choice({"de": ("Tel. {p}", "Telefon: {p}"), "us": ("({a}) {b}-{c}", "Tel: {p}"),
                                           "uk": ("Tel: {p}", "Telephone {p}"), "fr": ("Tél. {p}", "Tél : {p}")}
                                          [r.country]).format(p=r.phone, a=r.phone[:3], b=r.phone[4:7],
                                                              c=r.phone[8:])))
    return rows


def german_rows(r: Receipt, p: Printer, rng: random.Random) -> list[Row]:
    """Supermarket and drugstore layouts: EUR column, tax-code letters, quantity rows above or below the item."""
    codes = {t.rate: t.code for t in r.tax_lines}
    style = rng.choice(["discount-a", "discount-b", "supermarket"] if r.store == "de-grocery" else ["drugstore"])
    rows = header_rows(r, p, rng)
    if r.tax_id and rng.random() < 0.7:
        rows.append(row(center=f"USt-IdNr.: {r.tax_id}", size=0.85))
    rows.append(row(right="EUR", gap=0.6))
    for line in r.lines:
        code = codes[line.rate]
        if line.kind == "discount":
            rows.append(row(left=f"  {line.description}", right=f"{p.amount(line.amount)} {code}"))
            continue
        if line.weight_unit:
            rows += p.pair(line.description, f"{p.amount(line.amount)} {code}")
            rows.append(row(left=f"  {p.quantity(line.quantity)} kg x {p.amount(line.unit_price)} EUR/kg", size=0.9))
            continue
        qty = f"{p.quantity(line.quantity)} x {p.amount(line.unit_price)}"
        if line.quantity == 1:
            rows += p.pair(line.description, f"{p.amount(line.amount)} {code}")
        elif style == "discount-a":  # quantity row above the article
            rows.append(row(left=f"  {qty}", size=0.9))
            rows += p.pair(line.description, f"{p.amount(line.amount)} {code}")
        elif style == "discount-b":  # quantity in a column: the article name is cut short to leave it room
            line.description = line.description[:max(8, int(0.62 * p.capacity) - len(qty) - 2)].rstrip()
            rows.append(row(left=line.description, right=f"{p.amount(line.amount)} {code}",
                            extra=[Span(qty, 0.62, "right")]))
        else:
            rows += p.pair(line.description, f"{p.amount(line.amount)} {code}")
            rows.append(row(left=f"  {p.quantity(line.quantity)} Stk x {p.amount(line.unit_price)}", size=0.9))
    rows.append(Row(rule=rng.choice(["-", "="])))
    total_label = {"discount-a": "Summe", "discount-b": "zu zahlen", "supermarket": "SUMME EUR",
                   "drugstore": "SUMME EUR"}[style]
    rows.append(row(left=total_label, right=p.amount(r.total), bold=True, size=rng.choice([1.0, 1.2, 1.4])))
    if r.payment == "cash":
        rows.append(row(left=rng.choice(["Bar", "Geg. BAR EUR", "Gegeben Bar"]), right=p.amount(r.tendered)))
        rows.append(row(left=rng.choice(["Rückgeld", "Rückgeld BAR EUR", "Zurück"]),
                        right=p.amount(r.tendered - r.total)))
    else:
        rows.append(row(left=rng.choice(["Kartenzahlung", "girocard", "EC-Cash", "Visa"]), right=p.amount(r.total)))
    head = rng.choice([("MwSt", "Netto", "MwSt", "Brutto"), ("Steuer %", "Netto", "Steuer", "Brutto"),
                       ("MWST%", "Netto", "MWST", "Umsatz")])
    rows.append(row(left=head[0], size=0.9, gap=0.6, extra=[Span(head[1], 0.5, "right"), Span(head[2], 0.75, "right"),
                                                            Span(head[3], 1.0, "right")]))
    rate_style = rng.choice(["{code} {rate}%", "{code}= {rate}%", "MwSt {code} {rate}%"])
    for t in r.tax_lines:
        rows.append(row(left=rate_style.format(code=t.code, rate=p.amount(t.rate)[:-1]), size=0.9,
                        extra=[Span(p.amount(t.net), 0.5, "right"), Span(p.amount(t.tax), 0.75, "right"),
                               Span(p.amount(t.gross), 1.0, "right")]))
    stamp = f"{p.date()} {p.time(rng.random() < 0.6)}"
    till = f"Bon-Nr.: {r.number}  Kasse: {rng.randint(1, 9)}  Bed.: {rng.randint(100, 999)}"
    rows += [row(left=stamp, gap=0.6), row(left=till, size=0.9)]
    if rng.random() < 0.6:
        rows.append(row(left=f"TSE-Transaktion: {rng.randint(10000, 99999)}", size=0.8))
        rows.append(row(left=f"TSE-Start: {r.day.isoformat()}T{r.time_24}", size=0.8))
    rows.append(row(center=rng.choice(["Vielen Dank für Ihren Einkauf!", "Danke und bis bald!",
                                       "Ihr Einkauf war uns eine Freude"]), gap=0.6))
    r.printed["style"] = style
    r.printed["total_label"] = total_label
    return rows


def us_rows(r: Receipt, p: Printer, rng: random.Random) -> list[Row]:
    """US shop or restaurant receipt with a card slip: Subtotal, Sales Tax, Tip, Total."""
    restaurant = r.store == "us-restaurant"
    rows = header_rows(r, p, rng)
    stamp = f"{p.date()} {p.time(rng.random() < 0.4)}"
    if restaurant:
        rows += [row(left=f"Server: {rng.choice(GENERATE.PEOPLE)}", right=f"Check #{r.number}", gap=0.5),
                 row(left=f"Table {rng.randint(1, 40)}", right=f"Guests: {rng.randint(1, 6)}"), row(left=stamp)]
    else:
        rows += [row(left=stamp, right=f"#{r.number}", gap=0.5),
                 row(left=f"ST# {rng.randint(100, 9999)} OP# {rng.randint(10, 99)} TE# {rng.randint(1, 40)}",
                     size=0.9)]
    rows.append(Row(rule=rng.choice(["-", "="])))
    for line in r.lines:
        if line.weight_unit:
            rows += p.pair(line.description, f"{p.amount(line.amount)} {rng.choice(['N', 'F', ''])}")
            rows.append(row(left=f"  {p.quantity(line.quantity)} lb @ {p.amount(line.unit_price)} /lb", size=0.9))
        elif line.quantity != 1:
            if restaurant:
                rows += p.pair(f"{p.quantity(line.quantity)} {line.description}", p.amount(line.amount))
            else:
                rows += p.pair(line.description, p.amount(line.amount))
                rows.append(row(left=f"  {p.quantity(line.quantity)} @ {p.amount(line.unit_price)}", size=0.9))
        else:
            prefix = "1 " if restaurant and line.kind == "item" else ""
            rows += p.pair(prefix + line.description, p.amount(line.amount))
    tax = r.tax_lines[0]
    rows.append(row(left=rng.choice(["Subtotal", "SUBTOTAL", "Sub Total"]), right=p.amount(r.subtotal), gap=0.4))
    rows.append(row(left=rng.choice([f"Sales Tax {p.quantity(tax.rate)}%", "Tax", f"TAX {p.quantity(tax.rate)} %",
                                     "Sales Tax"]), right=p.amount(tax.tax)))
    if r.tip is not None:
        rows.append(row(left=rng.choice(["Tip", "Gratuity", "TIP"]), right=p.amount(r.tip)))
    rows.append(row(left=rng.choice(["Total", "TOTAL", "Amount Due", "BALANCE DUE"]), right=f"${p.amount(r.total)}",
                    bold=True, size=rng.choice([1.0, 1.2])))
    if r.payment == "cash":
        rows.append(row(left="CASH", right=p.amount(r.tendered)))
        rows.append(row(left="CHANGE", right=p.amount(r.tendered - r.total)))
    else:
        card = rng.choice(["VISA", "MASTERCARD", "AMEX", "DISCOVER"])
        rows += [Row(rule="-", gap=0.4), row(left=f"{card} XXXXXXXXXXXX{_digits(rng, 4)}", size=0.9),
                 row(left=f"AUTH CODE: {_digits(rng, 6)}", right=rng.choice(["Chip", "Contactless", "Swiped"]),
                     size=0.9),
                 row(left="APPROVED", right=f"${p.amount(r.total)}", size=0.9)]
        if restaurant:
            rows += [row(left="X______________________", gap=1.0), row(center="CUSTOMER COPY", size=0.9)]
    rows.append(row(center=rng.choice(["THANK YOU!", "Thanks for visiting!", "Have a great day!",
                                       "Please come again"]), gap=0.6))
    return rows


def uk_rows(r: Receipt, p: Printer, rng: random.Random) -> list[Row]:
    """UK VAT receipt: £ amounts, VAT code per row, a VAT summary with rate, net, VAT and gross."""
    codes = {t.rate: t.code for t in r.tax_lines}
    rows = header_rows(r, p, rng)
    if r.tax_id:
        rows.append(row(center=f"VAT Reg No. {r.tax_id}", size=0.9))
    rows.append(Row(rule="-", gap=0.3))
    for line in r.lines:
        code = codes[line.rate]
        if line.weight_unit:
            rows += p.pair(line.description, f"£{p.amount(line.amount)} {code}")
            rows.append(row(left=f"  {p.quantity(line.quantity)} kg @ £{p.amount(line.unit_price)}/kg", size=0.9))
        elif line.kind == "discount":
            rows += p.pair(line.description, f"-£{p.amount(-line.amount)}")
        elif line.quantity != 1:
            rows.append(row(left=f"{p.quantity(line.quantity)} @ £{p.amount(line.unit_price)}", size=0.9))
            rows += p.pair(line.description, f"£{p.amount(line.amount)} {code}")
        else:
            rows += p.pair(line.description, f"£{p.amount(line.amount)} {code}")
    if r.subtotal is not None:
        rows.append(row(left="SUBTOTAL", right=f"£{p.amount(r.subtotal)}", gap=0.3))
    rows.append(row(left=rng.choice(["TOTAL", "BALANCE DUE", "Total to pay"]), right=f"£{p.amount(r.total)}",
                    bold=True, size=rng.choice([1.0, 1.2, 1.4]), gap=0.3))
    if r.payment == "cash":
        rows += [row(left="CASH", right=f"£{p.amount(r.tendered)}"),
                 row(left="CHANGE", right=f"£{p.amount(r.tendered - r.total)}")]
    else:
        rows.append(row(left=rng.choice(["CONTACTLESS", "VISA DEBIT", "MASTERCARD"]), right=f"£{p.amount(r.total)}"))
    rows.append(row(left="VAT SUMMARY" if rng.random() < 0.5 else "VAT", size=0.9, gap=0.5,
                    extra=[Span("NET", 0.5, "right"), Span("VAT", 0.75, "right"), Span("TOTAL", 1.0, "right")]))
    for t in r.tax_lines:
        rows.append(row(left=f"{t.code} {p.quantity(t.rate)}%", size=0.9,
                        extra=[Span(p.amount(t.net), 0.5, "right"), Span(p.amount(t.tax), 0.75, "right"),
                               Span(p.amount(t.gross), 1.0, "right")]))
    rows += [row(left=f"{p.date()}  {p.time(rng.random() < 0.5)}", right=f"Trans {r.number}", gap=0.5),
             row(center=rng.choice(["Thank you for shopping with us", "PLEASE RETAIN YOUR RECEIPT",
                                    "Thanks, see you soon!"]), gap=0.5)]
    return rows


def french_rows(r: Receipt, p: Printer, rng: random.Random) -> list[Row]:
    """French ticket: prices TTC, TVA code per row, Total HT / TVA / Total TTC and a TVA table."""
    codes = {t.rate: t.code for t in r.tax_lines}
    rows = header_rows(r, p, rng)
    if r.tax_id:
        rows.append(row(center=f"SIRET {_digits(rng, 14)}" if rng.random() < 0.5 else f"N° TVA {r.tax_id}",
                        size=0.85))
    rows += [row(left=f"Ticket n° {r.number}", right=p.date(), gap=0.4), Row(rule="-")]
    for line in r.lines:
        code = codes[line.rate]
        if line.weight_unit:
            rows += p.pair(line.description, f"{p.amount(line.amount)} € {code}")
            rows.append(row(left=f"  {p.quantity(line.quantity)} kg x {p.amount(line.unit_price)} €/kg", size=0.9))
        elif line.quantity != 1:  # the article, then its quantity row carrying the amount
            rows.append(row(left=line.description))
            rows.append(row(left=f"  {p.quantity(line.quantity)} x {p.amount(line.unit_price)} €",
                            right=f"{p.amount(line.amount)} € {code}"))
        else:
            rows += p.pair(line.description, f"{p.amount(line.amount)} € {code}")
    rows.append(Row(rule="-"))
    if r.subtotal is not None:
        rows.append(row(left="SOUS-TOTAL", right=p.amount(r.subtotal)))
    net = sum((t.net for t in r.tax_lines), Decimal("0.00"))
    tax = sum((t.tax for t in r.tax_lines), Decimal("0.00"))
    if rng.random() < 0.6:
        rows += [row(left="Total HT", right=p.amount(net)), row(left="TVA", right=p.amount(tax))]
    rows.append(row(left=rng.choice(["TOTAL TTC", "Total TTC", "TOTAL À PAYER", "NET À PAYER"]),
                    right=f"{p.amount(r.total)} €", bold=True, size=rng.choice([1.0, 1.2, 1.4])))
    if r.payment == "cash":
        rows += [row(left="Espèces", right=p.amount(r.tendered)),
                 row(left="Rendu monnaie", right=p.amount(r.tendered - r.total))]
    else:
        rows.append(row(left=rng.choice(["CB", "Carte bancaire", "CB sans contact"]), right=p.amount(r.total)))
    rows.append(row(left="Code TVA", size=0.9, gap=0.5, extra=[Span("HT", 0.5, "right"), Span("TVA", 0.75, "right"),
                                                            Span("TTC", 1.0, "right")]))
    for t in r.tax_lines:
        rows.append(row(left=f"{t.code} {p.quantity(t.rate)}%", size=0.9,
                        extra=[Span(p.amount(t.net), 0.5, "right"), Span(p.amount(t.tax), 0.75, "right"),
                               Span(p.amount(t.gross), 1.0, "right")]))
    rows += [row(left=f"{p.date()} {p.time(True)}", right=f"Caisse {rng.randint(1, 12)}", gap=0.5),
             row(center=rng.choice(["Merci de votre visite", "À bientôt !", "Merci et bonne journée"]), gap=0.5)]
    return rows


LAYOUTS: dict[str, Callable[[Receipt, Printer, random.Random], list[Row]]] = {
    "de": german_rows, "us": us_rows, "uk": uk_rows, "fr": french_rows}


def receipt_sheet(r: Receipt, rng: random.Random) -> Sheet:
    """Lay out the receipt on a till roll and record what it printed for the date and total."""
    family = rng.choice(GENERATE.RECEIPT_FAMILIES)
    paper, margin, font_pt = rng.choice([80.0, 80.0, 72.0]), rng.uniform(3.0, 5.0), rng.choice([7.5, 8.0, 8.5])
    char_mm = font_pt * GENERATE.PT_MM * GENERATE.pil_font(family, False, 100).getlength("0") / 100
    p = Printer(r, rng, int((paper - 2 * margin) / char_mm))
    rows = LAYOUTS[r.country](r, p, rng)
    r.printed.update({"date": p.date(), "total": p.amount(r.total)})
    return Sheet(paper, margin, font_pt, family, rows, top_mm=rng.uniform(4, 10), line_factor=rng.uniform(1.25, 1.5))


def expected(r: Receipt) -> dict[str, object]:
    """The receipt's fields the way `schemas.Receipt` holds them (decimals as strings, ISO dates)."""

    def s(value: Decimal | None) -> str | None:
        return None if value is None else f"{money(value):.2f}"

    discounts = [line for line in r.lines if line.kind == "discount"]
    return {
        "merchant_name": r.merchant, "merchant_address": ", ".join(r.address), "merchant_phone": r.phone,
        "merchant_tax_id": r.tax_id, "receipt_number": r.number, "date": r.day.isoformat(),
        "time": r.time_24[:5], "currency": CURRENCY[r.country], "subtotal": s(r.subtotal),
        "tax_total": s(sum((t.tax for t in r.tax_lines), Decimal("0.00"))),
        "tax_lines": [{"rate": f"{t.rate.normalize():f}", "base": s(t.net), "amount": s(t.tax)} for t in r.tax_lines],
        "tip": s(r.tip),
        "discount": s(-sum((line.amount for line in discounts), Decimal("0.00"))) if discounts else None,
        "total": s(r.total), "payment_method": r.payment,
        "line_items": [{"description": line.description, "quantity": f"{line.quantity.normalize():f}",
                        "unit_price": s(line.unit_price), "amount": s(line.amount)} for line in r.lines],
    }


def write_receipt(r: Receipt, rng: random.Random, path: Path) -> str:
    """Render, degrade (scan or phone photo) and save one receipt as JPEG; return how it was degraded."""
    clean = GENERATE.draw_sheet(receipt_sheet(r, rng), dpi=rng.choice([203, 240, 300]))
    if rng.random() < 0.25:
        image, how = GENERATE.photograph(clean, rng), "photo"
    else:
        image, how = GENERATE.scan(clean, rng, rng.uniform(0.5, 1.2)), "scan"
    image.save(path, "JPEG", quality=rng.randint(60, 88), optimize=True)
    return how


def render_receipts(n: int, seed: int, out: Path, countries: list[str]) -> list[Path]:
    """Write `n` receipts, countries in turn; return the label files written."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n):
        country = countries[i % len(countries)]
        rng = random.Random(f"{seed}:{i}")
        receipt = make_receipt(rng, country)
        ident = f"receipt-{seed}-{i:05d}-{receipt.store}"
        how = write_receipt(receipt, rng, out / "images" / f"{ident}.jpg")
        values = expected(receipt)
        label = {"id": ident, "locale": LOCALE[country], "style": receipt.printed.pop("style", receipt.store),
                 "store": receipt.store, "degradation": how, "printed": receipt.printed,
                 "fields": {"company": values["merchant_name"], "date": values["date"],
                            "address": values["merchant_address"], "total": values["total"]},
                 "expected": values, "line_kinds": [line.kind for line in receipt.lines]}
        path = out / "labels" / f"{ident}.json"
        path.write_text(json.dumps(label, ensure_ascii=False, indent=1) + "\n", "utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=400, help="how many receipts (countries take turns)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--countries", nargs="+", choices=sorted(COUNTRIES), default=["de", "us", "uk", "fr"])
    parser.add_argument("--out", type=Path,
                        default=Path(user_cache_dir("receipt-workbench", appauthor=False)) / "receipts-synthetic",
                        help="output folder (default: the user cache dir)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    labels = render_receipts(args.n, args.seed, args.out, args.countries)
    size = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(f"wrote {len(labels)} receipts into {args.out}: {size / 2**20:.1f} MiB, "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
