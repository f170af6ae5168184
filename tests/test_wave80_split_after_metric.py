"""Accuracies named with the split after the metric.

``loss_train`` and ``loss_val`` were read as the train and validation losses, but the same
run's ``accuracy_train`` and ``accuracy_val`` (an MLflow run of an ordinal classifier; a GCN's
printed ``loss_train: 2.09 acc_train: 0.45``) kept their raw names, so the gap in points and
chance level from 1/K never saw them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _real_logs import bench_run as _run

import diagnose
from diagnose.run import canonical_name


def _logged(path: Path) -> np.ndarray:
    """An MLflow metric file's values (``timestamp value step`` per line), in file order."""
    return np.array([float(line.split()[1]) for line in path.read_text().splitlines()])


def test_split_after_the_metric_names_the_same_curve_as_before_it() -> None:
    for metric in ("acc", "accuracy"):
        for split, canonical in (("train", "train/acc"), ("val", "val/acc"),
                                 ("valid", "val/acc"), ("validation", "val/acc")):
            assert canonical_name(f"{metric}_{split}") == canonical_name(f"{split}_{metric}")
            assert canonical_name(f"{metric}_{split}") == canonical


def test_an_mlflow_run_logging_accuracy_train_and_accuracy_val_has_both_accuracies() -> None:
    path = _run("w36b-ordinal-702d")
    metrics = next(path.rglob("metrics"))
    run = diagnose.load(str(path))
    run = run[0] if isinstance(run, list) else run
    assert np.allclose(run.arrays("train/acc")[1], _logged(metrics / "accuracy_train"))
    assert np.allclose(run.arrays("val/acc")[1], _logged(metrics / "accuracy_val"))
    report = diagnose.check([str(path)])
    gap = [f for f in report.findings if f.rule == "DG103"]
    assert gap and "accuracy" in gap[0].message


def test_the_labelling_plot_draws_a_printed_log(tmp_path: Path) -> None:
    """The benchmark's plotter (its own parsers, so labels do not depend on diagnose) read a
    printed log as a CSV table and drew nothing; it now draws its ``name: value`` pairs."""
    import sys

    from _real_logs import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    import real_runs

    path = _run("w95k-othello-mlp100-gap")
    log = path / "logs" / "mlp18-100.log"
    printed = [float(line.split("=")[1]) for line in log.read_text().splitlines()
               if line.startswith("epoch : ")]
    name, series = real_runs.parse_run(path)
    assert name.endswith("mlp18-100.log")
    assert [y for _, y in series["loss"]] == printed
    assert len(series["Accuracy Train"]) == len(printed)
