"""A loss filed under the knob a sweep varies: ``loss_learning_rate``.

A public TensorFlow 1 MNIST learning-rate sweep (bench/real-runs/w78c-mnist-lr1e2 and
w78c-mnist-lr1em5, labelled from their plots before diagnose ran on them) logs one scalar per
run, ``loss_learning_rate``, in folders named after the rate. No name mapped to a curve the
rules read, so `check` said only that it recognised nothing: lr=100 blows the loss up from 13 to
188 and it stays near 40; lr=1e-5 keeps it at 2.3-2.4 for 10,000 steps. The values are read off
the event files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _tb_truth import event_scalars

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _loss(run: str) -> list[float]:
    (folder,) = {p.parent for p in (RUNS / run).rglob("events.out.tfevents.*")}
    scalars = event_scalars(folder)
    assert set(scalars) == {"loss_learning_rate"}  # the log's only scalar
    return [v for _, v in sorted(scalars["loss_learning_rate"].items())]


def test_the_blown_up_sweep_member_is_an_explosion() -> None:
    loss = _loss("w78c-mnist-lr1e2")
    assert max(loss) > 10 * loss[0] and sorted(loss)[len(loss) // 2] > 2 * loss[0]
    found = {f.rule for f in diagnose.check(str(RUNS / "w78c-mnist-lr1e2")).findings}
    assert "DG102" in found


def test_the_tiny_rate_sweep_member_is_flat() -> None:
    loss = _loss("w78c-mnist-lr1em5")
    assert max(loss) / min(loss) < 1.2 and len(loss) > 1000
    found = {f.rule for f in diagnose.check(str(RUNS / "w78c-mnist-lr1em5")).findings}
    assert "DG101" in found


@pytest.mark.parametrize(("columns", "read"), [
    (("loss_learning_rate",), True),  # the same name in a CSV log: read the same way
    (("loss_cov", "loss_marginal"), False),  # two terms of an objective the log does not hold
    (("loss_scale",), False),  # AMP's loss scale is a setting, not a loss
])
def test_one_leading_loss_is_read_terms_and_settings_are_not(
        tmp_path: Path, columns: tuple[str, ...], read: bool) -> None:
    rows = [",".join(("step", *columns))]
    rows += [",".join((str(i), *(f"{1.0 / (i + 1) + j:.4f}" for j in range(len(columns)))))
             for i in range(20)]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert diagnose.load(str(tmp_path)).has("train/loss") is read
