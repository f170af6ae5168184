"""Two projects built from one template are not one experiment.

Stanford CS230's project template keeps each run's settings in a ``params.json`` beside its
``train.log``. Two unrelated public projects built from it (an EEG classifier and a
knowledge-distillation study) both record ``learning_rate``, ``batch_size`` and ``num_epochs``:
set side by side in one folder, they read as one experiment that changed three knobs at once.
Their ``params.json`` files record different other fields (``type`` in one, ``model_version``,
``teacher``, ``temperature`` in the other); runs of one experiment come from one script, whose
settings file names the same fields in every run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _real_logs import bench_run as _run

import diagnose

RUNS = ("w97u-eeg-deepconv-lr1e-7", "w95t-kdpt-cnn-subset5pct")


def test_runs_whose_settings_files_differ_are_not_compared(tmp_path: Path) -> None:
    fields = []
    for name in RUNS:
        src = _run(name)
        shutil.copytree(src, tmp_path / name)
        fields.append(set(json.loads((src / "params.json").read_text())))
    shared = {"learning_rate", "batch_size", "num_epochs"}
    assert shared <= fields[0] & fields[1] and fields[0] != fields[1]  # the files' own keys
    res = diagnose.sweep([str(tmp_path)])
    assert len(res.runs) == 2
    assert not [f for f in res.findings if f.group]
    assert res.best is None and res.decision.startswith("No decision")
