"""Train the receipt model on every labelled receipt group, or measure it by cross-validation inside the groups.

    python scripts/train_receipt.py              # train on all groups, write workbench/models/receipt_model.json.gz
    python scripts/train_receipt.py --cv         # 5-fold CV figures per group (in-dataset: see bench.generalisation)
    python scripts/train_receipt.py --group sroie-train=../shared/data/sroie-train --synthetic /tmp/synth-receipts

Groups (default): `sroie-train` and `wildreceipt-dev` from ../shared/data (images/ + labels/), plus any
`--synthetic` folders of the same shape (generated receipts train, they are never scored). OCR comes from a
cache per group (`--ocr-cache`/<group>, one <ID>.json per image, made with the product's reader where
missing; SROIE's is `sroie-ocr` for the caches made before). Fixed seed, so the same data gives the same
folds and model. Training data: SROIE (CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts
OCR and Information Extraction, Huang et al.); WildReceipt (Apache-2.0, Sun et al. 2021, via MMOCR).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from workbench.evaluate.calibration import calibration  # noqa: E402
from workbench.extract.ranker import MODEL_PATH  # noqa: E402
from workbench.training import LABEL_NAMES, SEED, Example, cross_validate, fit_model, load_group  # noqa: E402

DATA = REPO.parent / "shared" / "data"
DEFAULT_GROUPS = {"sroie-train": DATA / "sroie-train", "wildreceipt-dev": DATA / "wildreceipt-dev"}
CACHE = Path(os.environ.get("RECEIPT_OCR_CACHE", Path(user_cache_dir("receipt-workbench", appauthor=False))))
LICENCES = {
    "sroie-train": "SROIE: CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and Information "
                   "Extraction (Huang et al., ICDAR 2019)",
    "wildreceipt-dev": "WildReceipt: Apache-2.0, Sun et al., Spatial Dual-Modality Graph Reasoning for Key "
                       "Information Extraction (2021), released with MMOCR",
}


def group_cache(root: Path, group: str) -> Path:
    """The OCR cache folder of a group."""
    return root / ("sroie-ocr" if group == "sroie-train" else f"{group}-ocr")


def load_groups(groups: dict[str, Path], cache: Path, limit: int | None = None,
                cached_only: bool = False) -> dict[str, list[Example]]:
    """Each named group's analysed examples; a group whose folder is missing is reported and left out."""
    loaded = {}
    for group, folder in groups.items():
        if not (folder / "images").is_dir():
            print(f"{group}: {folder} has no images/ folder; left out", file=sys.stderr)
            continue
        started = time.perf_counter()
        loaded[group] = load_group(folder, group_cache(cache, group), group, limit, cached_only)
        print(f"{group}: {len(loaded[group])} receipts analysed in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    return loaded


def cv_report(groups: dict[str, list[Example]], folds: int) -> str:
    examples = [ex for group in groups.values() for ex in group]
    outcomes = cross_validate(examples, folds)
    lines = [f"{folds}-fold cross-validation on {len(examples)} receipts of {', '.join(groups)} (seed {SEED}):"]
    for group in groups:
        lines.append(f"  {group}")
        for field, label in LABEL_NAMES.items():
            rows = [o for o in outcomes if o.group == group and o.field == field]
            if rows:
                right = sum(o.right for o in rows)
                lines.append(f"    {label:<8} {right / len(rows):7.2%}  ({right}/{len(rows)})")
        rows = [o for o in outcomes if o.group == group]
        lines.append("    " + calibration([o.confidence for o in rows], [o.right for o in rows]).text())
    lines.append("  misses:")
    lines += [f"    {o.group} {LABEL_NAMES[o.field]} {o.name}: {o.predicted} | expected {o.expected} "
              f"(conf {o.confidence:.2f})" for o in outcomes if not o.right]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", default=[], metavar="NAME=FOLDER",
                        help="a labelled group (replaces the default groups when given)")
    parser.add_argument("--synthetic", action="append", default=[], type=Path,
                        help="a folder of generated labelled receipts to train on as well")
    parser.add_argument("--ocr-cache", type=Path, default=CACHE, help="root of the per-group OCR caches")
    parser.add_argument("--cv", action="store_true", help="print cross-validation figures instead of training")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N receipts of each group")
    parser.add_argument("--cached-only", action="store_true", help="skip receipts not yet in the OCR cache")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    folders = dict(DEFAULT_GROUPS)
    if args.group:
        folders = {}
        for spec in args.group:
            name, _, folder = spec.partition("=")
            if not folder:
                parser.error(f"--group {spec!r}: expected NAME=FOLDER")
            folders[name] = Path(folder)
    folders |= {f"synthetic-{path.name}": path for path in args.synthetic}
    groups = load_groups(folders, args.ocr_cache, args.limit, args.cached_only)
    if not groups:
        parser.error("no labelled receipts found; point --group at folders with images/ and labels/")
    if args.cv:
        print(cv_report(groups, args.folds))
        return
    model = fit_model([ex for group in groups.values() for ex in group])
    model.meta |= {
        "trained_on": {group: len(examples) for group, examples in groups.items()},
        "licence": "; ".join(LICENCES[g] for g in groups if g in LICENCES) + "; generated receipts: Apache-2.0",
        "seed": SEED,
    }
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
