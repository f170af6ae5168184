"""The Technion course's ``Trainer.fit`` keeps every batch's loss (train and test) beside one
accuracy per epoch; a student's early stop that breaks after an epoch's training, before it
appends that epoch's test results, leaves the test lists one evaluation short (391 train batches
x 40 epochs, 313 test batches x 39 evaluations). The lengths then did not all divide, so the
per-batch layout was not recognised: each test batch's loss became a validation point of its
own, laid on the train batches' steps (a 32-image batch's loss is noise, not an evaluation: 91
"validation spikes" on an overfitting run), and the per-epoch accuracies stood at steps 0-39.
The held-out lists are read per evaluation, as the first epochs' evaluations."""

from __future__ import annotations

import json
from pathlib import Path

import diagnose
from tests._real_logs import bench_run


def _lists(run: Path) -> dict:
    (path,) = run.glob("*.json")
    return json.loads(path.read_text())["results"]


def test_one_evaluation_short_is_read_per_evaluation() -> None:
    run = bench_run("w108a-nagmo-l2-k32-overfit")  # tuning half
    lists = _lists(run)
    epochs, evals = len(lists["train_acc"]), len(lists["test_acc"])
    batches, test_batches = len(lists["train_loss"]) // epochs, len(lists["test_loss"]) // evals
    assert evals == epochs - 1 and test_batches > 1

    (got,) = diagnose.load_all(run)
    steps, values = got.arrays("val/loss")
    assert len(values) == evals
    assert steps.tolist() == [(e + 1) * batches - 1 for e in range(evals)]
    last = lists["test_loss"][-test_batches:]
    assert values[-1] == sum(last) / len(last)
    assert got.arrays("val/acc")[0].tolist() == steps.tolist()
    assert got.arrays("train/acc")[0][-1] == epochs * batches - 1
    assert len(got.arrays("train/loss")[1]) == len(lists["train_loss"])


def test_the_overfitting_run_has_no_spikes_from_test_batch_noise() -> None:
    run = bench_run("w107a-nagmo-ycn-l1-overfit")  # tuning half, labelled late overfitting + gap
    rules = {f.rule for f in diagnose.check([str(run)]).findings}
    assert {"DG103", "DG104"} <= rules
    assert "DG207" not in rules
