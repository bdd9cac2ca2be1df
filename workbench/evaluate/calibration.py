"""Calibration figures of field confidences: share right above a threshold, its coverage, ECE, a diagram."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """How far confidences can be trusted, over a set of (confidence, right?) pairs."""

    n: int
    threshold: float
    precision_above: float
    coverage_above: float
    ece: float

    def text(self) -> str:
        return (
            f"calibration over {self.n} fields: confidence >= {self.threshold:.2f} on {self.coverage_above:.1%} "
            f"of fields, {self.precision_above:.2%} of those right; ECE {self.ece:.4f}"
        )


def calibration(confidences: list[float], correct: list[bool], threshold: float = 0.9, bins: int = 10) -> Calibration:
    """Precision and coverage of confidences at or above `threshold`, and the expected calibration error."""
    conf = np.asarray(confidences, dtype=float)
    right = np.asarray(correct, dtype=float)
    if conf.size == 0:
        return Calibration(0, threshold, 0.0, 0.0, 0.0)
    above = conf >= threshold
    precision = float(right[above].mean()) if above.any() else 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=False), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            ece += members.mean() * abs(conf[members].mean() - right[members].mean())
    return Calibration(int(conf.size), threshold, precision, float(above.mean()), float(ece))


def reliability_diagram(confidences: list[float], correct: list[bool], path: Path, title: str, bins: int = 10) -> Path:
    """Write a reliability diagram (accuracy per confidence bin against the diagonal) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = np.asarray(confidences, dtype=float)
    right = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=False), 0, bins - 1) if conf.size else np.array([])
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        members = index == b
        if conf.size and members.any():
            centres.append(float(conf[members].mean()))
            accuracy.append(float(right[members].mean()))
            counts.append(int(members.sum()))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.plot(centres, accuracy, marker="o", label="fields")
    top.set_ylabel("share right")
    top.set_title(title)
    top.legend(loc="upper left")
    bottom.bar([(edges[i] + edges[i + 1]) / 2 for i in range(bins)],
               [int((index == b).sum()) if conf.size else 0 for b in range(bins)], width=0.09)
    bottom.set_yscale("log")
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("fields")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
