"""Runs in sibling folders are one experiment only when they log the same task curves.

With no recorded identity, the folder the runs share stands for the experiment, with the same
knobs recorded and the same validation curves. Two unrelated printed logs (a U-Net segmenter
logging ``iou``, ``precision`` and ``recall`` beside its losses, a grokking transformer logging
losses and accuracy only) both recorded ``lr`` and ``batch_size`` and sat side by side in the
benchmark's folder: a sweep over a folder of unrelated runs compared them as one mixed group.
"""

from __future__ import annotations

import diagnose
from diagnose.grouping import Layout


def _run(i: int, lr: float, batch_size: int, task: list[str],
         extra: tuple[str, ...] = ()) -> diagnose.Run:
    series = {"train/loss": [2.3, 1.5, 1.0, 0.8, 0.7, 0.65],
              "val/loss": [2.3, 1.7, 1.3, 1.2, 1.15, 1.1]}
    series.update({k: [0.1, 0.2, 0.3, 0.4, 0.5, 0.55] for k in [*task, *extra]})
    run = diagnose.Run.from_series(series, id=f"r{i}", params={"lr": lr, "batch_size": batch_size})
    run.path = f"/data/runs/r{i}/train.log"
    return run


def test_siblings_with_different_task_curves_are_not_one_experiment() -> None:
    lay = Layout.of([_run(1, 1e-3, 32, ["iou", "val_iou"]), _run(2, 1e-4, 12, [])])
    assert lay.parts == [] and {r.id for r in lay.apart} == {"r1", "r2"}


def test_siblings_with_the_same_task_curves_are_one_experiment() -> None:
    # a scheduler's learning rate and a clipped run's grad norm are logged by some runs only
    lay = Layout.of([_run(1, 1e-3, 32, ["iou", "val_iou"], ("lr_step", "grad_norm")),
                     _run(3, 1e-2, 64, ["iou", "val_iou"])])
    assert [sorted(r.id for r in p.runs) for p in lay.parts] == [["r1", "r3"]]
