"""``tr_ls`` and ``val_ls``: a loss named by the short split word and "ls".

A public Faster R-CNN wheat detector logs its losses to MLflow as ``tr_ls`` and ``val_ls``
(bench/real-runs/w89m-toma-wheat-b654b8, tuning split), every value at step 0. Neither name was
read as a loss, and a run whose validation loss doubled after its second epoch came out "no
loss or accuracy diagnose recognises".
"""
from __future__ import annotations

from pathlib import Path

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w89m-toma-wheat-b654b8" / \
    "mlruns" / "2" / "b654b89b3ba8435d820f2af264e2cb50"


def _written(name: str) -> list[float]:
    """The metric file's values in the order MLflow wrote them (``timestamp value step``)."""
    rows = [line.split() for line in (RUN / "metrics" / name).read_text().splitlines() if line]
    return [float(v) for _, v, _ in sorted(rows, key=lambda r: int(r[0]))]


def test_tr_ls_and_val_ls_are_the_train_and_validation_loss() -> None:
    run = diagnose.load(RUN)
    assert run.arrays("train/loss")[1].tolist() == _written("tr_ls")
    assert run.arrays("val/loss")[1].tolist() == _written("val_ls")


def test_the_detector_that_overfits_is_told() -> None:
    val = _written("val_ls")
    best = val.index(min(val))
    assert val[-1] > 1.5 * min(val) and best < len(val) // 4  # best early, far above it at the end
    found = {f.pattern for f in diagnose.check(RUN).findings if f.severity == "warning"}
    assert "late_overfitting" in found
