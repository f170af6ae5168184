"""K read off the train curves of a run that logs no validation and no number of classes.

Two public Keras LSTMs of a sign-language tutorial (w70b tuning split, labelled from their plots
before diagnose ran on them) log only a train loss and a train accuracy:

- w70b-rokr-1682021140 learns to 0.17 (accuracy 0.88), blows up at epoch 58 and then sits at
  1.09, ln 3, with its accuracy at 0.32-0.36 for the rest of the run. With no K the loss at
  ln 3 meant nothing: it was read as a flat loss, which is what the issue's second case warns
  of (a collapse after a blow-up is the blow-up, not a flat loss).
- w70b-signlangnet-18201 writes its accuracy as Keras's TensorBoard callback names it,
  ``train/epoch_categorical_accuracy``; that spelling was not read as an accuracy at all, and
  the run, which ends at ln 3 after a blow-up to 2e8, got "All checks passed".

- w71b-giovanni-13653-1, a 7-class gesture LSTM, learns to 1.43, jumps to 2.52 and then drifts
  down onto ln 7 (2.18 -> 1.98) with its accuracy at 1/7 for its last 105 epochs: a loss settling
  onto ln K from above learns nothing, and the run that got "All checks passed" is told so.

A loss at ln K beside an accuracy at 1/K of the same K over the second half of a run names K;
a public tissue classifier that never learned (w55a-gbm-alexnet-stuck, a text log of batch
losses near 2.0 and batch accuracies near 0.15) is now read as uniform predictions too.

Raw values are read with TensorBoard's own EventAccumulator and plain regular expressions, not
through diagnose's readers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from diagnose.cli import main

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
ROKR = REAL / "w70b-rokr-1682021140"
SIGN = REAL / "w70b-signlangnet-18201"
GBM = REAL / "w55a-gbm-alexnet-stuck"
GESTURE = REAL / "w71b-giovanni-13653-1"


def _tags(folder: Path) -> dict[str, np.ndarray]:
    """Every scalar of the event files under ``folder``, by tag (Keras 3 writes tensors)."""
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out: dict[str, np.ndarray] = {}
    for f in sorted(folder.rglob("events.out.tfevents.*")):
        ea = ea_mod.EventAccumulator(str(f), size_guidance={"scalars": 0, "tensors": 0})
        ea.Reload()
        for tag in ea.Tags()["scalars"]:
            out[tag] = np.array([e.value for e in ea.Scalars(tag)])
        for tag in ea.Tags()["tensors"]:
            vals = [e.tensor_proto for e in ea.Tensors(tag)]
            if vals and vals[0].dtype == 1:  # DT_FLOAT
                out[tag] = np.array([v.float_val[0] if v.float_val else
                                     np.frombuffer(v.tensor_content, "<f4")[0] for v in vals])
    return out


def _check(run: Path) -> tuple[dict[str, str], str]:
    result = CliRunner().invoke(main, ["check", str(run), "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.output
    text = CliRunner().invoke(main, ["check", str(run), "--exit-zero"]).output
    return {f["rule"]: f["message"] for f in json.loads(result.output)["findings"]}, text


def _second_half(v: np.ndarray) -> np.ndarray:
    return v[len(v) // 2:]


def test_rokr_sits_at_ln_3_with_accuracy_at_a_third_after_learning() -> None:
    tags = _tags(ROKR)
    loss, acc = tags["loss"], tags["categorical_accuracy"]
    assert loss.min() < 0.3 and acc.max() > 0.85  # it learned
    assert abs(np.median(_second_half(loss)) / math.log(3) - 1) < 0.01
    assert abs(np.median(_second_half(acc)) * 3 - 1) < 0.1
    assert loss.max() > 5 * math.log(3)  # and blew up on its way


def test_rokr_gets_k_from_its_train_curves_and_the_collapse_is_a_blow_up() -> None:
    found, text = _check(ROKR)
    assert "DG102" in found and "DG101" not in found
    assert "read off the train curves" in found["DG102"]
    assert "not checked: uniform_predictions" not in text


def test_keras_epoch_categorical_accuracy_is_the_train_accuracy() -> None:
    tags = _tags(SIGN)
    assert "epoch_categorical_accuracy" in tags and "epoch_loss" in tags
    acc, loss = tags["epoch_categorical_accuracy"], tags["epoch_loss"]
    assert abs(np.median(acc[-100:]) * 3 - 1) < 0.05  # its last 100 epochs at 1/3 and ln 3
    assert abs(np.median(loss[-100:]) / math.log(3) - 1) < 0.01
    assert loss.max() > 1e6  # the blow-up before it sat at ln 3
    found, text = _check(SIGN)
    assert "DG102" in found  # a run that blew up and sat at chance: never "All checks passed"
    assert "All checks passed" not in text


def test_a_tissue_classifier_that_never_learned_is_uniform() -> None:
    text = (GBM / "training_output.txt").read_text(errors="replace")
    losses = [float(x) for x in re.findall(r"[Ll]oss[ =:]+([0-9.]+)", text)]
    assert len(losses) > 1000
    half = np.array(losses[len(losses) // 2:])
    assert 1.9 < np.median(half) < 2.1  # between ln 6 and ln 8: no class learned
    found, _ = _check(GBM)
    assert "DG204" in found and "read off the train curves" in found["DG204"]


def test_a_loss_settling_onto_ln_7_from_above_still_names_k() -> None:
    tags = _tags(GESTURE)
    loss, acc = tags["epoch_loss"], tags["epoch_categorical_accuracy"]
    half_loss, half_acc = _second_half(loss), _second_half(acc)
    assert half_loss[0] > half_loss[-1] > math.log(7) * 0.99  # falling, but onto ln 7, not below
    assert abs(np.median(half_loss) / math.log(7) - 1) < 0.05
    assert abs(np.median(half_acc) * 7 - 1) < 0.15
    found, text = _check(GESTURE)
    assert found and "All checks passed" not in text
    assert "not checked: uniform_predictions" not in text and "ln(7)" in " ".join(found.values())
