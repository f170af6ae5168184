"""NaN/inf only at a validation loss's first evaluations, with the train loss finite throughout,
is an evaluation of a model that had not produced anything finite yet: information (DG220), not
the error DG201 gives a numerical fault of training."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w39b-coffee-t16"


def test_a_public_yolo_run_whose_first_validations_were_infinite():
    # w39b-coffee-t16 (tuning): val/cls_loss is inf at epochs 1-3 and finite after; every
    # train loss is finite. It was reported as a DG201 error ("non-finite values")
    (path,) = RUN.rglob("results.csv")
    with open(path, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    cls = [float(r["val/cls_loss"]) for r in rows]
    bad = [i for i, v in enumerate(cls) if not math.isfinite(v)]
    assert bad == list(range(len(bad))) and 0 < len(bad) < len(cls)
    assert all(math.isfinite(float(r[k])) for r in rows for k in r if k.startswith("train/"))
    report = diagnose.check([str(RUN)])
    rules = {f.rule: f for f in report.findings}
    assert "DG201" not in rules
    f = rules["DG220"]
    assert f.severity == "info" and f.steps == (int(rows[bad[0]]["epoch"]), int(rows[bad[-1]]["epoch"]))



def test_a_nan_after_finite_validations_is_still_an_error():
    from diagnose import load_rules
    from diagnose.engine import evaluate_run

    run = diagnose.Run.from_series({"train/loss": [1.5, 1.4, 1.3, 1.2, 1.1, 1.0],
                                    "val/loss": [1.6, 1.5, float("nan"), 1.3, 1.2, 1.1]})
    found = {f.rule for f in evaluate_run(run, load_rules())}
    assert "DG201" in found and "DG220" not in found
