"""Late overfitting when validation was best at its first evaluation (issue 14, case 6).

A public temporal-fusion forecaster (bench/real-runs/w77c-co2flux-tft-5yr-small, Lightning's
TensorBoard logger, labelled from its plot before diagnose ran on it) evaluates 8 times: its
validation loss is lowest at the first evaluation and higher at every one after, while its
per-step train loss keeps falling in a firm trend, too noisy for its two smoothed ends to differ
by the required share. DG104's "rise beyond what was gained" is undefined when nothing was
gained; the run got no finding. The numbers are read off the event file.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
from _tb_truth import event_scalars

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w77c-co2flux-tft-5yr-small"


def test_a_climb_from_the_first_evaluation_is_late_overfitting() -> None:
    (folder,) = {p.parent for p in RUN.rglob("events.out.tfevents.*")}
    scalars = event_scalars(folder)
    val = [v for _, v in sorted(scalars["val_loss"].items())]
    train = [v for _, v in sorted(scalars["train_loss_epoch"].items())]
    assert len(val) >= 5 and int(np.argmin(val)) == 0  # best at the first evaluation
    assert all(b >= a - 1e-3 for a, b in pairwise(val[1:]))  # and higher after, nearly monotone
    assert val[-1] > val[0] * 1.1 and train[-1] < train[0] * 0.8
    late = [f for f in diagnose.check(str(RUN)).findings if f.rule == "DG104"]
    assert late and f"{val[0]:.4g}" in late[0].message
