"""``SummaryWriter.add_scalar(tag, value)`` with no ``global_step`` writes every value at step 0.

Read by step, a whole curve then collapsed into its last value (one point per metric, a note
that 68 steps repeated, and a "gap" judged on one train point against one validation point).
MLflow's ``log_metric`` without a step already got its logging order as its axis; event files
now get the same, through one shared helper, and a validation curve logged that way lines up
with the train loss by wall time like any validation on a counter of its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _memoriser import random_label_task

import diagnose

EPOCHS, BATCHES = 30, 6


def _stepless_run(run: Path) -> tuple[list[float], list[float]]:
    """A real MLP memorising random labels, logged by the real SummaryWriter with no step:
    the train loss per batch, the validation loss per epoch. Returns both as logged."""
    torch = pytest.importorskip("torch")
    tb = pytest.importorskip("torch.utils.tensorboard")
    x, y, xv, yv, model, opt, loss_fn = random_label_task(1, 192)
    w = tb.SummaryWriter(str(run))
    train, val = [], []
    for _ in range(EPOCHS):
        for i in range(BATCHES):
            loss = loss_fn(model(x[i * 32:(i + 1) * 32]), y[i * 32:(i + 1) * 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.add_scalar("train_loss", loss.item())
            train.append(loss.item())
        with torch.no_grad():
            v = loss_fn(model(xv), yv).item()
        w.add_scalar("val_loss", v)
        val.append(v)
    w.close()
    return train, val


def test_event_file_without_steps_keeps_its_curves(tmp_path: Path) -> None:
    train, val = _stepless_run(tmp_path / "run")
    run = diagnose.load(str(tmp_path / "run"))
    ts, tv = run.arrays("train/loss")
    vs, vv = run.arrays("val/loss")
    # every logged value is kept, in the order logged
    assert np.allclose(tv, train, rtol=1e-6) and np.allclose(vv, val, rtol=1e-6)
    assert list(ts) == list(range(EPOCHS * BATCHES))
    # each evaluation sits at (or next to) the last train batch logged before it
    ends = np.arange(1, EPOCHS + 1) * BATCHES - 1
    assert np.all(np.abs(vs - ends) <= 1)
    notes = " ".join(run.warnings)
    assert "no step given" in notes and "repeated step" not in notes
    # the memorising run (train falls by plain arithmetic, validation ends above its best)
    assert np.mean(train[-BATCHES:]) < 0.5 * np.mean(train[:BATCHES]) and val[-1] > min(val)
    patterns = {f.pattern for f in diagnose.check(run).findings}
    assert "late_overfitting" in patterns


def test_numbered_in_order_leaves_stepped_metrics_alone() -> None:
    from diagnose.readers._common import numbered_in_order

    code = np.array([0, 1, 0, 1, 2, 0, 2], dtype=np.int64)
    step = np.array([0, 5, 1, 5, 7, 2, 7], dtype=np.int64)
    out, notes = numbered_in_order(code, step, ["a", "b", "c"], "f")
    # 'a' had steps; 'b' and 'c' were each logged twice at one step
    assert out.tolist() == [0, 0, 1, 1, 0, 2, 1]
    assert len(notes) == 2 and "'b'" in notes[0] and "'c'" in notes[1]
    once, none = numbered_in_order(np.array([0]), np.array([3]), ["a"], "f")
    assert once.tolist() == [3] and none == []
