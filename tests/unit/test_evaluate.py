"""Evaluation: SROIE normalisation, calibration figures, the folder dispatcher and its output files."""

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from schemas import Extracted, Receipt, SourceDocument
from workbench.config import Settings
from workbench.errors import InputError
from workbench.evaluate import evaluate_folder
from workbench.evaluate.calibration import calibration
from workbench.evaluate.sroie import is_right, receipt_labels


@pytest.mark.parametrize(
    ("field", "predicted", "expected", "right"),
    [
        ("total", Decimal("9.00"), "9.00", True),
        ("total", Decimal("9.00"), "RM9.00", True),
        ("total", Decimal("9.10"), "9.00", False),
        ("date", dt.date(2018, 12, 25), "25/12/2018", True),
        ("date", dt.date(2018, 6, 3), "03 JUN 18", True),
        ("date", dt.date(2018, 3, 6), "03/06/2018", False),
        ("company", "99 Speed Mart S/B", "99 SPEED MART S/B", True),
        ("address", "NO.53 55,57 & 59, JALAN SAGU 18", "NO.53 55 57 & 59 JALAN SAGU 18", True),
        ("company", "BOOK TA K", "BOOK TA .K SDN BHD", False),
        ("company", None, "X", False),
    ],
)
def test_sroie_normalisation(field: str, predicted: object, expected: str, right: bool) -> None:
    assert is_right(field, predicted, expected) is right


def test_calibration_figures() -> None:
    cal = calibration([0.95, 0.95, 0.95, 0.95, 0.5, 0.5], [True, True, True, False, True, False])
    assert cal.coverage_above == pytest.approx(4 / 6)
    assert cal.precision_above == pytest.approx(0.75)
    # bin 0.9-1.0: |0.95 - 0.75| * 4/6; bin 0.5-0.6: |0.5 - 0.5| * 2/6
    assert cal.ece == pytest.approx(0.2 * 4 / 6)


def test_calibration_of_nothing() -> None:
    assert calibration([], []).n == 0


class FixedEngine:
    """An engine that returns the same receipt for every document."""

    name = "fixed"

    def read(self, source: SourceDocument, doc_type: str) -> Receipt:
        return Receipt(
            merchant_name=Extracted(value="ACME SDN BHD", confidence=0.95),
            date=Extracted(value=dt.date(2018, 12, 25), confidence=0.99),
            total=Extracted(value=Decimal("9.00"), confidence=0.97),
        )


def test_evaluate_sroie_layout_writes_diagram_and_misses(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    labels = {
        "A1": {"company": "ACME SDN. BHD.", "date": "25/12/2018", "address": "1 JALAN X", "total": "9.00"},
        "A2": {"company": "OTHER", "date": "26/12/2018", "address": "", "total": "RM9.00"},
    }
    for name, fields in labels.items():
        Image.new("RGB", (60, 80), "white").save(folder / "images" / f"{name}.jpg")
        (folder / "labels" / f"{name}.json").write_text(json.dumps({"fields": fields, "ocr_lines": []}))
    out = tmp_path / "out"
    report = evaluate_folder(folder, FixedEngine(), out, Settings(db=tmp_path / "db.sqlite"))
    assert "total" in report and "100.00%" in report
    assert "company" in report and "50.00%" in report
    assert (out / "reliability.png").stat().st_size > 1000
    with (out / "misses.csv").open() as handle:
        misses = list(csv.DictReader(handle))
    assert {(m["file"], m["field"]) for m in misses} == {("A1.jpg", "address"), ("A2.jpg", "company"),
                                                       ("A2.jpg", "date")}


def test_evaluate_rejects_an_unlabelled_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="labelled folder"):
        evaluate_folder(tmp_path, FixedEngine(), tmp_path / "out", Settings(db=tmp_path / "db.sqlite"))


def test_wildreceipt_labels_read_into_the_receipt_names() -> None:
    labels = receipt_labels({"Store_name_value": "Vihar | VegetarianRestaurant", "Store_addr_value": "NearHeadPost",
                             "Date_value": "06/01/2018", "Total_value": "$19.95 | TOTAL", "Time_value": "04:53PM"})
    assert labels["company"] == "Vihar | VegetarianRestaurant" and labels["total"] == "$19.95"
    assert is_right("company", "VIHAR Vegetarian Restaurant", labels["company"], labels["date_reading"])
    # Box order is not printed order; a name's part alone names the merchant, an address needs all its parts.
    assert is_right("company", "Vegetarian Restaurant Vihar", labels["company"])
    assert is_right("company", "Vegetarian Restaurant", labels["company"])
    assert not is_right("company", "Vihar Restaurant", labels["company"])
    assert is_right("address", "Panaji Goa, Near Head Post", "NearHeadPost | PanajiGoa")
    assert not is_right("address", "Panaji Goa", "NearHeadPost | PanajiGoa")
    assert is_right("total", Decimal("19.95"), labels["total"])
    # A date printed with numbers only may be read either way from the label alone; other dates may not.
    assert is_right("date", dt.date(2018, 6, 1), labels["date"], labels["date_reading"])
    assert is_right("date", dt.date(2018, 1, 6), labels["date"], labels["date_reading"])
    assert not is_right("date", dt.date(2018, 1, 7), labels["date"], labels["date_reading"])
    assert not is_right("date", dt.date(2018, 6, 1), "06/01/2018")  # SROIE labels are day-first


def test_sroie_labels_pass_through() -> None:
    labels = receipt_labels({"company": "A SDN BHD", "date": "25/12/2018", "address": "JALAN 1", "total": "9.00"})
    assert labels == {"company": "A SDN BHD", "date": "25/12/2018", "address": "JALAN 1", "total": "9.00",
                      "date_reading": "day_first"}


def test_evaluate_wildreceipt_layout(tmp_path: Path) -> None:
    folder = tmp_path / "wild"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    fields = {"Store_name_value": "ACME | SDNBHD", "Date_value": "12/25/2018", "Total_value": "$9.00 | 9.00"}
    Image.new("RGB", (60, 80), "white").save(folder / "images" / "Image_1.jpeg")
    (folder / "labels" / "Image_1.json").write_text(json.dumps({"fields": fields, "boxes": []}))
    report = evaluate_folder(folder, FixedEngine(), tmp_path / "out", Settings(db=tmp_path / "db.sqlite"))
    assert "Receipt evaluation" in report and "OCR" not in report
    for name in ("company", "date", "total"):
        assert next(line for line in report.splitlines() if line.strip().startswith(name)).strip().endswith("(1/1)")
    assert not any(line.strip().startswith("address") for line in report.splitlines())  # no address labelled
