"""A clean report says which patterns no rule could judge, instead of "All checks passed"."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from diagnose.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: a public Lightning log with a train loss and no validation loss at all
TRAIN_ONLY = ROOT / "bench" / "real-runs" / "lstm-diogo-v4"
HEALTHY = ROOT / "fixtures" / "healthy-mlp-adam"


def _check(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["check", *args])
    return res.exit_code, res.output


def test_a_log_without_validation_is_not_said_to_pass_every_check():
    header = (next(TRAIN_ONLY.rglob("metrics.csv"))).read_text().splitlines()[0]
    assert "val" not in header.lower()  # nothing a validation loss could be read from
    code, out = _check(str(TRAIN_ONLY))
    assert code == 0
    assert "All checks passed" not in out
    assert "not checked: generalization_gap, late_overfitting (no val/loss)" in out
    assert out.rstrip().endswith(
        "No findings in 1 run; 1 run not checked for generalization_gap, late_overfitting (no val/loss).")
    code, out = _check(str(TRAIN_ONLY), "--format", "json")
    run, = json.loads(out)["runs"]
    assert run["unchecked"] == {"generalization_gap": ["val/loss"], "late_overfitting": ["val/loss"]}


def test_a_log_with_both_losses_passes_in_full():
    code, out = _check(str(HEALTHY))
    assert code == 0 and out.rstrip().endswith("All checks passed: 1 run, no findings.")
    assert "not checked" not in out


def test_only_the_selected_rules_count():
    # with only the flat-loss rules selected, nothing selected needed a validation loss
    code, out = _check(str(TRAIN_ONLY), "--select", "DG101")
    assert code == 0 and "not checked" not in out
    assert out.rstrip().endswith("All checks passed: 1 run, no findings.")


def test_a_log_of_evaluations_only_says_what_its_findings_could_not_cover():
    # a public Lightning log with validation (and test) metrics only: its findings come from
    # the validation loss, and the blow-up and gap checks, which read the train loss, never ran
    run_dir = ROOT / "bench" / "real-runs" / "xewen-mnist-v17"
    header = (next(run_dir.rglob("metrics.csv"))).read_text().splitlines()[0].split(",")
    assert not [c for c in header if c.startswith("train")]
    code, out = _check(str(run_dir), "--exit-zero")
    assert "  not checked: explosion, generalization_gap (no train/loss)" in out
    assert "1 run not checked for explosion, generalization_gap (no train/loss)" in out
