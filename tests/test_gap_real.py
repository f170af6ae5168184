"""Issue 14, generalization gap, late overfitting and uniform predictions on public logs.

Each run is a log someone else's trainer wrote (``bench/real-runs/``, listed with its
repository and commit in ``MANIFEST.csv``). The label is checked here on the logged values
with plain arithmetic, never with diagnose's own features; then the report must say what the
log shows. Each test failed on the code before it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def check(path: Path) -> diagnose.Report:
    return diagnose.check([path])


def patterns(report: diagnose.Report) -> set[str]:
    return {f.pattern for f in report.findings if f.severity in ("warning", "error")}


def logged(run: diagnose.Run, metric: str) -> tuple[np.ndarray, np.ndarray]:
    s, v = run.arrays(metric)
    ok = np.isfinite(v)
    return s[ok], v[ok]


def test_a_converged_model_whose_first_logged_train_loss_is_a_window_mean_has_no_gap():
    """Hugging Face image classifier (logging_steps=10): eval loss 0.474 -> 0.043, F1 0.87 ->
    0.99. Its first logged train loss (0.26) is the mean of a window in which the model already
    learned, so a validation loss of 0.05 against a train loss of 0.001 looked like a gap of
    a fifth of the task's scale."""
    path = REAL / "hf-image-classification-irr"
    run = diagnose.load_all(path)[0]
    _, t = logged(run, "train/loss")
    _, v = logged(run, "val/loss")
    _, f1 = logged(run, "val/f1")
    assert v[0] > t[0]  # the first evaluation sits above the first logged train window
    assert v[-1] < v[0] / 5 and f1[-1] > 0.98  # it learned, and validation with it
    assert v[-1] - t[-1] < 0.15 * v[0]  # the gap is small next to where validation started
    assert "generalization_gap" not in patterns(check(path))


def test_a_loss_gap_confirmed_by_accuracy_is_a_gap():
    """Keras CNN on fingerprints: validation loss flat near 0.17-0.2 while train falls to
    0.02; train accuracy 0.99 against 0.94 on validation. Only a tenth of the first train loss
    apart, so DG103 waited for a loss gap of a quarter; the accuracy says the gap is real."""
    path = REAL / "blood-group"
    run = diagnose.load_all(path)[0]
    _, t = logged(run, "train/loss")
    _, v = logged(run, "val/loss")
    _, ta = logged(run, "train/acc")
    _, va = logged(run, "val/acc")
    assert np.median(v[-5:]) > 5 * np.median(t[-5:])
    assert np.median(ta[-5:]) - np.median(va[-5:]) > 0.05
    report = check(path)
    f = [f for f in report.findings if f.pattern == "generalization_gap"]
    assert f, [x.message for x in report.findings]
    assert "accuracy" in f[0].message


def test_a_small_rise_while_the_train_loss_stalls_is_not_late_overfitting():
    """Lightning regression (hydrology): validation 0.35 -> 0.218 at step 359, then 0.24 at the
    end (+10%, a sixth of its earlier fall) while the train loss, still far above validation,
    fell only about a tenth: a steady but small drift, not a model that keeps fitting its
    training set at the cost of validation."""
    path = REAL / "hydro-s3-winter"
    run = diagnose.load_all(path)[0]
    vs, v = logged(run, "val/loss")
    ts, t = logged(run, "train/loss")
    i = int(np.argmin(v))
    assert v[-1] - v[i] < 0.25 * (v[0] - v[i])  # small next to the earlier fall
    assert np.all(v[i:] < np.interp(vs[i:], ts, t))  # validation stays below train
    t_at_best = np.median(t[(ts >= vs[i] - 40) & (ts <= vs[i] + 40)])
    assert np.median(t[-3:]) > 0.75 * t_at_best  # the train loss fell less than a quarter
    assert "late_overfitting" not in patterns(check(path))


def test_validation_at_chance_while_the_train_loss_falls_is_uniform_predictions():
    """Keras binary deepfake detector: val loss 0.696 -> 0.684 around ln 2 = 0.693 for all
    seven epochs (val accuracy 0.41-0.60) while the train loss fell to 0.62. The train loss left
    chance level, so DG204 (which asked both curves to sit at ln K) said nothing."""
    path = REAL / "deepfake-elsanzio"
    run = diagnose.load_all(path)[0]
    _, v = logged(run, "val/loss")
    _, t = logged(run, "train/loss")
    _, va = logged(run, "val/acc")
    assert np.all(np.abs(v / math.log(2) - 1) < 0.02)  # every evaluation at ln 2
    assert abs(np.median(va) - 0.5) < 0.1
    assert t[-1] < 0.92 * math.log(2)  # the train loss left it
    report = check(path)
    f = [f for f in report.findings if f.pattern == "uniform_predictions"]
    assert f, [x.message for x in report.findings]
    assert "validation loss never left ln(2)" in f[0].message
    assert f"{v.min():.4g}" in f[0].message


def test_one_part_of_a_summed_loss_that_overfits_is_late_overfitting():
    """Ultralytics YOLOv8 (dental): its validation loss is the sum of box, class and
    distribution terms. The class term was lowest at epoch 34 and rose by more than a quarter
    by epoch 55 while the train class term kept falling; the box and distribution terms stayed
    flat, so the sum rose too little to count and the run got "All checks passed"."""
    path = REAL / "yolo-dental"
    run = diagnose.load_all(path)[0]
    vs, vc = logged(run, "val/cls_loss")
    ts, tc = logged(run, "train/cls_loss")
    i = int(np.argmin(vc))
    assert vc[-1] > 1.25 * vc[i] and len(vc) - 1 - i >= 10  # the class term rose, for many epochs
    assert tc[-1] < 0.75 * tc[int(np.searchsorted(ts, vs[i]))]  # while its train term fell
    report = check(path)
    f = [f for f in report.findings if f.pattern == "late_overfitting"]
    assert f, [x.message for x in report.findings]
    assert f"val/cls_loss was lowest at step {int(vs[i])} ({vc[i]:.4g})" in f[0].message
