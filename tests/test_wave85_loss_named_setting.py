"""A course experiment file whose settings name a loss class.

The Technion course's experiment JSON keeps its settings first; some students' runs store the
loss function's class name among them (``"CrossEntropyLoss": null``). The reader took that
``"...Loss": null`` for the first record of a list of records, found no such list and said
"not a log format diagnose reads" for a run that holds 4,700 batch losses.
"""

from __future__ import annotations

import json
import math

import numpy as np

import diagnose


def _course_file(tmp_path, *, loss_setting: bool):
    rng = np.random.default_rng(3)
    epochs, batches = 6, 20
    config = {"run_name": "exp1_1_K32_L8", "seed": 42, "bs_train": 128, "lr": 0.005,
              "filters_per_layer": [32], "layers_per_block": 8}
    if loss_setting:
        config["CrossEntropyLoss"] = None
    chance = math.log(10)
    results = {"num_epochs": 0,  # the script never filled it in
               "train_loss": list(chance + rng.normal(0, 0.003, epochs * batches)),
               "train_acc": list(10 + rng.normal(0, 0.3, epochs)),
               "test_loss": list(chance + rng.normal(0, 0.002, epochs * 4)),
               "test_acc": list(10 + rng.normal(0, 0.2, epochs))}
    path = tmp_path / "exp1_1_K32_L8.json"
    path.write_text(json.dumps({"config": config, "results": results}, indent=2))
    return path, results


def test_a_setting_named_for_a_loss_does_not_hide_the_run(tmp_path) -> None:
    path, results = _course_file(tmp_path, loss_setting=True)
    run = diagnose.load(str(path))
    _, train = run.arrays("train/loss")
    assert np.allclose(train, results["train_loss"])
    _, val = run.arrays("val/loss")  # four test batches per epoch: their mean
    assert np.allclose(val, np.asarray(results["test_loss"]).reshape(-1, 4).mean(axis=1))
    assert "flat_loss" in {f.pattern for f in diagnose.check(str(path)).findings}


def test_the_same_file_without_it_reads_the_same(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_setting, _ = _course_file(tmp_path / "a", loss_setting=True)
    without, _ = _course_file(tmp_path / "b", loss_setting=False)
    a, b = diagnose.load(str(with_setting)), diagnose.load(str(without))
    assert np.allclose(a.arrays("train/loss")[1], b.arrays("train/loss")[1])
    assert np.allclose(a.arrays("val/acc")[1], b.arrays("val/acc")[1])
