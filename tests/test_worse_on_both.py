"""A run whose train and validation loss both end above where they began (DG214)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "t10a-whisperbraj-lr3e3"


def test_a_fine_tune_that_got_worse_on_both_curves_is_an_explosion():
    # a public Whisper-small fine-tune (Hugging Face Trainer, warmup to lr 3e-3): five train
    # points, 20 evaluations. Too few train points for DG102 and no number of classes, so it
    # read as a flat loss with a generalization gap
    run = diagnose.load(RUN)
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    # plain arithmetic on the logged values: both curves end well above their first value
    assert np.median(train[-3:]) > 1.25 * train[0] and np.median(val[-3:]) > 1.25 * val[0]
    report = diagnose.check(RUN)
    rules = {f.rule for f in report.findings}
    assert "DG214" in rules
    # the verdict is divergence alone: flat and gap are noise on a diverged run
    assert not rules & {"DG101", "DG103"}


def test_a_checkpoint_state_saved_at_max_steps_is_a_finished_run(tmp_path):
    # the public state above is a checkpoint's copy: no summary entry (Trainer appends it after
    # the last save), global_step 2640 = max_steps. It read "(in progress)"
    import json

    state = json.loads((RUN / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"]
    assert not any("train_runtime" in e for e in state["log_history"])
    run = diagnose.load(RUN)
    assert not run.in_progress
    assert any("reached max_steps" in w for w in run.warnings)
    # the same state saved half-way is a run in progress
    state["global_step"] = state["max_steps"] // 2
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    assert diagnose.load(tmp_path).in_progress
