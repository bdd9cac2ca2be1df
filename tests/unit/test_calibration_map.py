"""The calibration map: monotone, fitted to the held-out verdicts, and without jumps at step boundaries."""

import numpy as np

from workbench.extract.ranker import Isotonic


def verdicts(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    return x, (rng.random(n) < x ** 2).astype(float)


def test_map_is_monotone_and_between_zero_and_one() -> None:
    x, y = verdicts(1)
    model = Isotonic.fit(x, y)
    points = [model(v) for v in np.linspace(-0.5, 1.5, 201)]
    assert all(b >= a for a, b in zip(points, points[1:]))
    assert 0.0 <= min(points) and max(points) <= 1.0


def test_map_follows_how_often_verdicts_were_right() -> None:
    x, y = verdicts(2, 4000)
    model = Isotonic.fit(x, y)
    for v in (0.3, 0.6, 0.9):
        assert abs(model(v) - v ** 2) < 0.08


def test_a_small_change_of_verdict_moves_the_confidence_a_little() -> None:
    # Two clusters: a step map would jump from 0.2 to 0.9 between two neighbouring verdicts.
    x = np.concatenate([np.full(50, 0.40), np.full(50, 0.41)])
    y = np.concatenate([np.repeat([1.0, 0.0], [10, 40]), np.repeat([1.0, 0.0], [45, 5])])
    model = Isotonic.fit(x, y)
    assert abs(model(0.40) - 0.2) < 1e-9 and abs(model(0.41) - 0.9) < 1e-9
    assert abs(model(0.4051) - model(0.4049)) < 0.05
    steps = np.linspace(0.40, 0.41, 101)
    assert max(abs(model(b) - model(a)) for a, b in zip(steps, steps[1:])) < 0.02


def test_an_empty_fit_maps_verdicts_to_themselves() -> None:
    model = Isotonic.fit(np.array([]), np.array([]))
    assert model(0.37) == 0.37
