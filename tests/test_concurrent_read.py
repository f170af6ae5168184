"""Reading runs while they are being written: never an exception, never a torn value.

A real writer process (our Recorder, ``torch.utils.tensorboard.SummaryWriter``,
Lightning's ``CSVLogger``) writes a known sequence, step ``k`` holding ``f(k)``, while
this process loops ``diagnose.load_all`` and ``diagnose.check`` on the same folder.
Every value read must be one the writer wrote for that step (bit for bit, after the
format's own rounding: float32 for TensorBoard), every check must come back without
an unreadable-input error, and once the writer is done the whole sequence is there.
Where the format can say a run is unfinished (the native log's status), it must.
Lightning's writer rewrites the whole file when a new column appears; the test makes
that happen mid-run, so the reader also meets a file truncated and half rewritten.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import diagnose

N = 400  # steps each writer writes
PACE = 0.003  # seconds between steps: the writer runs for a few seconds


def f(k: int) -> float:
    """The value of step k: distinct per step, not exactly representable in float32."""
    return 1.0 / (k + 3) + k * 1e-7


def val(k: int) -> float:
    return 2.0 / (k + 7)


RECORDER = """
import sys, time
from diagnose.record import Recorder
rec = Recorder(sys.argv[1], flush_every=5, flush_secs=1e9)
for k in range({N}):
    rec.log(k, train_loss=1.0 / (k + 3) + k * 1e-7)
    if k % 10 == 0:
        rec.log(k, val_loss=2.0 / (k + 7))
    if k == 5:
        print("ready", flush=True)
    time.sleep({PACE})
rec.close()
"""

SUMMARY_WRITER = """
import sys, time
from torch.utils.tensorboard import SummaryWriter
w = SummaryWriter(sys.argv[1], max_queue=3, flush_secs=0.05)
for k in range({N}):
    w.add_scalar("train/loss", 1.0 / (k + 3) + k * 1e-7, k)
    if k % 10 == 0:
        w.add_scalar("val/loss", 2.0 / (k + 7), k)
    if k == 5:
        w.flush()
        print("ready", flush=True)
    time.sleep({PACE})
w.close()
"""

CSV_LOGGER = """
import sys, time
from lightning.pytorch.loggers import CSVLogger
logger = CSVLogger(sys.argv[1], name="", version=0)
for k in range({N}):
    m = {{"train_loss": 1.0 / (k + 3) + k * 1e-7}}
    if k % 10 == 0 and k >= {N} // 2:  # a new column half-way: the file is rewritten
        m["val_loss"] = 2.0 / (k + 7)
    logger.log_metrics(m, step=k)
    if k % 7 == 0:
        logger.save()
    if k == 7:
        print("ready", flush=True)
    time.sleep({PACE})
logger.save()
"""


def _expected(precision: Callable[[float], float]) -> dict[str, dict[int, float]]:
    return {"train/loss": {k: precision(f(k)) for k in range(N)},
            "val/loss": {k: precision(val(k)) for k in range(0, N, 10)}}


def _check_values(runs: list[diagnose.Run], want: dict[str, dict[int, float]]) -> int:
    """Every value read is the one written for its step; returns how many were read."""
    seen = 0
    for run in runs:
        for name in run.metric_names:
            assert name in want, f"unexpected metric {name!r} in {run.path}"
            steps, values = run.arrays(name)
            for s, v in zip(steps.tolist(), values.tolist()):
                assert want[name].get(s) == v, f"{name} step {s}: read {v!r}, wrote {want[name].get(s)!r}"
            seen += len(steps)
    return seen


def _read_while_writing(script: str, where: Path, load_at: Path,
                        want: dict[str, dict[int, float]], timeout: float = 240
                        ) -> tuple[int, list[bool]]:
    """Run the writer; read until it exits. Returns (reads, in_progress flags seen)."""
    code = textwrap.dedent(script.format(N=N, PACE=PACE))
    proc = subprocess.Popen([sys.executable, "-c", code, str(where)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    reads, flags, most = 0, [], 0
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            runs = diagnose.load_all(load_at)
            most = max(most, _check_values(runs, want))
            flags.append(all(r.in_progress for r in runs))
            report = diagnose.check([load_at])
            assert not report.errors, report.errors
            reads += 1
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    final = diagnose.load_all(load_at)
    assert _check_values(final, want) == sum(len(v) for v in want.values())  # all there
    return reads, flags


def test_reading_our_recorder_while_it_writes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    reads, flags = _read_while_writing(RECORDER, run_dir, run_dir, _expected(float))
    assert reads >= 3, "the reader should have overlapped the writer several times"
    # in progress at every read until close() marks it finished (the process may still be
    # exiting for the last reads)
    assert flags[0] and flags == sorted(flags, reverse=True), flags
    assert not diagnose.load(run_dir).in_progress  # closed: finished


def test_reading_tensorboard_while_summary_writer_writes(tmp_path: Path) -> None:
    pytest.importorskip("torch.utils.tensorboard")
    f32 = lambda x: float(np.float32(x))
    reads, _ = _read_while_writing(SUMMARY_WRITER, tmp_path / "tb", tmp_path / "tb",
                                   _expected(f32))
    assert reads >= 3


@pytest.mark.slow
def test_reading_lightning_csv_while_csvlogger_writes_and_rewrites(tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    run_dir = tmp_path / "logs" / "version_0"
    want = _expected(float)
    want["val/loss"] = {k: v for k, v in want["val/loss"].items() if k >= N // 2}
    reads, _ = _read_while_writing(CSV_LOGGER, tmp_path / "logs", tmp_path / "logs", want)
    assert reads >= 3 and run_dir.is_dir()
