"""A validation loss summed over batches instead of averaged (the running total is never
divided by the number of batches) reads N x ln K at chance level, so ln K cannot be read off
it. When the train loss sits at ln K and both the train and the validation accuracy sit at
1/K, the accuracies witness that validation is at chance as well: DG204 must fire.

The first run is a public course-lab log (tuning half of bench/real-runs); the second is real
training here (softmax regression on labels that carry no information). Every expectation is
checked on the logged numbers by plain arithmetic, never by diagnose's own features.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import diagnose

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "bench" / "real-runs" / "w84h-atnn2-lr025-collapse"



def test_public_lab_run_with_a_summed_validation_loss_is_uniform() -> None:
    if not PUBLIC.exists():
        pytest.skip("bench/real-runs not present")
    (run,) = diagnose.load_all(PUBLIC)
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    _, tacc = run.arrays("train/acc")
    _, vacc = run.arrays("val/acc")
    lnk = math.log(10)
    # by arithmetic on the logged values: the train loss ends at ln 10, both accuracies at 1/10,
    # and the validation loss is tens of times ln 10 (a sum over batches)
    assert abs(float(np.median(train[-10:])) / lnk - 1) < 0.01
    assert abs(float(np.median(tacc)) * 10 - 1) < 0.1 and abs(float(np.median(vacc)) * 10 - 1) < 0.1
    assert float(np.median(val[-10:])) / lnk > 30
    assert "DG204" in {f.rule for f in diagnose.check(PUBLIC).findings}


def _train_on_noise(path: Path, k: int = 4, batches: int = 20, epochs: int = 30) -> dict[str, list]:
    """Softmax regression by gradient descent on labels drawn independently of the inputs; the
    validation loss is written the buggy way, summed over its batches."""
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(4000, 3)), rng.integers(0, k, size=4000)
    xv, yv = rng.normal(size=(batches * 50, 3)), rng.integers(0, k, size=batches * 50)
    w, b = rng.normal(scale=0.5, size=(3, k)), np.zeros(k)

    def probs(a: np.ndarray) -> np.ndarray:
        z = a @ w + b
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    rows = []
    for epoch in range(epochs):
        p = probs(x)
        g = p.copy()
        g[np.arange(len(y)), y] -= 1
        w -= 0.5 * x.T @ g / len(y)
        b -= 0.5 * g.mean(axis=0)
        p = probs(x)
        loss = float(-np.log(p[np.arange(len(y)), y]).mean())
        acc = float((p.argmax(axis=1) == y).mean())
        val_sum, hits = 0.0, 0
        for i in range(batches):
            xb, yb = xv[i * 50:(i + 1) * 50], yv[i * 50:(i + 1) * 50]
            pb = probs(xb)
            val_sum += float(-np.log(pb[np.arange(50), yb]).mean())
            hits += int((pb.argmax(axis=1) == yb).sum())
        rows.append({"epoch": epoch, "loss": loss, "accuracy": acc, "val_loss": val_sum,
                     "val_accuracy": hits / len(yv)})
    with path.open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    return {key: [r[key] for r in rows] for key in rows[0]}


def test_trained_model_on_noise_labels_with_summed_validation_loss_is_uniform(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    got = _train_on_noise(path)
    lnk = math.log(4)
    assert abs(got["loss"][-1] / lnk - 1) < 0.02  # it learned nothing: ln 4
    assert abs(float(np.median(got["accuracy"])) * 4 - 1) < 0.15
    assert abs(float(np.median(got["val_accuracy"])) * 4 - 1) < 0.15
    assert got["val_loss"][-1] / lnk > 15  # the sum over 20 batches
    assert "DG204" in {f.rule for f in diagnose.check(path).findings}
