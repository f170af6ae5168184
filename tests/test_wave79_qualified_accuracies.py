"""Accuracies logged under the same extra word as the losses.

A log whose losses carry one more word than their split (``combined_train_losses`` and
``combined_val_losses``: a grokking script's curves grouped under ``combined``;
``epochs_train_loss`` and ``epochs_test_loss``: a loop's per-epoch records flattened under
``epochs``) had its losses
read, but its accuracies kept their raw names, so the rules that read accuracies (the gap in
points, chance level from 1/K) never saw them. And a test loss under such a word was not read as
the held-out loss, as a plain ``test_loss`` is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _read(path: Path) -> diagnose.Run:
    run = diagnose.load(str(path))
    return run[0] if isinstance(run, list) else run


def test_grouped_accuracies_are_read_with_the_grouped_losses() -> None:
    path = _run("w100f-darby-div-grok-gap")
    combined = json.loads((path / "metrics.json").read_text())["combined"]
    run = _read(path)
    assert np.allclose(run.arrays("train/acc")[1], combined["train_accs"])
    assert np.allclose(run.arrays("val/acc")[1], combined["val_accs"])
    assert not [n for n in run.metric_names if "accs" in n]


def test_a_qualified_test_split_is_the_held_out_one() -> None:
    path = _run("w83d-mnist4classify")
    epochs = json.loads((path / "results" / "training_log.json").read_text())["epochs"]
    run = _read(path)
    assert np.allclose(run.arrays("val/loss")[1], [e["test_loss"] for e in epochs])
    # logged in percent, as the file has it (the rules read an accuracy above 1 as percent)
    assert np.allclose(run.arrays("val/acc")[1], [e["test_acc"] for e in epochs])
    assert np.allclose(run.arrays("train/acc")[1], [e["train_acc"] for e in epochs])
    assert np.allclose(run.arrays("train/loss")[1], [e["train_loss"] for e in epochs])


def _csv(tmp_path: Path, columns: dict[str, list[float]]) -> Path:
    f = tmp_path / "history.csv"
    n = len(next(iter(columns.values())))
    lines = ["epoch," + ",".join(columns)]
    lines += [f"{i}," + ",".join(str(v[i]) for v in columns.values()) for i in range(n)]
    f.write_text("\n".join(lines) + "\n")
    return f


LOSS = [2.3, 1.6, 1.1, 0.8, 0.6, 0.5]
VAL = [2.3, 1.8, 1.5, 1.4, 1.4, 1.45]
ACC = [0.1, 0.4, 0.6, 0.75, 0.85, 0.9]
VACC = [0.1, 0.35, 0.5, 0.55, 0.56, 0.56]


def test_qualified_accuracies_in_a_csv(tmp_path: Path) -> None:
    run = _read(_csv(tmp_path, {"exposure_train_loss": LOSS, "exposure_val_loss": VAL,
                                "exposure_train_acc": ACC, "exposure_val_acc": VACC}))
    assert np.allclose(run.arrays("train/acc")[1], ACC)
    assert np.allclose(run.arrays("val/acc")[1], VACC)


def test_a_test_accuracy_beside_a_validation_loss_is_not_the_validation_one(tmp_path: Path) -> None:
    run = _read(_csv(tmp_path, {"exposure_train_loss": LOSS, "exposure_val_loss": VAL,
                                "exposure_test_loss": VAL, "exposure_test_acc": VACC}))
    assert np.allclose(run.arrays("val/loss")[1], VAL)
    assert "val/acc" not in run.metric_names


def test_two_accuracies_of_one_split_are_left_alone(tmp_path: Path) -> None:
    run = _read(_csv(tmp_path, {"exposure_train_loss": LOSS, "exposure_val_loss": VAL,
                                "exposure_val_acc": VACC, "exposure_val_accuracy": ACC}))
    assert "val/acc" not in run.metric_names
    assert np.allclose(run.arrays("val/loss")[1], VAL)
