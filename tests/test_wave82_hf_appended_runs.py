"""Two Trainer runs whose ``log_history`` lists were concatenated into one state.

Sorting both by step would interleave two curves into a zig-zag no run drew (read as spikes or
noise). The steps starting again from the beginning split the state into its runs, as the CSV
reader does for ``CSVLogger(append=True)``: each is judged on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import diagnose

#: two real Trainer runs (fixtures/make_slow_fixtures.py)
SLOW = Path(__file__).parent.parent / "fixtures" / "slow"
FIRST = SLOW / "hf-slow-linear-decay" / "trainer_state.json"
SECOND = SLOW / "hf-healthy-linear-decay" / "trainer_state.json"


def _losses(history: list[dict], key: str) -> tuple[list[int], list[float]]:
    rows = [(e["step"], e[key]) for e in history if key in e]
    return [s for s, _ in rows], [v for _, v in rows]


def test_a_state_holding_two_appended_runs_reads_as_two(tmp_path):
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (FIRST, SECOND))
    assert a["log_history"][0]["step"] >= b["log_history"][0]["step"]  # b starts again
    state = dict(b, log_history=a["log_history"] + b["log_history"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
    runs = diagnose.load_all(out)
    assert [r.id for r in runs] == ["out#1", "out#2"]
    for run, source in zip(runs, (a, b)):
        for key, name in (("loss", "train/loss"), ("eval_loss", "val/loss")):
            steps, values = run.arrays(name)
            want_steps, want_values = _losses(source["log_history"], key)
            assert want_steps and np.array_equal(steps, want_steps)
            assert np.allclose(values, want_values, rtol=1e-12, atol=0)
    assert any("runs appended to one file" in w for w in runs[0].warnings)


def test_a_single_run_is_still_one_run():
    (run,) = diagnose.load_all(FIRST.parent)
    steps, _ = run.arrays("train/loss")
    assert np.all(np.diff(steps) > 0) and "#" not in run.id
