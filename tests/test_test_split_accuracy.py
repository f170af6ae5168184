"""A hand-written loop that evaluates on a test set writes ``train_loss,test_loss,train_acc,test_acc``.
The test loss is read as the validation loss (the only held-out loss); its accuracy must come
with it, or the rules see a held-out loss without its accuracy: no chance level (K) from it and
no accuracy gap. Public Keras-style logs of this shape: bench/real-runs/w34a-attack-gnn,
w29c-persian-chars."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import diagnose
from diagnose.readers._frame import rename_map


def _train(path: Path, weight_decay: float, n: int = 300, epochs: int = 40) -> list[dict[str, str]]:
    """A real run: an MLP on ``n`` noisy samples of 10 Gaussian classes, tested on 1,000 more,
    logging per epoch as such loops do."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    k, d = 10, 20
    centers = torch.randn(k, d)
    g = torch.Generator().manual_seed(1)

    def data(m: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, k, (m,), generator=g)
        return centers[y] + torch.randn(m, d, generator=g) * 1.6, y

    xtr, ytr = data(n)
    xte, yte = data(1000)
    model = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, k))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    lossf = nn.CrossEntropyLoss()
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "test_loss", "train_acc", "test_acc"])
        for ep in range(epochs):
            model.train()
            tl = tc = 0.0
            for i in range(0, n, 32):
                xb, yb = xtr[i:i + 32], ytr[i:i + 32]
                out = model(xb)
                loss = lossf(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                tl += loss.item() * len(yb)
                tc += (out.argmax(1) == yb).sum().item()
            model.eval()
            with torch.no_grad():
                o = model(xte)
                w.writerow([ep, round(tl / n, 5), round(lossf(o, yte).item(), 5), round(tc / n, 5),
                            round((o.argmax(1) == yte).float().mean().item(), 5)])
    with path.open() as f:
        return list(csv.DictReader(f))


def test_the_test_accuracy_comes_with_the_test_loss(tmp_path: Path) -> None:
    rows = _train(tmp_path / "mlp_wd0.05.csv", weight_decay=0.05)
    # the logged accuracies differ by more than ten points at the end: a gap the loss alone
    # (regularised, under twice the train loss) does not show
    assert float(rows[-1]["train_acc"]) - float(rows[-1]["test_acc"]) > 0.1
    assert float(rows[-1]["test_loss"]) < 2 * float(rows[-1]["train_loss"])
    run = diagnose.load(tmp_path / "mlp_wd0.05.csv")
    assert run.series("val/acc").tolist() == pytest.approx([float(r["test_acc"]) for r in rows])
    report = diagnose.check(tmp_path / "mlp_wd0.05.csv")
    assert "generalization_gap" in {f.pattern for f in report.findings}
    assert not report.unchecked  # the chance level is checked: K comes from the accuracy


@pytest.mark.parametrize(("names", "want"), [
    (["train_loss", "test_loss", "train_acc", "test_acc"], "test_acc"),
    (["Loss/train", "Loss/test", "Accuracy/train", "Accuracy/test"], "Accuracy/test"),
    (["Train/Loss", "Test/Loss", "Test/Accuracy", "Test/Top5"], "Test/Accuracy"),
    (["loss", "test_loss", "accuracy", "test_accuracy"], "test_accuracy"),
])
def test_a_test_accuracy_is_read_beside_its_loss(names: list[str], want: str) -> None:
    out, notes = rename_map(dict.fromkeys(names, 10), None)
    assert out[want] == "val/acc"
    assert any(repr(want) in n and "'val/acc'" in n for n in notes)


@pytest.mark.parametrize("names", [
    # a validation loss of its own: the test split stays the test split
    ["train_loss", "val_loss", "test_loss", "test_acc"],
    # a validation accuracy already: not replaced
    ["train_loss", "test_loss", "val_acc", "test_acc"],
])
def test_a_test_accuracy_stays_when_validation_has_its_own(names: list[str]) -> None:
    out, _ = rename_map(dict.fromkeys(names, 10), None)
    assert out["test_acc"] == "test_acc"


def test_a_hand_written_epochs_table_with_a_test_loss_is_read(tmp_path: Path) -> None:
    """``Epochs,Train Loss,Test Loss,Accuracy`` (epochs from 1, the test accuracy in percent),
    the table a hand-written loop saves with pandas: no ``epoch`` or ``step`` column and no
    validation loss by name, so it was not found at all (public: bench/real-runs/w46b-tumor-tl)."""
    rows = _train(tmp_path / "run.csv", weight_decay=0.0)
    (tmp_path / "run.csv").unlink()
    out = tmp_path / "training_metrics.csv"
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Epochs", "Train Loss", "Test Loss", "Accuracy"])
        for r in rows:
            w.writerow([int(r["epoch"]) + 1, r["train_loss"], r["test_loss"], float(r["test_acc"]) * 100])
    run = diagnose.load(out)
    steps, vals = run.arrays("val/loss")
    assert steps.tolist() == [int(r["epoch"]) + 1 for r in rows]
    assert vals.tolist() == pytest.approx([float(r["test_loss"]) for r in rows])
    assert run.series("train/loss").tolist() == pytest.approx([float(r["train_loss"]) for r in rows])
    # the logged losses end far apart: the gap must be reported from this table
    assert float(rows[-1]["test_loss"]) > 3 * float(rows[-1]["train_loss"])
    report = diagnose.check(tmp_path)
    assert "generalization_gap" in {f.pattern for f in report.findings}


def _accuracy_only(rows: list[dict[str, str]], out: Path) -> Path:
    """The log a loop writes when it scores the held-out set by accuracy alone."""
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "train_acc", "val_acc"])
        for r in rows:
            w.writerow([r["epoch"], r["train_loss"], r["train_acc"], r["test_acc"]])
    return out


def test_an_accuracy_gap_with_no_validation_loss_is_reported(tmp_path: Path) -> None:
    rows = _train(tmp_path / "full.csv", weight_decay=0.0)
    (tmp_path / "acc").mkdir()
    log = _accuracy_only(rows, tmp_path / "acc" / "history.csv")
    # the logged accuracies end more than 20 points apart: the model fits its training set only
    assert float(rows[-1]["train_acc"]) - float(rows[-1]["test_acc"]) > 0.2
    report = diagnose.check(log)
    gap = [f for f in report.findings if f.pattern == "generalization_gap"]
    assert gap and f"vs {float(rows[-1]['test_acc']):.3g} (validation)" in gap[0].message
    assert all("generalization_gap" not in v for v in report.unchecked.values())


def test_accuracies_that_agree_give_no_gap(tmp_path: Path) -> None:
    rows = _train(tmp_path / "full.csv", weight_decay=0.0, n=5000, epochs=8)
    (tmp_path / "acc").mkdir()
    log = _accuracy_only(rows, tmp_path / "acc" / "history.csv")
    assert abs(float(rows[-1]["train_acc"]) - float(rows[-1]["test_acc"])) < 0.1
    report = diagnose.check(log)
    assert "generalization_gap" not in {f.pattern for f in report.findings}
    assert report.unchecked  # late overfitting needs a validation loss
    assert all("generalization_gap" not in v for v in report.unchecked.values())  # judged
