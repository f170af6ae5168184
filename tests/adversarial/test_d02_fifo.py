"""Defect 2: a FIFO named like a log never hangs ``diagnose check``.

Before: a FIFO ``*.csv`` hung discovery (the W&B CSV detector opened it), and so did a
FIFO ``metrics.jsonl`` / ``run.json`` of a native run, ``trainer_state.json`` or a
``run-*.wandb``. Only regular files are opened; anything else is skipped with a note
naming it (inside a folder) or is an unreadable input (given by name, or a native
run's own files).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import healthy_run, no_traceback, run_cli


@pytest.mark.parametrize("name", ["data.csv", "trainer_state.json", "run-x1.wandb",
                                  "metrics.jsonl", "history.jsonl"])
def test_a_fifo_in_a_folder_is_skipped_with_a_note(tmp_path: Path, name: str) -> None:
    healthy_run(tmp_path / "runs" / "good")
    odd = tmp_path / "runs" / "odd"
    odd.mkdir()
    os.mkfifo(odd / name)
    r = run_cli("check", str(tmp_path / "runs"), "-q", timeout=10)
    no_traceback(r)
    assert r.code in (0, 1), r.both  # the healthy run is checked; the FIFO is no error
    assert "healthy-mlp-adam" in r.out
    skipped = [ln for ln in r.err.splitlines() if ln.startswith("diagnose: skipped:")]
    assert len(skipped) == 1 and name in skipped[0] and "FIFO" in skipped[0], r.err


@pytest.mark.parametrize("name", ["metrics.jsonl", "run.json"])
def test_a_fifo_as_a_native_runs_own_file_is_unreadable(tmp_path: Path, name: str) -> None:
    run = healthy_run(tmp_path / "runs" / "bad")
    (run / name).unlink()
    os.mkfifo(run / name)
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both
    line = next(ln for ln in r.err.splitlines() if ln.startswith("diagnose: unreadable:"))
    assert name in line and "FIFO" in line


@pytest.mark.parametrize("name", ["x.csv", "trainer_state.json", "run-x1.wandb"])
def test_a_fifo_given_by_name_is_an_unreadable_input(tmp_path: Path, name: str) -> None:
    os.mkfifo(tmp_path / name)
    r = run_cli("check", str(tmp_path / name), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2 and name in r.err and "FIFO" in r.err, r.both


def test_a_fifo_as_config_or_rule_file_is_an_error_not_a_hang(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    os.mkfifo(tmp_path / "pyproject.toml")
    r = run_cli("check", "runs", "-q", "--config", "pyproject.toml", cwd=tmp_path, timeout=10)
    no_traceback(r)
    assert r.code == 2 and "pyproject.toml" in r.err and "FIFO" in r.err, r.both
    rules = tmp_path / "rules"
    rules.mkdir()
    os.mkfifo(rules / "DG999-x.toml")
    r = run_cli("check", "runs", "-q", "--rules", "rules", cwd=tmp_path, timeout=10)
    no_traceback(r)
    assert r.code == 2 and "DG999-x.toml" in r.err and "FIFO" in r.err, r.both
