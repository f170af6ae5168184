"""A train loss whose last logged value is NaN died there, however few such points the log holds.

DG210 asked for three non-finite points to the end (two in a short log), to spare a "summary row"
written after a fault. No public run showed one: all 41 public tuning runs whose train loss is
NaN/inf at its end are labelled explosions. Two of them ended on a single NaN row, a Lightning
run logged every 50 steps and a six-epoch homework run that stopped at its NaN epoch; they got
DG201's "non-finite values", a pattern of its own, instead of the explosion they are.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import diagnose
from _real_logs import bench_run


@pytest.mark.parametrize("name", ["w96v-av0cat0-ycn-l9-chance-nan", "w9c-wsds-v2"])
def test_a_single_nan_at_the_end_is_a_dead_run(name: str) -> None:
    path = bench_run(name)
    run = diagnose.load_all(str(path))[0]
    steps, loss = run.arrays("train/loss")
    assert np.isnan(loss[-1]) and np.isfinite(loss[:-1]).all()
    found = {f.rule: f for f in diagnose.check(str(path)).findings}
    assert "DG210" in found and found["DG210"].pattern == "explosion"
    assert f"at step {int(steps[-1])}" in found["DG210"].message
    assert "DG201" not in found


def test_the_homework_json_itself_ends_in_nan() -> None:
    """The homework file's own lists, read with json: finite at ln 10 for five epochs, then NaN."""
    path = bench_run("w96v-av0cat0-ycn-l9-chance-nan")
    (log,) = path.glob("*.json")
    text = log.read_text()
    data = json.loads(text)
    results = data.get("results", data)
    train = results["train_loss"]
    assert all(abs(v - np.log(10)) < 0.01 for v in train[:-1])
    assert np.isnan(train[-1])
