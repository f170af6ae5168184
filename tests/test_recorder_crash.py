"""Crash safety: SIGKILL of a real recording process, torn last lines, exit without close()."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

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

