"""Hand-written loops log the validation loss against a counter of their own: one tick per
evaluation batch (``add_scalar("val_loss", loss, epoch * len(val_loader) + i)``) or per epoch,
beside the train loss at the train loop's step. Read on those steps, the validation curve
ended at step 159 of a 760-step run, so the gap "at the final model" compared the last
evaluation with the train loss of the first fifth, and each evaluation batch's loss was a
validation point of its own (an overfitting I2DL classifier got 24 "validation spikes" from
the batches). Event files stamp every value with its wall time, which both curves share: the
held-out curve is read at the train step logged at the same time, and the batches of one
evaluation as their mean."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import diagnose
from tests._memoriser import random_label_task
from tests._real_logs import bench_run

EPOCHS, TRAIN_BATCHES, VAL_BATCHES = 30, 8, 4


def _overfit_run(run: Path, val_step: str) -> list[float]:
    """A real MLP memorising random labels (train falls, validation climbs), written by the
    real SummaryWriter. Returns each evaluation's mean over its batches, as logged."""
    torch = pytest.importorskip("torch")
    tb = pytest.importorskip("torch.utils.tensorboard")
    x, y, xv, yv, model, opt, loss_fn = random_label_task(0, 256)
    w = tb.SummaryWriter(str(run))
    means = []
    for epoch in range(EPOCHS):
        model.train()
        for i in range(TRAIN_BATCHES):
            sl = slice(i * 32, (i + 1) * 32)
            loss = loss_fn(model(x[sl]), y[sl])
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.add_scalar("train_loss", loss.item(), epoch * TRAIN_BATCHES + i)
        model.eval()
        batch_losses = []
        with torch.no_grad():
            for i in range(VAL_BATCHES):
                sl = slice(i * 32, (i + 1) * 32)
                batch_losses.append(loss_fn(model(xv[sl]), yv[sl]).item())
        if val_step == "batch":
            for i, v in enumerate(batch_losses):
                w.add_scalar("val_loss", v, epoch * VAL_BATCHES + i)
        else:
            w.add_scalar("val_loss", float(np.mean(batch_losses)), epoch)
        means.append(float(np.mean(batch_losses)))
    w.close()
    return means


def test_per_batch_validation_on_its_own_counter_lines_up_with_training(tmp_path: Path) -> None:
    means = _overfit_run(tmp_path / "run", "batch")
    (run,) = diagnose.load_all(tmp_path / "run")
    ts, _ = run.arrays("train/loss")
    vs, vv = run.arrays("val/loss")
    assert len(vv) == EPOCHS, "one validation point per evaluation, not one per batch"
    np.testing.assert_allclose(vv, means, rtol=1e-5)
    # each evaluation after its epoch's training: between that epoch's last train step and
    # the next epoch's
    last_of_epoch = ts[TRAIN_BATCHES - 1::TRAIN_BATCHES]
    assert np.all(vs >= last_of_epoch) and np.all(vs[:-1] < last_of_epoch[1:])
    assert any("a counter of its own" in w for w in run.warnings)


def test_the_gap_is_judged_at_the_final_model(tmp_path: Path) -> None:
    """The last evaluation beside the train loss of the same moment: the gap names the last
    step of the run, not the step where the validation counter stopped."""
    _overfit_run(tmp_path / "run", "batch")
    report = diagnose.check([str(tmp_path / "run")])
    gap = [f for f in report.findings if f.rule == "DG103"]
    (run,) = diagnose.load_all(tmp_path / "run")
    ts, _ = run.arrays("train/loss")
    assert gap and gap[0].steps[-1] >= ts[-1]
    assert not [f for f in report.findings if f.rule == "DG207"], \
        "the batches of one evaluation are not validation spikes"


def test_validation_logged_per_epoch_beside_per_batch_training(tmp_path: Path) -> None:
    means = _overfit_run(tmp_path / "run", "epoch")
    (run,) = diagnose.load_all(tmp_path / "run")
    ts, _ = run.arrays("train/loss")
    vs, vv = run.arrays("val/loss")
    np.testing.assert_allclose(vv, means, rtol=1e-5)
    assert vs[-1] >= ts[-1] and vs[0] >= ts[TRAIN_BATCHES - 1]
    assert not [w for w in run.warnings if "looks logged per epoch" in w]


def test_validation_on_the_global_step_is_left_as_logged(tmp_path: Path) -> None:
    """Lightning and most loops log the evaluation at the train loop's step: nothing moves."""
    tb = pytest.importorskip("torch.utils.tensorboard")
    w = tb.SummaryWriter(str(tmp_path / "run"))
    for step in range(200):
        w.add_scalar("train_loss", 2.0 * math.exp(-step / 50) + 0.1, step)
        if step % 20 == 19:
            w.add_scalar("val_loss", 2.0 * math.exp(-step / 50) + 0.2, step)
    w.close()
    (run,) = diagnose.load_all(tmp_path / "run")
    assert run.arrays("val/loss")[0].tolist() == list(range(19, 200, 20))
    assert not [w for w in run.warnings if "a counter of its own" in w]


def test_a_public_i2dl_classifier_logging_each_validation_batch() -> None:
    """bench/real-runs/w87h-i2dl-ahmed-pre-run52: 6,600 train steps and 400 validation batches
    on a counter of their own, two per evaluation, alternating between two batch levels."""
    path = bench_run("w87h-i2dl-ahmed-pre-run52")
    (run,) = diagnose.load_all(path)
    ts, _ = run.arrays("train/loss")
    vs, vv = run.arrays("val/loss")
    assert len(vv) == 200 and vs[-1] >= 0.99 * ts[-1]
    rules = {f.rule for f in diagnose.check([str(path)]).findings}
    assert {"DG103", "DG104"} <= rules and "DG207" not in rules


def test_a_binary_rnn_at_chance_with_an_early_blip_did_not_blow_up() -> None:
    """bench/real-runs/w110b-tian-rnn-v31-chance: per-batch loss around ln 2 from the first
    batch (0.646) to the last, one batch at 2.49, both evaluations at ln 2. It never learned:
    flat and at chance, not an explosion."""
    rules = {f.rule for f in diagnose.check([str(bench_run("w110b-tian-rnn-v31-chance"))]).findings}
    assert "DG102" not in rules and "DG204" in rules


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_mlflow_validation_logged_at_the_epoch_beside_training_at_the_batch(
        tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow stamps every value with its time too: ``log_metric("val_loss", v, step=epoch)``
    beside ``log_metric("loss", v, step=global_step)`` lines up the same way."""
    mlflow = pytest.importorskip("mlflow")
    import time

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri() if backend == "file" else f"sqlite:///{tmp_path / 'm.db'}"
    mlflow.set_tracking_uri(uri)
    val = []
    try:
        mlflow.set_experiment("own-counter")
        with mlflow.start_run():
            for epoch in range(12):
                for i in range(10):
                    mlflow.log_metric("loss", 2.0 * 0.9 ** (epoch * 10 + i), step=epoch * 10 + i)
                    time.sleep(0.003)  # MLflow's timestamps are milliseconds
                val.append(2.2 * 0.95 ** epoch)
                mlflow.log_metric("val_loss", val[-1], step=epoch)
                time.sleep(0.003)
    finally:
        mlflow.set_tracking_uri(None)
    (run,) = diagnose.load_all(tmp_path / ("mlruns" if backend == "file" else "m.db"))
    vs, vv = run.arrays("val/loss")
    assert list(vv) == pytest.approx(val)
    # each epoch's evaluation at that epoch's last train step or the next one (milliseconds)
    assert all(10 * e + 9 <= int(s) <= 10 * e + 10 for e, s in enumerate(vs)), vs
    assert any("a counter of its own" in w for w in run.warnings)


def test_a_run_that_died_in_nan_is_not_judged_for_a_gap() -> None:
    """bench/real-runs/w73d-zh-chatbot-nan: a chatbot Transformer whose train loss is NaN for
    its last six epochs and whose validation loss jumps to 30 on the way there. The NaN is the
    finding (DG210); a gap read off the last finite evaluations is the road into it."""
    rules = {f.rule for f in diagnose.check([str(bench_run("w73d-zh-chatbot-nan"))]).findings}
    assert "DG210" in rules and "DG103" not in rules
