"""Score receipts against SROIE-style labels (images/ + labels/) with the dataset's normalisation.

Normalisation (../shared/data/README.md): `total` compared as a decimal number, `date` as a calendar date
(day first, as the Malaysian receipts print it), `company` and `address` as upper-case text with
punctuation and spaces removed. A label that is empty is not scored (X51005433522 has no total).
Results from the SROIE data: CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and
Information Extraction (Huang et al., ICDAR 2019).
"""

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
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


def label_date(text: str) -> dt.date | None:
    dates = find_dates(text, day_first=True)
    return dates[0][0] if dates else None


def is_right(label_field: str, predicted: object, expected: str) -> bool:
    """Whether a predicted value equals the label after the SROIE normalisation."""
    if predicted is None:
        return False
    if label_field == "total":
        want = label_total(expected)
        return want is not None and Decimal(str(predicted)) == want
    if label_field == "date":
        want = label_date(expected)
        return want is not None and predicted == want
    return normalise(str(predicted)) == normalise(expected)


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
            right = is_right(label_field, extracted.value, expected)
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
                                          out_dir / "reliability.png", "Receipt field confidence (SROIE)")
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
    """The `fields` of one SROIE label file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))["fields"]
    except (OSError, ValueError, KeyError) as error:
        raise InputError(str(path), f"not a readable SROIE label file ({error})") from error


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
    return score.report(f"SROIE evaluation of {folder} with engine {engine.name!r}", out_dir)
