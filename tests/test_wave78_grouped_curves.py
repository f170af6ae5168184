"""A JSON file whose curves sit under a key of their own, with no settings beside them.

A course's grokking script dumps ``{"combined": {"train_losses": [...], "val_losses": [...],
"train_accs": [...], "val_accs": [...]}, "by_operator": {"+": {...}, "-": {...}}, "run_dir":
"..."}`` as ``metrics.json``. Files of that shape were claimed only when a settings mapping
(``config``, ``params``, ...) stood beside the curves, so these runs came out "no training log
found here". With no settings, the group must hold a train loss and a held-out loss: one list
under a loss's name is not enough to call a file a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _real_logs import bench_run as _run

import diagnose
from diagnose.readers import keras_json


def test_curves_grouped_under_a_key_are_read() -> None:
    path = _run("w100f-darby-div-grok-gap")
    combined = json.loads((path / "metrics.json").read_text())["combined"]
    run = diagnose.load(str(path))
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    assert np.allclose(train, combined["train_losses"])
    assert np.allclose(val, combined["val_losses"])
    # validation never learns while train keeps falling: the gap of the final model is found
    found = {f.pattern for f in diagnose.check(str(path)).findings if f.severity != "info"}
    assert "generalization_gap" in found


def test_healthy_grouped_runs_are_read_and_clean() -> None:
    for name in ("w100f-darby-addsub-p113-s42", "w100f-darby-addsub-p113-s43"):
        report = diagnose.check(str(_run(name)))
        assert len(report.runs) == 1
        assert not [f for f in report.findings if f.severity != "info"], name


@pytest.mark.parametrize("group", [
    {"train_losses": [2.3, 1.2, 0.8]},  # a train loss alone
    {"val_losses": [2.3, 1.2, 0.8], "val_accs": [0.1, 0.5, 0.7]},  # a held-out loss alone
])
def test_one_side_of_the_curves_is_not_a_run(tmp_path: Path, group: dict) -> None:
    f = tmp_path / "metrics.json"
    f.write_text(json.dumps({"summary": group, "run_dir": "runs/x"}))
    assert not keras_json.detect(f)


def test_both_sides_grouped_are_a_run(tmp_path: Path) -> None:
    f = tmp_path / "metrics.json"
    f.write_text(json.dumps({"summary": {"train_loss": [2.3, 1.2, 0.8],
                                         "val_loss": [2.2, 1.4, 1.1]}, "run_dir": "runs/x"}))
    assert keras_json.detect(f)
    run = diagnose.load(str(f))
    assert np.allclose(run.arrays("val/loss")[1], [2.2, 1.4, 1.1])
