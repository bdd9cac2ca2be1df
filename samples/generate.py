"""Generate synthetic receipts and invoices with known fields: the committed samples and benchmark sets.

Every document is drawn from a seed (same seed, same fonts, same files) and comes with the values a
perfect reader would return, in the shape of `schemas.Receipt` / `schemas.Invoice` without confidences.

    python samples/generate.py                 # rewrite the committed sample set in samples/
    python samples/generate.py --receipts 200 --seed 3 --out /tmp/synth   # a labelled benchmark folder

A benchmark folder is laid out like `../shared/data/sroie-train`: `images/<id>.jpg` and `labels/<id>.json`
with `fields` (company, date as ISO, address, total) plus `expected` (every receipt field) and `locale`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from stdnum import iban as stdnum_iban
from stdnum.ch import uid as ch_uid
from stdnum.de import vat as de_vat
from stdnum.fr import tva as fr_tva
from stdnum.gb import vat as gb_vat

SAMPLES_DIR = Path(__file__).resolve().parent
EXPECTED_DIR = SAMPLES_DIR / "expected"
ZUGFERD_DIR = SAMPLES_DIR.parent.parent / "shared" / "data" / "zugferd-dev"
ZUGFERD_SAMPLES = (
    "ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Einfach",
    "ZUGFeRDv2__correct__Mustangproject__MustangGnuaccountingBeispielRE-20201121_508",
)
CENT = Decimal("0.01")
PT_MM = 25.4 / 72

# ---------------------------------------------------------------------------------------------- fonts

FONT_ROOT = Path("/usr/share/fonts/truetype")
_FAMILIES: dict[str, tuple[str, str]] = {
    "dejavu-mono": ("dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansMono-Bold.ttf"),
    "liberation-mono": ("liberation/LiberationMono-Regular.ttf", "liberation/LiberationMono-Bold.ttf"),
    "free-mono": ("freefont/FreeMono.ttf", "freefont/FreeMonoBold.ttf"),
    "dejavu-sans": ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    "dejavu-condensed": ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
    "liberation-sans": ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    "liberation-narrow": ("liberation/LiberationSansNarrow-Regular.ttf", "liberation/LiberationSansNarrow-Bold.ttf"),
    "free-sans": ("freefont/FreeSans.ttf", "freefont/FreeSansBold.ttf"),
    "liberation-serif": ("liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf"),
    "dejavu-serif": ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
}
RECEIPT_FAMILIES = ("dejavu-mono", "liberation-mono", "free-mono", "dejavu-condensed", "liberation-narrow",
                    "free-sans", "liberation-sans")
INVOICE_FAMILIES = ("liberation-sans", "dejavu-sans", "free-sans", "liberation-serif", "dejavu-serif")


def font_path(family: str, bold: bool) -> Path:
    """The TrueType file of a font family; a clear error names the Debian package when it is missing."""
    path = FONT_ROOT / _FAMILIES[family][1 if bold else 0]
    if not path.exists():
        raise FileNotFoundError(f"font {path} is missing: apt-get install fonts-dejavu-core fonts-liberation "
                                "fonts-freefont-ttf")
    return path


_PIL_FONTS: dict[tuple[str, bool, int], ImageFont.FreeTypeFont] = {}


def pil_font(family: str, bold: bool, px: int) -> ImageFont.FreeTypeFont:
    key = (family, bold, px)
    if key not in _PIL_FONTS:
        _PIL_FONTS[key] = ImageFont.truetype(str(font_path(family, bold)), px)
    return _PIL_FONTS[key]


# --------------------------------------------------------------------------------------------- locales


@dataclass(frozen=True)
class Locale:
    """How a country prints money, dates and tax, and the words its receipts use."""

    code: str
    currency: str
    symbols: tuple[str, ...]  # how the currency appears beside amounts ("" for bare numbers)
    decimal: str
    thousands: str
    date_formats: tuple[str, ...]
    tax_rates: tuple[Decimal, ...]
    tax_included: bool
    cash_step: Decimal | None  # cash rounding step, if the country rounds totals
    words: dict[str, tuple[str, ...]]


def _d(text: str) -> Decimal:
    return Decimal(text)


LOCALES: dict[str, Locale] = {
    "ms-MY": Locale(
        "ms-MY", "MYR", ("RM", "", "MYR"), ".", ",",
        ("%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d/%m/%y", "%d-%b-%Y", "%d.%m.%Y"),
        (_d("6"), _d("8")), False, _d("0.05"),
        {"total": ("TOTAL", "TOTAL (RM)", "GRAND TOTAL", "TOTAL AMOUNT", "NETT TOTAL", "Total Amt Payable"),
         "subtotal": ("SUB TOTAL", "Sub-Total", "TOTAL EXCL. TAX", "Total Sales (Excl SST)"),
         "tax": ("SST {rate}%", "Service Tax {rate}%", "GST @{rate}%", "SST @ {rate}%"),
         "rounding": ("ROUNDING ADJ", "Rounding", "ROUNDING ADJUSTMENT", "Rounding Adj"),
         "discount": ("DISCOUNT", "Disc", "MEMBER DISC"),
         "tip": ("TIPS",),
         "cash": ("CASH", "Cash Tendered", "TENDER"), "change": ("CHANGE", "Change Due", "BAKI"),
         "receipt": ("Receipt #:", "Invoice No:", "Bill No:", "CS No:", "Doc No:", "No. Resit:"),
         "date": ("Date:", "DATE", "Tarikh:"), "time": ("Time:", "TIME"),
         "cashier": ("Cashier: {name}", "CASHIER : {n}", "Served by: {name}", "Counter: {n}"),
         "tax_id": ("SST ID: {id}", "GST ID: {id}", "GST Reg No: {id}", "SST REG NO : {id}"),
         "phone": ("Tel: {p}", "TEL : {p}", "Phone: {p}", "TEL NO: {p}"),
         "title": ("TAX INVOICE", "SIMPLIFIED TAX INVOICE", "RECEIPT", "CASH BILL", "OFFICIAL RECEIPT"),
         "thanks": ("THANK YOU. PLEASE COME AGAIN", "Thank you for shopping with us!", "TERIMA KASIH",
                    "Goods sold are not returnable", "THANK YOU & HAVE A NICE DAY")}),
    "de-DE": Locale(
        "de-DE", "EUR", ("EUR", "€", ""), ",", ".",
        ("%d.%m.%Y", "%d.%m.%y", "%d.%m.%Y"),
        (_d("7"), _d("19")), True, None,
        {"total": ("SUMME", "Summe EUR", "GESAMT", "Zu zahlen", "Gesamtbetrag", "SUMME EUR"),
         "subtotal": ("Zwischensumme",), "tax": ("MwSt {rate}%", "USt {rate} %"),
         "rounding": ("Rundung",), "discount": ("Rabatt", "Coupon", "Mitarbeiterrabatt"),
         "tip": ("Trinkgeld",),
         "cash": ("Bar", "Gegeben BAR", "BAR"), "change": ("Rückgeld", "Zurück", "RÜCKGELD"),
         "receipt": ("Bon-Nr.", "Beleg-Nr.", "Bon", "Rechnung Nr."),
         "date": ("Datum:", ""), "time": ("Uhrzeit:", ""),
         "cashier": ("Kasse 2 Bed. {n}", "Es bediente Sie: {name}", "Kassierer: {name}"),
         "tax_id": ("USt-IdNr.: {id}", "UID Nr.: {id}", "Steuer-Nr. {id}"),
         "phone": ("Tel.: {p}", "Telefon {p}", "Tel {p}"),
         "title": ("", "Kassenbon", "Rechnung", "Beleg"),
         "thanks": ("Vielen Dank für Ihren Einkauf!", "Danke und bis bald", "Vielen Dank für Ihren Besuch",
                    "Wir freuen uns auf Ihren nächsten Besuch")}),
    "fr-FR": Locale(
        "fr-FR", "EUR", ("€", "EUR", ""), ",", " ",
        ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"),
        (_d("5.5"), _d("10"), _d("20")), True, None,
        {"total": ("TOTAL TTC", "Total à payer", "TOTAL", "Montant TTC", "NET A PAYER"),
         "subtotal": ("Sous-total",), "tax": ("TVA {rate}%", "TVA {rate} %"),
         "rounding": ("Arrondi",), "discount": ("Remise", "Réduction", "Bon de réduction"),
         "tip": ("Pourboire",),
         "cash": ("Espèces", "ESPECES"), "change": ("Rendu", "Monnaie rendue"),
         "receipt": ("Ticket n°", "Facture n°", "N° ticket:", "Ticket"),
         "date": ("Le", "Date :", ""), "time": ("à", "Heure :", ""),
         "cashier": ("Caisse 01 Hôtesse {n}", "Serveur: {name}", "Vendeur: {name}"),
         "tax_id": ("N° TVA {id}", "TVA intracom. {id}", "TVA: {id}"),
         "phone": ("Tél : {p}", "Tel. {p}", "Tél. {p}"),
         "title": ("", "TICKET DE CAISSE", "FACTURE", "Note"),
         "thanks": ("Merci de votre visite", "MERCI ET A BIENTOT", "Bonne journée !", "Merci de votre fidélité")}),
    "en-US": Locale(
        "en-US", "USD", ("$", "", "USD"), ".", ",",
        ("%m/%d/%Y", "%m/%d/%y", "%b %d, %Y", "%m-%d-%Y", "%B %d, %Y"),
        (_d("6.25"), _d("7"), _d("8.875"), _d("8.25"), _d("6")), False, None,
        {"total": ("TOTAL", "Total", "Amount Due", "BALANCE DUE", "Grand Total", "Total Due"),
         "subtotal": ("Subtotal", "SUBTOTAL", "Sub Total"), "tax": ("Sales Tax {rate}%", "Tax {rate}%", "TAX"),
         "rounding": ("Rounding",), "discount": ("Discount", "Coupon", "Member Savings", "Promo"),
         "tip": ("Tip", "Gratuity", "TIP"),
         "cash": ("Cash", "CASH TEND", "Cash Tendered"), "change": ("Change", "CHANGE DUE"),
         "receipt": ("Check #", "Order #", "Receipt #", "Trans #", "Ticket:"),
         "date": ("Date:", ""), "time": ("Time:", ""),
         "cashier": ("Server: {name}", "Cashier: {name}", "Your server was {name}"),
         "tax_id": ("",), "phone": ("({a}) {b}-{c}", "Tel: ({a}) {b}-{c}", "{a}-{b}-{c}"),
         "title": ("", "SALES RECEIPT", "GUEST CHECK", "Customer Copy"),
         "thanks": ("Thank you for your business!", "THANK YOU, COME AGAIN", "Have a great day!",
                    "Thanks for dining with us")}),
    "en-GB": Locale(
        "en-GB", "GBP", ("£", "", "GBP"), ".", ",",
        ("%d/%m/%Y", "%d/%m/%y", "%d %b %Y", "%d-%m-%Y", "%d %B %Y"),
        (_d("20"), _d("5")), True, None,
        {"total": ("TOTAL", "Total", "BALANCE DUE", "Total to pay", "AMOUNT DUE"),
         "subtotal": ("SUBTOTAL", "Sub Total"), "tax": ("VAT {rate}%", "VAT @ {rate}%"),
         "rounding": ("Rounding",), "discount": ("Discount", "Multibuy saving", "Staff discount", "Voucher"),
         "tip": ("Service charge", "Gratuity"),
         "cash": ("CASH", "Cash"), "change": ("CHANGE", "Change due"),
         "receipt": ("Receipt No:", "Trans:", "Receipt", "Order No."),
         "date": ("Date:", ""), "time": ("Time:", ""),
         "cashier": ("Served by: {name}", "Till 3 Op {n}", "Operator: {name}"),
         "tax_id": ("VAT No: {id}", "VAT Reg No. {id}", "VAT Number {id}"),
         "phone": ("Tel: {p}", "Telephone {p}", "T: {p}"),
         "title": ("", "VAT RECEIPT", "RECEIPT", "Customer receipt"),
         "thanks": ("Thank you for shopping with us", "THANK YOU - PLEASE CALL AGAIN", "Cheers!",
                    "Please retain your receipt")}),
    "de-CH": Locale(
        "de-CH", "CHF", ("CHF", "Fr.", ""), ".", "'",
        ("%d.%m.%Y", "%d.%m.%y"),
        (_d("2.6"), _d("8.1")), True, _d("0.05"),
        {"total": ("Total CHF", "TOTAL", "Total", "Zu bezahlen", "Gesamt CHF"),
         "subtotal": ("Zwischentotal",), "tax": ("MWST {rate}%", "MwSt {rate} %"),
         "rounding": ("Rundung", "Rundungsdifferenz"), "discount": ("Rabatt", "Aktion", "Cumulus-Rabatt"),
         "tip": ("Trinkgeld",),
         "cash": ("Bar", "BAR CHF"), "change": ("Rückgeld", "Retour"),
         "receipt": ("Beleg-Nr.", "Quittung Nr.", "Bon"),
         "date": ("Datum:", ""), "time": ("Zeit:", ""),
         "cashier": ("Es bediente Sie: {name}", "Kasse 1 / {name}", "Tisch {n}"),
         "tax_id": ("MWST-Nr. {id}", "UID: {id} MWST", "{id} MWST"),
         "phone": ("Tel. {p}", "Telefon {p}", "T {p}"),
         "title": ("", "Quittung", "Rechnung"),
         "thanks": ("Vielen Dank und auf Wiedersehen", "Merci vielmal!", "Besten Dank für Ihren Besuch",
                    "Danke für Ihren Einkauf")}),
}

STORE_KINDS = ("grocery", "restaurant", "cafe", "hardware")

NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "ms-MY": {
        "word": ("MAJU", "JAYA", "SINAR", "BERJAYA", "GOLDEN", "MEGA", "SRI", "AIK HUAT", "KIM SENG", "TECK HIN",
                 "PERNIAGAAN", "UNION", "HOCK SOON", "LUCKY", "SEN HENG", "PRIMA", "INDAH", "CAHAYA", "WAH LEE",
                 "YEW CHUAN", "MAKMUR", "ZHENG", "HUP KEE", "RESTU", "BINTANG", "SAUJANA", "DESA", "AMANAH"),
        "grocery": ("{w} {w2} MART SDN BHD", "{w} MINI MARKET", "PASARAYA {w} {w2}", "{w} {w2} TRADING",
                    "KEDAI RUNCIT {w}", "{w} SUPERSTORE SDN BHD"),
        "restaurant": ("RESTORAN {w} {w2}", "{w} KOPITIAM", "RESTORAN NASI KANDAR {w}", "{w} {w2} CATERING",
                       "{w} SEAFOOD RESTAURANT", "WARUNG {w}"),
        "cafe": ("{w} BAKERY SDN BHD", "{w} CAFE", "{w} {w2} CONFECTIONERY", "KOPI {w}"),
        "hardware": ("{w} {w2} HARDWARE SDN BHD", "{w} ENTERPRISE", "SYARIKAT {w} {w2}", "{w} {w2} ELECTRICAL",
                     "{w} BUILDING MATERIAL TRADING", "{w} STATIONERY & BOOK CENTRE"),
    },
    "de-DE": {
        "word": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch",
                 "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann", "Lange",
                 "Linde", "Eiche", "Sonne", "Krone", "Post", "Rose"),
        "grocery": ("Frischemarkt {w}", "Getränke {w} GmbH", "Bio-Laden {w}", "Nahkauf {w} oHG", "Edeka {w}",
                    "Markt {w} e.K."),
        "restaurant": ("Gasthaus Zur {w}", "Restaurant {w}", "Trattoria da {w}", "Wirtshaus {w}",
                       "Brauhaus {w}", "Imbiss {w}"),
        "cafe": ("Bäckerei {w}", "Café {w}", "Konditorei {w}", "Bäckerei & Café {w} GmbH"),
        "hardware": ("Baumarkt {w}", "Eisenwaren {w} KG", "Schreibwaren {w}", "Drogerie {w}", "Elektro {w} GmbH"),
    },
    "fr-FR": {
        "word": ("Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel",
                 "Garnier", "Rousseau", "Fontaine", "Mercier", "Blanc", "la Gare", "la Poste", "du Marché",
                 "des Halles", "du Centre", "du Port"),
        "grocery": ("Épicerie {w}", "Supérette {w}", "Primeur {w}", "SARL {w} Alimentation", "Cave {w}"),
        "restaurant": ("Brasserie {w}", "Restaurant {w}", "Le Bistrot {w}", "Crêperie {w}", "Pizzeria {w}"),
        "cafe": ("Boulangerie {w}", "Café {w}", "Pâtisserie {w}", "Salon de thé {w}"),
        "hardware": ("Quincaillerie {w}", "Librairie {w}", "Pharmacie {w}", "Droguerie {w}", "Fleurs {w}"),
    },
    "en-US": {
        "word": ("Sunrise", "Main Street", "Green Valley", "Blue Ridge", "Golden Gate", "Lakeside", "Maple",
                 "Riverside", "Oak Hill", "Harbor", "Pioneer", "Liberty", "Sierra", "Tony's", "Rosie's", "Mike's",
                 "Big Sky", "Cedar", "Redwood", "Bayview"),
        "grocery": ("{w} Market", "{w} Grocery", "{w} Foods Co-op", "{w} Liquor & Deli", "{w} Farm Stand"),
        "restaurant": ("{w} Diner", "{w} Grill", "{w} Pizzeria", "{w} Taqueria", "{w} BBQ House",
                       "{w} Bar & Grill"),
        "cafe": ("{w} Coffee", "{w} Bakery", "{w} Donuts", "{w} Espresso Bar"),
        "hardware": ("{w} Hardware", "{w} Ace Supply", "{w} Pharmacy", "{w} Office Supply", "{w} Auto Parts"),
    },
    "en-GB": {
        "word": ("Oakwood", "Harbour", "Kingsway", "Red Lion", "Crown", "Royal Oak", "Station", "Riverside",
                 "Patel's", "Hillside", "Abbey", "Victoria", "Thistle", "Castle", "Market", "Priory"),
        "grocery": ("{w} Stores Ltd", "{w} Convenience Store", "{w} Food & Wine", "{w} Farm Shop",
                    "{w} Newsagents"),
        "restaurant": ("The {w}", "{w} Fish & Chips", "{w} Tandoori", "The {w} Inn", "{w} Kitchen Ltd"),
        "cafe": ("{w} Tea Rooms", "{w} Café", "{w} Bakery", "{w} Coffee House"),
        "hardware": ("{w} Hardware Ltd", "{w} DIY", "{w} Chemist", "{w} Stationers", "{w} Garden Centre"),
    },
    "de-CH": {
        "word": ("Huber", "Meier", "Keller", "Brunner", "Baumann", "Frei", "Gerber", "Moser", "Widmer", "Bahnhof",
                 "Sonne", "Löwen", "Rössli", "Bären", "Linde", "Alpenblick"),
        "grocery": ("Dorfladen {w}", "Volg {w}", "Metzgerei {w}", "Käserei {w} AG", "Lebensmittel {w}"),
        "restaurant": ("Restaurant {w}", "Gasthof {w}", "Hotel-Restaurant {w}", "Pizzeria {w}", "Beizli {w}"),
        "cafe": ("Bäckerei-Confiserie {w}", "Café {w}", "Confiserie {w} AG"),
        "hardware": ("Eisenwaren {w} AG", "Drogerie {w}", "Papeterie {w}", "Velo {w} GmbH"),
    },
}

ITEMS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    # (description, unit price) per language family; prices are in the locale's currency.
    "en": {
        "grocery": (("Whole Milk 1gal", "3.49"), ("Bread Wholemeal", "2.79"), ("Bananas", "1.29"),
                    ("Eggs Large 12ct", "4.19"), ("Cheddar Cheese", "5.49"), ("Orange Juice", "3.99"),
                    ("Chicken Breast", "8.72"), ("Pasta Penne", "1.59"), ("Tomatoes Vine", "2.89"),
                    ("Coffee Beans", "9.99"), ("Butter Salted", "3.25"), ("Apples Gala", "3.18"),
                    ("Yogurt Greek", "1.19"), ("Paper Towels", "6.49"), ("Rice 2lb", "2.49")),
        "restaurant": (("Cheeseburger", "12.95"), ("Caesar Salad", "9.50"), ("Fish Tacos", "13.75"),
                       ("French Fries", "4.25"), ("Iced Tea", "2.95"), ("Club Sandwich", "11.50"),
                       ("Draft Beer", "6.00"), ("Chicken Wings", "10.95"), ("Soup of the Day", "5.75"),
                       ("Pancakes", "8.25"), ("Coke", "2.50"), ("Steak Frites", "24.00"), ("Apple Pie", "6.50")),
        "cafe": (("Latte Grande", "4.75"), ("Cappuccino", "3.95"), ("Croissant", "3.25"), ("Blueberry Muffin", "2.95"),
                 ("Americano", "3.25"), ("Bagel w/ Cream Cheese", "3.75"), ("Chai Latte", "4.45"),
                 ("Hot Chocolate", "3.50"), ("Scone", "2.85"), ("Espresso", "2.50")),
        "hardware": (("Wood Screws 50pk", "6.99"), ("Duct Tape", "7.49"), ("AA Batteries 8pk", "9.99"),
                     ("LED Bulb 60W", "4.99"), ("Paint Brush 2in", "5.49"), ("Extension Cord", "14.99"),
                     ("Work Gloves", "8.99"), ("Sandpaper Assorted", "4.29"), ("Wall Anchors", "3.79"),
                     ("Notebook A4", "2.99"), ("Ballpoint Pens 10pk", "4.49")),
    },
    "ms": {
        "grocery": (("MILO 1KG", "24.90"), ("GARDENIA BREAD", "4.30"), ("TELUR GRED A 10S", "5.20"),
                    ("BERAS WANGI 5KG", "26.50"), ("MINYAK MASAK 2KG", "12.90"), ("SUSU PEKAT", "3.40"),
                    ("GULA 1KG", "2.85"), ("MEE KUNING", "1.60"), ("SAWI HIJAU", "2.20"), ("AYAM SEGAR", "9.80"),
                    ("TEH BOH 100S", "8.75"), ("SABUN CUCI 3KG", "17.90"), ("MAGGI KARI 5S", "4.90")),
        "restaurant": (("NASI LEMAK AYAM", "9.50"), ("TEH TARIK", "2.20"), ("ROTI CANAI", "1.50"),
                       ("MEE GORENG MAMAK", "7.50"), ("KOPI O AIS", "2.40"), ("NASI GORENG KAMPUNG", "8.00"),
                       ("AYAM GORENG", "5.50"), ("CHAR KUEY TEOW", "8.50"), ("LIMAU AIS", "2.50"),
                       ("NASI AYAM", "7.00"), ("MILO AIS", "3.20")),
        "cafe": (("KAYA TOAST SET", "6.90"), ("CURRY PUFF", "1.80"), ("BUTTER CAKE", "3.50"),
                 ("WHITE COFFEE", "4.20"), ("EGG TART", "2.30"), ("BUN KAYA", "2.00"), ("CHEESE CAKE", "8.90")),
        "hardware": (("PVC PIPE 1/2\" 3M", "8.50"), ("SCREW 1\" 100PCS", "4.00"), ("WIRE BRUSH", "3.50"),
                     ("PAINT NIPPON 1L", "29.90"), ("GI WIRE 2KG", "12.00"), ("CABLE TIE 8\"", "2.50"),
                     ("SILICONE SEALANT", "9.80"), ("A4 PAPER 80G", "12.50"), ("BATTERY AA 4S", "7.90"),
                     ("MASKING TAPE 1\"", "2.80"), ("HACKSAW BLADE", "3.20"), ("CEMENT 50KG", "22.00")),
    },
    "de": {
        "grocery": (("Vollmilch 3,5%", "1.19"), ("Bauernbrot", "3.29"), ("Butter 250g", "2.39"),
                    ("Äpfel Elstar", "2.49"), ("Gouda jung", "1.89"), ("Mineralwasser 6x1,5l", "3.54"),
                    ("Spaghetti 500g", "0.99"), ("Tomaten Rispe", "2.22"), ("Kaffee Crema", "6.99"),
                    ("Joghurt Natur", "0.79"), ("Bananen", "1.31"), ("Pils 0,5l", "0.89"), ("Eier 10er", "2.79")),
        "restaurant": (("Schnitzel Wiener Art", "16.90"), ("Pils 0,4l", "4.20"), ("Apfelschorle 0,5", "3.80"),
                       ("Currywurst Pommes", "8.50"), ("Salatteller", "11.50"), ("Rinderroulade", "19.80"),
                       ("Spätzle", "4.50"), ("Weißbier 0,5l", "4.90"), ("Espresso", "2.60"),
                       ("Apfelstrudel", "6.20")),
        "cafe": (("Brötchen", "0.45"), ("Laugenbrezel", "0.95"), ("Milchkaffee", "3.60"), ("Croissant", "1.40"),
                 ("Käsekuchen", "3.20"), ("Cappuccino", "3.30"), ("Roggenbrot 750g", "3.90"),
                 ("Belegtes Brötchen", "3.50"), ("Kaffee to go", "2.40")),
        "hardware": (("Schrauben 4x40 100St", "4.99"), ("Klebeband", "3.49"), ("Batterien AA 4er", "5.99"),
                     ("LED Lampe E27", "6.49"), ("Pinsel 50mm", "3.79"), ("Kabelbinder", "2.99"),
                     ("Duschgel", "1.45"), ("Zahnpasta", "1.95"), ("Collegeblock A4", "2.49"),
                     ("Arbeitshandschuhe", "7.99")),
    },
    "fr": {
        "grocery": (("Lait demi-écrémé 1L", "1.09"), ("Baguette", "1.20"), ("Beurre doux 250g", "2.65"),
                    ("Comté 200g", "4.50"), ("Pommes Gala", "2.99"), ("Eau minérale 6x1,5L", "3.20"),
                    ("Vin rouge Bordeaux", "7.90"), ("Yaourt nature x4", "1.85"), ("Pâtes 500g", "1.15"),
                    ("Café moulu 250g", "3.75"), ("Tomates", "2.40")),
        "restaurant": (("Menu du jour", "16.50"), ("Entrecôte frites", "21.00"), ("Salade niçoise", "13.50"),
                       ("Verre de vin", "5.50"), ("Carafe d'eau", "0.00"), ("Crème brûlée", "7.00"),
                       ("Croque-monsieur", "9.50"), ("Pression 25cl", "4.20"), ("Café", "2.20"),
                       ("Galette complète", "10.90")),
        "cafe": (("Café crème", "3.50"), ("Croissant", "1.25"), ("Pain au chocolat", "1.35"), ("Thé", "3.20"),
                 ("Éclair café", "3.10"), ("Tarte aux pommes", "3.80"), ("Chocolat chaud", "4.00"),
                 ("Jus d'orange pressé", "4.50")),
        "hardware": (("Vis 4x40 x100", "5.90"), ("Ruban adhésif", "3.20"), ("Piles AA x4", "6.50"),
                     ("Ampoule LED", "5.99"), ("Doliprane 1000mg", "2.18"), ("Cahier 96p", "2.40"),
                     ("Stylo bille x4", "3.60"), ("Bouquet de saison", "15.00"), ("Gants de travail", "8.90")),
    },
}
LANGUAGE = {"ms-MY": "ms", "de-DE": "de", "fr-FR": "fr", "en-US": "en", "en-GB": "en", "de-CH": "de"}
PRICE_SCALE = {"ms-MY": Decimal("1"), "de-DE": Decimal("1"), "fr-FR": Decimal("1"), "en-US": Decimal("1"),
               "en-GB": Decimal("0.85"), "de-CH": Decimal("1.6")}

STREETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (street patterns, city lines)
    "ms-MY": (("NO. {n}, JALAN {w} {m}", "LOT {n}, JALAN SS {m}/{k}", "NO {n}, JALAN PERMAS {m}/{k}",
               "{n}-G, JALAN {w} {m}, TAMAN {w2}", "LOT PT {n}, JALAN KAPAR, KAMPUNG {w}"),
              ("47300 PETALING JAYA, SELANGOR", "81100 JOHOR BAHRU, JOHOR", "50450 KUALA LUMPUR",
               "40150 SHAH ALAM, SELANGOR DARUL EHSAN", "81750 MASAI, JOHOR", "43000 KAJANG, SELANGOR",
               "10200 GEORGE TOWN, PULAU PINANG", "31400 IPOH, PERAK")),
    "de-DE": (("{w}straße {n}", "{w}weg {n}", "Am {w}platz {n}", "{w}allee {n}a", "Hauptstraße {n}"),
              ("80331 München", "10115 Berlin", "50667 Köln", "20095 Hamburg", "70173 Stuttgart",
               "04109 Leipzig", "90402 Nürnberg", "60311 Frankfurt am Main")),
    "fr-FR": (("{n} rue de {w}", "{n} avenue {w}", "{n} boulevard {w}", "{n}, place {w}", "{n} bis rue Victor Hugo"),
              ("75011 Paris", "69002 Lyon", "13001 Marseille", "31000 Toulouse", "33000 Bordeaux",
               "44000 Nantes", "67000 Strasbourg")),
    "en-US": (("{n} Main St", "{n} {w} Ave", "{n} W {m}th Street", "{n} {w} Blvd, Suite {k}", "{n} Market St"),
              ("Springfield, IL 62701", "Portland, OR 97205", "Austin, TX 78701", "Brooklyn, NY 11201",
               "Denver, CO 80202", "Madison, WI 53703", "San Jose, CA 95113", "Boston, MA 02108")),
    "en-GB": (("{n} High Street", "{n} {w} Road", "Unit {k}, {w} Retail Park", "{n} Station Road", "{n} Church Lane"),
              ("Bristol BS1 4DJ", "Leeds LS1 6AH", "York YO1 7HH", "Manchester M1 1AE", "Cardiff CF10 1EP",
               "Norwich NR2 1NE", "Oxford OX1 3BG")),
    "de-CH": (("{w}strasse {n}", "{w}gasse {n}", "Bahnhofplatz {n}", "Dorfstrasse {n}"),
              ("8001 Zürich", "3011 Bern", "4051 Basel", "6003 Luzern", "9000 St. Gallen", "8400 Winterthur")),
}
STREET_WORDS = {"ms-MY": ("MERDEKA", "BESAR", "PUTERI", "IMPIAN", "MUTIARA", "SENTOSA", "BAKAWALI", "KENARI"),
                "de-DE": ("Linden", "Berg", "Garten", "Schiller", "Goethe", "Bahnhof", "Kirch", "Park"),
                "fr-FR": ("la République", "Jean Jaurès", "Gambetta", "Voltaire", "la Liberté", "Pasteur"),
                "en-US": ("Oak", "Elm", "Washington", "Lincoln", "Park", "Sunset", "Broadway"),
                "en-GB": ("London", "Mill", "Park", "Queen's", "Victoria", "King's"),
                "de-CH": ("Bahnhof", "Kirch", "Seefeld", "Markt", "Rosen", "Linden")}
PEOPLE = ("Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hana", "Ivan", "Julia", "Kevin", "Lina",
          "Mohd", "Nurul", "Olivia", "Paul", "Siti", "Tom", "Wei Ling", "Yusuf")

# ------------------------------------------------------------------------------------- number helpers


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal, locale: Locale, grouping: bool = True) -> str:
    """An amount printed the locale's way: 1,234.56 / 1.234,56 / 1 234,56 / 1'234.56."""
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):.2f}".split(".")
    if grouping and len(whole) > 3:
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = locale.thousands.join(groups)
    return f"{sign}{whole}{locale.decimal}{frac}"


def format_rate(rate: Decimal, locale: Locale) -> str:
    text = f"{rate.normalize():f}"
    return text.replace(".", locale.decimal)


def format_date(day: dt.date, pattern: str) -> str:
    english = day.strftime(pattern)
    return english.upper() if "%b" in pattern and day.toordinal() % 2 else english


def _valid_number(rng: random.Random, make: Callable[[random.Random], str], is_valid: Callable[[str], bool]) -> str:
    while True:
        candidate = make(rng)
        if is_valid(candidate):
            return candidate


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def vat_id(rng: random.Random, locale: str) -> str:
    """A VAT or tax registration number that passes python-stdnum's checksum where one exists."""
    if locale in ("de-DE",):
        return _valid_number(rng, lambda r: "DE" + _digits(r, 9), de_vat.is_valid)
    if locale == "fr-FR":
        return _valid_number(rng, lambda r: "FR" + _digits(r, 11), fr_tva.is_valid)
    if locale == "en-GB":
        number = _valid_number(rng, lambda r: "GB" + _digits(r, 9), gb_vat.is_valid)
        return f"GB {number[2:5]} {number[5:9]} {number[9:]}"
    if locale == "de-CH":
        number = _valid_number(rng, lambda r: "CHE" + _digits(r, 9), ch_uid.is_valid)
        return f"CHE-{number[3:6]}.{number[6:9]}.{number[9:]}"
    if locale == "ms-MY":
        return rng.choice([_digits(rng, 12), f"W10-{_digits(rng, 4)}-{_digits(rng, 8)}"])
    return f"{_digits(rng, 2)}-{_digits(rng, 7)}"


def iban_for(rng: random.Random, locale: str) -> str:
    country, bban = {
        "de-DE": ("DE", lambda r: _digits(r, 18)),
        "fr-FR": ("FR", lambda r: _digits(r, 10) + "0" + _digits(r, 12)),
        "en-GB": ("GB", lambda r: "NWBK" + _digits(r, 14)),
        "de-CH": ("CH", lambda r: _digits(r, 17)),
    }.get(locale, ("DE", lambda r: _digits(r, 18)))

    def make(r: random.Random) -> str:
        body = bban(r)
        return country + stdnum_iban.calc_check_digits(country + "00" + body) + body

    return _valid_number(rng, make, stdnum_iban.is_valid)


def group4(text: str) -> str:
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def phone_for(rng: random.Random, locale: Locale) -> str:
    if locale.code == "ms-MY":
        return rng.choice([f"03-{_digits(rng, 4)} {_digits(rng, 4)}", f"07-{_digits(rng, 3)} {_digits(rng, 4)}",
                           f"012-{_digits(rng, 7)}"])
    if locale.code == "de-DE":
        return f"0{rng.randint(30, 911)} {_digits(rng, 6)}"
    if locale.code == "fr-FR":
        return "0" + str(rng.randint(1, 5)) + " " + " ".join(_digits(rng, 2) for _ in range(4))
    if locale.code == "en-US":
        return f"{rng.randint(201, 989)}-{_digits(rng, 3)}-{_digits(rng, 4)}"
    if locale.code == "en-GB":
        return f"0{rng.randint(113, 199)} {_digits(rng, 3)} {_digits(rng, 4)}"
    return f"0{rng.randint(21, 91)} {_digits(rng, 3)} {_digits(rng, 2)} {_digits(rng, 2)}"


# ----------------------------------------------------------------------------------------- the data


@dataclass
class Item:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal


@dataclass
class TaxRow:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass
class ReceiptData:
    """Everything printed on one receipt, and so everything a reader should find."""

    locale: Locale
    kind: str
    merchant_name: str
    registration: str | None
    address_lines: list[str]
    phone: str | None
    tax_id: str | None
    receipt_number: str
    date: dt.date
    time: str
    items: list[Item]
    subtotal: Decimal | None
    discount: Decimal | None
    tax_rows: list[TaxRow]
    tip: Decimal | None
    rounding: Decimal | None
    total: Decimal
    payment_method: str
    cash_given: Decimal | None

    def expected(self) -> dict[str, object]:
        """Receipt field values as `schemas.Receipt` holds them (strings for decimals, ISO dates)."""
        return {
            "merchant_name": self.merchant_name,
            "merchant_address": ", ".join(self.address_lines),
            "merchant_phone": self.phone,
            "merchant_tax_id": self.tax_id,
            "receipt_number": self.receipt_number,
            "date": self.date.isoformat(),
            "time": self.time,
            "currency": self.locale.currency,
            "subtotal": _s(self.subtotal),
            "tax_total": _s(sum((row.amount for row in self.tax_rows), Decimal("0.00"))) if self.tax_rows else None,
            "tax_lines": [{"rate": _r(row.rate), "base": _s(row.base), "amount": _s(row.amount)}
                          for row in self.tax_rows],
            "tip": _s(self.tip),
            "discount": _s(self.discount),
            "rounding": _s(self.rounding),
            "total": _s(self.total),
            "payment_method": self.payment_method,
            "line_items": [{"description": item.description, "quantity": _r(item.quantity),
                            "unit_price": _s(item.unit_price), "amount": _s(item.amount)} for item in self.items],
        }


def _s(value: Decimal | None) -> str | None:
    return None if value is None else f"{money(value):.2f}"


def _r(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _fill(pattern: str, rng: random.Random, words: Sequence[str]) -> str:
    first = rng.choice(words)
    second = rng.choice([w for w in words if w != first])
    return pattern.format(w=first, w2=second, n=rng.randint(1, 250), m=rng.randint(1, 40), k=rng.randint(1, 12))


def make_receipt(rng: random.Random, locale_code: str, kind: str | None = None,
                 day: dt.date | None = None) -> ReceiptData:
    """Draw one receipt's content: merchant, items, taxes, discount, tip and rounding that add up."""
    locale = LOCALES[locale_code]
    kind = kind or rng.choice(STORE_KINDS)
    names = NAMES[locale_code]
    merchant = _fill(rng.choice(names[kind]), rng, names["word"])
    if locale_code == "ms-MY" and rng.random() < 0.8:
        merchant = merchant.upper()
    elif locale_code != "ms-MY" and rng.random() < 0.3:
        merchant = merchant.upper()
    registration = None
    if locale_code == "ms-MY" and ("SDN BHD" in merchant or rng.random() < 0.4):
        registration = rng.choice([f"({_digits(rng, 6)}-{rng.choice('AHKMPTUVWX')})", f"({_digits(rng, 12)})",
                                   f"CO. REG: {_digits(rng, 6)}-{rng.choice('ADKMTV')}"])
    street_patterns, cities = STREETS[locale_code]
    address = [_fill(rng.choice(street_patterns), rng, STREET_WORDS[locale_code]), rng.choice(cities)]
    if locale_code == "ms-MY" and rng.random() < 0.4:
        address.insert(1, "TAMAN " + rng.choice(STREET_WORDS["ms-MY"]))
    phone = phone_for(rng, locale) if rng.random() < 0.85 else None
    tax_id = vat_id(rng, locale_code) if locale_code != "en-US" and rng.random() < 0.8 else None

    pool = ITEMS[LANGUAGE[locale_code]][kind]
    count = rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 8, 11])
    chosen = [rng.choice(pool) for _ in range(count)]
    items: list[Item] = []
    rates = locale.tax_rates
    for description, price in chosen:
        unit = money(Decimal(price) * PRICE_SCALE[locale_code])
        if unit == 0:
            continue
        quantity = Decimal(rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 6]))
        rate = _item_rate(rng, locale_code, kind, description)
        items.append(Item(description, quantity, unit, money(unit * quantity), rate))
    if not items:
        description, price = pool[0]
        unit = money(Decimal(price) * PRICE_SCALE[locale_code]) or Decimal("1.00")
        items.append(Item(description, Decimal(1), unit, unit, rates[-1]))

    gross = sum((item.amount for item in items), Decimal("0.00"))
    discount = None
    if rng.random() < 0.25:
        discount = money(gross * Decimal(rng.choice([5, 10, 15, 20])) / 100) or None
    tip = None
    if kind == "restaurant" and locale_code == "en-US" and rng.random() < 0.7:
        tip = money(gross * Decimal(rng.choice([15, 18, 20, 22])) / 100)
    elif kind == "restaurant" and locale_code in ("en-GB", "de-DE", "fr-FR") and rng.random() < 0.25:
        tip = money(gross * Decimal("0.10"))

    tax_rows: list[TaxRow] = []
    subtotal: Decimal | None
    if locale.tax_included:
        by_rate: dict[Decimal, Decimal] = {}
        for item in items:
            by_rate[item.tax_rate] = by_rate.get(item.tax_rate, Decimal("0.00")) + item.amount
        if discount is not None:
            top = max(by_rate, key=lambda r: by_rate[r])
            discount = min(discount, by_rate[top] - Decimal("0.01"))
            by_rate[top] -= discount
        for rate in sorted(by_rate):
            tax = money(by_rate[rate] * rate / (100 + rate))
            tax_rows.append(TaxRow(rate, by_rate[rate] - tax, tax))
        before_rounding = sum(by_rate.values(), Decimal("0.00")) + (tip or 0)
        subtotal = gross if (discount is not None and rng.random() < 0.7) else None
    else:
        subtotal = gross
        taxable = gross - (discount or 0)
        if locale_code == "ms-MY" and rng.random() < 0.35:
            tax_rows = []
        else:
            rate = rng.choice(rates)
            tax_rows = [TaxRow(rate, taxable, money(taxable * rate / 100))]
        before_rounding = taxable + sum((row.amount for row in tax_rows), Decimal("0.00")) + (tip or 0)
    payment = rng.choice({"ms-MY": ("CASH", "CASH", "VISA", "MASTERCARD", "TOUCH 'N GO", "DEBIT CARD"),
                          "de-DE": ("BAR", "BAR", "EC-Karte", "girocard", "Visa"),
                          "fr-FR": ("Espèces", "CB", "Carte Bancaire", "CB sans contact"),
                          "en-US": ("VISA", "MASTERCARD", "AMEX", "CASH", "DEBIT"),
                          "en-GB": ("CASH", "Contactless", "VISA DEBIT", "MASTERCARD"),
                          "de-CH": ("BAR", "BAR", "TWINT", "Maestro", "Visa")}[locale_code])
    is_cash = payment.upper() in ("CASH", "BAR", "ESPÈCES")
    rounding = None
    total = before_rounding
    if locale.cash_step is not None and (is_cash or locale_code == "ms-MY"):
        steps = (before_rounding / locale.cash_step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        total = steps * locale.cash_step
        rounding = money(total - before_rounding)
        if rounding == 0 and rng.random() < 0.5:
            rounding = None
    cash_given = None
    if is_cash:
        notes = [Decimal(v) for v in (5, 10, 20, 50, 100, 200)]
        cash_given = next((n for n in notes if n >= total), money(total))
    day = day or _random_day(rng)
    seconds = rng.random() < 0.5
    hour, minute, second = rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59)
    time = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if seconds else "")
    number = rng.choice([_digits(rng, rng.randint(4, 6)), f"{rng.choice(['CS', 'INV', 'T', 'R'])}{_digits(rng, 8)}",
                         f"{_digits(rng, 4)}-{_digits(rng, 4)}", _digits(rng, 3)])
    return ReceiptData(locale, kind, merchant, registration, address, phone, tax_id, number, day, time, items,
                       subtotal, discount, tax_rows, tip, rounding, money(total), payment, cash_given)


def _item_rate(rng: random.Random, locale_code: str, kind: str, description: str) -> Decimal:
    rates = LOCALES[locale_code].tax_rates
    if locale_code == "de-DE":
        if kind == "restaurant":
            return Decimal("19")
        return Decimal("7") if kind in ("grocery", "cafe") and rng.random() < 0.75 else Decimal("19")
    if locale_code == "fr-FR":
        if kind == "restaurant" or kind == "cafe":
            return Decimal("20") if any(w in description for w in ("vin", "Pression", "Verre")) else Decimal("10")
        return Decimal("5.5") if kind == "grocery" and "Vin" not in description else Decimal("20")
    if locale_code == "en-GB":
        return Decimal("20") if kind != "grocery" or rng.random() < 0.3 else Decimal("0") if rng.random() < 0.5 \
            else Decimal("5")
    if locale_code == "de-CH":
        return Decimal("2.6") if kind in ("grocery", "cafe") else Decimal("8.1")
    return rates[0]


def _random_day(rng: random.Random) -> dt.date:
    start = dt.date(2023, 1, 1)
    return start + dt.timedelta(days=rng.randint(0, (dt.date(2026, 11, 15) - start).days))


# ----------------------------------------------------------------------------------------- the layout


@dataclass(frozen=True)
class Span:
    """Text placed on a row: `at` is a fraction of the content width (left edge, right edge or centre)."""

    text: str
    at: float = 0.0
    align: str = "left"


@dataclass(frozen=True)
class Row:
    spans: tuple[Span, ...] = ()
    size: float = 1.0
    bold: bool = False
    rule: str | None = None  # "-", "=", "*" drawn as characters across the width; "line" as a thin line
    gap: float = 0.0  # blank space before the row, in lines


def row(left: str | None = None, right: str | None = None, center: str | None = None, *, size: float = 1.0,
        bold: bool = False, gap: float = 0.0, extra: Sequence[Span] = ()) -> Row:
    spans = []
    if left:
        spans.append(Span(left, 0.0, "left"))
    if center:
        spans.append(Span(center, 0.5, "center"))
    if right:
        spans.append(Span(right, 1.0, "right"))
    return Row(tuple(spans) + tuple(extra), size, bold, None, gap)


@dataclass
class Sheet:
    """A page to draw: width and margins in mm, base font size in pt, font family, rows top to bottom."""

    width_mm: float
    margin_mm: float
    font_pt: float
    family: str
    rows: list[Row]
    height_mm: float | None = None  # None: as long as the rows (a till roll)
    top_mm: float = 6.0
    line_factor: float = 1.35

    def row_height(self, r: Row) -> float:
        return self.font_pt * r.size * self.line_factor * PT_MM

    def content_height(self) -> float:
        return self.top_mm + sum(self.row_height(r) * (1 + r.gap) for r in self.rows) + 8.0


def draw_sheet(sheet: Sheet, dpi: int, ink: int = 20) -> Image.Image:
    """Render a sheet to a greyscale image at `dpi` (white paper, dark ink)."""
    px = dpi / 25.4
    height_mm = sheet.height_mm or sheet.content_height()
    image = Image.new("L", (round(sheet.width_mm * px), round(height_mm * px)), 255)
    draw = ImageDraw.Draw(image)
    content = (sheet.width_mm - 2 * sheet.margin_mm) * px
    left = sheet.margin_mm * px
    y = sheet.top_mm * px
    for r in sheet.rows:
        h = sheet.row_height(r) * px
        y += h * r.gap
        size = max(6, round(sheet.font_pt * r.size * PT_MM * px))
        font = pil_font(sheet.family, r.bold, size)
        baseline = y + h * 0.78
        if r.rule == "line":
            draw.line([(left, y + h * 0.5), (left + content, y + h * 0.5)], fill=ink, width=max(1, round(px * 0.25)))
        elif r.rule:
            count = max(1, int(content / font.getlength(r.rule)))
            draw.text((left, baseline), r.rule * count, font=font, fill=ink, anchor="ls")
        for span in r.spans:
            width = font.getlength(span.text)
            x = left + span.at * content - {"left": 0, "right": width, "center": width / 2}[span.align]
            draw.text((x, baseline), span.text, font=font, fill=ink, anchor="ls")
            if r.bold and sheet.family.endswith("mono"):
                draw.text((x + max(1, px * 0.08), baseline), span.text, font=font, fill=ink, anchor="ls")
        y += h
    return image


def draw_pdf_page(pdf: FPDF, sheet: Sheet) -> None:
    """Write a sheet as real text on a new PDF page (a text layer a PDF reader can extract)."""
    pdf.add_page()
    for bold in (False, True):
        style = "B" if bold else ""
        if sheet.family + style not in pdf.fonts:
            pdf.add_font(sheet.family, style, str(font_path(sheet.family, bold)))
    content = sheet.width_mm - 2 * sheet.margin_mm
    y = sheet.top_mm
    for r in sheet.rows:
        h = sheet.row_height(r)
        y += h * r.gap
        pdf.set_font(sheet.family, "B" if r.bold else "", sheet.font_pt * r.size)
        baseline = y + h * 0.78
        if r.rule:
            pdf.set_line_width(0.25)
            pdf.line(sheet.margin_mm, y + h * 0.5, sheet.margin_mm + content, y + h * 0.5)
        for span in r.spans:
            width = pdf.get_string_width(span.text)
            x = sheet.margin_mm + span.at * content - {"left": 0, "right": width, "center": width / 2}[span.align]
            pdf.text(x, baseline, span.text)
        y += h


def new_pdf() -> FPDF:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    pdf.set_producer("samples/generate.py")
    pdf.set_creator("samples/generate.py")
    return pdf


def receipt_sheet(data: ReceiptData, rng: random.Random) -> Sheet:
    """Lay out a till-roll receipt: centred header, items, totals block, tax table, footer."""
    loc = data.locale
    words = loc.words
    family = rng.choice(RECEIPT_FAMILIES)
    paper = rng.choice([80.0, 80.0, 58.0])
    font_pt = 8.0 if paper >= 70 else 6.8
    margin = 4.0 if paper >= 70 else 2.5
    char_mm = font_pt * PT_MM * pil_font(family, False, 100).getlength("0") / 100
    capacity = int((paper - 2 * margin) / char_mm)

    def pair(left: str, right: str, **style: object) -> list[Row]:
        """One row, or two when the left and right texts would run into each other on this paper."""
        if len(left) + len(right) + 2 <= capacity / float(style.get("size", 1.0)):
            return [row(left=left, right=right, **style)]
        return [row(left=left, **style), row(right=right, **style)]

    symbol = rng.choice(loc.symbols)
    date_fmt = rng.choice(loc.date_formats)
    rows: list[Row] = []

    def amount(value: Decimal, with_symbol: bool = False) -> str:
        text = format_amount(value, loc)
        if with_symbol and symbol:
            return f"{symbol}{text}" if symbol in ("$", "£", "€") and loc.decimal == "." else f"{symbol} {text}"
        return text

    name_size = rng.choice([1.2, 1.4, 1.6, 1.0])
    name_lines = _wrap(data.merchant_name, 18 if paper < 70 else 26) if name_size > 1.1 else [data.merchant_name]
    if name_lines != [data.merchant_name]:
        data.merchant_name = " ".join(name_lines)
    reg_inline = data.registration is not None and rng.random() < 0.5 and len(name_lines) == 1 \
        and len(data.merchant_name) + len(data.registration) < (24 if paper < 70 else 34)
    for i, line in enumerate(name_lines):
        text = f"{line} {data.registration}" if reg_inline and i == len(name_lines) - 1 else line
        rows.append(row(center=text, size=name_size if not reg_inline else 1.0, bold=True))
    if data.registration and not reg_inline:
        rows.append(row(center=data.registration, size=0.9))
    address_rows = []
    for line in data.address_lines:
        for part in _wrap(line, 30 if paper < 70 else 42):
            address_rows.append(row(center=part))
    rows.extend(address_rows)
    if data.phone:
        pattern = rng.choice(words["phone"])
        phone_text = pattern.format(p=data.phone, a=data.phone[:3], b=data.phone[4:7], c=data.phone[8:])
        if loc.code == "en-US":
            data.phone = phone_text.replace("Tel: ", "")
        rows.append(row(center=phone_text))
    if data.tax_id:
        rows.append(row(center=rng.choice(words["tax_id"]).format(id=data.tax_id)))
    rule = rng.choice(["-", "=", "-", "*", "line"])
    rows.append(Row(rule=rule))
    title = rng.choice(words["title"])
    if title:
        rows.append(row(center=title, bold=True))
    date_text = format_date(data.date, date_fmt)
    time_text = _print_time(data, rng)
    cashier = rng.choice(words["cashier"]).format(name=rng.choice(PEOPLE), n=rng.randint(1, 40))
    number_label = rng.choice(words["receipt"])
    date_label, time_label = rng.choice(words["date"]), rng.choice(words["time"])
    header_style = rng.randint(0, 2)
    if header_style == 0:
        rows.append(row(left=f"{number_label} {data.receipt_number}"))
        rows.extend(pair(f"{date_label} {date_text}".strip(), f"{time_label} {time_text}".strip()))
        rows.append(row(left=cashier))
    elif header_style == 1:
        rows.extend(pair(f"{date_text} {time_text}", f"{number_label} {data.receipt_number}"))
        rows.append(row(left=cashier))
    else:
        rows.extend(pair(cashier, f"{number_label} {data.receipt_number}"))
    rows.append(Row(rule=rule))

    codes = {rate: chr(ord("A") + i) for i, rate in enumerate(sorted({i.tax_rate for i in data.items}))}
    show_codes = loc.tax_included and len(codes) > 0 and rng.random() < 0.7
    item_style = rng.randint(0, 2)
    for item in data.items:
        code = f" {codes[item.tax_rate]}" if show_codes else ""
        if loc.code == "ms-MY" and rng.random() < 0.3:
            code = " SR" if data.tax_rows else " ZR"
        qty = f"{item.quantity:f}"
        if item_style == 0 or item.quantity == 1 and item_style == 1:
            left = f"{qty} {item.description}" if item_style == 0 else item.description
            rows.extend(pair(left, amount(item.amount) + code))
            if item.quantity != 1 and item_style == 1:
                rows.append(row(left=f"  {qty} x {amount(item.unit_price)}"))
        elif item_style == 1:
            rows.append(row(left=item.description))
            rows.append(row(left=f"  {qty} x {amount(item.unit_price)}", right=amount(item.amount) + code))
        else:
            item.description = item.description[:min(22, int(capacity * 0.62) - 5)].rstrip()
            rows.append(row(left=item.description, right=amount(item.amount) + code,
                            extra=[Span(f"{qty}", 0.62, "right"), Span(amount(item.unit_price), 0.8, "right")]))
    if len(data.items) > 1 and rng.random() < 0.4:
        count = sum(item.quantity for item in data.items)
        rows.append(row(left={"de": "Anzahl Artikel:", "fr": "Nb articles :", "ms": "TOTAL QTY:"}.get(
            LANGUAGE[loc.code], "Items:") + f" {count:f}", size=0.9))
    rows.append(Row(rule=rule))

    if data.subtotal is not None:
        rows.append(row(left=rng.choice(words["subtotal"]), right=amount(data.subtotal)))
    if data.discount is not None:
        rows.append(row(left=rng.choice(words["discount"]), right=amount(-data.discount)))
    if not loc.tax_included:
        for tax in data.tax_rows:
            rows.append(row(left=rng.choice(words["tax"]).format(rate=format_rate(tax.rate, loc)),
                            right=amount(tax.amount)))
    if data.tip is not None:
        rows.append(row(left=rng.choice(words["tip"]), right=amount(data.tip)))
    if data.rounding is not None:
        rows.append(row(left=rng.choice(words["rounding"]), right=amount(data.rounding)))
    total_label = rng.choice(words["total"])
    rows.extend(pair(total_label, amount(data.total, with_symbol=rng.random() < 0.6),
                     size=rng.choice([1.0, 1.2, 1.4]), bold=True, gap=0.2))
    if data.cash_given is not None:
        rows.append(row(left=rng.choice(words["cash"]), right=amount(data.cash_given)))
        rows.append(row(left=rng.choice(words["change"]), right=amount(data.cash_given - data.total)))
    else:
        rows.append(row(left=data.payment_method, right=amount(data.total)))
        if rng.random() < 0.6:
            rows.append(row(left=f"************{_digits(rng, 4)}", size=0.9))
    if loc.tax_included and data.tax_rows:
        rows.append(Row(rule=rule))
        head = {"de": ("MwSt", "Netto", "Steuer", "Brutto"), "fr": ("TVA", "HT", "TVA", "TTC")}.get(
            LANGUAGE[loc.code], ("VAT", "Net", "VAT", "Gross"))
        rows.append(row(left=head[0], size=0.9, extra=[Span(head[1], 0.5, "right"), Span(head[2], 0.75, "right"),
                                                       Span(head[3], 1.0, "right")]))
        for tax in data.tax_rows:
            label = (f"{codes[tax.rate]} " if show_codes and tax.rate in codes else "") + \
                f"{format_rate(tax.rate, loc)}%"
            rows.append(row(left=label, size=0.9, extra=[
                Span(amount(tax.base), 0.5, "right"), Span(amount(tax.amount), 0.75, "right"),
                Span(amount(tax.base + tax.amount), 1.0, "right")]))
    elif loc.code == "ms-MY" and data.tax_rows and rng.random() < 0.5:
        rows.append(row(left="Tax Summary", right="Amt(RM)  Tax(RM)", size=0.9, gap=0.3))
        tax = data.tax_rows[0]
        rows.append(row(left=f"SR @ {format_rate(tax.rate, loc)}%", size=0.9,
                        right=f"{amount(tax.base)}  {amount(tax.amount)}"))
    rows.append(row(center=rng.choice(words["thanks"]), gap=0.6))
    if header_style == 2:
        rows.append(row(center=f"{date_text} {time_text}"))
    if rng.random() < 0.4:
        rows.append(row(center=f"{_digits(rng, 4)} {_digits(rng, 2)} {_digits(rng, 6)}", size=0.8))
    return Sheet(paper, margin, font_pt, family, rows, top_mm=rng.uniform(4, 10),
                 line_factor=rng.uniform(1.25, 1.5))


def _wrap(text: str, width: int) -> list[str]:
    words = text.split()
    lines, current = [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + [current]


def _print_time(data: ReceiptData, rng: random.Random) -> str:
    """The time as printed; a US 12-hour clock drops the seconds, and so does the expected value."""
    if data.locale.code == "en-US" and rng.random() < 0.7:
        hour, minute = int(data.time[:2]), data.time[3:5]
        data.time = data.time[:5]
        return f"{(hour - 1) % 12 + 1}:{minute} {'PM' if hour >= 12 else 'AM'}"
    return data.time


# -------------------------------------------------------------------------------------- degradation


def scan(image: Image.Image, rng: random.Random, strength: float = 1.0) -> Image.Image:
    """Make a clean render look scanned: faded thermal ink, paper tone, tilt, blur, noise."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    a = np.asarray(image, dtype=np.float32)
    h, w = a.shape
    ink = (255 - a) / 255
    fade = 0.75 + 0.25 * _smooth(nrng, h, 40)[:, None] - 0.12 * strength * nrng.random((h, w)).astype(np.float32)
    paper = rng.uniform(225, 250) + 6 * _smooth(nrng, h, 200)[:, None]
    dark = rng.uniform(15, 70)
    a = paper - ink * np.clip(fade, 0.3, 1.0) * (paper - dark)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
    margin = rng.randint(0, 60)
    if margin:
        bed = Image.new("L", (w + 2 * margin, h + 2 * margin), rng.randint(200, 255))
        bed.paste(out, (margin + rng.randint(-margin // 2, margin // 2), margin))
        out = bed
    angle = rng.uniform(-1.8, 1.8) * strength
    out = out.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=int(paper.mean()))
    scale = rng.uniform(0.65, 1.0)
    out = out.resize((round(out.width * scale), round(out.height * scale)), Image.Resampling.LANCZOS)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.9) * strength))
    b = np.asarray(out, dtype=np.float32)
    b = b + nrng.normal(0, rng.uniform(2, 9) * strength, b.shape)
    specks = nrng.random(b.shape) < 0.0008 * strength
    b[specks] = rng.uniform(40, 120)
    return Image.fromarray(np.clip(b, 0, 255).astype(np.uint8), "L")


def _smooth(nrng: np.random.Generator, n: int, period: int) -> np.ndarray:
    knots = nrng.random(n // period + 2)
    return np.interp(np.arange(n) / period, np.arange(len(knots)), knots).astype(np.float32)


def photograph(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo of a receipt lying on a table: colour, perspective, shadow, blur, sensor noise."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    receipt = image.convert("RGB")
    tint = np.array([255, 250, 238], dtype=np.float32) / 255
    receipt = Image.fromarray((np.asarray(receipt, dtype=np.float32) * tint).astype(np.uint8), "RGB")
    out_w = round(receipt.width * 1.35)
    out_h = round(receipt.height * 1.18)
    wood = np.zeros((out_h, out_w, 3), dtype=np.float32)
    grain = _smooth(nrng, out_w, 7)[None, :] * 0.5 + nrng.random((out_h, out_w)) * 0.15
    for channel, base in enumerate((120, 82, 50)):
        wood[:, :, channel] = base * (0.8 + 0.4 * grain)
    table = Image.fromarray(wood.astype(np.uint8), "RGB")
    x0 = (out_w - receipt.width) / 2
    y0 = (out_h - receipt.height) / 2
    j = receipt.width * 0.09
    corners = [(x0 + rng.uniform(-j, j), y0 + rng.uniform(-j, j)),
               (x0 + receipt.width + rng.uniform(-j, j), y0 + rng.uniform(-j, j)),
               (x0 + receipt.width + rng.uniform(-j, j) * 0.5, y0 + receipt.height + rng.uniform(-j, j)),
               (x0 + rng.uniform(-j, j) * 0.5, y0 + receipt.height + rng.uniform(-j, j))]
    source = [(0, 0), (receipt.width, 0), (receipt.width, receipt.height), (0, receipt.height)]
    coeffs = _perspective_coefficients(corners, source)
    warped = receipt.transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", receipt.size, 255).transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs,
                                                       Image.Resampling.BILINEAR)
    table.paste(warped, (0, 0), mask)
    light = np.asarray(table, dtype=np.float32)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    gradient = 0.72 + 0.28 * (xx / out_w * rng.uniform(0.3, 1) + yy / out_h * rng.uniform(0.3, 1)) / 2
    light = light * gradient[:, :, None]
    light = light + nrng.normal(0, 5, light.shape)
    photo = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8), "RGB")
    return photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.7, 1.3)))


def _perspective_coefficients(target: Sequence[tuple[float, float]],
                              source: Sequence[tuple[float, float]]) -> list[float]:
    """Coefficients for PIL's PERSPECTIVE transform mapping output points `target` to input `source`."""
    matrix, vector = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector.extend([u, v])
    return [float(c) for c in np.linalg.solve(np.array(matrix), np.array(vector))]


def save_jpeg_with_orientation(image: Image.Image, path: Path, orientation: int, quality: int) -> None:
    """Store pixels turned so that only honouring the EXIF Orientation tag shows them upright."""
    turned = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
    stored = image.transpose(turned[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Synthetic"
    exif[0x0110] = "samples/generate.py phone"
    stored.save(path, "JPEG", quality=quality, exif=exif.tobytes(), optimize=True)


# ---------------------------------------------------------------------------------------- invoices


@dataclass
class InvoiceData:
    locale: Locale
    number: str
    issue_date: dt.date
    due_date: dt.date
    seller_name: str
    seller_address: list[str]
    seller_vat: str | None
    buyer_name: str
    buyer_address: list[str]
    buyer_vat: str | None
    purchase_order: str | None
    items: list[Item]
    tax_rows: list[TaxRow]
    net_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    iban: str | None
    phone: str

    def expected(self) -> dict[str, object]:
        """Invoice field values as `schemas.Invoice` holds them."""
        return {
            "kind": "invoice",
            "invoice_number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "currency": self.locale.currency,
            "seller": {"name": self.seller_name, "address": ", ".join(self.seller_address),
                       "vat_id": self.seller_vat},
            "buyer": {"name": self.buyer_name, "address": ", ".join(self.buyer_address), "vat_id": self.buyer_vat},
            "purchase_order": self.purchase_order,
            "net_total": _s(self.net_total),
            "tax_total": _s(self.tax_total),
            "grand_total": _s(self.grand_total),
            "amount_due": _s(self.grand_total),
            "tax_lines": [{"rate": _r(t.rate), "base": _s(t.base), "amount": _s(t.amount)} for t in self.tax_rows],
            "iban": self.iban,
            "line_items": [{"description": i.description, "quantity": _r(i.quantity),
                            "unit_price": _s(i.unit_price), "amount": _s(i.amount)} for i in self.items],
        }


INVOICE_ITEMS = {
    "en": (("Consulting services (hours)", "95.00"), ("Website maintenance, monthly", "240.00"),
           ("Laptop stand, aluminium", "39.90"), ("Printer toner cartridge", "68.50"),
           ("Office chair, ergonomic", "289.00"), ("Software licence, annual", "480.00"),
           ("Delivery and handling", "15.00"), ("Training workshop (day)", "650.00"), ("USB-C docking station", "129.00"),
           ("Copy paper A4, box of 5 reams", "24.95"), ("Cloud hosting, November", "59.00")),
    "de": (("Beratungsleistung (Std.)", "95.00"), ("Wartung Webseite, monatlich", "240.00"),
           ("Bürostuhl ergonomisch", "289.00"), ("Toner schwarz", "68.50"), ("Softwarelizenz, jährlich", "480.00"),
           ("Versandkosten", "15.00"), ("Schulung (Tag)", "650.00"), ("Fachbuch Steuerrecht", "49.80"),
           ("Kopierpapier A4, 5 Pakete", "24.95"), ("Montage vor Ort (Std.)", "72.00"), ("Kabel Cat6, 20 m", "18.40")),
    "fr": (("Prestation de conseil (heure)", "95.00"), ("Maintenance site web, mensuelle", "240.00"),
           ("Fauteuil de bureau", "289.00"), ("Cartouche de toner", "68.50"), ("Licence logiciel annuelle", "480.00"),
           ("Frais de port", "15.00"), ("Formation (journée)", "650.00"), ("Livre technique", "42.00"),
           ("Ramettes papier A4 x5", "24.95")),
}
COMPANIES = {
    "de-DE": (("Müller Bürotechnik GmbH", "Schneider & Partner IT-Service GmbH", "Hoffmann Elektro KG",
               "Weber Softwareentwicklung UG"),
              ("Bäckerei Krüger GmbH", "Stadtwerke Neustadt", "Architekturbüro Lange", "Praxis Dr. Zimmermann")),
    "en-GB": (("Oakwood Office Supplies Ltd", "Thistle Digital Ltd", "Harbour Consulting LLP", "Kingsway IT Services Ltd"),
              ("Riverside Dental Practice", "Abbey Lettings Ltd", "Castle Brewing Co Ltd", "Priory School Trust")),
    "fr-FR": (("Dubois Informatique SARL", "Bureautique Martin SAS", "Laurent Conseil EURL", "Fontaine Services SA"),
              ("Boulangerie Mercier", "Cabinet Rousseau Avocats", "Garage du Centre SARL", "Hôtel de la Gare")),
    "en-US": (("Pioneer Office Supply Inc.", "Redwood Consulting LLC", "Bayview Tech Services Inc."),
              ("Sunrise Dental Group", "Maple Street Bakery LLC", "Lakeside Property Management")),
}
INVOICE_WORDS = {
    "de": {"title": "RECHNUNG", "number": "Rechnungsnummer", "date": "Rechnungsdatum", "due": "Fällig am",
           "po": "Ihre Bestellung", "pos": "Pos.", "desc": "Bezeichnung", "qty": "Menge", "unit": "Einzelpreis",
           "amount": "Gesamt", "net": "Nettobetrag", "tax": "zzgl. USt {rate} % auf {base}", "gross": "Rechnungsbetrag",
           "due_amount": "Zahlbetrag", "terms": "Zahlbar innerhalb von 14 Tagen ohne Abzug.", "iban": "IBAN",
           "vat": "USt-IdNr.", "customer_vat": "Ihre USt-IdNr.", "page": "Seite {n} von {m}",
           "carry": "Übertrag", "bank": "Bankverbindung: Sparkasse", "phone": "Tel."},
    "en": {"title": "INVOICE", "number": "Invoice No.", "date": "Invoice date", "due": "Due date",
           "po": "PO number", "pos": "#", "desc": "Description", "qty": "Qty", "unit": "Unit price",
           "amount": "Amount", "net": "Subtotal (net)", "tax": "VAT {rate}% on {base}", "gross": "Total",
           "due_amount": "Amount due", "terms": "Payment due within 30 days. Thank you for your business.",
           "iban": "IBAN", "vat": "VAT Reg. No.", "customer_vat": "Customer VAT No.", "page": "Page {n} of {m}",
           "carry": "Carried forward", "bank": "Bank: NatWest", "phone": "Tel"},
    "fr": {"title": "FACTURE", "number": "Facture n°", "date": "Date de facture", "due": "Échéance",
           "po": "Votre commande", "pos": "N°", "desc": "Désignation", "qty": "Qté", "unit": "Prix unit. HT",
           "amount": "Montant HT", "net": "Total HT", "tax": "TVA {rate} % sur {base}", "gross": "Total TTC",
           "due_amount": "Net à payer", "terms": "Paiement à 30 jours. Pas d'escompte pour paiement anticipé.",
           "iban": "IBAN", "vat": "N° TVA intracom.", "customer_vat": "N° TVA client", "page": "Page {n}/{m}",
           "carry": "Report", "bank": "Banque : Crédit Agricole", "phone": "Tél."},
}


def make_invoice(rng: random.Random, locale_code: str, item_count: int | None = None) -> InvoiceData:
    """Draw one supplier invoice: parties, items at one or two VAT rates, totals that add up."""
    locale = LOCALES[locale_code]
    language = LANGUAGE[locale_code] if locale_code != "en-US" else "en"
    sellers, buyers = COMPANIES[locale_code]
    streets, cities = STREETS[locale_code]
    words = STREET_WORDS[locale_code]
    count = item_count or rng.randint(2, 6)
    items = []
    pool = list(INVOICE_ITEMS[language])
    rng.shuffle(pool)
    rates = {"de-DE": (Decimal("19"), Decimal("7")), "fr-FR": (Decimal("20"), Decimal("5.5")),
             "en-GB": (Decimal("20"), Decimal("5")), "en-US": (Decimal("0"),)}[locale_code]
    for description, price in pool[:count]:
        quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 10, 12]))
        unit = money(Decimal(price) * PRICE_SCALE[locale_code])
        rate = rates[1] if len(rates) > 1 and ("buch" in description.lower() or "book" in description.lower()
                                                or "Livre" in description or rng.random() < 0.15) else rates[0]
        items.append(Item(description, quantity, unit, money(unit * quantity), rate))
    by_rate: dict[Decimal, Decimal] = {}
    for item in items:
        by_rate[item.tax_rate] = by_rate.get(item.tax_rate, Decimal("0.00")) + item.amount
    tax_rows = [TaxRow(rate, base, money(base * rate / 100)) for rate, base in sorted(by_rate.items(), reverse=True)]
    if locale_code == "en-US":
        tax_rows = [TaxRow(Decimal("8.25"), row.base, money(row.base * Decimal("0.0825"))) for row in tax_rows]
    net = sum(by_rate.values(), Decimal("0.00"))
    tax = sum((r.amount for r in tax_rows), Decimal("0.00"))
    issue = _random_day(rng)
    return InvoiceData(
        locale, f"{rng.choice(['RE', 'INV-', 'F', ''])}{issue.year}-{_digits(rng, 4)}", issue,
        issue + dt.timedelta(days=rng.choice([14, 30])),
        rng.choice(sellers), [_fill(rng.choice(streets), rng, words), rng.choice(cities)],
        vat_id(rng, locale_code) if locale_code != "en-US" else None,
        rng.choice(buyers), [_fill(rng.choice(streets), rng, words), rng.choice(cities)],
        vat_id(rng, locale_code) if locale_code != "en-US" and rng.random() < 0.5 else None,
        f"PO-{_digits(rng, 5)}" if rng.random() < 0.6 else None,
        items, tax_rows, net, tax, net + tax, iban_for(rng, locale_code) if locale_code != "en-US" else None,
        phone_for(rng, locale))


def invoice_sheets(data: InvoiceData, rng: random.Random, pages: int = 1) -> list[Sheet]:
    """Lay out an A4 invoice: letterhead, addresses, meta block, item table, totals, bank footer."""
    loc = data.locale
    w = INVOICE_WORDS["en" if loc.code in ("en-GB", "en-US") else LANGUAGE[loc.code]]
    family = rng.choice(INVOICE_FAMILIES)
    date_fmt = loc.date_formats[0]
    fmt = lambda value: format_amount(value, loc)  # noqa: E731
    symbol = {"EUR": "€", "GBP": "£", "USD": "$"}[loc.currency]

    def with_symbol(value: Decimal) -> str:
        return f"{fmt(value)} {symbol}" if loc.currency == "EUR" else f"{symbol}{fmt(value)}"

    head: list[Row] = [
        row(left=data.seller_name, size=1.8, bold=True),
        row(left=f"{data.seller_address[0]} · {data.seller_address[1]} · {w['phone']} {data.phone}", size=0.85),
        Row(rule="line"),
        row(left=f"{data.seller_name} · {data.seller_address[0]} · {data.seller_address[1]}", size=0.7, gap=1.0),
        row(left=data.buyer_name, gap=0.3),
        row(left=data.buyer_address[0]),
        row(left=data.buyer_address[1]),
    ]
    if data.buyer_vat:
        head.append(row(left=f"{w['customer_vat']}: {data.buyer_vat}", size=0.9))
    head.append(row(left=w["title"], size=1.6, bold=True, gap=1.2))
    meta = [(w["number"], data.number), (w["date"], data.issue_date.strftime(date_fmt)),
            (w["due"], data.due_date.strftime(date_fmt))]
    if data.purchase_order:
        meta.append((w["po"], data.purchase_order))
    for label, value in meta:
        head.append(row(extra=[Span(f"{label}:", 0.0), Span(value, 0.3)]))
    table_head = Row((Span(w["pos"], 0.0), Span(w["desc"], 0.06), Span(w["qty"], 0.62, "right"),
                      Span(w["unit"], 0.8, "right"), Span(w["amount"], 1.0, "right")), 0.95, True, None, 0.8)
    lines = []
    for n, item in enumerate(data.items, 1):
        rate = f" ({format_rate(item.tax_rate, loc)} %)" if len(data.tax_rows) > 1 else ""
        lines.append(Row((Span(str(n), 0.0), Span(item.description + rate, 0.06),
                          Span(f"{item.quantity:f}".replace(".", loc.decimal), 0.62, "right"),
                          Span(fmt(item.unit_price), 0.8, "right"), Span(fmt(item.amount), 1.0, "right")), 0.95))
    totals = [Row(rule="line"),
              row(left=w["net"], right=with_symbol(data.net_total))]
    for tax in data.tax_rows:
        totals.append(row(left=w["tax"].format(rate=format_rate(tax.rate, loc), base=fmt(tax.base)),
                          right=with_symbol(tax.amount)))
    totals.append(row(left=w["gross"], right=with_symbol(data.grand_total), bold=True, size=1.15))
    totals.append(row(left=w["due_amount"], right=with_symbol(data.grand_total)))
    totals.append(row(left=w["terms"], size=0.9, gap=1.0))
    footer = [Row(rule="line", gap=1.0)]
    bank = f"{w['bank']} · {w['iban']}: {group4(data.iban)}" if data.iban else w["bank"]
    footer.append(row(left=bank, size=0.8))
    if data.seller_vat:
        footer.append(row(left=f"{w['vat']}: {data.seller_vat}", size=0.8))
    if pages == 1:
        sheets_rows = [head + [table_head] + lines + totals + footer]
    else:
        first = head + [table_head] + lines[:-1] + [Row(rule="line"),
                                                     row(left=w["carry"], right=fmt(sum(
                                                         (i.amount for i in data.items[:-1]), Decimal("0.00"))))]
        second = [row(left=data.seller_name, size=1.2, bold=True),
                  row(left=f"{w['number']}: {data.number}", size=0.9), table_head, lines[-1]] + totals + footer
        sheets_rows = [first, second]
    sheets = []
    for n, rows in enumerate(sheets_rows, 1):
        rows = rows + [row(right=w["page"].format(n=n, m=len(sheets_rows)), size=0.8, gap=0.5)]
        sheets.append(Sheet(210.0, 20.0, 10.0, family, rows, height_mm=297.0, top_mm=18.0, line_factor=1.45))
    return sheets


# ---------------------------------------------------------------------------------------- writing


@dataclass
class GeneratedDocument:
    """A document written by this module and the values a perfect reader returns for it."""

    path: Path
    doc_type: str
    locale: str
    expected: dict[str, object]
    notes: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def write_receipt_image(data: ReceiptData, rng: random.Random, path: Path, fmt: str = "JPEG",
                        strength: float = 1.0) -> None:
    sheet = receipt_sheet(data, rng)
    clean = draw_sheet(sheet, dpi=rng.choice([203, 240, 300]))
    scanned = scan(clean, rng, strength)
    if fmt == "JPEG":
        scanned.save(path, "JPEG", quality=rng.randint(55, 85), optimize=True)
    elif fmt == "WEBP":
        scanned.save(path, "WEBP", quality=70, method=6)
    else:
        raise ValueError(f"unknown image format {fmt!r}")


def generate_receipts(n: int, seed: int, out_dir: Path, locales: Sequence[str] | None = None) -> list[GeneratedDocument]:
    """Write `n` varied scanned receipts (JPEG) with labels in the SROIE layout; return what was written."""
    rng = random.Random(seed)
    codes = list(locales or LOCALES)
    images, labels = out_dir / "images", out_dir / "labels"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n):
        locale = codes[i % len(codes)]
        doc_rng = random.Random(rng.getrandbits(64))
        data = make_receipt(doc_rng, locale)
        ident = f"synth-{seed}-{i:04d}-{locale}"
        path = images / f"{ident}.jpg"
        write_receipt_image(data, doc_rng, path, "JPEG", strength=doc_rng.uniform(0.6, 1.3))
        expected = data.expected()
        label = {"id": ident, "locale": locale, "kind": data.kind,
                 "fields": {"company": expected["merchant_name"], "date": expected["date"],
                            "address": expected["merchant_address"], "total": expected["total"]},
                 "expected": expected}
        (labels / f"{ident}.json").write_text(json.dumps(label, ensure_ascii=False, indent=1) + "\n", "utf-8")
        written.append(GeneratedDocument(path, "receipt", locale, expected))
    return written


def _write_expected(doc: GeneratedDocument, out: Path, seed: int) -> None:
    EXPECTED_DIR.mkdir(exist_ok=True)
    payload = {"file": doc.path.name, "doc_type": doc.doc_type, "locale": doc.locale, "origin": doc.notes,
               "seed": seed, **doc.extra, "document": doc.expected}
    (out / f"{doc.path.name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", "utf-8")


def generate_samples(out_dir: Path = SAMPLES_DIR, seed: int = 2026) -> list[GeneratedDocument]:
    """Write the committed sample set into `out_dir` and its expected values into `out_dir/expected`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected_dir = out_dir / "expected"
    expected_dir.mkdir(exist_ok=True)
    docs: list[GeneratedDocument] = []

    def rng_for(name: str) -> random.Random:
        return random.Random(f"{seed}:{name}")

    plan = [("receipt_my_hardware.jpg", "ms-MY", "hardware", "JPEG", "scanned till receipt, RM, SST, rounding"),
            ("receipt_de_bakery.png", "de-DE", "cafe", "PNG", "German bakery e-receipt (clean render), decimal commas, 7 %/19 % VAT"),
            ("receipt_us_diner.jpg", "en-US", "restaurant", "JPEG", "US diner check, month-first date, tip"),
            ("receipt_fr_brasserie.webp", "fr-FR", "restaurant", "WEBP", "French brasserie ticket, TVA 10 %/20 %"),
            ("receipt_ch_grocery.jpg", "de-CH", "grocery", "JPEG", "Swiss shop receipt, CHF, 0.05 cash rounding")]
    for name, locale, kind, fmt, notes in plan:
        rng = rng_for(name)
        data = make_receipt(rng, locale, kind)
        if name == "receipt_us_diner.jpg":
            data = _ensure(rng, locale, kind, lambda d: d.tip is not None and d.discount is None)
        if name == "receipt_de_bakery.png":
            data = _ensure(rng, locale, kind, lambda d: len(d.tax_rows) == 2)
        if name == "receipt_ch_grocery.jpg":
            data = _ensure(rng, locale, kind, lambda d: d.rounding is not None and d.rounding != 0)
        path = out_dir / name
        if fmt == "PNG":
            # a PNG receipt is usually an e-receipt or screenshot: clean pixels, few grey levels
            draw_sheet(receipt_sheet(data, rng), dpi=200).quantize(8).save(path, "PNG", optimize=True)
        else:
            write_receipt_image(data, rng, path, fmt, strength=0.8)
        docs.append(GeneratedDocument(path, "receipt", locale, data.expected(), notes))

    rng = rng_for("receipt_gb_photo.jpg")
    data = _ensure(rng, "en-GB", "grocery", lambda d: d.discount is not None)
    clean = draw_sheet(receipt_sheet(data, rng), dpi=220)
    path = out_dir / "receipt_gb_photo.jpg"
    save_jpeg_with_orientation(photograph(clean, rng), path, orientation=6, quality=80)
    docs.append(GeneratedDocument(path, "receipt", "en-GB", data.expected(),
                                  "phone photo of a UK receipt with a discount; pixels stored sideways, EXIF "
                                  "Orientation 6 turns it upright", {"exif_orientation": 6}))

    rng = rng_for("invoice_de_scan_2pages.pdf")
    invoice = _two_rate_invoice(rng, "de-DE", 7)
    pdf = new_pdf()
    for sheet in invoice_sheets(invoice, rng, pages=2):
        page = scan(draw_sheet(sheet, dpi=150), rng, strength=0.4).resize((1240, 1754))
        buffer = io.BytesIO()
        page.save(buffer, "JPEG", quality=70)
        pdf.add_page()
        pdf.image(buffer, x=0, y=0, w=210, h=297)
    path = out_dir / "invoice_de_scan_2pages.pdf"
    pdf.output(str(path))
    docs.append(GeneratedDocument(path, "invoice", "de-DE", invoice.expected(),
                                  "scanned German invoice, two image-only pages: header on page 1, totals on page 2"))

    rng = rng_for("invoice_gb_text.pdf")
    invoice = _two_rate_invoice(rng, "en-GB", 4)
    pdf = new_pdf()
    for sheet in invoice_sheets(invoice, rng):
        draw_pdf_page(pdf, sheet)
    path = out_dir / "invoice_gb_text.pdf"
    pdf.output(str(path))
    docs.append(GeneratedDocument(path, "invoice", "en-GB", invoice.expected(),
                                  "UK invoice with a text layer (no OCR needed), VAT 20 %/5 %"))

    rng = rng_for("invoice_fr_fax.tiff")
    invoice = make_invoice(rng, "fr-FR", item_count=6)
    pages = [scan(draw_sheet(sheet, dpi=200), rng, strength=0.3).resize((1654, 2339))
             .point(lambda v: 255 if v > 150 else 0).convert("1") for sheet in invoice_sheets(invoice, rng, pages=2)]
    path = out_dir / "invoice_fr_fax.tiff"
    pages[0].save(path, "TIFF", compression="group4", save_all=True, append_images=pages[1:], dpi=(200, 200))
    docs.append(GeneratedDocument(path, "invoice", "fr-FR", invoice.expected(),
                                  "French invoice as a two-page black-and-white fax TIFF (CCITT G4)"))

    for doc in docs:
        _write_expected(doc, expected_dir, seed)
    docs.extend(copy_zugferd(out_dir))
    return docs


def _ensure(rng: random.Random, locale: str, kind: str, wanted: Callable[[ReceiptData], bool]) -> ReceiptData:
    while True:
        data = make_receipt(rng, locale, kind)
        if wanted(data):
            return data


def _two_rate_invoice(rng: random.Random, locale: str, item_count: int) -> InvoiceData:
    while True:
        data = make_invoice(rng, locale, item_count)
        if len(data.tax_rows) == 2:
            return data


def copy_zugferd(out_dir: Path) -> list[GeneratedDocument]:
    """Copy the chosen real ZUGFeRD PDFs and write their expected values from the corpus labels."""
    if not ZUGFERD_DIR.is_dir():
        print(f"skipped the ZUGFeRD samples: {ZUGFERD_DIR} is not present", file=sys.stderr)
        return []
    docs = []
    for stem in ZUGFERD_SAMPLES:
        label = json.loads((ZUGFERD_DIR / "labels" / f"{stem}.json").read_text("utf-8"))
        path = out_dir / f"zugferd_{stem.split('__')[-1]}.pdf"
        shutil.copyfile(ZUGFERD_DIR / "pdfs" / f"{stem}.pdf", path)
        doc = GeneratedDocument(path, "invoice", "de-DE", zugferd_expected(label["fields"]),
                                f"ZUGFeRD corpus ({label['source']}), Apache-2.0", {"source": label["source"]})
        _write_expected(doc, out_dir / "expected", 0)
        docs.append(doc)
    return docs


def zugferd_expected(fields: dict) -> dict[str, object]:
    """The invoice values the embedded XML carries, from a zugferd-dev label."""

    def party(p: dict) -> dict[str, object]:
        a = p.get("address") or {}
        parts = [a.get("line1"), a.get("line2"), " ".join(x for x in (a.get("postcode"), a.get("city")) if x),
                 a.get("country")]
        return {"name": p.get("name"), "address": ", ".join(x for x in parts if x) or None, "vat_id": p.get("vat_id")}

    def iso(text: str | None) -> str | None:
        return None if not text else f"{text[:4]}-{text[4:6]}-{text[6:8]}"

    totals = fields["totals"]
    return {
        "kind": "credit_note" if fields.get("type_code") == "381" else "invoice",
        "invoice_number": fields["invoice_number"],
        "issue_date": iso(fields.get("issue_date")),
        "due_date": iso(fields.get("due_date")),
        "currency": fields.get("currency"),
        "seller": party(fields["seller"]),
        "buyer": party(fields["buyer"]),
        "net_total": totals.get("tax_basis_total"),
        "tax_total": totals.get("tax_total"),
        "grand_total": totals.get("grand_total"),
        "amount_due": totals.get("due_payable"),
        "tax_lines": [{"rate": t.get("rate_percent"), "base": t.get("basis"), "amount": t.get("tax")}
                      for t in fields.get("tax_breakdown", [])],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the samples folder)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--receipts", type=int, default=0,
                        help="write this many benchmark receipts (SROIE layout) instead of the sample set")
    args = parser.parse_args(argv)
    if args.receipts:
        out = args.out or Path("synthetic-receipts")
        docs = generate_receipts(args.receipts, args.seed, out)
        print(f"wrote {len(docs)} receipts under {out}")
    else:
        docs = generate_samples(args.out or SAMPLES_DIR, args.seed)
        for doc in docs:
            print(f"{doc.path.name}  {doc.path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
