"""Runs for the plot and HTML tests: the committed fixtures when present.

Fixtures are real PyTorch runs written by ``fixtures/make_fixtures.py``. Until they
are generated, small series of the same shapes stand in, so the tests still judge
the pictures drawn from whatever the engine finds in them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose
from diagnose.run import Run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHAPTER_LRS = (0.001, 0.01, 0.1, 1.0, 10.0)


def _load(*parts: str) -> list[Run]:
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        return []
    return diagnose.discover([path]).runs


def _curve(n: int, rate: float, floor: float, start: float = 0.78) -> np.ndarray:
    return floor + (start - floor) * np.exp(-rate * np.arange(n))


def chapter_sweep() -> list[Run]:
    """The chapter's lr sweep: 5 runs, one per lr, one of them blowing up at first."""
    runs = _load("chapter-sweep")
    if len(runs) >= 3:
        return runs
    out = []
    for lr in CHAPTER_LRS:
        rate = min(lr, 1.0) * 0.08
        train = _curve(41, rate, 0.05)
        if lr == 10.0:
            train[1:9] = [3.0, 26.0, 15.0, 2.0, 0.3, 6.0, 8.0, 1.1]
        val = train * 1.05 + 0.02
        acc = np.clip(1.0 - val / 1.5, 0.0, 1.0)
        out.append(Run.from_series(
            {"train/loss": train, "val/loss": val, "val/acc": acc, "lr": [lr] * 41},
            id=f"lr={lr:g}", params={"lr": lr, "seed": 123}))
    return out


def with_range_finding() -> Run:
    """A run the rules flag over a range of steps (late overfitting, or lr=10's blow-up)."""
    runs = _load("late-overfitting") or [r for r in chapter_sweep() if r.param("lr") == 10.0]
    return runs[0]


def with_nonfinite() -> Run:
    """A run that records NaN/inf (the explosion fixture, when it diverged to NaN)."""
    for run in _load("explosion"):
        if any((~np.isfinite(run.arrays(m)[1])).any() for m in run.metric_names):
            return run
    loss = _curve(60, 0.05, 0.2, 2.3)
    loss[40:48] = loss[39] * np.exp(np.arange(1, 9))
    loss[48:] = np.nan
    loss[52] = np.inf
    val = np.append(loss[9::10], np.nan)
    return Run.from_series({"train/loss": loss, "val/loss": val[:6]},
                           steps={"val/loss": list(range(9, 60, 10))},
                           id="explosion", params={"lr": 0.6, "seed": 6})


def seed_groups() -> list[Run]:
    """Several seeds per setting: the high-variance seed fixture, or three seeds per lr."""
    runs = _load("seeds-high-variance")
    if len(runs) >= 3:
        return runs
    rng = np.random.default_rng(0)
    out = []
    for lr in (0.01, 0.1, 1.0):
        for seed in (1, 2, 3):
            val = _curve(30, lr * 0.3, 0.1) + rng.normal(0, 0.03, 30)
            out.append(Run.from_series({"train/loss": val * 0.9, "val/loss": val},
                                       id=f"lr={lr:g}/seed={seed}",
                                       params={"lr": lr, "seed": seed}))
    return out


def write_native(runs: list[Run], root: Path) -> Path:
    """Record runs with the Recorder (the native log), one folder per run id, under ``root``."""
    from diagnose.record import Recorder

    for run in runs:
        with Recorder(root / run.id, params=run.params, strict=True) as rec:
            for step, rows in run.metrics.groupby("step", sort=True):
                rec.log(int(step), dict(zip(rows["metric"], rows["value"].astype(float))))
    return root
