"""A split word cut short with a period: ``Val. Loss: 0.690``.

The PyTorch sentiment-analysis tutorials print ``\\t Val. Loss: 0.690 |  Val. Acc: 52.30%`` under
``\\tTrain Loss: ...`` every epoch, and many torchtext loops copy them. A name's words joined by a
period and a space were not read as one name, so the validation curve was dropped: a public Yelp
LSTM's log (bench/real-runs/w92k-yelp-lstm, tuning half, labelled late overfitting and a gap
from its plot before diagnose ran on it) was judged on its train curve alone and called
cut short. Here a real torch loop prints the tutorial's lines, and the values read back are the
printed ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w92k-yelp-lstm"


def test_the_tutorial_s_val_lines_are_the_validation_curve(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(300, 6)
    y = (x.sum(1) > 0).float()
    model = torch.nn.Linear(6, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    lines, printed = [], {"train": [], "val": []}
    for epoch in range(8):
        for i in range(0, 200, 20):
            opt.zero_grad()
            loss_fn(model(x[i:i + 20]).squeeze(1), y[i:i + 20]).backward()
            opt.step()
        with torch.no_grad():
            res = {}
            for split, xs, ys in (("train", x[:200], y[:200]), ("val", x[200:], y[200:])):
                out = model(xs).squeeze(1)
                res[split] = (float(loss_fn(out, ys)), float(((out > 0).float() == ys).float().mean()))
        lines += [f"Epoch: {epoch + 1:02} | Epoch Time: 0m 0s",
                  f"\tTrain Loss: {res['train'][0]:.3f} | Train Acc: {res['train'][1] * 100:.2f}%",
                  f"\t Val. Loss: {res['val'][0]:.3f} |  Val. Acc: {res['val'][1] * 100:.2f}%"]
        for split, values in printed.items():
            values.append(float(f"{res[split][0]:.3f}"))
    path = tmp_path / "train.log"
    path.write_text("\n".join(lines) + "\n")
    run = diagnose.load(str(path))
    assert np.array_equal(run.arrays("val/loss")[1], printed["val"])
    assert np.array_equal(run.arrays("train/loss")[1], printed["train"])
    assert run.has("val/acc")


def test_the_public_log_s_validation_is_read() -> None:
    (path,) = RUN.rglob("*.txt")
    val = [float(line.split("Val. Loss:")[1].split(",")[0]) for line in path.read_text().splitlines()
           if "Val. Loss:" in line]
    run = diagnose.load(str(RUN))
    assert np.array_equal(run.arrays("val/loss")[1], val)
