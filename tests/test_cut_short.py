"""A run whose monitored loss was still falling fast and steadily when its budget ran out is slow
for that budget (DG219), even when it fell far: public logs of this shape said "All checks
passed", because DG206 reads a large fall as progress and DG203 only informs."""

from __future__ import annotations

import csv
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _val_by_epoch(run: Path) -> list[float]:
    with open(next(run.rglob("metrics.csv")), newline="") as f:
        return [float(r["val_loss_epoch"]) for r in csv.DictReader(f) if r.get("val_loss_epoch")]


def test_a_public_run_cut_off_while_its_validation_loss_still_fell():
    run = RUNS / "w25d-protscape-v39"
    val = _val_by_epoch(run)
    # by the file: the last fifth of the epochs brings over a fifth of the whole fall, and the
    # last value is the lowest
    n = len(val)
    assert val[-1] == min(val) and (val[int(0.8 * n)] - val[-1]) > 0.2 * (val[0] - val[-1])
    found = [f for f in diagnose.check(run).findings if f.pattern == "slow_convergence"]
    assert [f.rule for f in found] == ["DG219"] and found[0].severity == "warning"
    assert "val/loss was still falling steadily" in found[0].message


def test_a_curve_still_coming_back_from_a_spike_is_not_cut_short():
    # a public PINN log (pinn-em-v0): mean loss 0.50 -> 0.022, a spike to 17.9, falling back
    # to 0.14 at the end, above the level it had reached before the spike
    run = RUNS / "pinn-em-v0"
    with open(next(run.rglob("metrics.csv")), newline="") as f:
        loss = [float(r["mean_loss"]) for r in csv.DictReader(f) if r.get("mean_loss")]
    assert loss[-1] > 3 * min(loss) and max(loss) > 100 * min(loss)
    assert not [f for f in diagnose.check(run).findings if f.rule == "DG219"]
