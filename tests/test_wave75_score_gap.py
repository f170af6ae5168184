"""A gap that shows only in an F1 score, on a run that also logs an accuracy.

A public multi-label classifier (28 labels, the CS230 template) prints ``accuracy`` per label
and ``macro_f1`` per split: the per-label accuracy is 0.995 on train and 0.951 on validation (a
small gap, most labels are negative), while the macro F1 is 0.887 against 0.266. The F1 names
its train side Keras's way, ``macro_f1`` beside ``val_macro_f1``. The gap rule read scores only
when no accuracy was logged and only when both sides named their split; it missed the gap.
"""

from __future__ import annotations

import re

from _real_logs import bench_run as _run

import diagnose


def _last(text: str, split: str, name: str) -> float:
    """The last value of one metric the log prints for a split, by a regex of our own."""
    return float(re.findall(rf"{split} metrics\s*: .*?{name}: ([0-9.]+)", text)[-1])


def test_a_macro_f1_gap_counts_beside_a_saturated_accuracy() -> None:
    path = _run("w96u-hpa-densenet")
    text = (path / "experiments" / "base_model" / "train.log").read_text()
    f1_train, f1_val = _last(text, "Train", "macro_f1"), _last(text, "Eval", "macro_f1")
    acc_train, acc_val = _last(text, "Train", "accuracy"), _last(text, "Eval", "accuracy")
    assert acc_train - acc_val < 0.05 < f1_train - f1_val - 0.5  # the log's own numbers
    findings = [f for f in diagnose.check(str(path)).findings if f.rule == "DG103"]
    assert findings, "the F1 gap is a generalization gap"
    assert "macro f1" in findings[0].message and f"{f1_val:.3g}" in findings[0].message
