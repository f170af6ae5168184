"""Issue 14: the same verdict at every logging interval, on real runs logged every 1, 5, 10 and
50 steps (``fixtures/make_interval_fixtures.py``: one training each, written by SummaryWriter).

A log sampled every N steps keeps one batch's loss per N steps: a handful of low batches at
the end, or a first point written after the fast first drop, must not turn a healthy run
into a generalization gap or a slow one. Labels are read off the logged values with plain
arithmetic, never with diagnose's own features.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import diagnose

INTERVALS = Path(__file__).resolve().parents[1] / "fixtures" / "intervals"


def warnings_of(path: Path) -> dict[str, str]:
    """pattern -> message of every warning or error diagnose reports on the run at ``path``."""
    report = diagnose.check([diagnose.load(path)])
    return {f.pattern: f.message for f in report.findings if f.severity in ("warning", "error")}


def curve(run: diagnose.Run, name: str) -> tuple[np.ndarray, np.ndarray]:
    s, v = run.arrays(name)
    ok = np.isfinite(v)
    return s[ok], v[ok]


@pytest.mark.parametrize("name,every", [("healthy-k5-sgdm-step", (1, 5, 10, 50)),
                                        ("healthy-k2-sgd", (1, 5, 50)),
                                        ("healthy-k2-sgd-b", (1, 50))])
def test_a_healthy_run_is_clean_at_every_logging_interval(name, every):
    """Every-step logs of these runs show a healthy run: the train loss falls by more than
    half from ln K (where any classifier starts) and the final train accuracy is within 15
    points of validation. Sampled every 5, 10 or 50 steps they used to draw a gap (the last
    few sampled batches happened to be low) or slow convergence (the first point is written
    after the fast first drop): the verdict must not depend on the interval."""
    dense = diagnose.load(INTERVALS / name / "every1")
    _, tr = curve(dense, "train/loss")
    k = dense.num_classes or int(dense.params["num_classes"])
    tail = tr[-len(tr) // 10:]
    assert float(np.mean(tail)) < 0.5 * math.log(k)  # fell far from where it started
    _, ta = curve(dense, "train/acc")
    _, va = curve(dense, "val/acc")
    assert ta[-1] - va[-1] < 0.15  # no large accuracy gap
    verdicts = {n: warnings_of(INTERVALS / name / f"every{n}") for n in every}
    assert verdicts[1] == {}, verdicts[1]
    assert all(v == {} for v in verdicts.values()), verdicts


def test_one_corrupt_batch_that_costs_more_than_the_untrained_model_is_a_spike():
    """One batch in fifty has its inputs scaled 6x. Logged every step the loss is noisy (a
    batch of 32), so one outlier stands only ~5 noise SDs out, short of the single-spike bar;
    but it jumps above 3x the median of the 20 steps before, back above the run's first
    logged loss, and comes back: a spike the old rules passed ("All checks passed")."""
    run = diagnose.load(INTERVALS / "spike-corrupt-x6" / "every1")
    s, v = curve(run, "train/loss")
    first = float(np.median(v[:3]))
    hits = [i for i in range(20, len(v) - 20)
            if v[i] > 3 * np.median(v[i - 20:i]) and v[i] > first
            and np.median(v[i + 1:i + 21]) < 1.5 * np.median(v[i - 20:i])]
    assert hits, "the fixture has no such spike"
    found = warnings_of(INTERVALS / "spike-corrupt-x6" / "every1")
    assert "loss_spikes" in found, found
    assert any(str(int(s[i])) in found["loss_spikes"] for i in hits), found["loss_spikes"]


def test_slow_convergence_quotes_the_steps_where_the_train_loss_was_logged():
    """Case 10 (numbers a user can find): the message quotes the train loss's own first and
    last logged steps, not the first step of any metric in the run (the evaluations and the
    hyperparameters of this log start at step 0, its train loss at step 50). The rule is
    made to fire with a looser ``max_drop`` so that its message can be read."""
    from diagnose.config import Config

    run = diagnose.load(INTERVALS / "healthy-k2-sgd-b" / "every50")
    s, v = curve(run, "train/loss")
    assert int(s[0]) == 50 and run.step_range[0] < 50
    cfg = Config(params={"DG206": {"max_drop": 0.95}})
    found = [f for f in diagnose.check([run], config=cfg).findings if f.rule == "DG206"]
    assert found, "DG206 did not fire with max_drop=0.95"
    msg = found[0].message
    assert f"logged {v[0]:.4g} at step {int(s[0])}," in msg, msg
    assert f"{v[-1]:.4g} at step {int(s[-1])})" in msg, msg


def test_a_loss_that_bounces_to_the_end_is_unstable_at_every_interval():
    """SGD at lr=3 on a 2-class tanh MLP: over the second half the logged train loss still
    swings between its 10% and 90% quantiles by more than ln 2 (from a fit model back to
    uniform predictions, and down again), and jumps up 2x or more from one logged point to
    the next again and again. Every step, that is loss spikes; logged every 10 steps the
    typical jump measured smaller and the run passed."""
    for n in (1, 10):
        run = diagnose.load(INTERVALS / "bounce-sgd-lr3" / f"every{n}")
        _, v = curve(run, "train/loss")
        tail = v[len(v) // 2:]
        lo, hi = np.quantile(tail, [0.1, 0.9])
        assert hi - lo > math.log(2)
        assert int(np.sum(tail[1:] > 2 * tail[:-1])) >= 5
        found = warnings_of(INTERVALS / "bounce-sgd-lr3" / f"every{n}")
        assert "loss_spikes" in found, (n, found)
        # the finding tells the bounce at the end, not only an early spike or two
        assert "still bounces" in found["loss_spikes"], found["loss_spikes"]


def test_a_run_stuck_at_chance_is_uniform_predictions_at_every_interval():
    """Four random labels behind a 10-way head whose config says 10 classes: validation
    accuracy sits at 1/4 and the validation loss at ln 4 for the second half of the run. Logged
    every 10 steps, the last smoothed points of the sampled batch losses moved 3%, which read
    as "still moving, not stuck" and only flat loss was reported; whether the loss settled is
    now a trend test over the raw second half."""
    for n in (1, 10, 50):
        run = diagnose.load(INTERVALS / "uniform-wrong-k" / f"every{n}")
        assert int(run.params["num_classes"]) == 10
        _, va = curve(run, "val/acc")
        _, vl = curve(run, "val/loss")
        assert abs(float(np.median(va)) - 0.25) < 0.05
        assert abs(float(np.median(vl[len(vl) // 2:])) / math.log(4) - 1) < 0.02
        found = warnings_of(INTERVALS / "uniform-wrong-k" / f"every{n}")
        assert "uniform_predictions" in found, (n, found)
        assert "ln(4)" in found["uniform_predictions"] or "ln 4" in found["uniform_predictions"], found


def test_a_loss_bouncing_around_a_diverged_level_is_an_explosion():
    """Lightning, Adam at lr=10 on 6 classes, CSVLogger every 5 steps: the loss blew up inside
    the first window (1.9e9), fell back towards ln 6 and jumps up again at the end, while even
    its low points (the 10% quantile of the second half) stay well above ln 6, where an
    untrained model sits. Jumping set it aside as "loss spikes, not a run-away" ("All checks
    passed"); the low end says diverged."""
    path = INTERVALS / "diverge-bounce-lit"
    run = diagnose.load(path)
    _, v = curve(run, "train/loss")
    tail = v[len(v) // 2:]
    assert float(np.quantile(tail, 0.1)) > 1.5 * math.log(6)
    assert v[0] > 1000 * math.log(6)  # blew up inside the first window
    assert int(np.sum(tail[1:] > 2 * tail[:-1])) >= 1  # and still jumps
    report = diagnose.check([run])
    errors = [f for f in report.findings if f.severity == "error"]
    assert [f.pattern for f in errors] == ["explosion"], report.findings


def test_a_loss_swinging_by_orders_of_magnitude_is_an_explosion():
    """The same Lightning recipe at another seed, logged every step: after the blow-up the loss
    keeps swinging between about ln 6 and over a million to the end of the run. Its low end
    comes back near chance, so it looked like a bouncing run ("loss spikes"); a swing of
    orders of magnitude above ln 6 is a diverged optimizer, and the verdict is explosion."""
    run = diagnose.load(INTERVALS / "diverge-swing-lit")
    _, v = curve(run, "train/loss")
    tail = v[len(v) // 2:]
    lo, hi = np.quantile(tail, [0.1, 0.9])
    assert lo < 1.5 * math.log(6) and hi > 1000 * math.log(6)
    report = diagnose.check([run])
    patterns = {f.pattern for f in report.findings if f.severity in ("warning", "error")}
    assert patterns == {"explosion"}, report.findings


def test_a_flat_noisy_regression_is_flat_and_nothing_else_at_every_interval():
    """SGD at lr=1e-6 on a regression: nothing is learned (a least-squares line through the
    logged batch losses moves less than a tenth of their mean), and single batches range over
    2x around the level. Sampled every 5 or 10 steps that scatter also read as a loss that
    still bounces (loss spikes); a loss that does not move is flat, its batch noise is not
    instability."""
    for n in (1, 5, 10):
        run = diagnose.load(INTERVALS / "flat-regression" / f"every{n}")
        _, v = curve(run, "train/loss")
        x = np.arange(len(v), dtype=np.float64)
        change = float(np.polyfit(x, v, 1)[0]) * (len(v) - 1) / float(np.mean(v))
        assert abs(change) < 0.1
        found = warnings_of(INTERVALS / "flat-regression" / f"every{n}")
        assert set(found) == {"flat_loss"}, (n, found)


def test_a_loss_turning_nan_while_the_learning_rate_rises_is_an_explosion_at_every_interval():
    """SGD warming up to lr 20 on 10 classes. Logged every step, the loss grows before it turns
    NaN; logged every 10 steps it goes from a normal value to NaN between two logged points,
    which read as a numeric bug ("without the loss growing first"). The logged learning rate
    had risen threefold by then: that is a blow-up, at either interval. (The hparams
    summary's inf best validation loss is not named as the first non-finite value either.)"""
    for n in (1, 10):
        run = diagnose.load(INTERVALS / "nan-in-warmup" / f"every{n}")
        s, v = run.arrays("train/loss")
        bad = int(np.argmin(np.isfinite(v)))
        assert bad > 0 and not np.isfinite(v[bad:]).any()  # finite first, NaN from there on
        ls, lv = curve(run, "lr")
        assert lv[np.searchsorted(ls, s[bad], side="right") - 1] > 2 * lv[lv > 0][0]  # lr rose
        report = diagnose.check([run])
        errors = [f for f in report.findings if f.severity == "error"]
        assert [f.pattern for f in errors] == ["explosion"], report.findings
        assert "first in train/loss" in errors[0].message, errors[0].message


# -- the rule changes of 2026-12-03 (fixtures trained at that session's tuning seeds) --------

def test_a_sampled_loss_that_climbs_into_nan_is_an_explosion():
    """Regression by SGD at too high a rate, logged every 5 steps: the logged points climb
    (each above the one before) and the next is NaN. The growth between two logged points is
    hidden, but a loss broken while climbing is divergence, not a numeric fault."""
    run = diagnose.load(INTERVALS / "nan-climbing-regression" / "every5")
    _, v = run.arrays("train/loss")
    bad = int(np.argmin(np.isfinite(v)))
    assert bad >= 2 and not np.isfinite(v[bad:]).any()
    assert all(np.diff(v[:bad]) > 0)  # climbing right up to the NaN
    found = warnings_of(INTERVALS / "nan-climbing-regression" / "every5")
    assert "explosion" in found and "nonfinite" not in found, found


def test_a_short_noisy_run_at_chance_that_ends_on_a_high_batch_did_not_diverge():
    """28 per-batch points of a frozen 2-class model: a least-squares line moves less than a
    tenth of the mean and validation does not move, but the last batch is 1.26x the first.
    Too short to smooth, its end is read from its last few points: flat, not an explosion."""
    run = diagnose.load(INTERVALS / "flat-short-28-k2" / "every1")
    _, v = curve(run, "train/loss")
    _, vv = curve(run, "val/loss")
    x = np.arange(len(v), dtype=np.float64)
    assert len(v) == 28 and abs(float(np.polyfit(x, v, 1)[0]) * 27 / float(v.mean())) < 0.1
    assert float(vv.max() - vv.min()) < 1e-3 * float(vv.mean())
    assert v[-1] > 1.2 * v[0]
    found = warnings_of(INTERVALS / "flat-short-28-k2" / "every1")
    assert "explosion" not in found and "flat_loss" in found, found
    # 28 points are too few for a smoothing window: no message may call a value smoothed
    assert all("smoothed" not in m for m in found.values()), found


def test_a_train_loss_logged_as_zero_under_a_high_validation_loss_is_a_gap():
    """A regression that memorises its 30 training points, written by HF's TrainerState every
    5 steps: the train loss is logged as 0 (four decimals) while validation stays near 100.
    The ratio of the two is infinite, not missing."""
    run = diagnose.load(INTERVALS / "gap-zero-train-hf" / "every5")
    _, v = curve(run, "train/loss")
    _, vv = curve(run, "val/loss")
    assert v[-1] == 0 and vv[-1] > 50 and vv.min() > 50
    found = warnings_of(INTERVALS / "gap-zero-train-hf" / "every5")
    assert "generalization_gap" in found, found
    # 16 evaluations are read as logged, 160 train points smoothed: the message says which
    assert "val loss 103 vs train 0 (smoothed, inf" in found["generalization_gap"], found


def test_validation_first_evaluated_after_the_fast_drop_does_not_make_a_healthy_run_slow():
    """A healthy regression logged every step: the train loss falls to a fifth of its first
    value within 50 steps; validation is first evaluated at step 50 and falls slowly after.
    The validation curve sees only the tail, and the run is clean."""
    run = diagnose.load(INTERVALS / "healthy-reg-fast-drop" / "every1")
    s, v = curve(run, "train/loss")
    vs, vv = curve(run, "val/loss")
    assert vs[0] >= 50 and float(np.median(v[(s > 25) & (s <= vs[0])])) < 0.25 * v[0]
    assert vv[-1] < vv[0]  # still improving, as a healthy run may
    assert warnings_of(INTERVALS / "healthy-reg-fast-drop" / "every1") == {}


def test_one_corrupt_batch_in_a_log_sampled_every_5_steps_is_a_spike():
    """2% of the batches have their inputs scaled 6x; logged every 5 steps the log caught one
    that is over 3x the median of the 20 points before it and back down at the next point."""
    run = diagnose.load(INTERVALS / "spike-corrupt-x6-sampled" / "every5")
    _, v = curve(run, "train/loss")
    jumps = [i for i in range(20, len(v) - 1)
             if v[i] > 3 * np.median(v[i - 20:i]) and v[i + 1] < 1.5 * np.median(v[i - 20:i])]
    assert jumps
    assert "loss_spikes" in warnings_of(INTERVALS / "spike-corrupt-x6-sampled" / "every5")


def test_a_loss_first_logged_far_above_ln_k_that_bounces_after_is_an_explosion():
    """Lightning, Adam at lr=10 on 6 classes, logged every 5 steps: the first window's mean is
    billions of times ln 6 and the loss bounces after. The bouncing is what is left of a
    diverged model, not loss spikes."""
    path = next((INTERVALS / "diverge-first-window-lit").glob("**/metrics.csv")).parent
    run = diagnose.load(path)
    _, v = curve(run, "train/loss")
    assert v[0] > 1e6 * math.log(6)
    found = warnings_of(path)
    assert "explosion" in found and "loss_spikes" not in found, found


def test_a_bert_whose_config_leaves_out_its_two_labels_blows_up_in_the_first_window():
    """HF Trainer, a BERT built from a config at lr=200, logged every 5 steps. transformers 5
    does not write num_labels when it is the default two; the first window's mean is still
    hundreds of times ln 2."""
    path = INTERVALS / "hf-bert-lr200" / "m-hf-bert-lr200-every5"
    cfg = json.loads((path / "config.json").read_text())
    assert "num_labels" not in cfg and cfg["architectures"] == ["BertForSequenceClassification"]
    _, v = curve(diagnose.load(path), "train/loss")
    assert v[0] > 100 * math.log(2)
    assert "explosion" in warnings_of(path)


def test_accuracy_climbing_through_one_half_does_not_name_two_classes():
    """4 classes, SGD at a tenth of a good rate: over six evaluations validation accuracy
    climbs from about 0.41 to above 0.6 (its median near 1/2 on the way up) while both losses
    fall steadily. That is a slow run, not a 2-class model stuck above ln 2."""
    path = INTERVALS / "slow-k4-sgd" / "slow-tb-sgd-lr-div10"
    run = diagnose.load(path)
    _, acc = curve(run, "val/acc")
    _, vv = curve(run, "val/loss")
    assert acc[-1] > 0.6 and acc[0] < 0.45 and all(np.diff(vv) < 0)
    found = warnings_of(path)
    assert "explosion" not in found and "slow_convergence" in found, found


def test_a_blow_up_that_came_back_to_where_it_started_is_not_also_flat():
    """Adam whose rate is multiplied by 1000 at step 60, written by Keras' CSVLogger every 5
    steps: the window means jump to hundreds and come back to where the run started. End to
    end the loss "hardly moved", but the explosion explains that: no flat-loss finding beside
    the explosion."""
    path = INTERVALS / "collapse-keras" / "every5"
    _, v = curve(diagnose.load(path), "train/loss")
    assert v.max() > 100 * v[0] and abs(float(np.median(v[-20:])) / v[0] - 1) < 0.1
    found = warnings_of(path)
    assert "explosion" in found and "flat_loss" not in found, found


def test_a_blow_up_inside_the_first_window_that_left_the_run_stuck_is_an_explosion():
    """A deep 6-class MLP at Adam lr=1 from the first step, written by Keras' CSVLogger every 10
    steps without accuracy (so no number of classes): the first window's mean is hundreds of
    thousands, then the loss sits at one level and validation never beats its first
    evaluation. Before DG213 this printed "All checks passed"."""
    path = INTERVALS / "first-window-keras" / "every10"
    run = diagnose.load(path)
    _, v = curve(run, "train/loss")
    _, vv = curve(run, "val/loss")
    fifth = len(v) // 5
    assert v[0] > 1000 * float(np.median(v[-fifth:]))
    assert abs(float(np.median(v[1:1 + fifth])) / float(np.median(v[-fifth:])) - 1) < 0.05
    assert len(vv) >= 6 and vv.min() > 0.95 * vv[0]
    found = warnings_of(path)
    assert "explosion" in found, found


@pytest.mark.parametrize("every", (5, 10, 50))
def test_a_blow_up_spanning_the_first_windows_that_left_the_run_stuck_is_an_explosion(every):
    """The same recipe at another seed, every 5, 10 and 50 steps: the blow-up spans several
    windows and the first evaluation (validation 42 there), so from its first point the run
    "improved" a thousandfold. From the second evaluation on validation and, from a few windows
    in, train sit at one level, one as high as the other: the model learned nothing after the
    blow-up. Before DG213 read the run from where it settled this printed "All checks passed"
    at every one of these intervals."""
    path = INTERVALS / "first-window-keras-spread" / f"every{every}"
    run = diagnose.load(path)
    _, v = curve(run, "train/loss")
    _, vv = curve(run, "val/loss")
    fifth = max(1, len(v) // 5)
    end = float(np.median(v[-fifth:]))
    assert v[0] > 1000 * end and vv[0] > 10 * vv[-1]  # the first evaluation was still blown up
    assert float(np.median(v[len(v) // 2:])) < 1.05 * float(np.median(v[fifth:2 * fifth]))
    assert vv[1:].min() > 0.9 * vv[1] and abs(float(np.median(vv[1:])) / end - 1) < 0.1
    found = warnings_of(path)
    assert set(found) == {"explosion"}, found
    assert "blew up inside its first logging windows" in found["explosion"]


def test_a_blow_up_held_for_a_seventh_of_the_run_then_back_at_chance_is_an_explosion():
    """A character LSTM on 28 symbols at SGD lr=40 without clipping, written by the Recorder:
    the loss starts at ln 28, holds 7-35 for a seventh of the run and comes back to ln 28, where
    validation ends too. Starting, ending and evaluated best at chance, it was read as a spike
    on a model that never learned and printed "All checks passed"; a batch or two of such a
    model is a spike, a seventh of the run is a blow-up."""
    path = INTERVALS / "lstm-blowup-back-to-chance" / "explode-rec-lstm-sgd"
    run = diagnose.load(path)
    _, v = curve(run, "train/loss")
    _, vv = curve(run, "val/loss")
    ln_k = math.log(28)
    assert abs(v[0] / ln_k - 1) < 0.05 and abs(float(np.median(v[-10:])) / ln_k - 1) < 0.1
    assert v.max() > 10 * ln_k and np.count_nonzero(v > 3 * ln_k) > len(v) / 10
    assert abs(vv.min() / ln_k - 1) < 0.05
    found = warnings_of(path)
    assert "explosion" in found and "uniform_predictions" not in found, found
