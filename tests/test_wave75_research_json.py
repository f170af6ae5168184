"""A research script's JSON dump: settings first, measurements, then the curves.

A public study of vanishing gradients writes one JSON per setting: ``{"config": {...}``, a
dozen objects of per-layer gradient measurements, then ``"val_acc_curve": [...]`` and
``"train_loss_curve": [...]`` past the first 4 KiB. The reader looked for a loss list only in
the file's first 4 KiB and only at the end of a name (``..._loss``), and stopped at a list of
per-layer records: the run was "not a log format diagnose reads".
"""

from __future__ import annotations

import json

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def test_curves_after_measurements_are_read() -> None:
    path = _run("w92h-gradvanish-sigmoid-bn")
    dump = next(path.rglob("*.json"))
    data = json.loads(dump.read_text())
    assert dump.read_bytes().find(b'"train_loss_curve"') > 4096  # past the first 4 KiB
    run = diagnose.load(str(path))
    assert {"train/loss", "val/acc"} <= set(run.metric_names)
    _, loss = run.arrays("train/loss")
    _, acc = run.arrays("val/acc")
    assert np.allclose(loss, data["train_loss_curve"]) and np.allclose(acc, data["val_acc_curve"])
    assert run.params.get("lr") == data["config"]["lr"]
