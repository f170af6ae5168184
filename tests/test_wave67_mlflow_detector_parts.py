"""An Ultralytics run logged to MLflow: its loss parts summed into the loss, as in results.csv.

Ultralytics' MLflow callback logs ``train/box_loss``, ``train/cls_loss``, ``train/dfl_loss``
(and their ``val/`` twins) beside ``metrics/mAP50B``, and no total. The results.csv and
TensorBoard readers sum the parts; the MLflow reader did not, and a public YOLO11s run whose
validation class loss jumped from 11 to 11,894 at its second epoch
(bench/real-runs/w89m-ikleely-road-9c0d27, tuning split) came out "no loss or accuracy
diagnose recognises".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w89m-ikleely-road-9c0d27" / \
    "runs" / "mlflow" / "827748342210530511" / "9c0d2774137c4cf795c20a82ec9a359e"
PARTS = ("box_loss", "cls_loss", "dfl_loss")


def _logged(name: str) -> dict[int, float]:
    """One MLflow metric file (``timestamp value step`` lines): the last value at each step."""
    out: dict[int, float] = {}
    for line in (RUN / "metrics" / name).read_text().splitlines():
        if line.strip():
            _, v, s = line.split()[:3]
            out[int(s)] = float(v)
    return out


def test_the_parts_sum_to_the_train_and_validation_loss() -> None:
    run = diagnose.load(RUN)
    for split in ("train", "val"):
        parts = [_logged(f"{split}/{p}") for p in PARTS]
        steps = sorted(parts[0])
        expect = [sum(p[s] for p in parts) for s in steps]
        got_steps, got = run.arrays(f"{split}/loss")
        assert got_steps.tolist() == steps
        assert np.allclose(got, expect)
    assert any("sum of" in w for w in run.warnings)  # the user is told the total is derived


def test_the_validation_blow_up_that_came_back_is_found() -> None:
    cls = _logged("val/cls_loss")
    assert max(cls.values()) > 100 * cls[min(cls)] and cls[max(cls)] < cls[min(cls)]
    found = {f.pattern for f in diagnose.check(RUN).findings if f.severity == "warning"}
    assert "loss_spikes" in found
