"""DG103 reads train at the final model. A log that writes one train value per epoch (the step
is the epoch index, as Keras, Ultralytics and TensorBoard per-epoch scalars write it) holds each
epoch's mean, not one batch: reading it as the median of the last half of the log (the guard
against single noisy batches) put the train loss of a curve still falling fast far above where
it ended, and a 4x generalization gap went unreported.

Runs: a public TensorBoard log from the tuning half of bench/real-runs, and real training here
(softmax regression by gradient descent in numpy that memorises a small training set).
Expectations are checked on the logged numbers by arithmetic.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import diagnose

ROOT = Path(__file__).resolve().parents[1]



def test_public_caltech_run_from_scratch_has_its_gap_reported() -> None:
    run_dir = ROOT / "bench" / "real-runs" / "w86h-tju-caltech-scratch-006"
    if not run_dir.exists():
        pytest.skip("bench/real-runs not present")
    (run,) = diagnose.load_all(run_dir)
    ts, tv = run.arrays("train/loss")
    vs, vv = run.arrays("val/loss")
    assert ts.tolist() == vs.tolist() and (np.diff(ts) == 1).all()  # one value per epoch
    assert vv[-1] / tv[-1] > 4  # by arithmetic: validation ends above 4x train
    assert "DG103" in {f.rule for f in diagnose.check(run_dir).findings}


def _memorise(path: Path, epochs: int = 30) -> tuple[list[float], list[float]]:
    """10-class softmax regression on 60 examples with 200 features whose labels depend on
    one feature only through noise: it fits the training set, and validation stays far off."""
    rng = np.random.default_rng(11)
    k, d = 10, 200
    x, xv = rng.normal(size=(60, d)), rng.normal(size=(400, d))
    y, yv = rng.integers(0, k, 60), rng.integers(0, k, 400)
    w = np.zeros((d, k))

    def ce(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
        z = a @ w
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return float(-np.log(p[np.arange(len(b)), b]).mean()), p

    train, val = [], []
    for _ in range(epochs):
        loss, p = ce(x, y)
        p[np.arange(len(y)), y] -= 1
        w -= 0.04 * x.T @ p / len(y)
        train.append(loss)
        val.append(ce(xv, yv)[0])
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["epoch", "loss", "val_loss"])
        wr.writerows([i, f"{a:.6f}", f"{b:.6f}"] for i, (a, b) in enumerate(zip(train, val)))
    return train, val


def test_memorising_run_logged_per_epoch_has_its_gap_reported(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    train, val = _memorise(path)
    assert train[-1] < train[len(train) // 2] * 0.8  # still falling fast at the end
    assert val[-1] / train[-1] > 2.5 and val[-1] > val[0] * 0.95  # validation never learned
    assert "DG103" in {f.rule for f in diagnose.check(path).findings}
