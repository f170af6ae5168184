"""A training script's settings printed as one row split by ``|`` with CamelCase or worded keys
(``[Optimizer] Adam | LR=0.0001 | WeightDecay=0.0001``, ``Learning rate: 0.001 | Batch size:
64``) gave no params: the advice then could not name the run's own learning rate. Only rows whose
every piece is a setting count; a record (a piece names a loss or an accuracy) gives none."""

from __future__ import annotations

from pathlib import Path

import pytest

import diagnose
from diagnose.readers._params import printed_params


@pytest.mark.parametrize(("line", "want"), [
    ("[Optimizer] Adam | LR=0.0001 | WeightDecay=0.0001", {"lr": 0.0001, "weight_decay": 0.0001}),
    ("Learning rate: 0.001 | Batch size: 64", {"learning_rate": 0.001, "batch_size": 64}),
    ("LearningRate=3e-4, BatchSize=128", {"learning_rate": 3e-4, "batch_size": 128}),
    ("Config | Epochs: 10 | Seed: 3 | NumClasses: 5", {"epochs": 10, "seed": 3, "num_classes": 5}),
    ("  Config: epochs=200 | lr=0.1", {"epochs": 200, "lr": 0.1}),  # a label before the first
    ("  Optimizer: sgd | wd=0.0005 | momentum=0.9",
     {"optimizer": "sgd", "weight_decay": 0.0005, "momentum": 0.9}),
])
def test_a_row_of_settings_split_by_bars_gives_its_knobs(line: str, want: dict) -> None:
    assert printed_params([line])[0] == want


@pytest.mark.parametrize("line", [
    "Epoch 3 | LR=0.001 | TrainLoss=0.52",  # a record: it names a loss
    "step 10 | lr: 0.001 | val acc: 0.61",
    "Total params: 11,689,512",  # not a knob
])
def test_a_record_or_a_count_is_no_settings_row(line: str) -> None:
    found = printed_params([line])[0]
    assert "lr" not in found and "learning_rate" not in found


def test_the_log_gives_the_run_its_printed_settings(tmp_path: Path) -> None:
    lines = ["[Data] train=5000 | val=1000",
             "[Optimizer] Adam | LR=0.0003 | WeightDecay=0.0005 | BatchSize=32"]
    lines += [f"Epoch {e} | train_loss={2.0 / e:.4f} | val_loss={2.2 / e:.4f}"
              for e in range(1, 21)]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    (run,) = diagnose.load_all(log)
    assert run.params.get("lr") == 0.0003
    assert run.params.get("weight_decay") == 0.0005
    assert run.params.get("batch_size") == 32
    assert len(run.arrays("val/loss")[1]) == 20
