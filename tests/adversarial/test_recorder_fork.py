"""Issue 16, defect 8: a Recorder across ``fork``.

A plain ``os.fork`` child that exited normally used to flush the parent's pending
records a second time and mark ``run.json`` finished while the parent trained on;
values logged in DataLoader or multiprocessing fork workers vanished without a word.
Now a forked child's copy never writes the parent's buffer, log, lock or status, and
logging in it warns once (per child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import diagnose
from diagnose import Recorder

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

ROOT = Path(__file__).resolve().parents[2]

#: The parent logs three records (kept pending: no flush is due), forks, and waits for
#: the child; the child logs twice, closes the recorder and exits normally (so the
#: interpreter's exit handlers run in it, as they do after a plain fork).
SCRIPT = r"""
import json, os, sys, warnings
from diagnose import Recorder
run_dir = sys.argv[1]
rec = Recorder(run_dir, params={"lr": 0.1}, flush_every=10**6, flush_secs=1e9)
for s in range(3):
    rec.log(s, train_loss=1.0 / (s + 1))
pid = os.fork()
if pid == 0:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec.log(100, train_loss=9.0)
        rec.log(101, train_loss=9.0)
        rec.flush()
        rec.close()
    print("child-warnings", sum("forked child" in str(w.message) for w in caught), flush=True)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print("child-exit", os.waitstatus_to_exitcode(status))
meta = json.load(open(os.path.join(run_dir, "run.json")))
print("after-child", meta["status"], os.path.getsize(os.path.join(run_dir, "metrics.jsonl")))
try:
    Recorder(run_dir, resume=True)
    print("lock", "lost")
except FileExistsError:
    print("lock", "held")
for s in range(3, 6):
    rec.log(s, train_loss=1.0 / (s + 1))
rec.close()
print("parent-done", "ok", flush=True)
"""


def test_a_forked_child_never_writes_the_parents_buffer_or_status(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(run_dir)], capture_output=True,
                          check=False, text=True, timeout=8, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert said["child-warnings"] == "1"  # two logs in the child: one warning
    assert said["child-exit"] == "0"
    # the child's exit wrote nothing: the parent's three records are still pending
    assert said["after-child"] == "running 0"
    assert said["lock"] == "held"  # the child let go of its copy, not of the parent's lock
    assert said["parent-done"] == "ok"
    run = diagnose.load(run_dir)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [0, 1, 2, 3, 4, 5]  # each once, none of the child's
    assert values.tolist() == [1.0 / (s + 1) for s in range(6)]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


class _LoggingDataset:
    """A dataset whose items log to a recorder, as a data-timing hook in a worker might."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int):
        import torch

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.rec.log(1000 + i, data_item=float(i))
        said = sum("not recorded" in str(w.message) for w in caught)
        return torch.tensor([i, said, os.getpid()])


def test_dataloader_fork_workers_warn_once_and_write_nothing(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    run_dir = tmp_path / "run"
    rec = Recorder(run_dir, flush_every=1)  # a flush on every log: a child's would show
    try:
        loader = DataLoader(_LoggingDataset(rec), batch_size=None, num_workers=2,
                            multiprocessing_context="fork")
        items = [t.tolist() for t in loader]
        for step in range(3):
            rec.log(step, train_loss=1.0 / (step + 1))
        # the workers have exited; the parent still holds its folder
        with pytest.raises(FileExistsError, match="this process holds"):
            Recorder(run_dir, resume=True)
    finally:
        rec.close()
    assert sorted(i for i, _, _ in items) == list(range(8))
    workers = {pid for _, _, pid in items}
    assert len(workers) == 2 and os.getpid() not in workers
    for pid in workers:  # one warning per worker, however many items it logged from
        assert sum(said for _, said, p in items if p == pid) == 1
    run = diagnose.load(run_dir)
    assert run.metric_names == ["train/loss"]
    assert run.arrays("train/loss")[0].tolist() == [0, 1, 2]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    del torch
