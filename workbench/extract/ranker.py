"""The trained receipt model: per-field candidate rankers, confidence models with isotonic maps, and lexicons.

One gzip'd JSON file (workbench/models/receipt_model.json.gz, written by scripts/train_receipt.py) holds,
for each ranked field, a LightGBM model that scores candidates (alone, or against the receipt's other
candidates), LightGBM models that predict whether the chosen value is right (one per held-out fold, their
verdicts averaged), and an isotonic map fitted on held-out verdicts that turns the verdict into a calibrated
confidence; plus the known merchants and the word lexicon.
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


@dataclass
class Isotonic:
    """A monotone step map fitted by isotonic regression, stored as its breakpoints."""

    x: list[float]
    y: list[float]

    def __call__(self, value: float) -> float:
        if not self.x:
            return float(value)
        return float(np.clip(np.interp(value, self.x, self.y), 0.0, 1.0))


@dataclass
class FieldModel:
    """The ranker, the right-or-wrong model and its calibration map for one field."""

    ranker: lgb.Booster
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
class ReceiptModel:
    """Everything the receipt extractor learned; safe to share between threads once loaded."""

    fields: dict[str, FieldModel]
    merchants: KnownMerchants = field(default_factory=KnownMerchants)
    lexicon: Lexicon = field(default_factory=Lexicon.with_builtins)
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "meta": self.meta,
            "fields": {
                name: {
                    "ranker": m.ranker.model_to_string(),
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
    def from_json(cls, data: dict) -> "ReceiptModel":
        fields = {
            name: FieldModel(
                ranker=lgb.Booster(model_str=f["ranker"]),
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
def _load(path: Path) -> ReceiptModel:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"the receipt model {path} is missing; run `python scripts/train_receipt.py`") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"the receipt model {path} cannot be read ({error}); retrain it with "
                          "`python scripts/train_receipt.py`") from error
    return ReceiptModel.from_json(data)


def load_model(path: Path = MODEL_PATH) -> ReceiptModel:
    """The receipt model at `path`, read once per process."""
    with _LOCK:
        return _load(path)
