"""The native run log on disk: its format, and bad input read through ``diagnose.load``.

Logs are written by the Recorder (plain Python values, so no torch is needed), then
damaged the way real files get damaged.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import diagnose
from diagnose import ReadError
from diagnose.readers.native import dumps_record
from diagnose.record import Recorder


@pytest.fixture
def run_dir(tmp_path):
    """A real log: train/loss at steps 0..9, val/loss every 5 steps."""
    d = tmp_path / "run"
    with Recorder(d, params={"lr": 0.1}) as rec:
        for step in range(10):
            rec.log(step, train_loss=1.0 / (step + 1))
            if step % 5 == 0:
                rec.log(step, val_loss=2.0 - step / 10)
    return d


def test_format_is_json_lines_with_nonfinite_values_as_strings(tmp_path):
    with Recorder(tmp_path / "run") as rec:
        rec.log(3, train_loss=float("nan"), val_loss=float("inf"), lr=-math.inf, val_acc=0.25)
    (line,) = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rec = json.loads(line)  # strict JSON: no bare NaN/Infinity tokens
    assert "NaN" not in line.replace('"NaN"', "") and "Infinity" not in line.replace(
        '"Infinity"', "").replace('"-Infinity"', "")
    assert {k: rec[k] for k in ("step", "train/loss", "val/loss", "lr", "val/acc")} == {
        "step": 3, "train/loss": "NaN", "val/loss": "Infinity", "lr": "-Infinity", "val/acc": 0.25
    }
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["format"] == "diagnose-run" and meta["version"] == 1


def test_dumps_record_matches_json_dumps_for_finite_values():
    values = {"train/loss": 0.1 + 0.2, "a\"b": 1e-300, "x": 5}
    line = dumps_record(12, values, wall_time=1.5, epoch=None)
    want = {"step": 12, "wall_time": 1.5, **{k: float(v) for k, v in values.items()}}
    assert json.loads(line) == want and line.endswith("\n")


def test_missing_run_dir_is_a_read_error_naming_the_path(tmp_path):
    with pytest.raises(ReadError) as e:
        diagnose.load(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value)


def test_corrupt_middle_line_is_skipped_naming_file_and_line_and_nothing_else_is_lost(run_dir):
    path = run_dir / "metrics.jsonl"
    text = path.read_text().splitlines(keepends=True)
    lost = json.loads(text[3])["step"]  # line 4: one train/loss record
    text[3] = text[3][: len(text[3]) // 2] + "#garbage\n"
    path.write_text("".join(text))
    run = diagnose.load(run_dir)
    assert run.arrays("train/loss")[0].tolist() == [s for s in range(10) if s != lost]
    assert run.arrays("val/loss")[0].tolist() == [0, 5]
    assert [w for w in run.warnings if f"{path}:4" in w and "corrupt" in w]
    assert not run.in_progress and run.params == {"lr": 0.1}


def test_run_json_that_is_not_json_is_a_read_error_naming_file_and_line(run_dir):
    path = run_dir / "run.json"
    text = path.read_text().splitlines()
    text[2] = text[2] + " oops"
    path.write_text("\n".join(text))
    with pytest.raises(ReadError) as e:
        diagnose.load(run_dir)
    assert e.value.path == str(path) and e.value.where == "line 3"


def test_repeated_steps_keep_the_last_value_and_name_the_line(tmp_path):
    d = tmp_path / "run"
    with Recorder(d) as rec:
        for step in range(5):
            rec.log(step, train_loss=float(step), val_loss=10.0)
        rec.log(2, train_loss=99.0)  # line 6: a repeat of step 2
    run = diagnose.load(d)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [0, 1, 2, 3, 4] and values.tolist() == [0.0, 1.0, 99.0, 3.0, 4.0]
    assert len(run.arrays("val/loss")[0]) == 5
    path = d / "metrics.jsonl"
    assert [w for w in run.warnings if f"{path}:6" in w and "repeated" in w]
    assert [w for w in run.warnings if f"{path}:6" in w and "backwards" in w]


def test_steps_going_backwards_after_a_resume_are_sorted_with_a_warning(tmp_path):
    d = tmp_path / "run"
    with Recorder(d) as rec:
        for step in range(10, 15):
            rec.log(step, train_loss=float(step))
    with Recorder(d, resume=True) as rec:
        for step in range(0, 3):
            rec.log(step, train_loss=float(step))
    run = diagnose.load(d)
    assert run.arrays("train/loss")[0].tolist() == [0, 1, 2, 10, 11, 12, 13, 14]
    assert [w for w in run.warnings if f"{d / 'metrics.jsonl'}:6" in w and "backwards" in w]


def test_loading_a_log_does_not_import_torch(run_dir):
    code = f"import sys, diagnose; diagnose.load({str(run_dir)!r}); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
