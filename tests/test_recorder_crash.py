"""Crash safety: SIGKILL of a real recording process, torn last lines, exit without close()."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import diagnose
from diagnose.record import Recorder

pytest.importorskip("torch")

# The child logs float64 tensors step * 0.001 (exactly the double step * 0.001) and, after
# every flush, prints how many records it has flushed.
CHILD = textwrap.dedent(
    """
    import sys, torch
    from diagnose.record import Recorder
    rec = Recorder(sys.argv[1], params={"lr": 0.1}, flush_every=13, flush_secs=1e9)
    done = 0
    step = 0
    while True:
        rec.log(step, train_loss=torch.tensor(step * 0.001, dtype=torch.float64), val_acc=0.5)
        step += 1
        if rec.records_flushed != done:
            done = rec.records_flushed
            print(done, flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_keeps_everything_flushed_before_the_kill(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        reported = 0
        for line in proc.stdout:  # kill the writer in full flight, after some flushes
            reported = int(line)
            if reported >= 13 * 40:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    run = diagnose.load(run_dir)
    steps, values = run.arrays("train/loss")
    assert len(steps) >= reported
    assert steps.tolist() == list(range(len(steps)))
    assert values.tolist() == [s * 0.001 for s in range(len(steps))]
    assert run.in_progress  # status is still "running": nobody finished the run
    assert json.loads((run_dir / "run.json").read_text())["params"] == {"lr": 0.1}


def test_torn_last_line_is_skipped_with_a_warning_naming_file_and_line(tmp_path):
    run_dir = tmp_path / "run"
    with Recorder(run_dir) as rec:
        for step in range(5):
            rec.log(step, train_loss=1.0 / (step + 1))
    path = run_dir / "metrics.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12])  # cut the last record mid-line, as a kill would
    run = diagnose.load(run_dir)
    assert run.arrays("train/loss")[0].tolist() == [0, 1, 2, 3]
    assert run.in_progress
    assert [w for w in run.warnings if f"{path}:5" in w and "torn" in w]

    # Resuming after the crash: the torn fragment stays alone on its line, new records load.
    with Recorder(run_dir, resume=True) as rec:
        rec.log(4, train_loss=0.2)
    assert diagnose.load(run_dir).arrays("train/loss")[1].tolist()[-1] == 0.2


@pytest.mark.parametrize(
    ("tail", "status"), [("", "finished"), ("raise SystemError('boom')", "failed")]
)
def test_a_script_that_never_closes_is_finished_at_exit(tmp_path, tail, status):
    code = textwrap.dedent(
        f"""
        import sys
        from diagnose.record import Recorder
        rec = Recorder(sys.argv[1], flush_every=1000)
        for step in range(10):
            rec.log(step, train_loss=float(step))
        {tail}
        """
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["status"] == status
    assert diagnose.load(tmp_path / "run").arrays("train/loss")[0].tolist() == list(range(10))



# The child records which files are fsynced, from which thread, and what is still waiting
# when the interpreter has run the Recorder's exit handler (registered after this one, so
# it runs first). Each fsync is slowed down so that a wait that did not happen would show.
DURABLE = textwrap.dedent(
    """
    import atexit, os, sys, threading, time
    synced = []
    def fsync(fd, _real=os.fsync):
        time.sleep(0.2)
        synced.append((threading.current_thread() is threading.main_thread(),
                       os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        _real(fd)
    os.fsync = fsync
    def report():
        from diagnose.record import _sink
        print(sorted(synced), _sink._SYNC.queue.unfinished_tasks)
    atexit.register(report)
    from diagnose.record import Recorder
    rec = Recorder(sys.argv[1], flush_every=7)
    for step in range(50):
        rec.log(step, train_loss=float(step))
    rec.close()
    """
)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the files")
def test_the_log_and_the_final_run_json_are_fsynced_off_the_training_thread_before_exit(tmp_path):
    """Durability (fsync) waits on the disk: a background thread does it after close(), for
    the log and the last run.json; the interpreter exit waits for both."""
    out = subprocess.run([sys.executable, "-c", DURABLE, str(tmp_path / "run")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[(False,", "'metrics.jsonl'),", "(False,", "'run.json')]", "0"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "finished"
    assert diagnose.load(tmp_path / "run").arrays("train/loss")[0].tolist() == list(range(50))
