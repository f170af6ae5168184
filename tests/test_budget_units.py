"""Advice about the budget names it in the unit the log counts, and counts it right.

A Keras CSVLogger log numbers its epochs from 0, so a 10-epoch run ends at "step" 9: twice
its budget is 20 epochs, not 18 steps.
"""

import csv
from pathlib import Path

import diagnose
from diagnose.report import render

ROOT = Path(__file__).resolve().parents[1]
#: a public Keras CSVLogger log of 30 epochs (0-29) whose validation loss still fell at its end
KERAS_RUN = ROOT / "bench" / "real-runs" / "w30a-fingerprint-live"


def test_a_keras_run_still_improving_is_told_to_double_its_epochs():
    with open(next(KERAS_RUN.rglob("training_log.csv")), newline="") as fh:
        epochs = [int(row["epoch"]) for row in csv.DictReader(fh)]
    assert epochs == list(range(len(epochs)))  # 0-based: the last epoch's number is one short
    report = diagnose.check(KERAS_RUN)
    (f,) = [f for f in report.findings if f.rule in ("DG203", "DG219")]  # still improving
    assert f"twice the budget ({2 * len(epochs)} epochs)" in f.next_experiment
    text = render(report, "text", color=False)
    assert f"{len(epochs)} steps, one per epoch" in text.splitlines()[0]


def test_a_step_axis_keeps_its_last_step_as_the_budget():
    # the chapter's sweep: 40 optimizer steps, the recorder logs steps 0 (the start) to 40
    run_dir = ROOT / "fixtures" / "chapter-sweep" / "lr=0.01"
    run = diagnose.load(run_dir)
    last = run.step_range[1]
    found = [f for f in diagnose.check(run_dir).findings if f.rule == "DG206"]
    assert found and f"budget of {last} steps" in found[0].cause


def test_lightning_steps_count_from_zero():
    # Lightning's CSVLogger writes the optimizer steps done before the logged one: a run of
    # 5,000 steps ends on row step 4999, and twice its budget is 10,000 steps
    (path,) = (ROOT / "bench" / "real-runs" / "t10d-ukcrime-v18").rglob("metrics.csv")
    with open(path, newline="") as fh:
        last = max(int(row["step"]) for row in csv.DictReader(fh))
    # DG203 (information) or DG219 (the warning it gives way to) tells the next budget
    (f,) = [f for f in diagnose.check(path.parent).findings if f.rule in ("DG203", "DG219")]
    assert f"twice the budget ({2 * (last + 1)} steps)" in f.next_experiment
