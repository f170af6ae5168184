"""A clean report says which patterns no rule could judge, instead of "All checks passed"."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from diagnose.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: a public Lightning log with a train loss and no validation loss at all, labelled healthy (the
#: StatQuest LSTM tutorial; lstm-diogo-v4, used before, is a model frozen at an MSE of 0.25 that
#: DG224 now reports)
TRAIN_ONLY = ROOT / "bench" / "real-runs" / "t11a-statq-v10"
HEALTHY = ROOT / "fixtures" / "healthy-mlp-adam"


def _check(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["check", *args])
    return res.exit_code, res.output


def test_a_log_without_validation_is_not_said_to_pass_every_check():
    header = (next(TRAIN_ONLY.rglob("metrics.csv"))).read_text().splitlines()[0]
    assert "val" not in header.lower()  # nothing a validation loss could be read from
    code, out = _check(str(TRAIN_ONLY), "--num-classes", "2")  # K given: chance level checked
    assert code == 0
    assert "All checks passed" not in out
    assert "not checked: generalization_gap, late_overfitting (no val/loss)" in out
    assert out.rstrip().endswith(
        "No findings in 1 run; 1 run not checked for generalization_gap, late_overfitting (no val/loss).")
    code, out = _check(str(TRAIN_ONLY), "--format", "json", "--num-classes", "2")
    run, = json.loads(out)["runs"]
    assert run["unchecked"] == {"generalization_gap": ["val/loss"], "late_overfitting": ["val/loss"]}
    # without K, and no accuracy to read one off, the chance level was not checked either
    code, out = _check(str(TRAIN_ONLY), "--format", "json")
    run, = json.loads(out)["runs"]
    assert run["unchecked"] == {"generalization_gap": ["val/loss"], "late_overfitting": ["val/loss"],
                                "uniform_predictions": ["num_classes", "val/acc"]}


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


def _stuck_at_chance(folder: Path, hparams: str | None = None) -> Path:
    """A thirty-class run (written as a Lightning CSVLogger file) whose losses fall from 4.0 to
    ln 30 and sit there: stuck at chance. No accuracy logged, and thirty classes are too many
    for the loss alone to name K (ln 29 and ln 31 lie within its noise)."""
    import math

    version = folder / "lightning_logs" / "version_0"
    version.mkdir(parents=True)
    rows = ["epoch,step,train_loss,val_loss"]
    for e in range(30):
        tr = math.log(30) + 0.6 * 0.5 ** e + 0.002 * ((e * 7) % 3 - 1)
        va = math.log(30) + 0.5 * 0.5 ** e + 0.002 * ((e * 5) % 3 - 1)
        rows += [f"{e},{e * 10 + 9},{tr:.5f},", f"{e},{e * 10 + 9},,{va:.5f}"]
    (version / "metrics.csv").write_text("\n".join(rows) + "\n")
    if hparams is not None:
        (version / "hparams.yaml").write_text(hparams)
    return folder


def test_a_run_that_records_no_class_count_is_not_said_to_pass(tmp_path: Path):
    run = _stuck_at_chance(tmp_path / "run")
    code, out = _check(str(run))
    assert "DG204" not in out and "All checks passed" not in out
    assert out.rstrip().endswith(
        "No findings in 1 run; 1 run not checked for uniform_predictions (no num_classes or val/acc).")
    assert "hint: `--num-classes K`" in out  # and how to have it checked
    # the user gives K: the chance level is checked, and found
    code, out = _check(str(run), "--num-classes", "30")
    assert code == 1 and "DG204" in out and "ln(30)" in out and "not checked" not in out
    assert "hint:" not in out
    # the same from [tool.diagnose]
    (tmp_path / "pyproject.toml").write_text("[tool.diagnose]\nnum-classes = 30\n")
    code, out = _check(str(run), "--config", str(tmp_path / "pyproject.toml"))
    assert code == 1 and "DG204" in out


def test_a_run_that_records_its_class_count_keeps_it(tmp_path: Path):
    run = _stuck_at_chance(tmp_path / "run", "num_classes: 30\nlr: 0.001\n")
    code, out = _check(str(run), "--num-classes", "5")  # the run's own K stands
    assert code == 1 and "DG204" in out and "ln(30)" in out and "ln(5)" not in out


def test_an_accuracy_lets_the_chance_level_be_read_off_the_curves(tmp_path: Path):
    # a healthy log with a validation accuracy and no K: K could be read off the accuracy had
    # the model sat at chance (DG208 and the curves' K judge it), so nothing is "not checked"
    folder = tmp_path / "run"
    folder.mkdir()
    rows = ["epoch,loss,val_loss,val_accuracy"]
    for e in range(20):
        rows.append(f"{e},{2.3 * 0.8 ** e + 0.1:.4f},{2.3 * 0.82 ** e + 0.15:.4f},{0.95 - 0.85 * 0.8 ** e:.4f}")
    (folder / "training.log").write_text("\n".join(rows) + "\n")
    code, out = _check(str(folder))
    assert code == 0 and "not checked" not in out and "All checks passed" in out


def test_a_bad_class_count_in_the_config_is_named(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.diagnose]\nnum-classes = 1\n")
    code, out = _check(str(HEALTHY), "--config", str(tmp_path / "pyproject.toml"))
    assert code == 2 and "pyproject.toml" in out and "num-classes must be a whole number from 2" in out


def test_a_run_of_a_single_logged_step_is_not_said_to_pass(tmp_path: Path):
    # one row of a Keras CSVLogger file: one value per curve, no curve to judge
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "training.log").write_text(
        "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.91,0.25,0.90,0.27\n")
    code, out = _check(str(tmp_path / "run"))
    assert code == 0 and "All checks passed" not in out
    assert "a single logged step: no curve to judge" in out
    assert "1 run logged a single step (no curve to judge)" in out.splitlines()[-1]
