"""Issue 16, defect 7: two Recorders, one folder.

A second writer used to be refused only after the first had flushed, and both could
finish with their lines interleaved. Now the folder is locked at construction: the
second Recorder fails at once, naming the folder and the first one's pid; the lock
dies with its holder (SIGKILL included), and resuming is explicit.

Every writer here is a real process (a fresh interpreter), held open on a pipe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import diagnose

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX flock")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 8

#: A writer: open a Recorder (argv: folder, first step, resume), log and flush three
#: records, say "ready <pid>", then close when told to on stdin (or be killed first).
WRITER = r"""
import os, sys
from diagnose import Recorder
run_dir, first, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
try:
    rec = Recorder(run_dir, params={"writer": first}, resume=resume, flush_every=1)
except FileExistsError as e:
    print("refused", e, flush=True)
    sys.exit(3)
for s in range(first, first + 3):
    rec.log(s, train_loss=1.0 / (s + 1))
print("ready", os.getpid(), flush=True)
sys.stdin.readline()
rec.close()
print("closed", flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _start(run_dir: Path, first: int, resume: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(run_dir), str(first),
                             "1" if resume else "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=ROOT)


def _first_line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline()
    if not line:
        _, err = proc.communicate(timeout=TIMEOUT)
        pytest.fail(f"writer said nothing (exit {proc.returncode}): {err[-2000:]}")
    return line.strip()


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate("\n", timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


@pytest.fixture
def first_writer(tmp_path: Path):
    run_dir = tmp_path / "run"
    proc = _start(run_dir, 0)
    try:
        line = _first_line(proc)
        assert line.startswith("ready "), line
        yield run_dir, proc, int(line.split()[1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_second_writer_fails_at_construction_naming_folder_and_holder(first_writer) -> None:
    run_dir, first, pid = first_writer
    for resume in (False, True):  # resume=True does not let a second writer in either
        second = _start(run_dir, 100, resume=resume)
        code, out, err = _finish(second)
        assert code == 3, (out, err)
        assert out.startswith("refused ") and str(run_dir) in out and f"pid {pid}" in out, out
    code, out, err = _finish(first)
    assert code == 0 and "closed" in out, err
    run = diagnose.load(run_dir)
    assert run.arrays("train/loss")[0].tolist() == [0, 1, 2]  # the first writer's only
    assert run.params == {"writer": 0} and not run.in_progress
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.jsonl", "run.json"]


def test_resume_is_explicit_after_the_first_closed(first_writer) -> None:
    run_dir, first, _ = first_writer
    assert _finish(first)[0] == 0
    refused = _start(run_dir, 100)
    code, out, _ = _finish(refused)
    assert code == 3 and "already recorded" in out and "resume=True" in out, out
    resumed = _start(run_dir, 3, resume=True)
    assert _first_line(resumed).startswith("ready ")
    code, out, err = _finish(resumed)
    assert code == 0, err
    run = diagnose.load(run_dir)
    assert run.arrays("train/loss")[0].tolist() == [0, 1, 2, 3, 4, 5]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def test_a_sigkilled_writer_leaves_no_stale_lock(first_writer) -> None:
    run_dir, first, pid = first_writer
    os.kill(pid, signal.SIGKILL)
    first.communicate(timeout=TIMEOUT)
    resumed = _start(run_dir, 3, resume=True)
    assert _first_line(resumed).startswith("ready ")  # the kernel dropped the dead one's lock
    code, _, err = _finish(resumed)
    assert code == 0, err
    assert diagnose.load(run_dir).arrays("train/loss")[0].tolist() == [0, 1, 2, 3, 4, 5]


def test_two_recorders_in_one_process_and_a_failed_start_lets_go(tmp_path: Path) -> None:
    from diagnose import Recorder

    run_dir = tmp_path / "run"
    with Recorder(run_dir) as rec:
        with pytest.raises(FileExistsError, match="this process holds an open Recorder"):
            Recorder(run_dir, resume=True)
        rec.log(0, train_loss=1.0)
    with pytest.raises(FileExistsError, match="already recorded"):
        Recorder(run_dir)  # refused after taking the lock: it must let go of it
    with Recorder(run_dir, resume=True) as rec:
        rec.log(1, train_loss=0.5)
    assert diagnose.load(run_dir).arrays("train/loss")[0].tolist() == [0, 1]
