"""A Keras history saved with pandas, ``pd.DataFrame(history.history).to_json(path)``.

pandas's default JSON layout is one object per column keyed by the row labels
(``{"loss": {"0": 0.726, "1": 0.723, ...}}``). A public terrain segmenter (bench/real-runs/
w73d-karst-dem-flat, labelled flat from its plot before diagnose ran on it) saved its history
that way, and `check` stopped at "no per-epoch list of numbers in it". Its values are compared
here with what pandas itself reads back from the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

KARST = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w73d-karst-dem-flat"


def test_the_public_pandas_history_is_read_as_pandas_reads_it() -> None:
    path = KARST / "weights" / "history.json"
    frame = pd.read_json(path)
    run = diagnose.load(str(path))
    for column, name in (("loss", "train/loss"), ("val_loss", "val/loss")):
        steps, values = run.arrays(name)
        assert np.array_equal(steps, frame.index.to_numpy())
        assert np.allclose(values, frame[column].to_numpy())


def test_the_public_pandas_history_is_checked() -> None:
    result = CliRunner().invoke(main, ["check", str(KARST), "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "DG101" in {f["rule"] for f in out["findings"]}  # 0.726 -> 0.710 over 100 epochs


def test_row_labels_from_one_are_the_epochs(tmp_path: Path) -> None:
    frame = pd.DataFrame({"loss": [0.9, 0.7, 0.5], "val_loss": [1.0, 0.8, 0.75]}, index=[1, 2, 3])
    path = tmp_path / "history.json"
    frame.to_json(path)
    assert json.loads(path.read_text())["loss"] == {"1": 0.9, "2": 0.7, "3": 0.5}
    steps, values = diagnose.load(str(path)).arrays("val/loss")
    assert steps.tolist() == [1, 2, 3] and values.tolist() == [1.0, 0.8, 0.75]
