"""A loop that prints its epoch, then a phase line, then the phase's values under the same name:

    [INFO]: Epoch 3 of 100
    Training ist starting...
    Average Loss: 0.356623
    Evaluating...
    Average Loss: 0.383983

A public IMDB classifier's stdout printed this for 100 epochs: "no training runs found", and its
validation loss, which tripled after epoch 13, was never judged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import diagnose

#: the public log (bench/real-runs, tuning half), 507 KB of vocabulary printed before training
LOG = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w53a-imdb-transformer" / "results" / "output.log"


def _printed() -> tuple[list[int], list[float], list[float]]:
    """Epochs and the loss printed after each phase line, read with plain string tests."""
    epochs, train, val, phase = [], [], [], None
    for line in LOG.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\[INFO\]: Epoch (\d+) of \d+$", line):
            epochs.append(int(m.group(1)))
        elif line.startswith("Training"):
            phase = train
        elif line.startswith("Evaluating"):
            phase = val
        elif line.startswith("Average Loss: ") and phase is not None:
            phase.append(float(line.split(": ")[1]))
    return epochs, train, val


def test_values_after_a_phase_line_belong_to_that_phase():
    epochs, train, val = _printed()
    (run,) = diagnose.load_all(LOG)
    steps, values = run.arrays("val/loss")
    assert np.array_equal(steps, epochs) and np.allclose(values, val)
    steps, values = run.arrays("train/loss")
    assert np.array_equal(steps, epochs) and np.allclose(values, train)


def test_the_rise_after_the_best_epoch_is_found():
    _, _, val = _printed()
    report = diagnose.check([str(LOG)])
    (late,) = [f for f in report.findings if f.rule == "DG104"]
    best = int(np.argmin(val))
    assert late.steps[0] == best + 1  # epochs count from 1
