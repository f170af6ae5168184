"""An epoch table printed through ``logging`` with a timestamp in front of every line.

Fast adversarial training (and the many repositories forked from it) sets
``logging.basicConfig(format='[%(asctime)s] - %(message)s')`` and logs a header ``Epoch \\t
Seconds \\t LR \\t \\t Train Loss \\t Train Acc`` and then one row of numbers per epoch. The
reader knew such tables only without a prefix, so a public log of that shape (w67a-adv-alexnet,
tuning split) was "not read" and a diverging run printed that way would not be checked.

The logs here are written by real numpy training loops through the ``logging`` module; the
values the reader returns are checked against the rows split here by hand.
"""

from __future__ import annotations

import logging
from pathlib import Path

from _numpy_loops import diverging, logistic
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

PUBLIC = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w67a-adv-alexnet"
          / "logs" / "alexnet.log")


def _logged_table(path: Path, rows: list[tuple[float, ...]], head: str) -> None:
    """Write ``rows`` under ``head`` the way fast adversarial training logs them."""
    logger = logging.getLogger(f"diagnose-test-{path.parent.name}")
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s] - %(message)s", "%Y/%m/%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("Namespace(batch_size=64, epochs=%d, lr_max=0.1)", len(rows))
        logger.info(head)
        for epoch, row in enumerate(rows):
            logger.info("%d \t %.1f \t \t %.4f \t " + " \t ".join(["%.4f"] * len(row)),
                        epoch, 0.1, 0.05, *row)
    finally:
        handler.close()
        logger.removeHandler(handler)


def _rows_of(path: Path) -> list[list[float]]:
    """The numbers after the prefix of every line that holds only numbers there."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("] - ", 1)[1].split()
        try:
            out.append([float(c) for c in cells])
        except ValueError:
            continue
    return out




def test_the_rows_behind_a_timestamp_are_read(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    _logged_table(log, logistic(25),
                  "Epoch \t Seconds \t LR \t \t Train Loss \t Train Acc \t Test Loss \t Test Acc")
    rows = _rows_of(log)
    run = diagnose.load(log)
    # Epoch, Seconds, LR, Train Loss, Train Acc, Test Loss, Test Acc
    assert run.series("train/loss").tolist() == [r[3] for r in rows]
    assert run.series("val/loss").tolist() == [r[5] for r in rows]
    assert run.series("val/acc").tolist() == [r[6] for r in rows]
    assert run.series("train/loss").index.tolist() == [int(r[0]) for r in rows]


def test_a_diverging_run_logged_so_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    rows = diverging(20)
    assert rows[-1][0] > 100 * rows[0][0]  # it diverged, by the loop's own numbers
    _logged_table(log, rows, "Epoch \t Seconds \t LR \t \t Train Loss \t Test Loss")
    result = CliRunner().invoke(main, ["check", str(log)])
    assert result.exit_code == 1, result.output
    assert "DG102" in result.output


def test_the_public_log_is_read() -> None:
    rows = _rows_of(PUBLIC)
    run = diagnose.load(PUBLIC)
    # Epoch, Seconds, Train Loss, Train Acc, Test Loss, Test Acc
    assert run.series("train/loss").tolist() == [r[2] for r in rows]
    assert run.series("val/loss").tolist() == [r[4] for r in rows]
    assert len(rows) == 160

