"""Train the receipt model from ../shared/data/sroie-train and measure it by 5-fold cross-validation.

    python scripts/train_receipt.py --cv        # 5-fold CV figures (total, date, company, address, calibration)
    python scripts/train_receipt.py             # train on all receipts, write workbench/models/receipt_model.json.gz

OCR comes from a cache of rapidocr results (`--ocr-cache`, one <ID>.json per image with
{"lines": [{"text", "score", "box": [[x, y] x4]}]}); missing entries are OCR'd with the project's reader
and written to the cache. The labels' own `ocr_lines` are never used as input. Fixed seed, so the same
data gives the same folds and model. Training data: SROIE (CC BY 4.0, ICDAR 2019 Robust Reading Challenge
on Scanned Receipts OCR and Information Extraction, Huang et al.).
"""

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
from platformdirs import user_cache_dir
from PIL import Image
from rapidfuzz import fuzz
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import KFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from schemas import PageText, TextLine  # noqa: E402
from workbench.evaluate.calibration import calibration  # noqa: E402
from workbench.evaluate.sroie import is_right, label_date, label_total  # noqa: E402
from workbench.extract.features import Candidate, address_candidates, normalise  # noqa: E402
from workbench.extract.ranker import MODEL_PATH, FieldModel, Isotonic, ReceiptModel  # noqa: E402
from workbench.extract.receipt import (  # noqa: E402
    RANKED_FIELDS,
    Analysis,
    add_merchant_features,
    analyse,
    merchant_end,
    rank,
)
from workbench.extract.receipt_lexicon import KnownMerchants, Lexicon  # noqa: E402

SEED = 20191
LABEL_NAMES = {"total": "total", "date": "date", "merchant_name": "company", "merchant_address": "address"}
RANKER_PARAMS = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 10,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "seed": SEED, "verbose": -1, "num_threads": 1, "deterministic": True, "force_row_wise": True,
    "max_bin": 63,
}
RANKER_ROUNDS = 200
# Merchant name and address: one right candidate among many per receipt, so the candidates of a receipt
# are ranked against each other (LambdaRank) rather than each scored alone.
LISTWISE_PARAMS = {**RANKER_PARAMS, "objective": "lambdarank", "lambdarank_truncation_level": 5,
                   "eval_at": [1]}
LISTWISE_FIELDS = ("merchant_name", "merchant_address")
JUDGE_PARAMS = {**RANKER_PARAMS, "num_leaves": 7, "min_data_in_leaf": 20, "learning_rate": 0.05}
JUDGE_ROUNDS = 150


@dataclass
class Example:
    """One labelled receipt: its analysis (model-free) and the label strings."""

    name: str
    analysis: Analysis
    labels: dict[str, str]
    train_addresses: list[Candidate]


def load_pages(image: Path, cache: Path) -> list[PageText]:
    """The receipt's OCR lines from the cache (OCR'd and cached when missing)."""
    with Image.open(image) as img:
        width, height = img.size
        entry = cache / f"{image.stem}.json"
        if not entry.exists():
            from workbench.config import Settings
            from workbench.ocr.rapid import RapidOcrReader

            lines = RapidOcrReader(Settings()).read(img.convert("RGB"))
            entry.write_text(json.dumps({"lines": [
                {"text": ln.text, "score": ln.score,
                 "box": [[ln.bbox[0], ln.bbox[1]], [ln.bbox[2], ln.bbox[1]], [ln.bbox[2], ln.bbox[3]], [ln.bbox[0], ln.bbox[3]]]}
                for ln in lines]}))
    data = json.loads(entry.read_text())
    lines = []
    for item in data["lines"]:
        xs = [p[0] for p in item["box"]]
        ys = [p[1] for p in item["box"]]
        lines.append(TextLine(text=item["text"], bbox=(min(xs), min(ys), max(xs), max(ys)),
                              score=min(max(float(item["score"]), 0.0), 1.0)))
    return [PageText(number=1, width=width, height=height, lines=lines, origin="ocr")]


def text_targets(cands: list[Candidate], expected: str) -> list[int]:
    """1 for the candidates closest to the label text (when close enough), else 0."""
    want = normalise(expected)
    if not want or not cands:
        return [0] * len(cands)
    sims = [fuzz.ratio(normalise(str(c.value)), want) for c in cands]
    best = max(sims)
    return [int(best >= 70 and s >= best - 0.5) for s in sims]


def targets(example: Example, field: str, cands: list[Candidate]) -> list[int]:
    expected = (example.labels.get(LABEL_NAMES[field]) or "").strip()
    if field == "total":
        want = label_total(expected) if expected else None
        return [int(want is not None and c.value == want) for c in cands]
    if field == "date":
        want = label_date(expected) if expected else None
        return [int(want is not None and c.value == want) for c in cands]
    return text_targets(cands, expected)


def load_examples(data: Path, cache: Path, limit: int | None, cached_only: bool = False) -> list[Example]:
    cache.mkdir(parents=True, exist_ok=True)
    examples = []
    images = sorted((data / "images").glob("*.jpg"))
    if cached_only:
        images = [i for i in images if (cache / f"{i.stem}.json").exists()]
    images = images[:limit]
    for image in images:
        labels = json.loads((data / "labels" / f"{image.stem}.json").read_text())["fields"]
        analysis = analyse(load_pages(image, cache))
        merchants = analysis.candidates["merchant_name"]
        hits = targets(Example(image.stem, analysis, labels, []), "merchant_name", merchants)
        oracle = next((c for c, t in zip(merchants, hits) if t), None)
        addresses = address_candidates(analysis.rows, analysis.layout, merchant_end(oracle, analysis.rows),
                                       labels.get("company") or "")
        examples.append(Example(image.stem, analysis, labels, addresses))
    return examples


def knowledge(examples: list[Example]) -> tuple[KnownMerchants, Lexicon]:
    merchants = KnownMerchants()
    lexicon = Lexicon.with_builtins()
    for ex in examples:
        merchants.add(ex.labels.get("company"), ex.labels.get("address"))
        lexicon.add_text(ex.labels.get("company"))
        lexicon.add_text(ex.labels.get("address"))
    return merchants, lexicon


def training_rows(examples: list[Example], merchants: KnownMerchants, field: str):
    """Feature dicts and targets of every candidate; merchant similarity as if the receipt were unseen."""
    rows, ys, groups = [], [], []
    for ex in examples:
        cands = ex.train_addresses if field == "merchant_address" else ex.analysis.candidates[field]
        if field in ("merchant_name", "merchant_address"):
            merchants.remove(ex.labels.get("company"), ex.labels.get("address"))
            add_merchant_features(cands, merchants, "name" if field == "merchant_name" else "address")
            merchants.add(ex.labels.get("company"), ex.labels.get("address"))
        ts = targets(ex, field, cands)
        if not any(ts):
            continue
        rows.extend(c.features for c in cands)
        ys.extend(ts)
        groups.append(len(cands))
    return rows, ys, groups


def matrix(rows: list[dict[str, float]], names: list[str]) -> np.ndarray:
    return np.array([[r.get(n, np.nan) for n in names] for r in rows], dtype=float)


def fit_rankers(examples: list[Example]) -> ReceiptModel:
    """Rankers (no judges yet) and knowledge from `examples`."""
    merchants, lexicon = knowledge(examples)
    fields = {}
    for field in RANKED_FIELDS:
        rows, ys, groups = training_rows(examples, merchants, field)
        names = sorted({k for r in rows for k in r})
        if field in LISTWISE_FIELDS:
            data = lgb.Dataset(matrix(rows, names), np.array(ys), group=groups)
            booster = lgb.train(LISTWISE_PARAMS, data, RANKER_ROUNDS)
        else:
            # The receipt's own arithmetic only ever argues for an amount, however rare its kind is in training.
            monotone = [int(n.startswith("arith_") or n == "is_cash_minus_change") for n in names]
            params = {**RANKER_PARAMS, "monotone_constraints": monotone, "monotone_constraints_method": "advanced"}
            booster = lgb.train(params, lgb.Dataset(matrix(rows, names), np.array(ys)), RANKER_ROUNDS)
        fields[field] = FieldModel(booster, names, [], [], Isotonic([], []), listwise=field in LISTWISE_FIELDS)
    return ReceiptModel(fields, merchants, lexicon)


def judged(model: ReceiptModel, examples: list[Example]):
    """Per field: judge feature dicts and whether each chosen value was right."""
    out = {f: ([], []) for f in RANKED_FIELDS}
    for ex in examples:
        choices = rank(ex.analysis, model)
        for field, choice in choices.items():
            expected = (ex.labels.get(LABEL_NAMES[field]) or "").strip()
            if not expected:
                continue
            out[field][0].append(choice.judge_features)
            out[field][1].append(is_right(LABEL_NAMES[field], choice.value, expected))
    return out


def fit_model(examples: list[Example], inner_folds: int = 3) -> ReceiptModel:
    """Rankers on all `examples`; judges and isotonic maps on their held-out (inner-fold) choices."""
    oof = {f: ([], []) for f in RANKED_FIELDS}
    kfold = KFold(inner_folds, shuffle=True, random_state=SEED)
    for train_idx, test_idx in kfold.split(examples):
        inner = fit_rankers([examples[i] for i in train_idx])
        for field, (rows, ys) in judged(inner, [examples[i] for i in test_idx]).items():
            oof[field][0].extend(rows)
            oof[field][1].extend(ys)
    model = fit_rankers(examples)
    for field, (rows, ys) in oof.items():
        names = sorted({k for r in rows for k in r})
        x, y = matrix(rows, names), np.array(ys, dtype=float)
        held_out = np.zeros(len(y))
        judges = []
        for train_idx, test_idx in KFold(inner_folds, shuffle=True, random_state=SEED).split(x):
            judge = lgb.train(JUDGE_PARAMS, lgb.Dataset(x[train_idx], y[train_idx]), JUDGE_ROUNDS)
            held_out[test_idx] = judge.predict(x[test_idx])
            judges.append(judge)
        # The map is fitted on verdicts of judges that had not seen the choice; the same judges (not one
        # retrained on everything, which would be surer than the map expects) give the verdicts later.
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(held_out, y)
        fm = model.fields[field]
        model.fields[field] = FieldModel(fm.ranker, fm.ranker_features, judges, names,
                                         Isotonic([float(v) for v in iso.X_thresholds_],
                                                  [float(v) for v in iso.y_thresholds_]), fm.listwise)
    return model


def cross_validate(examples: list[Example], folds: int) -> str:
    outcomes = {f: [] for f in RANKED_FIELDS}
    confidences, rights = [], []
    for k, (train_idx, test_idx) in enumerate(KFold(folds, shuffle=True, random_state=SEED).split(examples)):
        started = time.perf_counter()
        model = fit_model([examples[i] for i in train_idx])
        for i in test_idx:
            ex = examples[i]
            choices = rank(ex.analysis, model)
            for field, choice in choices.items():
                expected = (ex.labels.get(LABEL_NAMES[field]) or "").strip()
                if not expected:
                    continue
                right = is_right(LABEL_NAMES[field], choice.value, expected)
                conf = model.fields[field].confidence(choice.judge_features) if choice.value is not None else 0.0
                outcomes[field].append((ex.name, right, choice.value, expected, conf))
                confidences.append(conf)
                rights.append(right)
        print(f"fold {k + 1}/{folds} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    lines = [f"{folds}-fold cross-validation on {len(examples)} receipts (seed {SEED}):"]
    for field, rows in outcomes.items():
        right = sum(r[1] for r in rows)
        lines.append(f"  {LABEL_NAMES[field]:<8} {right / len(rows):7.2%}  ({right}/{len(rows)})")
    lines.append("  " + calibration(confidences, rights).text())
    misses = [f"    {LABEL_NAMES[f]} {r[0]}: {r[2]!s} | expected {r[3]} (conf {r[4]:.2f})"
              for f, rows in outcomes.items() for r in rows if not r[1]]
    return "\n".join(lines + ["  misses:"] + misses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "sroie-train")
    parser.add_argument("--ocr-cache", type=Path, default=Path(os.environ.get(
        "SROIE_OCR_CACHE", Path(user_cache_dir("receipt-workbench", appauthor=False)) / "sroie-ocr")),
        help="folder of cached OCR results (made with the product's OCR settings where missing)")
    parser.add_argument("--cv", action="store_true", help="print 5-fold cross-validation figures instead of training")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N receipts (development)")
    parser.add_argument("--cached-only", action="store_true", help="skip receipts not yet in the OCR cache")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    if not (args.data / "images").is_dir():
        parser.error(f"{args.data} has no images/ folder; point --data at sroie-train")
    started = time.perf_counter()
    examples = load_examples(args.data, args.ocr_cache, args.limit, args.cached_only)
    print(f"{len(examples)} receipts analysed in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.cv:
        print(cross_validate(examples, args.folds))
        return
    model = fit_model(examples)
    model.meta = {
        "trained_on": f"SROIE task 3 training set, {len(examples)} receipts",
        "licence": "CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and Information "
                   "Extraction (Huang et al., ICDAR 2019)",
        "seed": SEED,
    }
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
