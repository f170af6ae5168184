"""A validation loss that turned NaN/inf for a stretch and came back, the train loss finite all
along, is a blow-up that recovered (DG218): public Ultralytics runs of this shape got only
DG201's numeric-fault error and a spike warning, and their explosion went unnamed."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w26d-wormcount-t2"


def _column(name: str) -> list[float]:
    with open(next(RUN.rglob("results.csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    return [float(r[next(k for k in r if k.strip() == name)]) for r in rows]


def test_a_public_run_whose_validation_loss_went_inf_and_came_back():
    cls = _column("val/cls_loss")
    bad = [i for i, x in enumerate(cls) if not math.isfinite(x)]
    assert bad and bad[0] > 0 and bad[-1] < len(cls) - 1  # finite before and after, by the file
    assert all(math.isfinite(x) for x in _column("train/box_loss") + _column("train/cls_loss"))
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG218"]
    assert len(found) == 1 and found[0].pattern == "explosion"
    epochs = _column("epoch")
    assert found[0].steps[0] == int(epochs[bad[0]])
    assert f"finite again at step {int(epochs[bad[-1] + 1])}" in found[0].message

