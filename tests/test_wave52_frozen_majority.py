"""A model frozen on its largest class: its accuracy is that class's share, not 1/K.

A public 8-class BERT (w67b-robertodr-ethnlp-v17, tuning split, labelled uniform predictions and
a flat loss from its plot; no number of classes recorded) scores 0.3265 at 14 of its 15
validation evaluations and 0.3357 at the last, its losses at 1.63-1.66 all run. Read as three
classes from the accuracy, the loss sat 1.5x ln 3 and the run was called a blow-up (DG102).
The reading of K from the loss (ln 5 = 1.61) for a frozen accuracy asked the value to end the
run; one evaluation off it at the end hid it. A frozen model is now one value at half the
evaluations or more, with a validation loss that stays within the chance tolerance of its
median (one that climbs is a model moving, and keeps the accuracy's K: a DG102 rule case).

Values are read from the raw file with pandas here, not through the readers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from diagnose.cli import main

RUN = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w67b-robertodr-ethnlp-v17"
       / "lightning_logs" / "version_17")


def test_the_accuracy_is_frozen_and_the_loss_above_ln_3() -> None:
    raw = pd.read_csv(RUN / "metrics.csv")
    acc = raw["val_acc"].dropna()
    counts = acc.value_counts()
    assert counts.iloc[0] >= len(acc) - counts.iloc[0]  # one value at half or more
    assert acc.iloc[-1] != counts.index[0]  # and the last evaluation is off it
    loss = raw["train_loss_epoch"].dropna()
    assert loss.max() - loss.min() < 0.01 and loss.min() > 1.4 * math.log(3)
    val = raw["val_loss"].dropna()
    assert (val / val.median() - 1).abs().max() < 0.05


def test_it_is_uniform_and_flat_not_a_blow_up() -> None:
    result = CliRunner().invoke(main, ["check", str(RUN), "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.output
    found = {f["rule"] for f in json.loads(result.output)["findings"]}
    assert "DG204" in found and "DG102" not in found
