"""JSON histories that keep each epoch's batch losses in a list of their own.

Course homework (a Technion deep-learning course's ``FitResult``) dumps ``{"config": {...},
"results": {"train_loss": [[50 batch losses], [50], [50]], "test_loss": [[...], ...],
"train_acc": [3 epoch values], ...}}``; a grokking assignment dumps ``{"train_losses": [100k
step losses], "val_losses": [[50 evaluations]]}`` (one list wrapped in another). The reader
took a list of lists for per-class numbers and found no loss at all: "not a log format diagnose
reads". And where the test loss was kept per test batch, as many per epoch as the train loss,
it was drawn along the train batches as if the model changed between test batches: hundreds
of "validation spikes" on a run that only overfits.
"""

from __future__ import annotations

import json

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _json(path):
    return json.loads(next(p for p in path.rglob("*.json") if "config" not in p.name).read_text())


def test_batch_losses_kept_per_epoch_are_read() -> None:
    path = _run("w99v-guy-l16-k32-chance")
    res = _json(path)["results"]
    run = diagnose.load(str(path))
    _, train = run.arrays("train/loss")
    assert np.allclose(train, [x for epoch in res["train_loss"] for x in epoch])
    _, val = run.arrays("val/loss")  # one evaluation per epoch: the mean over its test batches
    assert np.allclose(val, [np.mean(epoch) for epoch in res["test_loss"]])
    steps, acc = run.arrays("val/acc")
    per = len(res["train_loss"][0])
    assert list(steps) == [(e + 1) * per - 1 for e in range(len(res["test_acc"]))]
    assert not run.epoch_axis  # a step is a batch here, not an epoch
    patterns = {f.pattern for f in diagnose.check(str(path)).findings}
    assert {"uniform_predictions", "flat_loss"} <= patterns  # at ln 10, accuracy 1/10 all run


def test_one_list_wrapped_in_another_is_that_list() -> None:
    path = _run("w99h-cse493d-div-opt1")
    data = _json(path)
    run = diagnose.load(str(path))
    steps, val = run.arrays("val/loss")
    assert np.allclose(val, data["val_losses"][0])
    assert len(run.arrays("train/loss")[1]) == len(data["train_losses"])
    assert steps[-1] == len(data["train_losses"]) - 1  # the evaluations spread over the steps
    assert "flat_loss" in {f.pattern for f in diagnose.check(str(path)).findings}


def test_test_batches_counted_like_train_batches_are_one_evaluation() -> None:
    path = _run("w97v-omer-l2-k32-overfit")
    res = _json(path)["results"]
    epochs = len(res["test_acc"])
    per = len(res["test_loss"]) // epochs
    assert per == len(res["train_loss"]) // epochs > 1  # as many test as train batches
    run = diagnose.load(str(path))
    _, val = run.arrays("val/loss")
    means = [np.mean(res["test_loss"][e * per:(e + 1) * per]) for e in range(epochs)]
    assert np.allclose(val, means)
    patterns = {f.pattern for f in diagnose.check(str(path)).findings}
    assert "loss_spikes" not in patterns  # the test batches are no curve over training
    assert {"late_overfitting", "generalization_gap"} <= patterns


def test_log_history_list_keeps_its_step_counter() -> None:
    """A trainer's log history dumped as a bare list: one record per logged step, then a
    closing summary (``train_loss``, ``train_runtime``) at the last step again. The repeated
    step made the counter no axis: the records' order was read as epochs (0-599 for steps
    1-600, "a budget of 601 epochs")."""
    path = _run("w99b-erwin-nlp2-lm")
    records = json.loads(next(path.rglob("*.json")).read_text())
    logged = [r for r in records if "loss" in r]
    run = diagnose.load(str(path))
    steps, loss = run.arrays("train/loss")
    assert list(steps) == [r["step"] for r in logged]
    assert np.allclose(loss, [r["loss"] for r in logged])
    summary = records[-1]
    assert summary["step"] == logged[-1]["step"] and "train_runtime" in summary
    assert run.arrays("train_runtime")[0].tolist() == [summary["step"]]
    assert not run.epoch_axis and not run.steps_are_epochs("train/loss")
