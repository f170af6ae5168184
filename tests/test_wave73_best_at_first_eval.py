"""Late overfitting when validation was best at its first evaluation, before training started.

A loop that evaluates the untrained model at step 0 and then logs every N steps can memorise
its training set inside the first interval: the train loss goes from ln K to almost 0 between
two logged points while the validation loss only climbs from its first value. The train level
at that first evaluation was read off a smoothed curve, which at the run's first point has only
later (already fallen) points to lean on, so the fall vanished and no overfitting was reported.
The logged train loss at that step is the level the model had: a public grokking log (12
classes; test loss 2.55 at step 0, then 7-9 while train accuracy is 1.0 from step 100) now comes
out as late overfitting.
"""

from __future__ import annotations

from _real_logs import bench_run as _run

import diagnose


def test_public_grokking_log_best_at_step_zero() -> None:
    path = _run("w95h-muongrok-a4-adamw-gap")
    run = diagnose.load_all(str(path))[0]
    _, val = run.arrays("val/loss")
    _, train = run.arrays("train/loss")
    assert val.argmin() == 0 and train[1] < 0.01 * train[0]
    report = diagnose.check(str(path))
    assert "late_overfitting" in {f.pattern for f in report.findings}
