"""The trained extraction models: per-field candidate rankers, judges with calibration maps, and lexicons.

One design for receipts and invoices. A gzip'd JSON file per document type (workbench/models/
receipt_model.json.gz from scripts/train_receipt.py, invoice_model.json.gz from scripts/train_invoice.py)
holds, for each field, a LightGBM model that scores candidates (alone, or against the document's other
candidates; fields whose candidates are still chosen by rules have none), LightGBM judges that predict
whether the chosen value is right (one per held-out fold, their verdicts averaged), and a calibration map
fitted on held-out verdicts that turns the verdict into the confidence; receipts add the known merchants
and the word lexicon.
"""

import gzip
import json
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import lightgbm as lgb
import numpy as np

from workbench.errors import ConfigError
from workbench.extract.receipt_lexicon import KnownMerchants, Lexicon

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "receipt_model.json.gz"
INVOICE_MODEL_PATH = MODEL_PATH.with_name("invoice_model.json.gz")


@dataclass
class Isotonic:
    """A monotone calibration map: isotonic regression, interpolated linearly between its blocks' centres.

    Plain isotonic regression is a step function: a verdict a hair either side of a step boundary gets
    confidences far apart (0.6 or 0.85), so float noise in the OCR scores could move a field across the
    review threshold. Joining the centres of the steps (each step's mean verdict, its fitted value) keeps
    the map monotone and fitted to the same data while a small change of verdict moves the confidence by
    a small amount.
    """

    x: list[float]
    y: list[float]

    def __call__(self, value: float) -> float:
        if not self.x:
            return float(value)
        return float(np.clip(np.interp(value, self.x, self.y), 0.0, 1.0))

    @classmethod
    def fit(cls, verdicts: np.ndarray, rights: np.ndarray) -> "Isotonic":
        """The map from held-out `verdicts` to how often such verdicts were right (`rights`, 0 or 1)."""
        from sklearn.isotonic import IsotonicRegression

        verdicts, rights = np.asarray(verdicts, dtype=float), np.asarray(rights, dtype=float)
        if len(verdicts) == 0:
            return cls([], [])
        order = np.argsort(verdicts, kind="stable")
        xs = verdicts[order]
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(xs, rights[order]).predict(xs)
        centres: list[float] = []
        values: list[float] = []
        start = 0
        for end in range(1, len(xs) + 1):
            if end == len(xs) or fitted[end] != fitted[start]:
                centres.append(float(xs[start:end].mean()))
                values.append(float(fitted[start]))
                start = end
        return cls(centres, values)

    def largest_step(self) -> float:
        """The largest change of confidence between neighbouring breakpoints (a jump when they are close)."""
        return max((abs(b - a) for a, b in zip(self.y, self.y[1:])), default=0.0)


@dataclass
class FieldModel:
    """The ranker, the right-or-wrong model and its calibration map for one field."""

    ranker: lgb.Booster | None
    ranker_features: list[str]
    judges: list[lgb.Booster]
    """Right-or-wrong models, each trained on part of the held-out choices; their mean is what the
    calibration map was fitted on (each held-out choice judged by the one judge that had not seen it)."""
    judge_features: list[str]
    calibration: Isotonic
    listwise: bool = False
    """The ranker compares the candidates of one receipt (LambdaRank): its scores become shares (softmax)."""

    def score(self, rows: list[dict[str, float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        if self.ranker is None:
            raise ValueError("this field's candidates are chosen by rules: it has no ranker")
        matrix = np.array([[r.get(name, np.nan) for name in self.ranker_features] for r in rows], dtype=float)
        scores = self.ranker.predict(matrix, num_threads=1)
        if not self.listwise:
            return scores
        shares = np.exp(scores - scores.max())
        return shares / shares.sum()

    def confidence(self, features: dict[str, float]) -> float:
        if not self.judges:
            return self.calibration(features.get("p1", 0.0))
        row = np.array([[features.get(name, np.nan) for name in self.judge_features]], dtype=float)
        verdict = np.mean([judge.predict(row, num_threads=1)[0] for judge in self.judges])
        return self.calibration(float(verdict))


@dataclass
class ExtractionModel:
    """Everything an extractor learned (receipts: with merchants and lexicon); safe to share between threads."""

    fields: dict[str, FieldModel]
    merchants: KnownMerchants = field(default_factory=KnownMerchants)
    lexicon: Lexicon = field(default_factory=Lexicon.with_builtins)
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "meta": self.meta,
            "fields": {
                name: {
                    "ranker": None if m.ranker is None else m.ranker.model_to_string(),
                    "ranker_features": m.ranker_features,
                    "judges": [judge.model_to_string() for judge in m.judges],
                    "judge_features": m.judge_features,
                    "calibration": {"x": m.calibration.x, "y": m.calibration.y},
                    "listwise": m.listwise,
                }
                for name, m in self.fields.items()
            },
            "merchants": self.merchants.to_json(),
            "lexicon": self.lexicon.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> "ExtractionModel":
        fields = {
            name: FieldModel(
                ranker=None if f["ranker"] is None else lgb.Booster(model_str=f["ranker"]),
                ranker_features=list(f["ranker_features"]),
                judges=[lgb.Booster(model_str=text) for text in f.get("judges", [])],
                judge_features=list(f.get("judge_features", [])),
                calibration=Isotonic(list(f["calibration"]["x"]), list(f["calibration"]["y"])),
                listwise=bool(f.get("listwise", False)),
            )
            for name, f in data["fields"].items()
        }
        return cls(fields, KnownMerchants.from_json(data.get("merchants", {})),
                   Lexicon.from_json(data.get("lexicon", {})), data.get("meta", {}))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with gzip.open(partial, "wt", encoding="utf-8", compresslevel=9) as handle:
            json.dump(self.to_json(), handle)
        os.replace(partial, path)


_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _load(path: Path) -> ExtractionModel:
    trainer = f"python scripts/train_{path.name.partition('_')[0]}.py"
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"the extraction model {path} is missing; run `{trainer}`") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"the extraction model {path} cannot be read ({error}); retrain it with "
                          f"`{trainer}`") from error
    return ExtractionModel.from_json(data)


def load_model(path: Path = MODEL_PATH) -> ExtractionModel:
    """The extraction model at `path` (the receipt model by default), read once per process."""
    with _LOCK:
        return _load(path)
