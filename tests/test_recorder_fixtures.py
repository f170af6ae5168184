"""The recorded fixtures load cleanly and show what fixtures/README.md says they show.

Checked with plain numpy on the loaded curves (not with the rule engine, which other tests
check against these fixtures), so a regenerated fixture that lost its pattern fails here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import diagnose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
README = (FIXTURES / "README.md").read_text() if (FIXTURES / "README.md").exists() else ""
NAMED = re.findall(r"^\| `([^`]+)/` \|", README, flags=re.M)

def test_the_readme_table_lists_the_fixtures():
    # the tests below are parametrised by this table: a table that stops parsing fails here
    assert NAMED, "fixtures/README.md: no `| `name/` |` rows found"


def run_dirs() -> list[Path]:
    dirs = []
    for name in NAMED:
        base = FIXTURES / name.split("/")[0]
        found = sorted(p.parent for p in base.rglob("metrics.jsonl"))
        assert found, f"{base}: no recorded run (run fixtures/make_fixtures.py)"
        dirs += found
    return dirs


def load(name: str) -> diagnose.Run:
    return diagnose.load(FIXTURES / name)


def train(run: diagnose.Run) -> np.ndarray:
    return run.arrays("train/loss")[1]


def tail(v: np.ndarray, share: float = 0.1) -> float:
    return float(np.mean(v[-max(1, int(len(v) * share)):]))


@pytest.mark.parametrize("path", run_dirs(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_is_a_finished_native_run_with_the_chapter_fields(path):
    run = diagnose.load(path)
    assert run.format == "native" and run.warnings == [] and not run.in_progress
    assert {"train/loss", "val/loss", "lr"} <= set(run.metric_names)
    assert {"lr", "batch_size", "optimizer", "weight_decay", "dropout", "epochs",
            "seed"} <= set(run.params)
    assert run.identity.get("seed") is not None and run.results.get("train_time", -1) >= 0


def test_fixtures_stay_small():
    size = sum(p.stat().st_size for p in run_dirs() for p in p.iterdir())
    assert size < 2_000_000


@pytest.mark.parametrize("name", [n for n in NAMED if n.startswith("healthy-")])
def test_healthy_runs_converge_and_validation_tracks_training(name):
    run = load(name)
    v = train(run)
    _, vl = run.arrays("val/loss")
    assert np.isfinite(v).all() and np.isfinite(vl).all()
    assert tail(v) < 0.5 * v[0]  # learned
    last, before = tail(v), float(np.mean(v[-len(v) // 5: -len(v) // 10]))
    assert abs(last - before) < 0.15 * before  # flattened, not still falling steeply
    assert 0.7 < vl[-1] / last < 1.5  # validation tracks training


def test_flat_loss_barely_moves():
    v = train(load("flat-loss"))
    assert abs(tail(v) - np.mean(v[:10])) < 0.05 * np.mean(v[:10])


def test_explosion_goes_non_finite_after_growing():
    v = train(load("explosion"))
    bad = np.flatnonzero(~np.isfinite(v))
    assert len(bad) and np.nanmax(v[: bad[0]]) > 1e3 * v[0]


def test_spikes_come_back_down():
    v = train(load("spikes-recover"))
    spikes = [i for i in range(20, len(v) - 3)
              if v[i] > 5 * np.median(v[i - 20:i]) and v[i + 1] < 2 * np.median(v[i - 20:i])]
    assert len(spikes) >= 2 and np.isfinite(v).all() and max(v) < 3 * v[0]


def test_generalization_gap_is_there_from_early_on():
    run = load("generalization-gap")
    s, v = run.arrays("train/loss")
    vs, vl = run.arrays("val/loss")
    early = vs[(vs >= 20) & (vs <= 60)]
    for step in early:
        near = v[np.abs(s - step) <= 5].mean()
        assert vl[vs == step][0] > 1.0 and vl[vs == step][0] > 10 * near


def test_late_overfitting_val_turns_up_while_train_keeps_falling():
    run = load("late-overfitting")
    s, v = run.arrays("train/loss")
    vs, vl = run.arrays("val/loss")
    best = int(np.argmin(vl))
    assert 0.2 < vs[best] / vs[-1] < 0.8
    assert vl[0] - vl[best] > 0.3 and vl[-1] > 1.3 * vl[best]
    assert tail(v) < 0.2 * np.mean(v[np.abs(s - vs[best]) <= 16])


def test_uniform_predictions_sit_at_ln_k():
    run = load("uniform-predictions")
    v = train(run)
    assert run.num_classes == 10
    assert abs(np.mean(v[len(v) // 2:]) - math.log(10)) < 0.02 * math.log(10)


def test_val_better_than_train_with_heavy_dropout():
    run = load("val-better-than-train")
    assert run.params["dropout"] >= 0.5
    assert run.arrays("val/loss")[1][-1] < 0.7 * tail(train(run))


@pytest.mark.parametrize(("group", "lo", "hi"), [("seeds-high-variance", 0.25, 10.0),
                                                  ("seeds-low-variance", 0.0, 0.1)])
def test_seed_groups_spread(group, lo, hi):
    best = [float(np.nanmin(diagnose.load(p).arrays("val/loss")[1]))
            for p in sorted((FIXTURES / group).iterdir())]
    assert len(best) == 3
    assert lo <= (max(best) - min(best)) / np.mean(best) < hi


def test_chapter_sweep_reproduces_the_chapters_printed_table():
    # The chapter prints these final numbers (tuning-strategy chapter, lr_sweep output).
    table = {"0.001": (0.763, 0.733, 0.450), "0.01": (0.675, 0.663, 0.533),
             "0.1": (0.340, 0.373, 0.967), "1": (0.053, 0.072, 0.983),
             "10": (0.280, 0.291, 0.883)}
    for lr, want in table.items():
        run = load(f"chapter-sweep/lr={lr}")
        got = tuple(round(float(run.arrays(m)[1][-1]), 3)
                    for m in ("train/loss", "val/loss", "val/acc"))
        assert got == want, lr
