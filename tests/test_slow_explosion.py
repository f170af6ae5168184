"""Issue 14, slow convergence and explosion on runs made by real training.

``fixtures/make_slow_fixtures.py`` writes ``fixtures/slow/``: Hugging Face ``Trainer`` runs with
its default schedule (linear decay to 0), one mini-batch loss kept every 50 steps by our
``Recorder``, and a Keras ``CSVLogger`` run. Every label is checked here on the logged values
with plain arithmetic; then the report must say what the log shows.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

import diagnose

ROOT = Path(__file__).resolve().parents[1]
SLOW = ROOT / "fixtures" / "slow"


def rules(path: Path) -> set[str]:
    return {f.rule for f in diagnose.check([path]).findings if f.severity in ("warning", "error")}


def hf_log(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps, train losses and learning rates of the train rows, and the eval losses."""
    hist = json.loads((path / "trainer_state.json").read_text())["log_history"]
    rows = [e for e in hist if "loss" in e and "eval_loss" not in e]
    ev = [e["eval_loss"] for e in hist if "eval_loss" in e]
    return (np.array([e["step"] for e in rows]), np.array([e["loss"] for e in rows]),
            np.array([e["learning_rate"] for e in rows]), np.array(ev))


def test_slow_run_under_a_schedule_that_decays_to_zero_is_too_slow():
    steps, loss, lr, val = hf_log(SLOW / "hf-slow-linear-decay")
    # the label, on the logged values: the loss fell little, and validation improved at every
    # evaluation to the end ...
    assert 0.05 < (loss[:5].mean() - loss[-5:].mean()) / loss[:5].mean() < 0.3
    assert (np.diff(val) < 0).all()
    # ... while the schedule took the rate to 0, so that per step the loss's last three tenths
    # fall less than half as steeply as its first three (what made the end look converged)
    n = len(loss) // 10
    assert lr[-1] < 0.01 * lr.max()
    assert np.polyfit(steps[-3 * n:], loss[-3 * n:], 1)[0] > 0.5 * np.polyfit(steps[:3 * n], loss[:3 * n], 1)[0]
    report = diagnose.check([SLOW / "hf-slow-linear-decay"])
    f = [f for f in report.findings if f.rule == "DG206"]
    assert f, [x.message for x in report.findings]
    assert "the summed learning rate" == f[0].evidence.get("slow_axis")


def test_healthy_run_under_the_same_schedule_stays_clean():
    _, loss, _, val = hf_log(SLOW / "hf-healthy-linear-decay")
    assert loss[-5:].mean() < 0.3 * loss[:5].mean() and val[-1] < 0.6 * val[0]
    assert rules(SLOW / "hf-healthy-linear-decay") == set()


def recorded(path: Path, metric: str) -> np.ndarray:
    run = diagnose.load(path)
    return run.arrays(metric)[1]


def test_slow_run_with_one_noisy_batch_loss_every_50_steps_is_too_slow():
    train = recorded(SLOW / "noisy-slow-every50", "train/loss")
    val = recorded(SLOW / "noisy-slow-every50", "val/loss")
    # the validation loss (the whole split) falls at every evaluation, by a fifth to a third
    # overall and about as fast in the second half as in the first
    assert (np.diff(val) < 0).all()
    assert 0.05 < (val[0] - val[-1]) / val[0] < 0.35
    h = len(val) // 2
    assert (val[0] - val[h]) < 2 * (val[h] - val[-1])
    # the sampled train losses jump by more than the whole fall between neighbours
    assert np.abs(np.diff(train)).max() > val[0] - val[-1]
    assert "DG206" in rules(SLOW / "noisy-slow-every50")


def test_converged_run_logged_the_same_way_is_not_slow():
    val = recorded(SLOW / "noisy-healthy-every50", "val/loss")
    h = len(val) // 2
    assert abs(val[h] - val[-1]) < 0.05 * val[-1]  # flat over its second half
    assert "DG206" not in rules(SLOW / "noisy-healthy-every50")


def test_keras_nan_inside_the_first_epoch_is_a_divergence():
    with open(SLOW / "keras-nan-epoch" / "training.log", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(math.isnan(float(r["loss"])) for r in rows)  # NaN from the first row on
    run = diagnose.load(SLOW / "keras-nan-epoch")
    assert run.steps_are_epochs("train/loss")
    findings = diagnose.check([SLOW / "keras-nan-epoch"]).findings
    assert {f.rule for f in findings} >= {"DG102"} and "DG201" not in {f.rule for f in findings}
    msg = next(f.message for f in findings if f.rule == "DG102")
    assert "no logged train loss is finite" in msg and "mean over an epoch" in msg


def test_a_log_indexed_by_step_is_not_read_as_epochs():
    run = diagnose.load(SLOW / "hf-slow-linear-decay")
    assert not run.steps_are_epochs("train/loss")
