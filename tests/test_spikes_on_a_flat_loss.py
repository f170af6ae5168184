"""Spikes on a loss that does not move are still spikes (issue 14: a broken run must not pass
with half its story): a flat loss says nothing learned, a spike says a step went wrong."""

from pathlib import Path

import numpy as np

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_thousandfold_jumps_on_a_flat_per_step_loss_are_told_beside_the_flat_loss():
    # a public Lightning log (per-step train loss, 44 epochs, 5093 points) labelled flat and
    # spiky from its plot: the loss sits near 0.006 all run, and two batches jump above 25;
    # DG101 called it flat and, by suppressing DG202, hid the jumps
    run = diagnose.load(RUNS / "w23a-4yp-v9")
    _, loss = run.arrays("train/loss")
    median = float(np.median(loss))
    assert int((loss > 1000 * median).sum()) == 2
    rules = {f.rule: f for f in diagnose.check(RUNS / "w23a-4yp-v9").findings}
    assert {"DG101", "DG202"} <= set(rules)
    # the message names the tallest jump's ratio over the level before it, above a thousand
    assert float(rules["DG202"].message.split("largest ")[1].split("x")[0]) > 1000


def test_a_spike_on_a_binary_classifier_stuck_at_chance_is_told():
    # a public Lightning log labelled at chance, flat and spiky: the train loss sits at ln 2 and
    # once jumps to ~10x it, back at the next point
    run = diagnose.load(RUNS / "w10d-hmmbnn-v9")
    _, loss = run.arrays("train/loss")
    assert loss.max() > 5 * float(np.median(loss))
    assert {"DG101", "DG202"} <= {f.rule for f in diagnose.check(RUNS / "w10d-hmmbnn-v9").findings}
