"""One output of a multi-output or multi-task model at chance while the others learn: the
summed loss falls, so nothing else fires. Two public logs: a Keras age-and-gender model whose
gender output stays at 1/2 and ln 2 for 41 epochs (it was "All checks passed"), and a
multi-task Lightning run (200 bird classes and a box regression) whose classification loss
sits at ln 200 and which logs no total loss (it was "not checked")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _dg209(path: Path) -> list[diagnose.Finding]:
    return [f for f in diagnose.check(path).findings if f.rule == "DG209"]


def test_a_keras_output_at_chance_under_a_falling_total_loss():
    path = REAL / "w9f-face-bishals"
    run = diagnose.load(path)
    _, acc = run.arrays("val_gender_output_accuracy")
    _, loss = run.arrays("val_gender_output_loss")
    _, total = run.arrays("val/loss")
    half = len(acc) // 2
    assert abs(np.median(acc[half:]) - 0.5) < 0.05
    assert abs(np.median(loss[half:]) / math.log(2) - 1) < 0.05
    assert total[-1] < 0.95 * total[0]  # the total falls: the other output learns
    found = _dg209(path)
    assert found and "gender_output" in found[0].message


def test_a_multi_task_loss_at_ln_k_of_the_config():
    path = REAL / "cub-v7"
    run = diagnose.load(path)
    assert "train/loss" not in run.metric_names and int(run.param("num_classes")) == 200
    _, v = run.arrays("val_classification_loss")
    assert np.all(np.abs(v / math.log(200) - 1) < 0.01)
    found = _dg209(path)
    assert found and "ln 200" in found[0].message


def test_outputs_that_learn_stay_clean():
    # the age output of the same Keras model learns: only the gender output is named
    found = _dg209(REAL / "w9f-face-bishals")
    assert "age_output" not in found[0].message


def test_a_multi_task_head_validated_once_is_judged_on_its_train_loss():
    # the same project's shorter run: one evaluation, too few for the validation curve alone;
    # the classification head's train loss sits at ln 200 batch after batch
    path = REAL / "w42c-cub-v6"
    run = diagnose.load(path)
    _, val = run.arrays("val_classification_loss")
    _, train = run.arrays("train_classification_loss")
    assert len(val) == 1 and len(train) >= 20
    assert abs(np.median(train[len(train) // 2:]) / math.log(200) - 1) < 0.01
    found = _dg209(path)
    assert found and "'classification'" in found[0].message and "ln 200" in found[0].message
    assert "regression" not in found[0].message


def test_a_train_head_that_learns_is_not_at_chance(tmp_path):
    # the same layout with the classification loss falling far below ln 200: clean
    src = REAL / "w42c-cub-v6" / "lightning_logs" / "version_6"
    dst = tmp_path / "version_0"
    dst.mkdir()
    (dst / "hparams.yaml").write_text((src / "hparams.yaml").read_text())
    lines = (src / "metrics.csv").read_text().splitlines()
    head = lines[0].split(",")
    col = head.index("train_classification_loss")
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        if cells[col]:
            cells[col] = repr(5.3 * 0.97 ** i)
        out.append(",".join(cells))
    (dst / "metrics.csv").write_text("\n".join(out) + "\n")
    assert _dg209(dst) == []


def test_a_hyphenated_output_at_ln_k_of_the_accuracys_k():
    # a public multi-loss model (classification + contrastive + reconstruction) fitted on random
    # labels: `val-cls_loss` sits at ln 2 while the validation accuracy sits near 1/2; the total
    # loss (4.9, mostly the other terms) is nowhere near chance, and no class count is recorded
    path = REAL / "w34b-mvcl-demo"
    run = diagnose.load(path)
    assert run.param("num_classes") is None
    _, cls = run.arrays("val-cls_loss")
    _, acc = run.arrays("val/acc")
    _, total = run.arrays("val/loss")
    assert np.all(np.abs(cls / math.log(2) - 1) < 0.01) and abs(np.median(acc) * 2 - 1) < 0.2
    assert np.median(total) > 5 * math.log(2)
    found = _dg209(path)
    assert found and "'cls'" in found[0].message and "1/2" in found[0].message
    # the contrastive and reconstruction terms are no cross-entropy over the classes
    assert "contrast" not in found[0].message and "mse" not in found[0].message
