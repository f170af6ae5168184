"""The rules on runs recorded from real training (fixtures/): patterns found, healthy runs clean,
the chapter's sweep judged as the chapter reads it, and snapshots of the text report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import diagnose
from diagnose.report import render

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("DIAGNOSE_UPDATE_SNAPSHOTS") == "1"

PATTERN_FIXTURES = {
    "flat-loss": "flat_loss",
    "explosion": "explosion",
    "generalization-gap": "generalization_gap",
    "late-overfitting": "late_overfitting",
    "spikes-recover": "loss_spikes",
    "uniform-predictions": "uniform_predictions",
    "val-better-than-train": "val_better_than_train",
}
HEALTHY = sorted(p.name for p in FIX.glob("healthy-*"))
SNAPSHOT_FIXTURES = sorted(
    [p.name for p in FIX.iterdir() if p.is_dir() and p.name not in ("formats", "trust", "__pycache__")]
)


def check(*names: str) -> diagnose.Report:
    return diagnose.check([FIX / n for n in names])


def test_fixtures_exist():
    assert len(HEALTHY) >= 4
    for name in PATTERN_FIXTURES:
        assert (FIX / name / "metrics.jsonl").is_file()


@pytest.mark.parametrize("name,pattern", sorted(PATTERN_FIXTURES.items()))
def test_pattern_fixture_raises_its_pattern(name, pattern):
    report = check(name)
    patterns = {f.pattern for f in report.findings}
    assert pattern in patterns, [f.message for f in report.findings]
    f = next(f for f in report.findings if f.pattern == pattern)
    assert f.run == report.runs[0].id and f.steps is not None
    assert f.cause and f.next_experiment


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_fixture_has_no_warning_or_error(name):
    report = check(name)
    assert not report.at_or_above("warning"), [f.message for f in report.findings]


def test_low_variance_seeds_are_healthy_runs_and_not_a_seed_finding():
    report = check("seeds-low-variance")
    assert not report.at_or_above("warning"), [f.message for f in report.findings]


def test_high_variance_seed_group_is_flagged_with_its_members():
    report = check("seeds-high-variance")
    hits = [f for f in report.findings if f.pattern == "seed_variance"]
    assert hits
    assert len(hits[0].runs) == 3


# -- the chapter's sweep ----------------------------------------------------------------
@pytest.fixture(scope="module")
def chapter():
    report = diagnose.check([FIX / "chapter-sweep"])
    by_lr = {float(r.params["lr"]): r for r in report.runs}
    return report, by_lr


def _findings(report, run):
    return report.for_run(run.id)


def test_chapter_slow_learning_rates_are_told_to_go_up(chapter):
    report, runs = chapter
    for lr in (0.001, 0.01):
        fs = [f for f in _findings(report, runs[lr]) if f.severity == "warning"]
        assert {f.pattern for f in fs} & {"flat_loss", "slow_convergence"}, lr
        advice = " ".join(f.next_experiment for f in fs)
        # the advice names a concrete, larger learning rate than the run's own
        proposed = [float(x) for x in re.findall(r"lr=([0-9.e-]+)", advice)]
        assert proposed and all(p > lr for p in proposed), advice


def test_chapter_lr_10_is_an_explosion_that_recovered(chapter):
    report, runs = chapter
    run = runs[10.0]
    fs = [f for f in _findings(report, run) if f.pattern == "explosion"]
    assert fs and fs[0].severity == "warning"
    steps, values = run.arrays("train/loss")
    first, at3 = values[0], values[list(steps).index(3)]
    assert at3 > 10 * first  # the chapter's "0.78 -> about 15 at step 3", read from the log
    lo, hi = fs[0].steps
    assert lo <= 3 <= hi
    assert f"{first:.4g}" in fs[0].message
    assert "lr=3" in fs[0].next_experiment  # a third of 10, rounded to a value people type


def test_chapter_lr_0_1_is_still_improving_info(chapter):
    report, runs = chapter
    fs = _findings(report, runs[0.1])
    assert [f.pattern for f in fs] == ["still_improving"]
    assert fs[0].severity == "info"


def test_chapter_lr_1_is_clean_at_warning_and_above(chapter):
    report, runs = chapter
    assert not [f for f in _findings(report, runs[1.0]) if f.severity in ("warning", "error")]


# -- snapshots of what the user sees ------------------------------------------------------
@pytest.mark.parametrize("name", SNAPSHOT_FIXTURES)
def test_text_report_snapshot(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    report = diagnose.check([Path("fixtures") / name])
    text = render(report, "text", color=False)
    snap = SNAPSHOTS / f"{name}.txt"
    if UPDATE or not snap.exists():
        snap.write_text(text)
        if not UPDATE:
            pytest.fail(f"snapshot {snap.name} was missing and has been written; rerun")
    assert text == snap.read_text(), (
        f"text report for fixtures/{name} changed; if intended, rerun with "
        "DIAGNOSE_UPDATE_SNAPSHOTS=1 and review the diff"
    )
