"""Small numpy training loops whose printed logs the text-reader tests write: real gradient
descent, so the curves have the shapes real runs have (a healthy fall, a divergence)."""

from __future__ import annotations

import numpy as np


def logistic(epochs: int, lr: float = 0.5,
             seed: int = 3) -> list[tuple[float, float, float, float]]:
    """A logistic regression trained by gradient descent: train loss and accuracy, then the
    held-out loss and accuracy, per epoch."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 6))
    y = (x @ rng.normal(size=6) + 0.7 * rng.normal(size=600) > 0).astype(float)
    xt, yt, xv, yv = x[:480], y[:480], x[480:], y[480:]
    w = np.zeros(6)

    def scores(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
        p = 1 / (1 + np.exp(-(xs @ w)))
        loss = float(-np.mean(ys * np.log(p + 1e-9) + (1 - ys) * np.log(1 - p + 1e-9)))
        return loss, float(np.mean((p > 0.5) == ys))

    rows = []
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(xt @ w)))
        w -= lr * xt.T @ (p - yt) / len(yt)
        rows.append((*scores(xt, yt), *scores(xv, yv)))
    return rows


def diverging(epochs: int) -> list[tuple[float, float]]:
    """A linear regression whose step size is past its stability limit: both losses grow."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 4)) * 3
    y = x @ rng.normal(size=4) + 0.1 * rng.normal(size=400)
    w = np.zeros(4)
    rows = []
    for _ in range(epochs):
        w -= 0.2 * 2 * x[:320].T @ (x[:320] @ w - y[:320]) / 320
        rows.append((float(np.mean((x[:320] @ w - y[:320]) ** 2)),
                     float(np.mean((x[320:] @ w - y[320:]) ** 2))))
    return rows
