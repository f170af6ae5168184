"""An accuracy gap on a log that writes its validation loss once, in the run summary.

A public long-tailed CIFAR-10 transformer trained with SGD (bench/real-runs/w70a-trinity-sgd-trans,
labelled from its plot before diagnose ran on it) prints its validation accuracy every epoch and
its train accuracy and validation loss only in wandb's run summary: 89.4% on the training data,
50.7% on validation. DG103 cannot judge one validation loss and DG223 looked only at logs with
none, so `check` said nothing but "still improving". The numbers are read off the log with
regular expressions.
"""

from __future__ import annotations

import re
from pathlib import Path

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w70a-trinity-sgd-trans"


def test_the_accuracies_tell_the_gap_when_the_loss_is_written_once() -> None:
    text = (RUN / "logs" / "sgd_trans.log").read_text(encoding="utf-8")
    val_acc = [float(v) for v in re.findall(r"Val Acc: ([\d.]+)%", text)]
    summary = text[text.index("Run summary:"):]
    train_acc = float(re.search(r"train/acc ([\d.]+)", summary).group(1))
    val_losses = re.findall(r"val/loss ([\d.]+)", summary)
    assert len(val_losses) == 1 and len(val_acc) > 2
    assert (train_acc - val_acc[-1]) / 100 > 0.15  # fifteen points and more
    findings = diagnose.check(str(RUN)).findings
    gap = [f for f in findings if f.rule == "DG223"]
    assert gap and f"{val_acc[-1] / 100:.3g}" in gap[0].message
