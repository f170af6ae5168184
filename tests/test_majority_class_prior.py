"""A model that answers every input with the majority class, on more than two classes.

Its accuracy freezes at that class's share while its loss moves from ln K to the entropy of
the class prior; with K > 2 only the largest share is known, so the loss is checked against
the range that share allows. K comes from the config or from per-class validation metrics.
"""

import math
from pathlib import Path

import pandas as pd

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "t10b-stockp-v59"


def _evals() -> pd.DataFrame:
    (path,) = RUN.rglob("metrics.csv")
    return pd.read_csv(path).dropna(subset=["val_loss"])


def test_a_public_three_class_run_stuck_on_its_majority_class_is_found():
    # a public Lightning run (up/down/flat classifier) logging val_class_{0,1,2}_acc and no
    # number of classes: from step 179 on class 2 is always predicted (its accuracy 1.0, the
    # others 0) and the overall accuracy is class 2's share; before, DG208 read K as unknown,
    # compared the loss with the two-class entropy of that share and stayed silent
    ev = _evals()
    tail = ev[ev["step"] >= 179]
    assert (tail["val_class_2_acc"] == 1).all()
    assert (tail["val_class_0_acc"] == 0).all() and (tail["val_class_1_acc"] == 0).all()
    a = float(tail["val_accuracy"].iloc[-1])
    low = -(a * math.log(a) + (1 - a) * math.log(1 - a))
    high = low + (1 - a) * math.log(2)
    last = float(ev["val_loss"].iloc[-1])
    assert abs(last / low - 1) > 0.2  # the two-class reading is far off
    assert abs(last / high - 1) < 0.05  # the rest spread over two classes fits
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG208"]
    assert found and found[0].pattern == "uniform_predictions"
    assert f"{a:.4g}" in found[0].message and "3 class shares" in found[0].message

