"""Two shapes of script-written JSON history that lost a whole run.

- A public text-emotion classifier (bench/real-runs/w79d-emotion-text) keeps one F1 per class
  per epoch (``val_class_f1``: a list of six numbers) beside its losses; the reader refused the
  file ("is not a number"), so the losses were never judged.
- A public land-use classifier (bench/real-runs/w79d-satellite-landuse) writes ``losses.json``
  as ``{"train": [...], "val": [...]}``: the file's name says what the lists are, the keys only
  which split. No reader claimed it ("no training log found").

Both were labelled from their plots before diagnose ran on them. The values are read with json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_a_per_class_list_is_passed_over_not_the_run() -> None:
    path = RUNS / "w79d-emotion-text" / "logs" / "training_history.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert all(isinstance(v, list) and len(v) > 2 for v in data["val_class_f1"])
    run = diagnose.load(str(path))
    assert np.allclose(run.arrays("train/loss")[1], data["train_loss"])
    assert np.allclose(run.arrays("val/loss")[1], data["val_loss"])
    assert any("val_class_f1" in w for w in run.warnings)


def test_split_keys_of_a_losses_file_are_its_losses() -> None:
    path = RUNS / "w79d-satellite-landuse" / "outputs" / "losses.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"train", "val"}
    run = diagnose.load(str(RUNS / "w79d-satellite-landuse"))
    assert np.allclose(run.arrays("train/loss")[1], data["train"])
    assert np.allclose(run.arrays("val/loss")[1], data["val"])


@pytest.mark.parametrize(("name", "read"), [
    ("loss_history.json", True), ("train_losses.json", True),
    ("metrics.json", False),  # split keys under a name that says nothing: no guess
    ("glossary.json", False),  # "loss" inside another word
])
def test_only_a_name_that_says_loss_names_split_keys(tmp_path: Path, name: str, read: bool) -> None:
    curve = [round(1.0 / (i + 1), 4) for i in range(12)]
    (tmp_path / name).write_text(json.dumps({"train": curve, "val": curve[::-1]}), encoding="utf-8")
    if read:
        assert np.allclose(diagnose.load(str(tmp_path)).arrays("train/loss")[1], curve)
    else:
        with pytest.raises(diagnose.ReadError):
            diagnose.load(str(tmp_path))


def test_a_split_key_beside_its_own_loss_keeps_both_names(tmp_path: Path) -> None:
    curve = [round(1.0 / (i + 1), 4) for i in range(12)]
    other = [round(2.0 / (i + 1), 4) for i in range(12)]
    (tmp_path / "losses.json").write_text(json.dumps({"train_loss": curve, "train": other}),
                                          encoding="utf-8")
    assert np.allclose(diagnose.load(str(tmp_path)).arrays("train/loss")[1], curve)
