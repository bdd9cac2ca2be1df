"""Fit the extraction models from labelled documents: candidate rankers, judges and calibration maps on held-out folds.

One machinery for receipts and invoices. Used by `scripts/train_receipt.py` and `scripts/train_invoice.py`
(the shipped models, in-dataset cross-validation) and by `bench/generalisation.py` (train on some groups of
documents, score a group left out). Invoices: the rules choose the values, judges trained here give the
confidence (`InvoiceExample`, `fit_invoice_model`). A receipt `Example` is one
labelled receipt of a named group (sroie-train, wildreceipt-dev, a synthetic set), already analysed (rows,
candidates); labels use the SROIE names `company`, `date`, `address`, `total` (`workbench.evaluate.sroie.
receipt_labels` reads both label shapes). Fixed seed: the same examples give the same model.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import lightgbm as lgb
import numpy as np
from PIL import Image
from rapidfuzz import fuzz
from sklearn.model_selection import KFold

from schemas import PageText, TextLine
from workbench.ingest import load_path
from workbench.ocr.rapid import RapidOcrReader
from workbench.config import Settings
from workbench.engines.ocr import OcrEngine
from workbench.errors import InputError, WorkbenchError
from workbench.evaluate.sroie import is_right, label_dates, label_total, read_labels, text_variants
from workbench.evaluate.zugferd import score_invoice
from workbench.extract.invoice import JUDGED_FIELDS, calibrate, judged_value, read_invoice
from workbench.extract.features import Candidate, address_candidates, normalise
from workbench.extract.ranker import FieldModel, Isotonic, ExtractionModel
from workbench.extract.receipt import RANKED_FIELDS, Analysis, add_merchant_features, analyse, merchant_end, rank
from workbench.extract.receipt_lexicon import KnownMerchants, Lexicon

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
MONOTONE_EVIDENCE = frozenset({"rule", "ocr", "consistent", "doc_score_mean"})
"""Judge features whose growth may only raise the verdict."""


@dataclass
class Example:
    """One labelled receipt: its group, its analysis (model-free) and the label strings."""

    name: str
    group: str
    analysis: Analysis
    labels: dict[str, str]
    train_addresses: list[Candidate] = field(default_factory=list)

    def expected(self, field_name: str) -> str:
        return (self.labels.get(LABEL_NAMES[field_name]) or "").strip()

    def is_right(self, field_name: str, value: object) -> bool:
        return is_right(LABEL_NAMES[field_name], value, self.expected(field_name),
                        self.labels.get("date_reading", "day_first"))


@dataclass(frozen=True)
class Outcome:
    """One scored field of one receipt."""

    group: str
    name: str
    field: str
    right: bool
    confidence: float
    predicted: str
    expected: str


def text_targets(cands: list[Candidate], expected: str, label_field: str = "company") -> list[int]:
    """1 for the candidates closest to the label text (any reading it allows; when close enough), else 0."""
    wanted = [w for w in text_variants(label_field, expected) if w]
    if not wanted or not cands:
        return [0] * len(cands)
    sims = [max(fuzz.ratio(normalise(str(c.value)), want) for want in wanted) for c in cands]
    best = max(sims)
    return [int(best >= 70 and s >= best - 0.5) for s in sims]


def targets(example: Example, field_name: str, cands: list[Candidate]) -> list[int]:
    """1 for each candidate that reads the labelled value, else 0."""
    expected = example.expected(field_name)
    if field_name == "total":
        want = label_total(expected) if expected else None
        return [int(want is not None and c.value == want) for c in cands]
    if field_name == "date":
        wanted = label_dates(expected, example.labels.get("date_reading", "day_first")) if expected else set()
        return [int(c.value in wanted) for c in cands]
    return text_targets(cands, expected, LABEL_NAMES[field_name])


def make_example(name: str, group: str, pages: list[PageText], labels: dict[str, str]) -> Example:
    """Analyse one labelled receipt; its training address candidates follow the labelled merchant's rows."""
    analysis = analyse(pages)
    example = Example(name, group, analysis, labels)
    merchants = analysis.candidates["merchant_name"]
    hits = targets(example, "merchant_name", merchants)
    oracle = next((c for c, t in zip(merchants, hits, strict=True) if t), None)
    example.train_addresses = address_candidates(analysis.rows, analysis.layout, merchant_end(oracle, analysis.rows),
                                                 labels.get("company") or "")
    return example


@lru_cache(maxsize=1)
def _reader() -> RapidOcrReader:
    """The product's OCR reader, built once per process (building one compiles its models)."""
    from workbench.ocr.rapid import RapidOcrReader

    return RapidOcrReader(Settings())


def ocr_pages(image: Path, cache: Path) -> list[PageText]:
    """The receipt image's OCR lines from `cache` (one <stem>.json each), OCR'd with the product's reader and
    cached when missing. The labels' own transcriptions are never used as input."""
    with Image.open(image) as img:
        width, height = img.size
        entry = cache / f"{image.stem}.json"
        if not entry.exists():
            lines = _reader().read(img.convert("RGB"))
            cache.mkdir(parents=True, exist_ok=True)
            entry.write_text(json.dumps({"lines": [
                {"text": ln.text, "score": ln.score,
                 "box": [[ln.bbox[0], ln.bbox[1]], [ln.bbox[2], ln.bbox[1]], [ln.bbox[2], ln.bbox[3]],
                         [ln.bbox[0], ln.bbox[3]]]}
                for ln in lines]}))
    lines = []
    for item in json.loads(entry.read_text())["lines"]:
        xs = [p[0] for p in item["box"]]
        ys = [p[1] for p in item["box"]]
        lines.append(TextLine(text=item["text"], bbox=(min(xs), min(ys), max(xs), max(ys)),
                              score=min(max(float(item["score"]), 0.0), 1.0)))
    return [PageText(number=1, width=width, height=height, lines=lines, origin="ocr")]


def load_group(folder: Path, cache: Path, group: str | None = None, limit: int | None = None,
               cached_only: bool = False) -> list[Example]:
    """The labelled receipts of an images/ + labels/ folder (SROIE or WildReceipt labels), OCR'd through `cache`."""
    if not (folder / "images").is_dir() or not (folder / "labels").is_dir():
        raise InputError(str(folder), "not a labelled receipt folder (expected images/ and labels/)")
    images = sorted(p for p in (folder / "images").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if cached_only:
        images = [i for i in images if (cache / f"{i.stem}.json").exists()]
    examples = []
    for image in images[:limit]:
        label_file = folder / "labels" / f"{image.stem}.json"
        if label_file.exists():
            examples.append(make_example(image.stem, group or folder.name, ocr_pages(image, cache),
                                         read_labels(label_file)))
    return examples


def knowledge(examples: list[Example]) -> tuple[KnownMerchants, Lexicon]:
    """The merchants (names and addresses) and the word lexicon of the training labels."""
    merchants = KnownMerchants()
    lexicon = Lexicon.with_builtins()
    for ex in examples:
        merchants.add(ex.labels.get("company"), ex.labels.get("address"))
        lexicon.add_text(ex.labels.get("company"))
        lexicon.add_text(ex.labels.get("address"))
    return merchants, lexicon


def training_rows(examples: list[Example], merchants: KnownMerchants, field_name: str):
    """Feature dicts and targets of every candidate; merchant similarity as if the receipt were unseen."""
    rows, ys, groups = [], [], []
    for ex in examples:
        cands = ex.train_addresses if field_name == "merchant_address" else ex.analysis.candidates[field_name]
        if field_name in LISTWISE_FIELDS:
            merchants.remove(ex.labels.get("company"), ex.labels.get("address"))
            add_merchant_features(cands, merchants, "name" if field_name == "merchant_name" else "address")
            merchants.add(ex.labels.get("company"), ex.labels.get("address"))
        ts = targets(ex, field_name, cands)
        if not any(ts):
            continue
        rows.extend(c.features for c in cands)
        ys.extend(ts)
        groups.append(len(cands))
    return rows, ys, groups


def matrix(rows: list[dict[str, float]], names: list[str]) -> np.ndarray:
    return np.array([[r.get(n, np.nan) for n in names] for r in rows], dtype=float)


def fit_rankers(examples: list[Example]) -> ExtractionModel:
    """Rankers (no judges yet) and knowledge from `examples`."""
    merchants, lexicon = knowledge(examples)
    fields = {}
    for field_name in RANKED_FIELDS:
        rows, ys, groups = training_rows(examples, merchants, field_name)
        names = sorted({k for r in rows for k in r})
        if field_name in LISTWISE_FIELDS:
            data = lgb.Dataset(matrix(rows, names), np.array(ys), group=groups)
            booster = lgb.train(LISTWISE_PARAMS, data, RANKER_ROUNDS)
        else:
            # The receipt's own arithmetic only ever argues for an amount, however rare its kind is in training.
            monotone = [int(n.startswith("arith_") or n == "is_cash_minus_change") for n in names]
            params = {**RANKER_PARAMS, "monotone_constraints": monotone, "monotone_constraints_method": "advanced"}
            booster = lgb.train(params, lgb.Dataset(matrix(rows, names), np.array(ys)), RANKER_ROUNDS)
        fields[field_name] = FieldModel(booster, names, [], [], Isotonic([], []),
                                        listwise=field_name in LISTWISE_FIELDS)
    return ExtractionModel(fields, merchants, lexicon)


def judged(model: ExtractionModel, examples: list[Example]) -> dict[str, tuple[list[dict[str, float]], list[bool]]]:
    """Per field: judge feature dicts and whether each chosen value was right."""
    out: dict[str, tuple[list[dict[str, float]], list[bool]]] = {f: ([], []) for f in RANKED_FIELDS}
    for ex in examples:
        choices = rank(ex.analysis, model)
        for field_name, choice in choices.items():
            if not ex.expected(field_name):
                continue
            out[field_name][0].append(choice.judge_features)
            out[field_name][1].append(ex.is_right(field_name, choice.value))
    return out


def fit_model(examples: list[Example], inner_folds: int = 3) -> ExtractionModel:
    """Rankers on all `examples`; judges and calibration maps on their held-out (inner-fold) choices."""
    oof: dict[str, tuple[list, list]] = {f: ([], []) for f in RANKED_FIELDS}
    kfold = KFold(inner_folds, shuffle=True, random_state=SEED)
    for train_idx, test_idx in kfold.split(examples):
        inner = fit_rankers([examples[i] for i in train_idx])
        for field_name, (rows, ys) in judged(inner, [examples[i] for i in test_idx]).items():
            oof[field_name][0].extend(rows)
            oof[field_name][1].extend(ys)
    model = fit_rankers(examples)
    for field_name, (rows, ys) in oof.items():
        fm = model.fields[field_name]
        judges, names, calibration = fit_judges(rows, ys, inner_folds)
        model.fields[field_name] = FieldModel(fm.ranker, fm.ranker_features, judges, names, calibration, fm.listwise)
    model.meta["calibration"] = CALIBRATION
    return model


CALIBRATION = "isotonic, interpolated between step centres"


def fit_judges(rows: list[dict[str, float]], ys: list[bool], folds: int = 3,
               groups: list[str] | None = None) -> tuple[list[lgb.Booster], list[str], Isotonic]:
    """Judges of whether a chosen value is right, and the calibration map of their held-out verdicts.

    Each judge is trained on all folds but one and judges the one left out; the map is fitted on those
    held-out verdicts, and the same judges (their verdicts averaged) give the verdicts later, so the map
    sees judges as sure as it was fitted for. With `groups` (one name per row, at least `folds` distinct
    ones), the folds are whole groups: the map learns how sure to be on documents unlike the training ones.
    """
    names = sorted({k for r in rows for k in r})
    x, y = matrix(rows, names), np.array(ys, dtype=float)
    held_out = np.zeros(len(y))
    judges = []
    # Evidence that only ever argues for a value, however rare its absence is in training: the rules' own
    # confidence, the reading score of the source, and arithmetic that agrees.
    params = {**JUDGE_PARAMS, "monotone_constraints": [int(n in MONOTONE_EVIDENCE) for n in names],
              "monotone_constraints_method": "advanced"}
    if groups is not None and len(set(groups)) >= folds:
        from sklearn.model_selection import GroupKFold

        splits = GroupKFold(folds).split(x, y, groups)
    else:
        splits = KFold(folds, shuffle=True, random_state=SEED).split(x)
    for train_idx, test_idx in splits:
        judge = lgb.train(params, lgb.Dataset(x[train_idx], y[train_idx]), JUDGE_ROUNDS)
        held_out[test_idx] = judge.predict(x[test_idx])
        judges.append(judge)
    return judges, names, Isotonic.fit(held_out, y)


def score(model: ExtractionModel, examples: list[Example], memory: bool = True) -> list[Outcome]:
    """Each labelled field of `examples` as `model` reads it; `memory=False` forgets the known merchants."""
    if not memory:
        model = ExtractionModel(model.fields, KnownMerchants(), model.lexicon, model.meta)
    outcomes = []
    for ex in examples:
        for field_name, choice in rank(ex.analysis, model).items():
            expected = ex.expected(field_name)
            if not expected:
                continue
            conf = model.fields[field_name].confidence(choice.judge_features) if choice.value is not None else 0.0
            outcomes.append(Outcome(ex.group, ex.name, field_name, ex.is_right(field_name, choice.value), conf,
                                    "" if choice.value is None else str(choice.value), expected))
    return outcomes


def cross_validate(examples: list[Example], folds: int) -> list[Outcome]:
    """Outcomes of `folds`-fold cross-validation over `examples` (each scored by a model that never saw it)."""
    outcomes: list[Outcome] = []
    for train_idx, test_idx in KFold(folds, shuffle=True, random_state=SEED).split(examples):
        model = fit_model([examples[i] for i in train_idx])
        outcomes.extend(score(model, [examples[i] for i in test_idx]))
    return outcomes


@dataclass
class InvoiceExample:
    """One labelled invoice as its pages were read (text layer or OCR), with its label fields (zugferd shape)."""

    name: str
    group: str
    pages: list[PageText]
    fields: dict
    route: str = "text"


def invoice_pages(pdf: Path, route: str, cache: Path, settings: Settings, engine: OcrEngine) -> list[PageText]:
    """The pages of an invoice PDF: its text layer ("text"), OCR of its rendered pages ("scan"), or as it comes
    ("as rendered": the text layer where the PDF has one, else OCR); cached in `cache` as <stem>.json."""
    entry = cache / f"{pdf.stem}.json"
    if entry.exists():
        return [PageText.model_validate(page) for page in json.loads(entry.read_text("utf-8"))]
    source = load_path(pdf, settings)
    pages = [page if route != "scan" else page.model_copy(update={"text_lines": None}) for page in source.pages]
    if route == "text" and not any(page.text_lines for page in pages):
        raise InputError(str(pdf), "the PDF has no text layer")
    texts = engine.page_texts(source.model_copy(update={"xml": None, "xml_name": None, "pages": pages}))
    cache.mkdir(parents=True, exist_ok=True)
    entry.write_text(json.dumps([page.model_dump(mode="json") for page in texts]), "utf-8")
    return texts


def load_invoice_group(folders: list[Path], route: str, cache: Path, group: str, settings: Settings,
                       engine: OcrEngine, limit: int | None = None) -> tuple[list[InvoiceExample], list[str]]:
    """The labelled invoices of pdfs/ + labels/ folders read by `route`, and the reasons files were left out."""
    examples, skipped = [], []
    for folder in folders:
        for label_path in sorted((folder / "labels").glob("*.json"))[:limit]:
            label = json.loads(label_path.read_text("utf-8"))
            pdf = folder / label.get("pdf", f"pdfs/{label_path.stem}.pdf")
            try:
                pages = invoice_pages(pdf, route, cache / f"{folder.name}-{route.replace(' ', '-')}-pages",
                                      settings, engine)
            except WorkbenchError as error:
                skipped.append(f"{pdf.name}: {error.user_message}")
                continue
            examples.append(InvoiceExample(label_path.stem, group, pages, label["fields"], route))
    return examples, skipped


def invoice_outcomes(examples: list[InvoiceExample], model: ExtractionModel | None
                     ) -> list[tuple[InvoiceExample, str, dict[str, float], bool, float]]:
    """(example, field, judge features, right, confidence) of each judged field that has a label and a value;
    the confidence is `model`'s (the rules' own without one)."""
    found = []
    for ex in examples:
        invoice, evidence = read_invoice(ex.pages)
        if model is not None:
            invoice = calibrate(invoice, evidence, model)
        scores = score_invoice(invoice, ex.fields, exact=False)
        for path, features in evidence.items():
            if path in scores:
                found.append((ex, path, features, scores[path], judged_value(invoice, path).confidence))
        for path in JUDGED_FIELDS:
            if path in scores and path not in evidence:
                found.append((ex, path, {}, False, 0.0))
    return found


def fit_invoice_model(examples: list[InvoiceExample], folds: int = 3) -> ExtractionModel:
    """Judges and calibration maps of the invoice fields, folds by document (its text and scan kept together)."""
    rows: dict[str, tuple[list, list, list]] = {}
    for ex, path, features, right, _ in invoice_outcomes(examples, None):
        if not features:
            continue
        entry = rows.setdefault(path, ([], [], []))
        entry[0].append(features)
        entry[1].append(right)
        entry[2].append(ex.name)
    fields = {}
    for path, (features, rights, names) in rows.items():
        judges, feature_names, calibration = fit_judges(features, rights, folds, names)
        fields[path] = FieldModel(None, [], judges, feature_names, calibration)
    return ExtractionModel(fields, meta={"calibration": CALIBRATION, "seed": SEED,
                                         "trained_on": dict(Counter(ex.group for ex in examples))})
