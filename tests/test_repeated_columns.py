"""A CSV header that names a column twice is read, not refused (a real public log does it)."""

import csv
from pathlib import Path

import diagnose

LOG = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w20a-muongrok-adamw-s2" / "runs"
       / "seedstudy_adamw_stable_seed_2.csv")


def test_a_repeated_column_with_the_same_values_is_read_once():
    # a public grokking study's per-run CSV repeats two parameter-norm columns: it used to be
    # refused whole ("header repeats column(s)"), losing its train and test losses
    with LOG.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    dup = sorted({h for h in header if header.count(h) > 1})
    assert dup
    report = diagnose.check([str(LOG)])
    assert not report.errors
    run, = report.runs
    _, train = run.arrays("train/loss")
    col = header.index("train_loss")
    logged = [float(r[col]) for r in rows[1:] if len(r) == len(header) and r[col] not in ("", "nan")]
    assert len(train) == len(logged) and abs(float(train[-1]) - logged[-1]) < 1e-9 * abs(logged[-1])
    for name in dup:
        assert any(repr(name) in w and "read once" in w for w in run.warnings)


def test_a_repeated_column_with_other_values_keeps_both_and_says_which_is_which(tmp_path: Path):
    log = tmp_path / "history.csv"
    log.write_text("epoch,loss,val_loss,loss\n0,1.0,1.1,5.0\n1,0.8,0.9,4.0\n2,0.6,0.8,3.0\n")
    report = diagnose.check([str(log)])
    assert not report.errors
    run, = report.runs
    _, train = run.arrays("train/loss")
    assert list(train) == [1.0, 0.8, 0.6]
    assert any("'loss.2'" in w and "column 4" in w for w in run.warnings)
