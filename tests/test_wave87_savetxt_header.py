"""``numpy.savetxt(path, rows, delimiter=",", header="step,train_loss,...")`` writes its header
as a comment, ``# step,train_loss,...`` (a course's modular-arithmetic logs, public runs in
bench/real-runs). The step column came out as a metric named ``# step`` and the rows were
numbered 0, 1, 2 instead of by their logged steps (100, 200, ...): every step a finding quoted
was wrong, and step-based windows (a spike detector's warm-up) covered a hundred times the
training they should."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose
from tests._real_logs import bench_run


def test_a_savetxt_header_names_the_step_column(tmp_path: Path) -> None:
    steps = np.arange(100, 3100, 100)
    train = 2.3 * np.exp(-steps / 800.0) + 0.05
    rows = np.column_stack([steps, train, train * 1.3 + 0.1])
    path = tmp_path / "log.csv"
    np.savetxt(path, rows, delimiter=",", header="step,train_loss,val_loss")
    assert path.read_text().startswith("# step,")
    (run,) = diagnose.load_all(path)
    assert sorted(run.metric_names) == ["train/loss", "val/loss"]
    got_steps, got = run.arrays("train/loss")
    assert got_steps.tolist() == steps.tolist()
    assert np.allclose(got, train)


def test_a_public_savetxt_log_is_read_on_its_own_steps() -> None:
    run_dir = bench_run("w105e-supportyun-div97-s1-grok-slow")  # tuning half
    (path,) = run_dir.glob("*.csv")
    first = np.loadtxt(path, delimiter=",")[:2]
    (run,) = diagnose.load_all(run_dir)
    assert not [n for n in run.metric_names if n.startswith("#")]
    assert run.arrays("train/loss")[0][:2].tolist() == first[:, 0].astype(int).tolist()
