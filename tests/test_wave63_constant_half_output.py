"""DG224: a loss trained with MSE on balanced 0/1 targets that freezes at 0.25 is the model
answering 0.5 to every input: the chance level of a regression on two classes, which ln K
does not name. Before DG224 such runs got "flat loss" at best, or "All checks passed".

The runs are real training here (an XOR MLP by gradient descent in numpy) and a public
Lightning log from the tuning half of bench/real-runs. Expectations are checked on the
logged numbers by arithmetic, never by diagnose's own features.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import diagnose

ROOT = Path(__file__).resolve().parents[1]
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def _xor(path: Path, init_scale: float, epochs: int = 400, lr: float = 0.5) -> list[float]:
    """A 2-4-1 sigmoid MLP on XOR with MSE, full batch, weights drawn at ``init_scale``: a
    small start sits near the saddle where every output is 0.5, which 400 epochs at lr 0.5
    do not leave."""
    rng = np.random.default_rng(3)
    w1, b1 = rng.normal(scale=init_scale, size=(2, 4)), np.zeros(4)
    w2, b2 = rng.normal(scale=init_scale, size=4), 0.0

    def sig(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    losses = []
    for _ in range(epochs):
        h = sig(X @ w1 + b1)
        out = sig(h @ w2 + b2)
        losses.append(float(np.mean((out - Y) ** 2)))
        d_out = 2 * (out - Y) / len(Y) * out * (1 - out)
        d_h = np.outer(d_out, w2) * h * (1 - h)
        w2 -= lr * h.T @ d_out
        b2 -= lr * d_out.sum()
        w1 -= lr * X.T @ d_h
        b1 -= lr * d_h.sum(axis=0)
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["epoch", "loss"])
        wr.writerows([i, f"{v:.8f}"] for i, v in enumerate(losses))
    return losses



def test_xor_mlp_from_a_small_start_freezes_at_a_quarter(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    losses = _xor(path, init_scale=0.1)
    assert losses[0] != losses[-1]  # it moved: not a constant loss (DG217)
    tail = np.array(losses[len(losses) * 4 // 5:])
    assert abs(float(np.median(tail)) / 0.25 - 1) < 1e-3  # by arithmetic: it sits at 0.25
    assert float(tail.max() - tail.min()) < 1e-4
    assert "DG224" in {f.rule for f in diagnose.check(path).findings}


def test_xor_mlp_that_learns_is_not_called_constant(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    losses = _xor(path, init_scale=1.0, epochs=3000, lr=2.0)
    assert losses[-1] < 0.05  # by arithmetic: it solved XOR
    assert "DG224" not in {f.rule for f in diagnose.check(path).findings}


def test_public_lstm_on_two_targets_frozen_at_a_quarter() -> None:
    run_dir = ROOT / "bench" / "real-runs" / "lstm-diogo-v4"
    if not run_dir.exists():
        pytest.skip("bench/real-runs not present")
    (run,) = diagnose.load_all(run_dir)
    _, v = run.arrays("train/loss")
    tail = v[len(v) * 4 // 5:]
    assert v[0] > 1 and abs(float(np.median(tail)) / 0.25 - 1) < 1e-3
    assert "DG224" in {f.rule for f in diagnose.check(run_dir).findings}
