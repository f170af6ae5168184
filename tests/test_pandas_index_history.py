"""A pandas ``to_csv`` history with its unnamed index and one loss is a training log."""

import csv
from pathlib import Path

import diagnose

LOG = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w21d-unetdice" / "training_history.csv"


def test_unnamed_index_and_a_train_loss_alone_is_read_per_epoch():
    # a public U-Net run wrote ",train_loss,val_dice_no_bg,lr" (pandas's index first, no
    # validation loss): it was "no training runs found"
    with LOG.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "" and "train_loss" in rows[0] and "val_loss" not in rows[0]
    col = rows[0].index("train_loss")
    report = diagnose.check([str(LOG)])
    assert not report.errors
    run, = report.runs
    steps, train = run.arrays("train/loss")
    assert [float(r[col]) for r in rows[1:]] == list(train)
    assert [int(r[0]) for r in rows[1:]] == [int(s) for s in steps]
    assert any("unnamed first column read as the epoch" in w for w in run.warnings)


def test_unnamed_index_without_any_loss_is_not_a_training_log(tmp_path: Path):
    table = tmp_path / "sweep.csv"
    table.write_text(",lr,batch_size\n0,0.1,32\n1,0.01,64\n")
    assert not diagnose.check([str(tmp_path)]).runs
