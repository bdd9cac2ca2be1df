"""Values as people type them: amounts with the locale's decimal comma, day-first dates, and errors in plain words.

Which locale a typed value is read in follows the document: the country of its supplier's VAT or tax id, then
the places its currency is used (babel's territory data, the most common decimal mark first), then the
`WORKBENCH_LOCALE` setting, then plain `1234.56` and ISO dates. A value is read in the first of these that
reads it strictly (babel checks grouping, so `13.5` is not read as 135 in German).
"""

import datetime as dt
import functools
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date
from babel.dates import parse_date as babel_parse_date
from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, get_territory_currencies
from babel.numbers import parse_decimal
from pydantic import ValidationError

from schemas import Invoice, Receipt
from workbench.errors import WorkbenchError

FALLBACK_LOCALE = "en_US"


class InvalidValueError(WorkbenchError):
    """A typed value does not fit its field (a bad date, an amount that is not a number)."""

    exit_code = 2


def _locale_of_territory(territory: str) -> str | None:
    try:
        return str(Locale.parse(f"und_{territory}"))
    except (ValueError, UnknownLocaleError):
        return None


@functools.lru_cache(maxsize=64)
def currency_locales(currency: str) -> tuple[str, ...]:
    """Locales of the places that pay in `currency` today, those writing the most common decimal mark first."""
    territories = sorted(territory for territory in get_global("territory_currencies")
                         if currency in get_territory_currencies(territory))
    locales = [name for territory in territories if (name := _locale_of_territory(territory))]
    marks = Counter(get_decimal_symbol(name) for name in locales)
    # The currency's own country (US for USD, CH for CHF) first among those writing the common mark.
    home = _locale_of_territory(currency[:2])
    ranked = sorted(locales, key=lambda name: (-marks[get_decimal_symbol(name)], name != home))
    seen: set[tuple[str, str]] = set()
    distinct = []
    for name in ranked:
        symbols = (get_decimal_symbol(name), get_group_symbol(name))
        if symbols not in seen:
            seen.add(symbols)
            distinct.append(name)
    return tuple(distinct)


def _country(document: Receipt | Invoice) -> str | None:
    tax_id = document.seller.vat_id.value if isinstance(document, Invoice) else document.merchant_tax_id.value
    prefix = (tax_id or "")[:2].upper()
    return prefix if re.fullmatch(r"[A-Z]{2}", prefix) else None


def document_locales(document: Receipt | Invoice | None, setting: str) -> list[str]:
    """The locales a value typed into `document` is tried in, most likely first."""
    names: list[str] = []
    if document is not None:
        country = _country(document)
        if country and (name := _locale_of_territory(country)):
            names.append(name)
        if document.currency.value:
            spoken = currency_locales(document.currency.value)
            # The user's own locale first when its country pays in this currency (de_DE for EUR).
            territory = Locale.parse(setting).territory
            if territory and document.currency.value in get_territory_currencies(territory):
                names.append(setting)
            names.extend(spoken)
    names += [setting, FALLBACK_LOCALE]
    return list(dict.fromkeys(names))


def _example_amount(locale: str) -> str:
    return f"1{get_group_symbol(locale)}234{get_decimal_symbol(locale)}50"


def _example_date(locale: str) -> str:
    return format_date(dt.date(2022, 9, 13), format="short", locale=locale)


def read_amount(text: str, locales: list[str], label: str) -> Decimal:
    """`text` as an amount, in the first of `locales` that reads it strictly; else InvalidValueError says how."""
    compact = text.strip().replace(" ", "").replace("\u00a0", "")
    for name in locales:
        try:
            return parse_decimal(compact, locale=name, strict=True)
        except NumberFormatError:
            continue
    raise InvalidValueError(f"{label}: {text!r} is not an amount; type digits with a decimal mark, for example"
                     f" {_example_amount(locales[0])} or 1234.50")


def read_date(text: str, locales: list[str], label: str) -> dt.date:
    """`text` as a date: ISO (2022-09-13) or in the first of `locales` that reads it (13.09.2022 in German)."""
    value = text.strip()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    if re.fullmatch(r"\d{1,4}[./\- ]\d{1,2}[./\- ]\d{1,4}", value):
        for name in locales:
            try:
                return babel_parse_date(value, locale=name, format="short")
            except (ValueError, IndexError):
                continue
    raise InvalidValueError(f"{label}: {text!r} is not a date of the calendar; type it as day, month and year such as"
                     f" {_example_date(locales[0])}, or as 2022-09-13")


def value_kind(annotation: Any) -> str:
    """What a field holds for typing purposes: "amount", "date" or "text"."""
    base = getattr(annotation, "__origin__", annotation)
    if base is Decimal:
        return "amount"
    if base is dt.date:
        return "date"
    return "text"


def read_typed(text: str, kind: str, locales: list[str], label: str) -> str:
    """A typed value normalised for its schema type: amounts as `1234.50`, dates as ISO, text as typed."""
    if kind == "amount":
        return str(read_amount(text, locales, label))
    if kind == "date":
        return read_date(text, locales, label).isoformat()
    return text


_WORDING = {
    "string_too_long": "is too long: at most {max_length} characters",
    "string_too_short": "cannot be empty",
    "string_pattern_mismatch": "does not have the form this field needs{hint}",
    "less_than_equal": "is too large: at most {le}",
    "greater_than_equal": "is too small: at least {ge}",
    "decimal_max_places": "has too many decimal places: at most {decimal_places}",
    "decimal_max_digits": "is too large for an amount",
    "decimal_whole_digits": "is too large for an amount",
    "decimal_parsing": "is not a number",
    "date_from_datetime_parsing": "is not a date; type it like 2022-09-13",
    "literal_error": "must be one of {expected}",
}
_HINTS = {"time": " (hours and minutes, such as 14:05)"}
_BY_FIELD = {"currency": "is not a currency code; type its three capital letters, such as EUR or CHF"}


def explain(error: ValidationError, labels: dict[str, str]) -> str:
    """The first problem of a schema error in words for a person: the field's label, the value, what it needs."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"] if part != "value")
    label = labels.get(path) or path.replace("_", " ").replace(".", " ")
    context = {**first.get("ctx", {})}
    context["hint"] = next((hint for key, hint in _HINTS.items() if key in path), "")
    template = _WORDING.get(first["type"])
    by_field = next((reason for key, reason in _BY_FIELD.items() if path.split(".")[-1] == key), None)
    if by_field is not None:
        reason = by_field
    elif template is None:
        reason = str(first["msg"]).removeprefix("Value error, ")
    else:
        reason = template.format_map({key: str(value) for key, value in context.items()})
    return f"{label}: {str(first.get('input'))!r} {reason}"
