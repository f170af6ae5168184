"""The warmup DG202 prescribes lasts up to the first spike, never a fifth of the run."""

import numpy as np

import diagnose


def _run_with_a_spike_at(step: int, n: int = 1000) -> diagnose.Run:
    rng = np.random.default_rng(0)
    loss = 2.0 * np.exp(-np.arange(n) / 300) + 0.1 + 0.01 * rng.standard_normal(n)
    loss[step] *= 8  # one bad batch
    return diagnose.Run.from_series({"train/loss": loss.tolist()})


def _dg202_next(run: diagnose.Run) -> str:
    found = [f for f in diagnose.check([run]).findings if f.rule == "DG202"]
    assert found, "the spike was not found"
    return found[0].next_experiment


def test_a_spike_deep_into_the_run_gets_a_warmup_of_a_tenth_of_it():
    assert "linear warmup over the first 100 steps" in _dg202_next(_run_with_a_spike_at(800))


def test_an_early_spike_gets_a_warmup_up_to_it():
    assert "linear warmup over the first 60 steps" in _dg202_next(_run_with_a_spike_at(60))


def test_the_warmup_rounded_to_a_value_people_type_never_runs_past_the_spike():
    # a spike at step 150 of 1600: one significant figure would say 200, past the spike
    assert "linear warmup over the first 100 steps" in _dg202_next(_run_with_a_spike_at(150, n=1600))
