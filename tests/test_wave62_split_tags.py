"""A loop that tags each split's line with a bracketed label and prints the same names on
both (pytorch-unet's ``train.py``: ``Epoch 3:`` then ``  [TRAIN DATA] avg. acc: .. avg. loss:
..`` and ``  [VALID DATA] avg. acc: .. avg. loss: ..``, then ``[EARLY STOP]`` and
``[CHECKPOINT]`` lines). The validation line was read as more train values and dropped, so
the run had no validation curve and no gap or overfitting could be told.

The run here is real training (logistic regression fitted by gradient descent on a small
noisy problem, so validation turns up while train keeps falling); the expected curves are the
numbers printed, never what the reader returned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

EPOCHS = 40


def _fit(path: Path) -> tuple[list[float], list[float]]:
    """Train and print the way the loop does; return the printed train and valid losses."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 40))
    y = (x[:, 0] + rng.normal(scale=2.0, size=60) > 0).astype(float)
    xt, yt, xv, yv = x[:30], y[:30], x[30:], y[30:]
    w = np.zeros(40)

    def stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        p = np.clip(1 / (1 + np.exp(-a @ w)), 1e-7, 1 - 1e-7)
        loss = float(-np.mean(b * np.log(p) + (1 - b) * np.log(1 - p)))
        return float(np.mean((p > 0.5) == b)), loss

    lines, train, valid = [], [], []
    for epoch in range(1, EPOCHS + 1):
        p = 1 / (1 + np.exp(-xt @ w))
        w -= 0.5 * xt.T @ (p - yt) / len(yt)
        (ta, tl), (va, vl) = stats(xt, yt), stats(xv, yv)
        train.append(float(f"{tl:.5f}"))
        valid.append(float(f"{vl:.5f}"))
        lines += [f"Epoch {epoch}:",
                  f"  [TRAIN DATA] avg. acc: {ta:.5f} avg. loss: {tl:.5f} avg. IoU: {ta / 2:.5f}" + " " * 20,
                  f"  [VALID DATA] avg. acc: {va:.5f} avg. loss: {vl:.5f} avg. IoU: {va / 2:.5f}" + " " * 20,
                  f"  [EARLY STOP] counter: 0 best score: {-min(valid):.5f}",
                  f"  [CHECKPOINT] model_{epoch}_{-vl:.4f}.pt"]
    path.write_text("\n".join(lines) + "\n")
    return train, valid


def test_bracketed_split_tags_keep_the_validation_curve(tmp_path: Path) -> None:
    train, valid = _fit(tmp_path / "trainlog.txt")
    # by arithmetic: the validation loss turned up while the train loss kept falling
    assert train[-1] < train[0] and valid[-1] > min(valid)
    (run,) = diagnose.load_all(tmp_path / "trainlog.txt")
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == list(range(1, EPOCHS + 1))
    assert values.tolist() == train
    assert run.arrays("val/loss")[1].tolist() == valid
    assert "val/acc" in run.metric_names and "train/acc" in run.metric_names
