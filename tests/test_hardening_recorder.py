"""The Recorder never takes training down, and never loses what it reported flushed.

Each test breaks the disk under a running Recorder the way it happens for real:

- *disk full*: a tiny tmpfs filled up (ENOSPC; needs permission to mount, else skipped),
  and ``RLIMIT_FSIZE`` in a child process (EFBIG; always available). Both free the space
  again later: writing resumes and the log stays well formed.
- *made read-only mid-run*: the tests run as root, and root ignores permission bits
  (``chmod a-w`` changes nothing for it), so the files are made immutable with
  ``chattr +i``, which stops root too, even on already-open files (skipped where the
  file system has no such attribute).
- *run directory deleted*, or *replaced by a file*, mid-run.
- *bad values*: unconvertible values and non-string or reserved metric names.

Always: training continues (every ``log()`` returns), one warning per kind of problem,
the dropped counts land in ``run.json`` when it can be written, ``strict=True`` raises,
and the log loads holding exactly the records the Recorder counted as flushed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import diagnose
from diagnose.record import Recorder

VALUE = 0.001  # record k holds train_loss = k * VALUE: exactly one double per step


class Tracker:
    """Logs the known sequence and books every step as flushed or dropped by the counters."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.written: list[int] = []
        self.dropped: list[int] = []
        self.pending: list[int] = []

    def log(self, step: int) -> None:
        before = (self.rec.records_flushed, self.rec.records_dropped)
        self.rec.log(step, train_loss=step * VALUE, val_acc=0.5)
        self.pending.append(step)
        self.settle(before)

    def settle(self, before: tuple[int, int]) -> None:
        flushed, dropped = self.rec.records_flushed, self.rec.records_dropped
        if (flushed, dropped) == before:
            return
        assert flushed == before[0] or dropped == before[1], "one flush is one outcome"
        (self.written if flushed != before[0] else self.dropped).extend(self.pending)
        self.pending = []

    def close(self) -> None:
        before = (self.rec.records_flushed, self.rec.records_dropped)
        self.rec.close()
        self.settle(before)


def assert_log_holds_exactly(run_dir: Path, written: list[int]) -> diagnose.Run:
    """The log loads and holds the written records, value for value, and nothing else."""
    run = diagnose.load(run_dir)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == written
    assert values.tolist() == [s * VALUE for s in written]
    assert not [w for w in run.warnings if "corrupt" in w or "torn" in w], run.warnings
    return run


def recorder_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "diagnose Recorder" in str(w.message)]


# -- disk full ------------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 64 KiB tmpfs, half of it taken by a ballast file the test can delete."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        (mnt / "ballast").write_bytes(b"\0" * (32 << 10))
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_disk_full_drops_records_with_one_warning_and_resumes_when_space_returns(tiny_disk):
    run_dir = tiny_disk / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = Tracker(Recorder(run_dir, flush_every=10, flush_secs=1e9))
        step = 0
        while not t.dropped:  # fill the disk: ENOSPC
            t.log(step)
            step += 1
            assert step < 100_000, "the tiny disk never filled"
        for _ in range(300):  # training goes on while the disk is full
            t.log(step)
            step += 1
        (tiny_disk / "ballast").unlink()  # space comes back
        for _ in range(100):
            t.log(step)
            step += 1
        t.close()
    msgs = recorder_warnings(caught)
    assert len(msgs) == 1 and "No space left" in msgs[0] and "metrics.jsonl" in msgs[0]
    assert t.written[-1] == step - 1, "writing resumed once the space was back"
    assert len(t.written) + len(t.dropped) == step
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["dropped"]["records"] == len(t.dropped) and meta["status"] == "finished"
    run = assert_log_holds_exactly(run_dir, t.written)
    assert not run.in_progress


FSIZE_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys, warnings
    sys.path.insert(0, sys.argv[4])
    from test_hardening_recorder import Tracker
    from diagnose.record import Recorder
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer outright
    run_dir, limit, strict = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "strict"
    caught = []
    warnings.simplefilter("always")
    warnings.showwarning = lambda m, *a, **k: caught.append(str(m))
    t = Tracker(Recorder(run_dir, flush_every=10, flush_secs=1e9, strict=strict))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        for step in range(3000):
            if step == 2000:
                resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space comes back
            t.log(step)
        t.close()
    except ValueError as e:
        print(json.dumps({"raised": str(e), "written": t.written}))
        sys.exit(0)
    print(json.dumps({"written": t.written, "dropped": t.dropped, "warnings": caught}))
    """
)


def _fsize_child(run_dir: Path, mode: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", FSIZE_CHILD, str(run_dir), "8000", mode,
                          str(Path(__file__).parent)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_file_size_limit_is_survived_and_the_log_stays_well_formed(tmp_path: Path) -> None:
    """EFBIG after a *partial* write: the half-written line is cut off again, so the records
    written after the space comes back are whole, and nothing counted dropped reappears."""
    got = _fsize_child(tmp_path / "run", "lenient")
    assert len(got["written"]) + len(got["dropped"]) == 3000  # every step was logged
    assert got["dropped"] and got["written"][-1] == 2999
    assert len(got["warnings"]) == 1 and "File too large" in got["warnings"][0]
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["dropped"] == {"records": len(got["dropped"]), "values": 0}
    assert_log_holds_exactly(tmp_path / "run", got["written"])


def test_strict_mode_raises_on_the_first_failed_write(tmp_path: Path) -> None:
    got = _fsize_child(tmp_path / "run", "strict")
    assert "could not write" in got["raised"] and "metrics.jsonl" in got["raised"]
    assert_log_holds_exactly(tmp_path / "run", got["written"])


# -- made read-only mid-run ---------------------------------------------------------------------


def _chattr(flag: str, *paths: Path) -> None:
    if not shutil.which("chattr"):
        pytest.skip("no chattr")
    r = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        pytest.skip(f"chattr {flag} not supported here: {r.stderr.strip()}")


def test_files_made_read_only_mid_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = Tracker(Recorder(run_dir, flush_every=10, flush_secs=1e9))
        for step in range(100):
            t.log(step)
        _chattr("+i", run_dir / "metrics.jsonl", run_dir)
        try:
            for step in range(100, 200):
                t.log(step)
        finally:
            _chattr("-i", run_dir / "metrics.jsonl", run_dir)
        for step in range(200, 300):
            t.log(step)
        t.close()
    assert t.written == list(range(100)) + list(range(200, 300))
    assert t.dropped == list(range(100, 200))
    msgs = recorder_warnings(caught)
    assert len(msgs) == 1 and "not permitted" in msgs[0]
    assert json.loads((run_dir / "run.json").read_text())["dropped"]["records"] == 100
    assert_log_holds_exactly(run_dir, t.written)


def test_run_folder_made_read_only_costs_run_json_only(tmp_path: Path) -> None:
    """An open log file keeps appending; only the atomic rewrite of run.json fails, once."""
    run_dir = tmp_path / "run"
    t = Tracker(Recorder(run_dir, flush_every=10, flush_secs=1e9))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(50):
            t.log(step)
        _chattr("+i", run_dir)
        try:
            for step in range(50, 100):
                t.log(step)
            t.close()
        finally:
            _chattr("-i", run_dir)
    assert t.written == list(range(100)) and not t.dropped
    msgs = recorder_warnings(caught)
    assert len(msgs) == 1 and "run.json" in msgs[0]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"  # last good
    assert_log_holds_exactly(run_dir, t.written)


# -- the run folder deleted or replaced ----------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced-by-a-file"])
def test_run_folder_deleted_mid_run(tmp_path: Path, how: str) -> None:
    run_dir = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = Tracker(Recorder(run_dir, flush_every=10, flush_secs=1e9))
        for step in range(50):
            t.log(step)
        shutil.rmtree(run_dir)
        if how == "replaced-by-a-file":
            run_dir.write_text("someone else's file\n")
        for step in range(50, 5000):
            t.log(step)
        t.close()
    assert t.written == list(range(50)) and t.dropped == list(range(50, 5000))
    assert t.rec._buf == []  # nothing piles up in memory
    msgs = recorder_warnings(caught)
    kinds = sorted("run.json" in m for m in msgs)
    assert len(msgs) == 2 and kinds == [False, True], msgs  # the log, and run.json at close
    assert "deleted" in msgs[0] or "deleted" in msgs[1]
    if how == "deleted":
        assert not run_dir.exists()  # not recreated behind the user's back
    else:
        assert run_dir.read_text() == "someone else's file\n"


# -- bad values and names --------------------------------------------------------------------------


class _Exploding:
    def __float__(self) -> float:
        raise RuntimeError("device lost")


BAD_VALUES = {"text": "0.5", "none": None, "obj": object(), "exploding": _Exploding(),
              "listy": [1.0], "dicty": {"a": 1.0}, "bytes": b"1"}
BAD_NAMES = [1, None, ("a", "b"), b"loss", "step", "wall_time"]


def test_bad_values_and_names_are_dropped_counted_and_warned_once_per_kind(tmp_path):
    run_dir = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Recorder(run_dir, flush_every=3) as rec:
            for step in range(10):
                rec.log(step, {**BAD_VALUES, **{n: 1.0 for n in BAD_NAMES}},
                        train_loss=step * VALUE)
    msgs = recorder_warnings(caught)
    assert len(msgs) == 2, msgs  # one for values, one for names
    assert any("not a number" in m or "cannot convert" in m for m in msgs)
    assert any("not a string" in m or "reserved" in m for m in msgs)
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["dropped"]["values"] == 10 * len(BAD_VALUES) + len(BAD_NAMES)
    assert meta["status"] == "finished"
    run = assert_log_holds_exactly(run_dir, list(range(10)))
    assert run.metric_names == ["train/loss"]


@pytest.mark.parametrize("bad", [*BAD_VALUES.items(), *[(n, 1.0) for n in BAD_NAMES]],
                         ids=lambda x: repr(x)[:20])
def test_strict_mode_raises_for_every_kind_of_bad_input(tmp_path: Path, bad) -> None:
    name, value = bad
    with Recorder(tmp_path / "run", strict=True, flush_every=1) as rec, \
            pytest.raises(ValueError, match=str(tmp_path / "run")):
        rec.log(0, {name: value})


def test_non_scalar_tensors_are_dropped_like_other_bad_values(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Recorder(tmp_path / "run", flush_every=2) as rec:
            for step in range(4):
                rec.log(step, vec=torch.ones(3), train_loss=torch.tensor(step * VALUE,
                                                                         dtype=torch.float64))
    assert len(recorder_warnings(caught)) == 1
    assert_log_holds_exactly(tmp_path / "run", list(range(4)))


# -- SIGKILL at random moments -------------------------------------------------------------------


def _record_until_killed(run_dir: str, fd: int) -> None:
    """Child: log the known sequence forever; after each flush, report the flushed count."""
    rec = Recorder(run_dir, params={"lr": 0.1}, flush_every=7, flush_secs=1e9)
    done, step = 0, 0
    while True:
        rec.log(step, train_loss=step * VALUE, val_acc=0.5)
        step += 1
        if rec.records_flushed != done:
            done = rec.records_flushed
            os.write(fd, b"%d\n" % done)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL") or sys.platform == "win32",
                    reason="needs POSIX signals and fork")
def test_sigkill_at_50_random_moments_keeps_every_reported_record(tmp_path: Path) -> None:
    """Forked writers (cheap: no interpreter start) killed at 50 seeded random moments,
    from the Recorder's start-up (run.json half written) to deep into the run."""
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20240509)
    deep = 0
    for k in range(50):
        run_dir = tmp_path / f"run{k}"
        r, w = os.pipe()
        proc = ctx.Process(target=_record_until_killed, args=(str(run_dir), w))
        proc.start()
        os.close(w)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        with os.fdopen(r) as f:
            reports = [int(x) for x in f.read().split()]
        reported = reports[-1] if reports else 0
        if not (run_dir / "metrics.jsonl").exists():
            assert reported == 0  # killed before the log was created: nothing was promised
            continue
        run = diagnose.load(run_dir)
        steps, values = run.arrays("train/loss")
        assert len(steps) >= reported, f"kill {k}: lost records reported flushed"
        assert steps.tolist() == list(range(len(steps))), f"kill {k}: gap or garbage"
        assert values.tolist() == [s * VALUE for s in range(len(steps))]
        if (run_dir / "run.json").exists():
            assert run.in_progress  # status "running", or a torn last line
        deep += reported > 0
    assert deep >= 15, "many kills should land after the first flushes"
