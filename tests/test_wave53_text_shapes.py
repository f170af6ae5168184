"""Two text-log shapes that public runs print and the reader did not know.

1. A table with a split column before the counter, one row a split (``tabulate`` printing
   ``dset  epoch  cost`` over ``trn  3  0.42`` and ``dev  3  0.46``; the loss called "cost").
   A public LSTM log of that shape (w68a-cwi-tmp, tuning split) was "not read".
2. The BERT fine-tuning tutorial's loop: ``======== Epoch 1 / 4 ========``, then ``Batch 40 of
   241. Elapsed: 0:00:08.`` progress lines, ``Average training loss: 0.50``, ``Running
   Validation...`` and the validation values on lines of their own. The batch line used to end
   the epoch's block, so no value had a counter that counts up (w68a-stock-finbert, tuning split).

3. A record line that also prints counts out of totals under their names (``[trinity] Epoch
   3/200 - Loss: 1.21, Val Acc: 23.62% | SO: 22/74, kfac_inv: 22/22``): the names left behind
   once the counts were taken out read as the words of a sentence, and no line was read
   (w69a-trinity-trans3-flat, tuning split).

The logs are written by real numpy training loops (the table by the real ``tabulate``); the
values the reader returns are checked against the loop's own numbers or the file's rows as split
here by hand.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from _numpy_loops import diverging, logistic
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"




def _printed(log: Path, pattern: str) -> list[float]:
    """The numbers ``pattern``'s group finds in the log, in file order."""
    return [float(v) for v in re.findall(pattern, log.read_text(encoding="utf-8"))]


# -- 1. a table keyed by split -------------------------------------------------------------------

def _keyed_table(path: Path, rows: list[tuple[float, ...]], names: list[str]) -> None:
    """One ``tabulate`` table an epoch, a row for the train split and one for the dev split,
    as the public CWI tagger prints them (its header says ``dset``)."""
    tabulate = pytest.importorskip("tabulate").tabulate
    half = len(names)
    with path.open("w", encoding="utf-8") as f:
        f.write("Compiling functions...\nCompiling done.\nfstart:0 fend:40\n")
        for epoch, row in enumerate(rows):
            f.write(tabulate([["trn", epoch, *row[:half]], ["dev", epoch, *row[half:]]],
                             headers=["dset", "epoch", *names], floatfmt=".4f") + "\n")


def _keyed_rows(path: Path) -> dict[str, list[list[float]]]:
    """Each split's rows of numbers after its name, as the file holds them."""
    out: dict[str, list[list[float]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split()
        if cells and cells[0] in ("trn", "dev"):
            out.setdefault(cells[0], []).append([float(c) for c in cells[1:]])
    return out


def test_a_table_with_a_split_column_is_read(tmp_path: Path) -> None:
    log = tmp_path / "tagger.log"
    _keyed_table(log, logistic(20), ["cost", "acc"])
    rows = _keyed_rows(log)
    run = diagnose.load(log)
    assert run.series("train/loss").tolist() == [r[1] for r in rows["trn"]]
    assert run.series("val/loss").tolist() == [r[1] for r in rows["dev"]]
    assert run.series("val/acc").tolist() == [r[2] for r in rows["dev"]]
    assert run.series("val/loss").index.tolist() == [int(r[0]) for r in rows["dev"]]


def test_a_diverging_run_printed_so_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "tagger.log"
    rows = diverging(20)
    assert rows[-1][0] > 100 * rows[0][0]  # it diverged, by the loop's own numbers
    _keyed_table(log, rows, ["cost"])
    result = CliRunner().invoke(main, ["check", str(log)])
    assert result.exit_code == 1, result.output
    assert "DG102" in result.output


def test_the_public_keyed_table_is_read() -> None:
    log = RUNS / "w68a-cwi-tmp" / "logs" / "tmp.log"
    rows = _keyed_rows(log)
    run = diagnose.load(log)
    # epoch, cost, cerr, p, r, f
    assert run.series("train/loss").tolist() == pytest.approx(
        [r[1] for r in rows["trn"]], nan_ok=True)
    assert run.series("val/loss").tolist() == pytest.approx(
        [r[1] for r in rows["dev"]], nan_ok=True)
    assert len(rows["dev"]) == 100


# -- 2. the BERT fine-tuning tutorial's epoch blocks ---------------------------------------------

def _tutorial_log(path: Path, rows: list[tuple[float, float, float, float]],
                  batches: int = 30) -> None:
    """The loop of the BERT fine-tuning tutorial: an epoch banner, a progress line every 10
    batches, the epoch's mean train loss, then the validation block."""
    with path.open("w", encoding="utf-8") as f:
        f.write("There are 1 GPU(s) available.\n\n")
        for epoch, (train_loss, _, val_loss, val_acc) in enumerate(rows, start=1):
            f.write(f"\n======== Epoch {epoch} / {len(rows)} ========\nTraining...\n")
            for b in range(10, batches, 10):
                f.write(f"  Batch {b:>5,}  of  {batches:>5,}.    Elapsed: 0:00:{b:02d}.\n")
            f.write(f"\n  Average training loss: {train_loss:.4f}\n")
            f.write("  Training epcoh took: 0:00:31\n\nRunning Validation...\n")
            f.write(f"  Accuracy: {val_acc:.4f}\n  Validation Loss: {val_loss:.4f}\n")
            f.write("  Validation took: 0:00:02\n")
        f.write("\nTraining complete!\n")


def test_the_tutorial_blocks_are_read(tmp_path: Path) -> None:
    log = tmp_path / "training_log.txt"
    rows = logistic(15)
    _tutorial_log(log, rows)
    run = diagnose.load(log)
    assert run.series("train/loss").tolist() == _printed(log, r"Average training loss: (\S+)")
    assert run.series("val/loss").tolist() == _printed(log, r"Validation Loss: (\S+)")
    assert run.series("val/acc").tolist() == _printed(log, r"Accuracy: (\S+)")
    steps = run.series("train/loss").index.tolist()
    assert len(steps) == len(rows) and all(b > a for a, b in pairwise(steps))


def test_a_diverging_tutorial_run_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "training_log.txt"
    rows = [(t, 0.5, v, 0.5) for t, v in diverging(15)]
    assert rows[-1][0] > 100 * rows[0][0]
    _tutorial_log(log, rows)
    result = CliRunner().invoke(main, ["check", str(log)])
    assert result.exit_code == 1, result.output
    assert "DG102" in result.output


def test_the_public_tutorial_log_is_read() -> None:
    log = RUNS / "w68a-stock-finbert" / "logs" / "training_log.txt"
    run = diagnose.load(log)
    assert run.series("train/loss").tolist() == _printed(log, r"Average training loss: (\S+)")
    assert run.series("val/loss").tolist() == _printed(log, r"Average validation loss: (\S+)")
    assert len(run.series("val/loss")) == 100


# -- 3. counts out of totals beside the values ---------------------------------------------------

def test_a_record_with_named_counts_is_read(tmp_path: Path) -> None:
    log = tmp_path / "trinity.log"
    rows = logistic(12)
    with log.open("w", encoding="utf-8") as f:
        f.write("nohup: ignoring input\n")
        for epoch, (loss, _, _, acc) in enumerate(rows, start=1):
            f.write(f"[trinity] Epoch {epoch}/{len(rows)} - Loss: {loss:.4f}, Val Acc: "
                    f"{100 * acc:.2f}% | SO: {epoch}/74, rho: 0.9, kfac_inv: {epoch}/{epoch}\n")
    run = diagnose.load(log)
    assert run.series("train/loss").tolist() == _printed(log, r"Loss: ([\d.]+)")
    assert run.series("train/loss").index.tolist() == list(range(1, len(rows) + 1))


def test_the_public_log_with_named_counts_is_read() -> None:
    log = RUNS / "w69a-trinity-trans3-flat" / "logs" / "trinity_transformer3.log"
    run = diagnose.load(log)
    assert run.series("train/loss").tolist() == _printed(log, r"Epoch \d+/\d+ - Loss: ([\d.]+)")
    assert len(run.series("train/loss")) == 71
