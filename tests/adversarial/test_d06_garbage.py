"""Defect 6: garbage never reads as a healthy run.

Before: 200 KB of random bytes named ``metrics.jsonl`` (or a garbage generic CSV) became
a 0-step run, "All checks passed", exit 0, with 762 skip notes of which 3 were shown.
Now a file in which no line parses is unreadable (exit 2), and a run with zero usable
steps is never "ok" nor "passed".
"""

from __future__ import annotations

import random
from pathlib import Path

from conftest import healthy_run, no_traceback, run_cli


def _random_bytes(n: int, seed: int = 16) -> bytes:
    return random.Random(seed).randbytes(n)


def test_random_bytes_as_metrics_jsonl_are_unreadable(tmp_path: Path) -> None:
    run = healthy_run(tmp_path / "runs" / "noise")
    (run / "metrics.jsonl").write_bytes(_random_bytes(200_000))
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both
    assert "metrics.jsonl" in r.err and "no line is a metrics record" in r.err


def test_garbage_under_a_csv_header_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "history.csv").write_bytes(b"step,loss\n" + _random_bytes(200_000))
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both
    assert "history.csv" in r.err and "no data line parses" in r.err


def test_garbage_under_a_lightning_header_is_unreadable(tmp_path: Path) -> None:
    run = tmp_path / "lightning_logs" / "version_0"
    run.mkdir(parents=True)
    (run / "metrics.csv").write_bytes(b"epoch,step,train_loss\n" + _random_bytes(100_000)
                                      + b"\n")
    r = run_cli("check", str(tmp_path / "lightning_logs"), "-q", "--format", "json",
                timeout=10)
    no_traceback(r)
    assert r.code == 2 and "metrics.csv" in r.err and "no data line parses" in r.err, r.both


def test_a_run_with_zero_steps_is_never_ok(tmp_path: Path) -> None:
    run = healthy_run(tmp_path / "runs" / "empty")
    (run / "metrics.jsonl").write_bytes(b"")
    for extra in ([], ["-v"]):
        r = run_cli("check", str(tmp_path / "runs"), "-q", *extra, timeout=10)
        no_traceback(r)
        assert "All checks passed" not in r.out and ": ok" not in r.out, r.out
        assert "no usable steps" in r.out
        assert "  ok" not in r.out.splitlines()


def test_no_runs_is_never_passed(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    r = run_cli("check", str(tmp_path / "nothing"), "-q", timeout=10)
    assert r.code == 2 and "All checks passed" not in r.out, r.both
