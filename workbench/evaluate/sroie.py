"""Score receipts against labelled folders (images/ + labels/): SROIE's labels or WildReceipt's.

Normalisation (../shared/data/README.md): `total` compared as a decimal number, `date` as a calendar date
(day first, as the Malaysian receipts print it), `company` and `address` as upper-case text with
punctuation and spaces removed. A label that is empty is not scored (X51005433522 has no total).
WildReceipt labels (`fields` with `Store_name_value`, `Store_addr_value`, `Date_value`, `Total_value`,
parts joined by " | ") are read into the same four names; their spaces were removed by the dataset, which
the normalisation ignores anyway; names and addresses of several parts match in any order of the parts,
and a name also by one part alone (`text_variants`). A WildReceipt date printed with numbers only (`06/01/2018`: mostly US
receipts, some from elsewhere) counts as right in either reading, since the label alone cannot say which.
Results from the SROIE data: CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and
Information Extraction (Huang et al., ICDAR 2019).
"""

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import permutations
from pathlib import Path

from schemas import Receipt
from workbench.config import Settings
from workbench.engines.base import Engine
from workbench.errors import InputError, WorkbenchError
from workbench.evaluate.calibration import calibration, reliability_diagram
from workbench.extract.features import normalise
from workbench.extract.parsers import find_amounts, find_dates

FIELD_MAP = {"company": "merchant_name", "date": "date", "address": "merchant_address", "total": "total"}
"""SROIE label name → Receipt field name."""


def label_total(text: str) -> Decimal | None:
    amounts = find_amounts(text, require_cents=False)
    return amounts[0][0] if amounts else None


EITHER_READING = "either"
"""`date_reading` of labels whose numeric dates may be day-first or month-first (WildReceipt)."""


def label_dates(text: str, reading: str = "day_first") -> set[dt.date]:
    """The calendar dates a label's date text may mean: day-first, or both readings for EITHER_READING."""
    readings = (True, False) if reading == EITHER_READING else (True,)
    found = set()
    for day_first in readings:
        dates = find_dates(text, day_first=day_first)
        if dates:
            found.add(dates[0][0])
    return found


def label_date(text: str) -> dt.date | None:
    dates = find_dates(text, day_first=True)
    return dates[0][0] if dates else None


def is_right(label_field: str, predicted: object, expected: str, date_reading: str = "day_first") -> bool:
    """Whether a predicted value equals the label after the SROIE normalisation."""
    if predicted is None:
        return False
    if label_field == "total":
        want = label_total(expected)
        return want is not None and Decimal(str(predicted)) == want
    if label_field == "date":
        return predicted in label_dates(expected, date_reading)
    return normalise(str(predicted)) in text_variants(label_field, expected)


MAX_ORDERED_PARTS = 4
"""Labels of up to this many parts are compared in every order of their parts."""


def text_variants(label_field: str, expected: str) -> set[str]:
    """The normalised readings a name or address label allows.

    A SROIE label is one text. A WildReceipt label lists its boxes (" | "), in the dataset's box order, which
    is not always the printed order ("FISHHOUSE | LURE" for LURE FISH HOUSE): every order of the parts counts,
    and for a merchant name each part alone too (a logo line and a legal name, a name and its branch line:
    either names the merchant).
    """
    parts = [normalise(part) for part in expected.split("|") if normalise(part)]
    if len(parts) <= 1:
        return {normalise(expected)}
    orders = permutations(parts) if len(parts) <= MAX_ORDERED_PARTS else [parts]
    variants = {"".join(order) for order in orders}
    if label_field == "company":
        variants |= set(parts)
    return variants


def _first_part(text: str | None, test) -> str:
    """The first " | "-separated part of a WildReceipt label that passes `test`, else ""."""
    for part in (text or "").split("|"):
        if part.strip() and test(part.strip()):
            return part.strip()
    return ""


def receipt_labels(fields: dict[str, str]) -> dict[str, str]:
    """`company`, `date`, `address`, `total` and `date_reading` from SROIE or WildReceipt label fields."""
    if "Store_name_value" not in fields and "Total_value" not in fields:
        return {**{k: fields.get(k) or "" for k in FIELD_MAP}, "date_reading": "day_first"}
    return {
        "company": (fields.get("Store_name_value") or "").strip(),
        "address": (fields.get("Store_addr_value") or "").strip(),
        "date": _first_part(fields.get("Date_value"), lambda p: bool(label_dates(p, EITHER_READING))),
        "total": _first_part(fields.get("Total_value"), lambda p: label_total(p) is not None),
        "date_reading": EITHER_READING,
    }


@dataclass
class Score:
    """Per-field outcomes of an evaluation: (file, field, predicted, expected, confidence, right)."""

    rows: list[tuple[str, str, str, str, float, bool]] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, receipt: Receipt, labels: dict[str, str]) -> None:
        for label_field, attr in FIELD_MAP.items():
            expected = (labels.get(label_field) or "").strip()
            if not expected:
                continue
            extracted = getattr(receipt, attr)
            right = is_right(label_field, extracted.value, expected, labels.get("date_reading", "day_first"))
            predicted = "" if extracted.value is None else str(extracted.value)
            self.rows.append((name, label_field, predicted, expected, float(extracted.confidence), right))

    def report(self, title: str, out_dir: Path | None) -> str:
        lines = [title]
        files = len({r[0] for r in self.rows})
        for label_field in FIELD_MAP:
            outcomes = [r[5] for r in self.rows if r[1] == label_field]
            if outcomes:
                lines.append(f"  {label_field:<8} {sum(outcomes) / len(outcomes):7.2%}  ({sum(outcomes)}/{len(outcomes)})")
        cal = calibration([r[4] for r in self.rows], [r[5] for r in self.rows])
        lines.append("  " + cal.text())
        if self.seconds:
            lines.append(f"  {files} receipts in {self.seconds:.1f} s ({files / self.seconds:.2f} receipts/s)")
        for name, message in self.errors:
            lines.append(f"  error: {name}: {message}")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            diagram = reliability_diagram([r[4] for r in self.rows], [r[5] for r in self.rows],
                                          out_dir / "reliability.png", "Receipt field confidence")
            misses = out_dir / "misses.csv"
            with misses.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["file", "field", "predicted", "expected", "confidence"])
                for name, label_field, predicted, expected, confidence, right in self.rows:
                    if not right:
                        writer.writerow([name, label_field, predicted, expected, f"{confidence:.4f}"])
            lines.append(f"  reliability diagram: {diagram}")
            lines.append(f"  misses: {misses}")
        return "\n".join(lines)


def read_labels(path: Path) -> dict[str, str]:
    """The four scored fields of one SROIE or WildReceipt label file (`receipt_labels`)."""
    try:
        return receipt_labels(json.loads(path.read_text(encoding="utf-8"))["fields"])
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise InputError(str(path), f"not a readable receipt label file ({error})") from error


def evaluate_sroie(folder: Path, engine: Engine, out_dir: Path, settings: Settings) -> str:
    """Run `engine` on every image under folder/images, score it against folder/labels, write the figures."""
    from workbench.ingest import load_path

    images = sorted(p for p in (folder / "images").iterdir() if p.is_file())
    score = Score()
    started = time.perf_counter()
    for image in images:
        label_file = folder / "labels" / f"{image.stem}.json"
        if not label_file.exists():
            continue
        labels = read_labels(label_file)
        try:
            document = engine.read(load_path(image, settings), "receipt")
        except WorkbenchError as error:  # one unreadable receipt is reported and scored as all-wrong
            score.errors.append((image.name, str(error)))
            document = Receipt()
        if not isinstance(document, Receipt):
            score.errors.append((image.name, f"the engine returned a {type(document).__name__}, not a receipt"))
            document = Receipt()
        score.add(image.name, document, labels)
    score.seconds = time.perf_counter() - started
    return score.report(f"Receipt evaluation of {folder} with engine {engine.name!r}", out_dir)
