"""A run none of whose metric names maps to a curve the rules read was not checked at all, and
the summary said "All checks passed". Names under one namespace (a stage or task prefix) are
read without it, a lone total loss is the train loss, and a run still left without a curve is
never reported as passed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.report import render

lightning = pytest.importorskip("lightning")


def _csv_run(tmp_path, rows):
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(tmp_path), name="lightning_logs")
    for step, metrics in rows:
        logger.log_metrics(metrics, step=step)
    logger.save()
    return tmp_path / "lightning_logs" / "version_0"


def test_metrics_under_one_namespace_are_read_without_it(tmp_path):
    # a 2-class fine-tuning stage stuck at chance, every name prefixed by the stage
    rows = [(s, {"finetuning/train_loss_step": 0.6931 + 0.002 * math.sin(s)}) for s in range(0, 300, 5)]
    rows += [(s, {"finetuning/val_loss": 0.6932, "finetuning/val_acc": 0.5}) for s in range(49, 300, 50)]
    path = _csv_run(tmp_path, rows)
    run = diagnose.load(path)
    assert {"train/loss", "val/loss", "val/acc"} <= set(run.metric_names)
    assert any("under 'finetuning'/" in w for w in run.warnings)
    assert "flat_loss" in {f.pattern for f in diagnose.check(path).findings}


def test_two_namespaces_are_ambiguous_and_the_run_is_not_passed(tmp_path):
    rows = [(s, {"pretrain/train_loss": 2.0 - 0.001 * s, "finetune/train_loss": 0.7}) for s in range(0, 100, 5)]
    path = _csv_run(tmp_path, rows)
    run = diagnose.load(path)
    assert "train/loss" not in run.metric_names
    report = diagnose.check(path)
    summary = render(report, "text", color=False).strip().splitlines()[-1]
    assert "All checks passed" not in summary and "not checked" in summary, summary


def test_a_lone_total_loss_is_the_train_loss(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for s in range(200):  # a physics-informed net's summed loss beside its per-term losses
        w.add_scalar("mean_loss", 0.5 * 0.98 ** s + (20.0 if s == 120 else 0.0), s)
        w.add_scalar("boundary_loss", 0.3 * 0.98 ** s, s)
        w.add_scalar("interior_loss", 0.2 * 0.98 ** s, s)
    w.close()
    run = diagnose.load(tmp_path)
    assert "train/loss" in run.metric_names
    assert run.arrays("train/loss")[1][120] > 20
    assert "loss_spikes" in {f.pattern for f in diagnose.check(tmp_path).findings}


def test_a_public_run_answering_one_class_at_every_evaluation_is_not_passed():
    """A public Lightning log (4 crop-health classes): validation accuracy is 0.8207, the
    majority share, at all 30 evaluations and the validation loss sits at the prior's entropy,
    not at ln 4, so the chance-level check cannot see it. Before DG208 it got only flat_loss."""
    from pathlib import Path

    import numpy as np

    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "tcrop-v10"
    run = diagnose.load_all(path)[0]
    _, acc = run.arrays("val/acc")
    _, vl = run.arrays("val/loss")
    assert len(acc) >= 20 and float(np.ptp(acc)) == 0.0
    assert float(np.ptp(vl)) < 0.02 * float(np.median(vl)) and abs(float(np.median(vl)) / math.log(4) - 1) > 0.3
    found = {f.rule for f in diagnose.check(path).findings}
    assert "DG208" in found


def test_a_per_batch_train_loss_is_the_train_loss():
    # a public Lightning CSVLogger run that logs only train_loss_batch (every 50 steps) and
    # turns NaN at its last row: it was "not checked" although its one curve is the loss
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9c-wsds-v2"
    run = diagnose.load(path)
    assert "train/loss" in run.metric_names and "train_loss_batch" not in run.metric_names
    _, v = run.arrays("train/loss")
    assert len(v) > 20 and not np.isfinite(v[-1])
    found = {f.rule for f in diagnose.check(path).findings}
    assert "DG210" in found  # checked: the run died in NaN at its last row (wave 74: one is enough)


def test_epoch_averages_under_qualified_names_are_the_curves(tmp_path):
    # a hand-written loop logging its epoch averages: avg_train_loss, val_avg_loss,
    # mean_val_acc; a 2-class model stuck at chance (ln 2) for 30 epochs
    rows = [(e, {"avg_train_loss": 0.6931 + 0.003 * math.sin(e), "val_avg_loss": 0.6932 + 0.001 * math.cos(e),
                 "mean_val_acc": 0.5}) for e in range(30)]
    path = _csv_run(tmp_path, rows)
    run = diagnose.load(path)
    assert run.name_map == {"avg_train_loss": "train/loss", "val_avg_loss": "val/loss",
                            "mean_val_acc": "val/acc"}
    assert {"flat_loss", "uniform_predictions"} & {f.pattern for f in diagnose.check(path).findings}


def test_a_qualified_name_without_a_split_is_left_to_the_total_loss_fallback(tmp_path):
    rows = [(s, {"avg_loss": 2.0 / (1 + s), "avg_iou": 0.1 * s}) for s in range(20)]
    run = diagnose.load(_csv_run(tmp_path, rows))
    assert run.name_map == {"avg_loss": "train/loss"}
    assert any("'avg_loss' read as 'train/loss'" in w for w in run.warnings)


def test_a_total_loss_under_a_loss_namespace_is_the_train_loss():
    # a public Lightning log (bench/real-runs/w19a-pi3-v18) logs 'loss/total_loss' beside its
    # parts 'loss/pose_*_loss'; it was "not checked", with spikes of 1e5 over a loss of 1-100
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w19a-pi3-v18"
    run = diagnose.load_all(path)[0]
    raw = np.genfromtxt(next(path.rglob("metrics.csv")), delimiter=",", names=True)
    logged = raw["losstotal_loss"][np.isfinite(raw["losstotal_loss"])]
    np.testing.assert_allclose(run.arrays("train/loss")[1], logged)
    assert any(f.rule == "DG202" for f in diagnose.check(path).findings)


def test_a_total_loss_under_a_validation_namespace_is_not_the_train_loss(tmp_path):
    run_dir = _csv_run(tmp_path, [(s, {"val/total_loss": 1.0 / (s + 1)}) for s in range(20)])
    run = diagnose.load_all(run_dir)[0]
    assert "train/loss" not in run.metric_names


def _indexed_losses(tmp_path, tags):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for s in range(300):  # a loop that writes its list of losses as f"loss: {i}", one bad batch
        for t in tags:
            w.add_scalar(t, 0.5 * 0.99 ** s + 0.01 + (0.4 if s == 200 else 0.0), s)
    w.close()
    return tmp_path


def test_a_lone_loss_with_an_index_is_the_train_loss(tmp_path):
    # a public SummaryWriter run (bench/real-runs/w26a-blastformer-tb) logs only 'loss: 0' and
    # 'lr', with one-step jumps of 5-26x its level; it was "not checked"
    path = _indexed_losses(tmp_path, ["loss: 0"])
    run = diagnose.load(path)
    assert run.name_map == {"loss: 0": "train/loss"}
    assert any("'loss: 0' read as 'train/loss'" in w for w in run.warnings)
    assert "loss_spikes" in {f.pattern for f in diagnose.check(path).findings}


def test_two_indexed_losses_are_ambiguous_and_the_run_is_not_passed(tmp_path):
    path = _indexed_losses(tmp_path, ["loss: 0", "loss: 1"])
    run = diagnose.load(path)
    assert "train/loss" not in run.metric_names
    summary = render(diagnose.check(path), "text", color=False).strip().splitlines()[-1]
    assert "All checks passed" not in summary and "not checked" in summary, summary


def test_training_and_validation_namespaces_name_the_accuracies(tmp_path):
    """``validation/accuracy`` is the validation accuracy, as ``validation/loss`` is the
    validation loss: a public recommender's TensorBoard log (w40e-lhydra-rec) logs these names,
    and without them its chance level could not be read off the curves."""
    SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter
    pytest.importorskip("tensorboard")
    run_dir = tmp_path / "tb"
    w = SummaryWriter(str(run_dir))
    rng = np.random.default_rng(0)
    for epoch in range(12):
        w.add_scalar("training/loss", math.log(2) * (1 + 0.03 * 0.8 ** epoch) + rng.normal(0, 0.002), epoch)
        w.add_scalar("training/accuracy", 0.5 + rng.normal(0, 0.01), epoch)
        w.add_scalar("validation/loss", math.log(2) + rng.normal(0, 0.001), epoch)
        w.add_scalar("validation/accuracy", 0.5 + rng.normal(0, 0.005), epoch)
    w.close()
    run, = diagnose.load_all(run_dir)
    assert {"train/loss", "train/acc", "val/loss", "val/acc"} <= set(run.metric_names)
    report = diagnose.check(run_dir)
    assert not report.unchecked  # K read off the validation accuracy: the chance level was checked
    assert "DG204" in {f.rule for f in report.findings}


def test_an_indexed_train_loss_beside_a_validation_loss_is_the_train_loss(tmp_path):
    # a public TensorBoard run (bench/real-runs/w18b-iris-v13) logs 'train_loss_0' beside
    # 'valid_loss' and 'valid_loss_0': its train loss was not read at all
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for s in range(60):
        train = 1.0 * 0.97 ** s if s < 30 else 1.0 * 3.0 ** (s - 30)  # blows up from step 30
        w.add_scalar("train_loss_0", train, s)
        w.add_scalar("valid_loss", 1.1 * 0.97 ** min(s, 30), s)
        w.add_scalar("valid_loss_0", 1.1 * 0.97 ** min(s, 30), s)
    w.close()
    run = diagnose.load(tmp_path)
    assert run.name_map["train_loss_0"] == "train/loss"
    assert "explosion" in {f.pattern for f in diagnose.check(tmp_path).findings}


def test_indexed_accuracies_do_not_stand_in_beside_a_loss(tmp_path):
    # ``train_acc_5`` may be a top-5 accuracy: only a missing loss is read from an indexed name
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for s in range(20):
        w.add_scalar("train_loss", 1.0 * 0.9 ** s, s)
        w.add_scalar("train_acc_5", 0.5 + 0.02 * s, s)
    w.close()
    run = diagnose.load(tmp_path)
    assert "train/acc" not in run.metric_names


_RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_a_loss_qualified_by_one_more_word_is_the_split_loss():
    """A public Lightning log of one network of a larger model logs ``exposure_train_loss`` and
    ``exposure_val_loss`` and nothing else: no curve was read and the run was not checked."""
    import csv

    path = _RUNS / "w45a-mlmr-v8" / "lightning_logs" / "version_8"
    with (path / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    logged = {c: [float(r[c]) for r in rows if r[c]] for c in ("exposure_train_loss", "exposure_val_loss")}
    run = diagnose.load(path)
    assert run.series("train/loss").tolist() == pytest.approx(logged["exposure_train_loss"])
    assert run.series("val/loss").tolist() == pytest.approx(logged["exposure_val_loss"])
    assert any("'exposure_val_loss' as 'val/loss'" in w for w in run.warnings)


def test_losses_qualified_by_several_words_are_parts_not_the_loss():
    """``train_classification_loss`` beside ``train_regression_loss`` (a public two-headed
    Lightning log, 200 classes): parts of a total the log does not hold, so neither is read as
    the loss; the head stuck at ln 200 is still reported by the per-output check."""
    path = _RUNS / "cub-v7" / "lightning_logs" / "version_7"
    run = diagnose.load(path)
    assert not {"train/loss", "val/loss"} & set(run.metric_names)
    assert "DG209" in {f.rule for f in diagnose.check(path).findings}


def test_a_criterion_logged_for_both_splits_is_the_loss():
    """A public GAN history (rainfall downscaling) logs ``train_l1`` and ``val_l1`` beside its
    adversarial ``g_loss`` and ``d_loss``: no curve was read and the run was not checked, though
    its validation L1 climbs back above where it started while train L1 keeps falling."""
    import json

    path = _RUNS / "w59d-kerala-rain-gan" / "results" / "history.json"
    rows = json.loads(path.read_text())
    run = diagnose.load(path)
    assert run.series("train/loss").tolist() == pytest.approx([r["train_l1"] for r in rows])
    assert run.series("val/loss").tolist() == pytest.approx([r["val_l1"] for r in rows])
    assert "DG104" in {f.rule for f in diagnose.check(path).findings}


def test_two_criteria_logged_for_both_splits_name_no_loss(tmp_path):
    """``train_mae``/``val_mae`` beside ``train_mse``/``val_mse`` and nothing named a loss: which
    one was trained on is not said, so neither is read as the loss."""
    rows = [(e, {"train_mae": 1.0 / (e + 1), "val_mae": 1.2 / (e + 1),
                 "train_mse": 2.0 / (e + 1), "val_mse": 2.5 / (e + 1)}) for e in range(8)]
    run = diagnose.load(_csv_run(tmp_path, rows))
    assert not {"train/loss", "val/loss"} & set(run.metric_names)
