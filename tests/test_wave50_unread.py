"""When nothing is read, each file looked at is named with the reason it was not read.

A folder holding only a log diagnose cannot read used to end in one line, "no training runs
found under DIR", with no word on which file was looked at or what it lacked. A public text log
that prints bare numbers (bench/real-runs/w64a-hyq-reg-fxp7: ``  0   0  50, 1.933861 [...]``
lines and ``(correct, total)`` counts, no metric named) is the case in point.
"""

import re
from pathlib import Path

from click.testing import CliRunner

from diagnose.cli import main

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w64a-hyq-reg-fxp7"


def _check(*paths):
    return CliRunner().invoke(main, ["check", *map(str, paths)])  # stderr mixed into output


def test_a_public_log_of_unnamed_numbers_is_named_with_why():
    log = REAL / "logs" / "fxp7.log"
    text = log.read_text()
    # the file has numbers aplenty and no metric name beside any of them
    assert re.search(r"^\s+\d+\s+\d+\s+\d+, \d+\.\d+", text, re.M)
    assert not re.search(r"(?i)(loss|acc)\w*\W{0,3}\d", text)
    r = _check(REAL)
    assert r.exit_code == 2
    line = next(ln for ln in r.output.splitlines() if ln.startswith("diagnose: not read:"))
    assert str(log) in line and "names a loss or accuracy" in line
    assert "no training runs found" in r.output


def test_named_values_without_a_counter_say_what_is_missing(tmp_path):
    (tmp_path / "train.log").write_text("".join(f"loss {v}\n" for v in (0.9, 0.7, 0.5, 0.4)))
    r = _check(tmp_path)
    assert r.exit_code == 2
    assert "train.log: lines name a loss or accuracy beside a value, but none with a step" in r.output


def test_too_few_records_are_counted(tmp_path):
    (tmp_path / "train.log").write_text("epoch 1 loss 0.9\nepoch 2 loss 0.7\n")
    r = _check(tmp_path)
    assert "train.log: only 2 line(s) read as training records" in r.output


def test_a_table_names_its_header(tmp_path):
    (tmp_path / "scores.csv").write_text("alpha,beta\n1,2\n3,4\n")
    r = _check(tmp_path)
    assert r.exit_code == 2
    assert "scores.csv: a table whose header (alpha, beta) names no step" in r.output


def test_nothing_is_listed_when_a_run_was_read(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "train.log").write_text(
        "".join(f"epoch {i} loss {1 / (i + 1):.3f}\n" for i in range(8)))
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    r = _check(tmp_path)
    assert r.exit_code in (0, 1) and "not read:" not in r.output
