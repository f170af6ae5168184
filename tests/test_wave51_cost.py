"""A loss printed as "cost": TensorFlow 1's tutorials print ``Epoch: 0001 cost= 0.291256698``,
and the loops copied from them keep the word (``train cost``, ``validation cost``, ``test
cost``). Such a log was read with no loss at all, so a diverging run got "not checked" for
every loss pattern and no finding.

The logs here come from real gradient-descent loops written in numpy in the test (a logistic
regression, and a linear regression whose step size is past its stability limit); the values
the reader returns are checked against the printed lines with a regex written here.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

_EPOCH = re.compile(r"Epoch: (\d+) cost= ([\d.e+-]+)")


def _logistic(path: Path, *, lr: float, epochs: int, names: tuple[str, str]) -> list[float]:
    """A logistic regression trained by minibatch gradient descent; each epoch prints its mean
    train cost and the cost on a held-out split under ``names``. Returns the held-out costs."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(640, 8))
    y = (x @ rng.normal(size=8) + 0.5 * rng.normal(size=640) > 0).astype(float)
    xt, yt, xv, yv = x[:512], y[:512], x[512:], y[512:]
    w, b = np.zeros(8), 0.0
    held: list[float] = []

    def cost(xs: np.ndarray, ys: np.ndarray) -> float:
        p = 1 / (1 + np.exp(-(xs @ w + b)))
        return float(-np.mean(ys * np.log(p + 1e-9) + (1 - ys) * np.log(1 - p + 1e-9)))

    lines = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for i in range(0, 512, 64):
            xb, yb = xt[i:i + 64], yt[i:i + 64]
            total += cost(xb, yb) / 8
            p = 1 / (1 + np.exp(-(xb @ w + b)))
            w -= lr * xb.T @ (p - yb) / 64
            b -= lr * float(np.mean(p - yb))
        held.append(cost(xv, yv))
        lines.append(f"Epoch {epoch}, {names[0]}: {total:.6f}, {names[1]}: {held[-1]:.6f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return held


def test_a_tutorial_cost_line_is_the_train_loss(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4))
    y = (x @ rng.normal(size=4) > 0).astype(float)
    w = np.zeros(4)
    out = ["Learning started. It takes some time."]
    for epoch in range(1, 21):
        p = 1 / (1 + np.exp(-(x @ w)))
        c = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
        w -= 0.5 * x.T @ (p - y) / len(y)
        out.append(f"Epoch: {epoch:04d} cost= {c:.9f}")
    log = tmp_path / "train.log"
    log.write_text("\n".join(out) + "\n", encoding="utf-8")
    printed = [float(m.group(2)) for m in _EPOCH.finditer(log.read_text(encoding="utf-8"))]
    run = diagnose.load(tmp_path)
    s = run.series("train/loss")
    assert list(s.values) == printed


def test_train_and_validation_cost_are_the_two_losses(tmp_path: Path) -> None:
    held = _logistic(tmp_path / "log.txt", lr=0.3, epochs=15,
                     names=("Training Cost", "Validation Cost"))
    run = diagnose.load(tmp_path)
    assert np.allclose(run.series("val/loss").values, np.round(held, 6))
    assert len(run.series("train/loss")) == 15


def test_a_test_cost_is_the_held_out_loss_when_nothing_else_is(tmp_path: Path) -> None:
    held = _logistic(tmp_path / "log.txt", lr=0.3, epochs=15, names=("train cost", "test cost"))
    run = diagnose.load(tmp_path)
    assert np.allclose(run.series("val/loss").values, np.round(held, 6))


def test_a_diverging_run_that_prints_cost_is_an_explosion(tmp_path: Path) -> None:
    """Linear regression by full-batch gradient descent at a step size past 2 / the largest
    eigenvalue of X'X/n: the cost grows geometrically. Before, the log was "not checked"."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 5)) * np.array([1.0, 1.0, 1.0, 1.0, 3.0])
    y = x @ rng.normal(size=5) + 0.1 * rng.normal(size=200)
    lr = 2.5 / float(np.linalg.eigvalsh(x.T @ x / len(y)).max())
    w = np.zeros(5)
    out = []
    for epoch in range(1, 31):
        r = x @ w - y
        out.append(f"Epoch: {epoch:04d} cost= {float(np.mean(r * r)):.9f}")
        w -= lr * 2 * x.T @ r / len(y)
    (tmp_path / "train.log").write_text("\n".join(out) + "\n", encoding="utf-8")
    costs = [float(m.group(2)) for m in _EPOCH.finditer("\n".join(out))]
    assert costs[-1] > 100 * costs[0]  # the run diverged, by the printed numbers alone
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert '"DG102"' in result.output


def test_a_time_cost_is_not_a_loss() -> None:
    """MXNet prints ``Epoch[0] Time cost=140.990`` beside its train accuracy: a duration."""
    log = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w51a-mxnet-resnet18-cls"
           / "log" / "train.log")
    times = {float(v) for v in re.findall(r"Time cost=([\d.]+)", log.read_text(encoding="utf-8"))}
    assert times
    run = diagnose.load(log.parent)
    for name in run.metric_names:
        assert not times & set(run.series(name).values.tolist()), name


def test_training_acc_is_the_train_accuracy() -> None:
    """``training acc`` (a public AlexNet log, w55a) sat beside ``training_accuracy`` and
    ``training_loss`` in no alias list, so its run had no train accuracy."""
    log = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w55a-gbm-alexnet-stuck"
           / "training_output.txt")
    printed = [float(v) for v in re.findall(r"training acc: ([\d.]+)", log.read_text(encoding="utf-8"))]
    assert len(printed) > 100
    run = diagnose.load(log.parent)
    read = run.series("train/acc").values.tolist()
    # the log restarts from checkpoints, and the reader keeps one value per global iteration
    assert len(read) >= 0.99 * len(printed)
    assert not Counter(read) - Counter(printed)
