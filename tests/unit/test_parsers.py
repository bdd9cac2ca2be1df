"""Unit tests of the amount, date, time and currency parsers shared by the extractors."""

import datetime as dt
from decimal import Decimal

import pytest

from workbench.extract.parsers import (
    detect_currency,
    find_amounts,
    find_currencies,
    find_dates,
    find_times,
    parse_amount,
    parse_date,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("RM 9.00", "9.00"),
        ("RM9.00", "9.00"),
        ("€9,00", "9.00"),
        ("9,00 €", "9.00"),
        ("9.00-", "-9.00"),
        ("-3,20 EUR", "-3.20"),
        ("(4.50)", "-4.50"),
        ("$1,000,000.00", "1000000.00"),
        ("12", "12"),
        (".50", "0.50"),
        ("TOTAL: 12.50", "12.50"),
    ],
)
def test_parse_amount_reads_one_amount(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "TOTAL", "12.50 3.00", "abc"])
def test_parse_amount_refuses_none_or_several(text: str) -> None:
    assert parse_amount(text) is None


def test_find_amounts_spans_and_cents_rule() -> None:
    text = "2 x 10.00  20.00"
    amounts = find_amounts(text)
    assert [value for value, _ in amounts] == [Decimal("10.00"), Decimal("20.00")]
    start, end = amounts[1][1]
    assert text[start:end] == "20.00"
    assert [v for v, _ in find_amounts("Qty 2 Year 2018", require_cents=False)] == [Decimal(2), Decimal(2018)]
    assert find_amounts("Qty 2 Year 2018") == []


def test_find_amounts_keeps_space_grouping_only_with_cents() -> None:
    assert [v for v, _ in find_amounts("2 100")] == []
    assert [v for v, _ in find_amounts("Summe 1 234,56")] == [Decimal("1234.56")]


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("25/12/2018", True, dt.date(2018, 12, 25)),
        ("05/06/2018", True, dt.date(2018, 6, 5)),
        ("05/06/2018", False, dt.date(2018, 5, 6)),
        ("12/25/2018", True, dt.date(2018, 12, 25)),
        ("03 JUN 18", True, dt.date(2018, 6, 3)),
        ("01/APR/2017", True, dt.date(2017, 4, 1)),
        ("14/03/20185:57:07PM", True, dt.date(2018, 3, 14)),
        ("Mar 14, 2018", False, dt.date(2018, 3, 14)),
        ("December 5th 2019", False, dt.date(2019, 12, 5)),
        ("14. März 2018", True, dt.date(2018, 3, 14)),
        ("14 MRZ 2018", True, dt.date(2018, 3, 14)),
        ("3 déc. 2019", True, dt.date(2019, 12, 3)),
        ("3 ene. 2019", True, dt.date(2019, 1, 3)),
        ("02 Ogos 2017", True, dt.date(2017, 8, 2)),
        ("15 Dis 2017", True, dt.date(2017, 12, 15)),
        ("2018-12-25", False, dt.date(2018, 12, 25)),
        ("14.03.18 12:30", True, dt.date(2018, 3, 14)),
        ("DATE 26-03-2018", True, dt.date(2018, 3, 26)),
        ("16/03/2018(FRI)", True, dt.date(2018, 3, 16)),
        ("Datum: 01.02.2019 Uhrzeit", True, dt.date(2019, 2, 1)),
    ],
)
def test_parse_date_formats(text: str, day_first: bool, expected: dt.date) -> None:
    assert parse_date(text, day_first=day_first) == expected


@pytest.mark.parametrize("text", ["", "TOTAL 12.50", "32/13/2018", "Tel 03-7865 2118", "99/99/99"])
def test_parse_date_refuses_non_dates(text: str) -> None:
    assert parse_date(text) is None


def test_find_dates_returns_spans_left_to_right() -> None:
    text = "From 01/02/2019 to 2019-03-04"
    dates = find_dates(text)
    assert [value for value, _ in dates] == [dt.date(2019, 2, 1), dt.date(2019, 3, 4)]
    start, end = dates[1][1]
    assert text[start:end] == "2019-03-04"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/03/20185:57:07PM", ["17:57:07"]),
        ("Time: 13:45", ["13:45"]),
        ("12:30 am", ["00:30"]),
        ("TOTAL 12.50", []),
        ("25:61", []),
    ],
)
def test_find_times(text: str, expected: list[str]) -> None:
    assert [value for value, _ in find_times(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RM 9.00", "MYR"),
        ("TOTAL RM9.00", "MYR"),
        ("Summe 12,00 €", "EUR"),
        ("Total EUR 12", "EUR"),
        ("US$ 4.00", "USD"),
        ("$5.00", "USD"),
        ("S$ 5.00", "SGD"),
        ("£3.20", "GBP"),
        ("CHF 3.50", "CHF"),
        ("ROOM 12", None),
        ("NORMAL TEXT", None),
    ],
)
def test_detect_currency(text: str, expected: str | None) -> None:
    assert detect_currency(text) == expected


def test_detect_currency_prefers_the_most_frequent() -> None:
    assert detect_currency("$ 1.00 EUR 2.00 EUR 3.00") == "EUR"
    assert [code for code, _ in find_currencies("€1 and £2")] == ["EUR", "GBP"]
