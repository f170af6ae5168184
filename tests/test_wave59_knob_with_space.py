"""A knob spelled in a folder name with a space: ``lr 1E2``.

The public TensorFlow 1 MNIST learning-rate sweep (bench/real-runs/w78c-mnist-lr1e2) keeps
each run in a folder named after its rate with a space, ``learning rate/lr 1E2``. The folder
name was read for ``lr_1e2`` or ``lr-1e2`` but not with a space, so the explosion finding
said the learning rate was "not recorded" and its next run could not name a rate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import diagnose
from diagnose.readers._params import path_params

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_the_blown_up_sweep_member_quotes_its_rate_from_the_folder_name() -> None:
    (log,) = (RUNS / "w78c-mnist-lr1e2").rglob("events.out.tfevents.*")
    assert log.parent.name == "lr 1E2"  # the sweep's own folder name
    (f,) = [f for f in diagnose.check(str(RUNS / "w78c-mnist-lr1e2")).findings if f.rule == "DG102"]
    text = f"{f.cause} {f.next_experiment}"
    assert "lr=100" in text and "not recorded" not in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lr 1E-5", {"lr": 1e-5}),
        ("run lr 3e-4 bs 64", {"lr": 3e-4, "batch_size": 64}),
        ("seed 7", {"seed": 7}),
        ("version 3", {}),  # names a run, not a setting
        ("lr 03", {}),  # 0.3 or 0.03: not a guess, as with ``lr03``
        ("blr 1", {}),  # a knob word inside another word
    ],
)
def test_space_separated_knobs(name: str, expected: dict[str, float]) -> None:
    assert path_params(f"sweep/{name}/metrics.csv") == expected
