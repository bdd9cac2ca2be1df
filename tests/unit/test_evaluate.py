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
from workbench.evaluate.sroie import is_right


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
