"""A script's JSON log that keeps the loop's records under a key beside its settings.

``{"config": {...}, "history": [{"epoch": 1, "train_loss": 1.031, ...}, ...]}`` saved as
``logs/training_log.json`` by a public human-robot-interaction LSTM (bench/real-runs/
w74d-hri-motion-lstm, labelled from its plot before diagnose ran on it): `check` found no log
there, because the file is not named ``*history*.json`` and is neither a bare list of records nor
an object of lists. The values are compared with what ``json`` reads from the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose import ReadError

LOG = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w74d-hri-motion-lstm" / "logs"
       / "training_log.json")


def test_the_records_under_a_key_are_the_curves_at_their_own_epochs() -> None:
    data = json.loads(LOG.read_text(encoding="utf-8"))
    rows = data["history"]
    run = diagnose.load(str(LOG))
    for key, name in (("train_loss", "train/loss"), ("val_loss", "val/loss"), ("val_acc", "val/acc")):
        steps, values = run.arrays(name)
        assert list(steps) == [r["epoch"] for r in rows]
        assert np.allclose(values, [r[key] for r in rows])
    assert run.param("lr") == data["config"]["lr"]


def test_a_sweep_summary_of_records_is_not_claimed(tmp_path: Path) -> None:
    # one record per setting, no counter counting up: a table of results, not a history
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"study": "lr", "trials": [
        {"lr": 0.1, "val_loss": 0.52}, {"lr": 0.01, "val_loss": 0.48}, {"lr": 0.001, "val_loss": 0.61}]}))
    with pytest.raises(ReadError):
        diagnose.load(str(path))
