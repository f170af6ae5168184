"""ln K is a loss's scale only when the loss can be a cross-entropy over K classes.

A public 19-class land-cover CNN trained with a focal loss (w46c-po-landcover-v4, tuning split,
labelled late overfitting and a gap from its plot) logs validation losses of 0.026-0.034 at
validation accuracy 0.18-0.24. Measured against ln 19 = 2.94, its validation loss rising 26%
above its best at the first evaluation was 0.2% of the scale, and the late overfitting was
missed. At that accuracy a cross-entropy is at least (1 - 0.2) ln 2 = 0.55.

Numbers are read from the raw file with pandas here, not through the readers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.features import RunContext, compute

RUN = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w46c-po-landcover-v4"
       / "lightning_logs" / "version_4")


def _raw() -> pd.DataFrame:
    return pd.read_csv(RUN / "metrics.csv")


def test_the_logged_loss_is_no_cross_entropy_at_its_accuracy() -> None:
    raw = _raw()
    acc, loss = raw["val_acc"].dropna(), raw["val_loss"].dropna()
    # every wrong answer costs a cross-entropy at least ln 2
    assert loss.median() < 0.1 * (1 - acc.median()) * math.log(2)
    assert loss.iloc[0] == loss.min() and loss.iloc[-1] > 1.2 * loss.min()


def test_the_rise_is_measured_on_the_loss_own_scale() -> None:
    raw = _raw()
    diagnose.load_rules()
    ctx = RunContext(diagnose.load(RUN))
    first_train = float(raw["train_loss"].dropna().iloc[0])
    val = raw["val_loss"].dropna()
    raw_rise_of_first = float(val.iloc[-1] - val.min()) / first_train
    # the rise over the first train loss (about 1.0 here), not over ln 19 (0.002)
    assert compute(["val_rise_of_scale"], ctx)["val_rise_of_scale"] > 0.5 * raw_rise_of_first


def test_the_late_overfitting_is_found() -> None:
    result = CliRunner().invoke(main, ["check", str(RUN), "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.output
    found = {f["rule"] for f in json.loads(result.output)["findings"]}
    assert "DG104" in found
