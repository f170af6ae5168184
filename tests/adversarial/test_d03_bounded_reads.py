"""Defect 3: every read is bounded.

Before: a ``metrics.jsonl`` or ``run.json`` symlinked to ``/dev/zero`` (a committed
symlink is enough) was read until memory ran out, and so was a ``*.csv``,
``trainer_state.json`` or ``.wandb`` given as an argument; detection read whole files
(a 200 MB single-line non-log ``data.csv`` cost 428 MB just to be rejected). Now only
regular files are read, each up to a cap (``DIAGNOSE_MAX_FILE_BYTES``), and detection
reads a small prefix.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import healthy_run, no_traceback, run_cli


@pytest.mark.parametrize("name", ["metrics.jsonl", "run.json"])
def test_a_native_file_linked_to_dev_zero_is_refused(tmp_path: Path, name: str) -> None:
    run = healthy_run(tmp_path / "runs" / "zero")
    (run / name).unlink()
    os.symlink("/dev/zero", run / name)
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both
    assert name in r.err and "character device" in r.err


@pytest.mark.parametrize("name", ["x.csv", "trainer_state.json", "run-a.wandb"])
def test_dev_zero_given_by_name_is_refused(tmp_path: Path, name: str) -> None:
    os.symlink("/dev/zero", tmp_path / name)
    r = run_cli("check", str(tmp_path / name), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2 and name in r.err, r.both


def test_a_file_over_the_cap_is_refused_by_name(tmp_path: Path) -> None:
    run = healthy_run(tmp_path / "runs" / "big")
    size = (run / "metrics.jsonl").stat().st_size
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json",
                env={"DIAGNOSE_MAX_FILE_BYTES": str(size // 2)}, timeout=10)
    no_traceback(r)
    assert r.code == 2 and "metrics.jsonl" in r.err and "DIAGNOSE_MAX_FILE_BYTES" in r.err
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json",
                env={"DIAGNOSE_MAX_FILE_BYTES": str(size * 2)}, timeout=10)
    assert r.code in (0, 1), r.both


def test_detection_reads_a_prefix_not_a_200_mb_line(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    small = run_cli("check", str(tmp_path / "runs"), "-q", timeout=10)
    assert small.code in (0, 1) and small.maxrss_kib, small.both
    with open(tmp_path / "runs" / "data.csv", "wb") as f:  # one line, no newline, no log
        f.writelines(b"x" * (1 << 20) for _ in range(200))
    big = run_cli("check", str(tmp_path / "runs"), "-q", timeout=10)
    no_traceback(big)
    assert big.code == small.code, big.both
    grew_mib = (big.maxrss_kib - small.maxrss_kib) / 1024
    assert grew_mib < 32, f"peak RSS grew by {grew_mib:.0f} MiB to reject data.csv"
