"""A Keras-style history saved transposed: one row per metric, one column per epoch.

``pd.DataFrame(history.history).T.to_csv(path)`` writes an unnamed first cell, then the epochs
0, 1, ... across the header, and a row per metric (``loss,1.96,1.27,...``). A public RNN's
history (bench/real-runs/w92b-pcc518-rnn-history, tuning half, labelled late overfitting and a
gap from its plot before diagnose ran on it) is such a file; `check` said the header named no
step or epoch column and read nothing. Here a real torch training run writes its history the
same way with pandas, and the values read back are those the loop recorded.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w92b-pcc518-rnn-history"


def _train(epochs: int = 6) -> dict[str, list[float]]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] + 0.3 * torch.randn(256) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for _ in range(epochs):
        for i in range(0, 192, 32):
            opt.zero_grad()
            loss_fn(model(x[i:i + 32]), y[i:i + 32]).backward()
            opt.step()
        with torch.no_grad():
            for prefix, xs, ys in (("", x[:192], y[:192]), ("val_", x[192:], y[192:])):
                out = model(xs)
                history[prefix + "loss"].append(float(loss_fn(out, ys)))
                history[prefix + "accuracy"].append(float((out.argmax(1) == ys).float().mean()))
    return history


def test_a_transposed_history_written_by_pandas_is_read(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    history = _train()
    path = tmp_path / "history.csv"
    pd.DataFrame(history).T.to_csv(path)
    assert path.read_text().startswith(",0,1,2")  # the layout this test is about
    run = diagnose.load(str(path))
    for name, key in (("train/loss", "loss"), ("val/loss", "val_loss"),
                      ("train/acc", "accuracy"), ("val/acc", "val_accuracy")):
        steps, values = run.arrays(name)
        assert list(steps) == list(range(len(history[key])))
        assert np.array_equal(values, history[key])


def test_the_public_transposed_history_is_read_and_checked() -> None:
    with open(RUN / "history.csv", newline="") as f:
        rows = {r[0]: [float(v) for v in r[1:]] for r in list(csv.reader(f))[1:]}
    run = diagnose.load(str(RUN))
    assert np.array_equal(run.arrays("val/loss")[1], rows["val_loss"])
    assert np.array_equal(run.arrays("train/loss")[1], rows["loss"])
    report = diagnose.check([run])
    assert {f.rule for f in report.findings} & {"DG103", "DG104"}  # its validation loss rises


def test_a_table_of_numbered_columns_that_names_no_metric_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text(",0,1,2\nweight,0.1,0.2,0.3\nbias,1,2,3\n")
    with pytest.raises(diagnose.ReadError):
        diagnose.load(str(path))
