"""Print an engine's per-field accuracy on freshly generated synthetic receipts from six locales.

    python -m bench.synthetic_locales                     # 200 receipts, seed 3, the "ocr" engine
    python -m bench.synthetic_locales -n 60 --seed 7 --out /tmp/synth --misses /tmp/synth/misses.csv

Receipts come from `samples/generate.py` (`generate_receipts`): MY, DE, FR, US, GB and CH layouts with
decimal commas, month-first dates, VAT at several rates, tips, discounts and rounding, scanned and
compressed. Each field is compared after normalisation: amounts as decimals, dates as dates, names and
addresses upper-case without punctuation or spaces (as `../shared/data/README.md` scores SROIE).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType

from schemas import Receipt
from workbench.config import Settings
from workbench.engines import create_engine
from workbench.ocr import describe
from workbench.pipeline import process_path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"total": 0.98, "date": 0.98, "merchant_name": 0.90}
FIELDS = ("total", "date", "merchant_name", "currency", "merchant_address", "subtotal", "tax_total", "tip",
          "discount", "rounding", "time", "receipt_number", "merchant_phone", "merchant_tax_id")


def load_generator() -> ModuleType:
    """samples/generate.py as a module (samples/ is a folder of files, not an installed package)."""
    spec = importlib.util.spec_from_file_location("samples_generate", REPO / "samples" / "generate.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {REPO / 'samples' / 'generate.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _text(value: object) -> str:
    return re.sub(r"[\W_]+", "", str(value).upper())


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


NORMALISE: dict[str, Callable[[object], object]] = {
    "total": _amount, "subtotal": _amount, "tax_total": _amount, "tip": _amount, "discount": _amount,
    "rounding": _amount, "date": _date, "time": lambda v: str(v)[:5], "currency": str,
}


def same(field: str, predicted: object, expected: object) -> bool:
    """Whether a predicted value equals the expected one after the field's normalisation."""
    if predicted is None or expected is None:
        return predicted is None and expected is None
    normalise = NORMALISE.get(field, _text)
    return normalise(predicted) == normalise(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=200, help="number of receipts (default 200)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--engine", default="ocr")
    parser.add_argument("--out", type=Path, default=None, help="keep the generated receipts in this folder")
    parser.add_argument("--misses", type=Path, default=None, help="write the misses to this CSV file")
    args = parser.parse_args(argv)

    generator = load_generator()
    settings = Settings()
    engine = create_engine(args.engine, settings)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        started = time.perf_counter()
        documents = generator.generate_receipts(args.n, args.seed, out)
        generated = time.perf_counter()
        print(f"generated {len(documents)} receipts in {generated - started:.1f} s under {out}", file=sys.stderr)
        right: dict[str, int] = defaultdict(int)
        present: dict[str, int] = defaultdict(int)
        spurious: dict[str, int] = defaultdict(int)
        by_locale: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        misses: list[dict[str, str]] = []
        failures = 0
        for number, doc in enumerate(documents, 1):
            result, _ = process_path(doc.path, engine, settings, doc_type="receipt")
            if result.error is not None or not isinstance(result.document, Receipt):
                failures += 1
                print(f"{doc.path.name}: {result.error}", file=sys.stderr)
                predicted: dict[str, object] = {}
            else:
                predicted = {name: getattr(result.document, name).value for name in FIELDS}
            for name in FIELDS:
                expected = doc.expected.get(name)
                ok = same(name, predicted.get(name), expected)
                if expected is None:
                    spurious[name] += predicted.get(name) is not None
                    continue
                present[name] += 1
                right[name] += ok
                if name in TARGETS:
                    by_locale[(doc.locale, name)][0] += ok
                    by_locale[(doc.locale, name)][1] += 1
                if not ok:
                    misses.append({"file": doc.path.name, "locale": doc.locale, "field": name,
                                   "expected": str(expected), "predicted": str(predicted.get(name))})
            if number % 20 == 0:
                print(f"  {number}/{len(documents)}", file=sys.stderr)
        elapsed = time.perf_counter() - generated

    if args.engine == "ocr":
        print(describe(settings))
    print(f"engine {args.engine}: {len(documents)} synthetic receipts (seed {args.seed}), "
          f"{len(documents) / elapsed:.2f} receipts/s, {failures} unreadable")
    print(f"{'field':<18}{'accuracy':>9}{'right':>7}{'of':>5}{'spurious':>10}  target")
    for name in FIELDS:
        if present[name] == 0:
            continue
        accuracy = right[name] / present[name]
        target = TARGETS.get(name)
        verdict = "" if target is None else f"≥ {target:.0%} {'met' if accuracy >= target else 'MISSED'}"
        print(f"{name:<18}{accuracy:>9.1%}{right[name]:>7}{present[name]:>5}{spurious[name]:>10}  {verdict}")
    locales = sorted({locale for locale, _ in by_locale})
    print("\nper locale " + "".join(f"{name:>15}" for name in TARGETS))
    for locale in locales:
        cells = []
        for name in TARGETS:
            ok, total = by_locale[(locale, name)]
            cells.append(f"{ok / total:>9.0%} {ok:>2}/{total:<2}" if total else f"{'-':>15}")
        print(f"{locale:<11}" + "".join(cells))
    if args.misses is not None:
        args.misses.parent.mkdir(parents=True, exist_ok=True)
        with args.misses.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["file", "locale", "field", "expected", "predicted"])
            writer.writeheader()
            writer.writerows(misses)
        print(f"\nmisses written to {args.misses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
