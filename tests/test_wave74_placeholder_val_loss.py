"""A validation loss printed as 0 at every evaluation is a loss nobody computed.

A public distillation script logs ``Eval metrics : accuracy: 0.083 ; loss: 0.000`` at all 50
epochs: its evaluation never computes the distillation loss. Read as a real loss, it made the
run "validation better than train" and hid the flat train loss behind a validation loss that
"improved". The reader layer now leaves such a loss out, with a note naming the file; a run whose
train and validation losses are both 0 throughout keeps them (a constant loss is its finding).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _logged(path: Path, split: str) -> list[float]:
    """The loss values the log prints for one split, by a regex of our own."""
    text = (path / "train.log").read_text()
    return [float(v) for v in re.findall(rf"{split} metrics\s*: .*?loss: ([0-9.]+)", text)]


def test_a_zero_validation_loss_is_left_out_with_a_note() -> None:
    path = _run("w95t-kdpt-distill-a0999-t1")
    evals, train = _logged(path, "Eval"), _logged(path, "Train")
    assert len(evals) == 50 and set(evals) == {0.0}  # the log's own numbers
    assert min(train) > 0
    run = diagnose.load_all(str(path))[0]
    assert "val/loss" not in run.metric_names and "train/loss" in run.metric_names
    assert any("'val/loss' is exactly 0" in w and "train.log" in w for w in run.warnings)
    findings = diagnose.check(str(path)).findings
    patterns = {f.pattern for f in findings}
    assert "val_better_than_train" not in patterns
    # the train loss never moves: by plain arithmetic, its range is a few percent of its level
    assert (max(train) - min(train)) / np.median(train) < 0.1
    assert "flat_loss" in patterns


def test_losses_zero_on_both_splits_stay_a_constant_loss() -> None:
    path = _run("w81d-scenedetect-stuck")
    run = diagnose.load_all(str(path))[0]
    assert {"train/loss", "val/loss"} <= set(run.metric_names)
    assert not any("exactly 0" in w for w in run.warnings)
    assert "DG217" in {f.rule for f in diagnose.check(str(path)).findings}
