"""`diagnose demo`: the chapter's sweep trained for real, printed as the chapter prints it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import main

torch = pytest.importorskip("torch")

CHAPTER = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "tuning-strategy-chapter.txt"
# The chapter's printed output (used when the chapter text is not on this machine).
CHAPTER_LINES = [
    "lr_sweep",
    "lr=0.001 train_loss=0.763 val_loss=0.733 val_acc=0.450",
    "lr=0.01 train_loss=0.675 val_loss=0.663 val_acc=0.533",
    "lr=0.1 train_loss=0.340 val_loss=0.373 val_acc=0.967",
    "lr=1 train_loss=0.053 val_loss=0.072 val_acc=0.983",
    "lr=10 train_loss=0.280 val_loss=0.291 val_acc=0.883",
    "best_lr: 1.0",
]
ROW = re.compile(r"^lr=(\S+) (?:seed=(\d+) )?train_loss=(\S+) val_loss=(\S+) val_acc=(\S+)$")


def chapter_lines() -> list[str]:
    """The expected-output block, read from the chapter itself when it is here."""
    if not CHAPTER.exists():
        return CHAPTER_LINES
    text = CHAPTER.read_text(encoding="utf-8").splitlines()
    after = text[next(i for i, ln in enumerate(text) if ln.startswith("Expected output")):]
    start = next(i for i, ln in enumerate(after) if ln.strip() == "lr_sweep")
    end = next(i for i, ln in enumerate(after) if ln.startswith("best_lr:"))
    return [ln.strip() for ln in after[start:end + 1]]


def _demo(*args: str) -> str:
    before = torch.get_num_threads()
    result = CliRunner().invoke(main, ["demo", *args])
    torch.set_num_threads(before)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> str:
    return _demo(str(tmp_path_factory.mktemp("demo") / "runs"))


def test_demo_prints_the_chapter_table_digit_for_digit(demo_output):
    expected = chapter_lines()
    assert len(expected) == 7
    assert demo_output.splitlines()[: len(expected)] == expected


def test_demo_picks_lr_1_and_prints_findings_sweep_and_card(demo_output):
    assert "lr=1 gives the best validation loss" in demo_output
    assert "Findings" in demo_output and "DG101" in demo_output  # lr=0.001 barely learns
    for heading in ("Question", "Fixed", "Changed", "Selection metric", "Best setting",
                    "Next experiment"):
        assert re.search(rf"^\s+{heading}\s", demo_output, re.M), heading


def test_short_budget_says_whether_the_best_lr_changed(tmp_path):
    out = _demo(str(tmp_path / "runs"), "--steps", "10")
    rows = [ROW.match(ln) for ln in out.splitlines()]
    finals = {float(m.group(1)): float(m.group(4)) for m in rows if m}
    assert len(finals) == 5
    best_10 = min(finals, key=finals.get)
    best_40 = float(chapter_lines()[-1].split(":")[1])
    (note,) = [ln for ln in out.splitlines() if ln.startswith("Budget:")]
    assert f"with 10 steps the best lr is {best_10}" in note
    assert f"with 40 steps it is {best_40}" in note
    verdict = "did not change" if best_10 == best_40 else "changed with the budget"
    assert verdict in note


def test_two_seeds_add_a_seed_column(tmp_path):
    out = _demo(str(tmp_path / "runs"), "--seeds", "2", "--lrs", "0.1,1")
    rows = [m for m in map(ROW.match, out.splitlines()) if m]
    assert [(m.group(1), m.group(2)) for m in rows] == [
        ("0.1", "123"), ("0.1", "124"), ("1", "123"), ("1", "124")]
    # seed 123 is the chapter's seed: its rows are the chapter's rows with the seed added
    chapter = {ln.split()[0]: ln for ln in chapter_lines()[1:-1]}
    for m in rows:
        if m.group(2) == "123":
            assert m.group(0).replace(" seed=123", "") == chapter[f"lr={m.group(1)}"]
    means = {}
    for lr in ("0.1", "1"):
        vals = [float(m.group(4)) for m in rows if m.group(1) == lr]
        means[lr] = sum(vals) / 2
    assert f"best_lr: {float(min(means, key=means.get))}" in out
    assert "mean ± std over 2 seeds" in out or "over 2 seeds" in out


def test_demo_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["demo", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
