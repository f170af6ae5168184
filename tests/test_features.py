"""Features: each measurement on curves whose answer is known independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diagnose.features import FEATURES, RunContext, compute, nice, run_summary, smooth, window
from diagnose.rules import load_rules
from diagnose.run import Run

load_rules()  # the thresholds features read are declared (with their defaults) in the rule files

ALL = set(FEATURES)
RUN_FEATURES = {k for k, s in FEATURES.items() if s.scope == "run"}


def ctx(series, steps=None, **kw):
    return RunContext(Run.from_series(series, steps, **kw))


def test_window_scales_with_length_and_is_odd():
    sizes = [window(n) for n in (1, 5, 100, 10_000, 10**6)]
    assert sizes == sorted(sizes)
    assert all(w % 2 == 1 for w in sizes)
    assert window(5) <= 5


def test_smooth_removes_single_spike_and_keeps_level():
    v = np.full(200, 1.0)
    v[100] = 50.0
    s = smooth(v)
    assert s.max() < 1.5 and len(s) == len(v)


@pytest.mark.parametrize(
    "series",
    [
        {"train/loss": [1.0, 0.9, 0.8, 0.7, 0.6]},  # short run
        {"train/loss": [1.0]},  # one point
        {"train/loss": []},  # nothing
        {"val/loss": [1.0, 0.8, 0.9]},  # no train split
        {"train/loss": [math.nan] * 6},  # all non-finite
        {"train/loss": [1.0, math.inf, -math.inf, math.nan, 0.5, 0.4]},
        {"train/loss": [0.0] * 10, "val/loss": [0.0] * 3},  # zeros: no division errors
        {"lr": [0.1, 0.1]},
    ],
)
def test_every_feature_survives_odd_runs(series):
    values = compute(RUN_FEATURES, ctx(series))
    for k, v in values.items():
        assert v is None or isinstance(v, (int, float, str)), k


def test_long_run_one_million_steps_is_fast_and_sane():
    n = 1_000_000
    k = np.arange(n)
    loss = 2.0 * np.exp(-k / 1e5) + 0.1 + 0.01 * np.sin(k)
    run = Run.from_series({"train/loss": loss.tolist()})
    v = compute({"train_drop", "spike_count", "tail_share", "peak_ratio"}, RunContext(run))
    expected_drop = (loss[:window(n) // 2].mean() - loss[-1]) / loss[0]
    assert v["train_drop"] == pytest.approx(expected_drop, rel=0.05)
    assert v["spike_count"] == 0
    spiky = loss.copy()
    spiky[500_000] = 5.0  # one point in a million is still seen
    v = compute({"spike_count", "spike_first_step"}, ctx({"train/loss": spiky.tolist()}))
    assert v["spike_count"] == 1 and v["spike_first_step"] == 500_000


def test_explosion_peak_and_nonfinite_counts():
    v = compute({"peak_ratio", "peak_step", "nonfinite", "first_nonfinite_step", "nonfinite_after_growth"},
                ctx({"train/loss": [2.0, 3.0, 8.0, math.inf, math.nan]}))
    assert v["peak_ratio"] == pytest.approx(4.0)
    assert v["peak_step"] == 2
    assert v["nonfinite"] == 2 and v["first_nonfinite_step"] == 3
    assert v["nonfinite_after_growth"] == 1.0


def test_nan_without_growth_is_not_divergence():
    v = compute({"nonfinite_after_growth", "nonfinite"}, ctx({"train/loss": [2.0, 1.8, math.nan]}))
    assert v["nonfinite"] == 1 and v["nonfinite_after_growth"] == 0.0


def test_spike_that_recovers_vs_divergence():
    base = list(np.linspace(2.0, 1.0, 60))
    spiky = base.copy()
    spiky[30] = 4.0
    v = compute({"spike_count", "spike_first_step", "spike_max_ratio"}, ctx({"train/loss": spiky}))
    assert v["spike_count"] == 1 and v["spike_first_step"] == 30
    assert v["spike_max_ratio"] == pytest.approx(4.0 / np.median(base[25:36]), rel=0.1)
    diverging = base[:40] + [8.0] * 20
    v = compute({"spike_count"}, ctx({"train/loss": diverging}))
    assert v["spike_count"] == 0


def test_best_validation_and_rise_with_sparse_evals():
    train = list(np.linspace(1.0, 0.1, 100))
    val = [1.0, 0.6, 0.5, 0.55, 0.7]  # 5 evals spread over 100 steps
    v = compute({"val_best", "val_best_step", "val_rise", "val_evals_after_best", "train_drop_after_best"},
                ctx({"train/loss": train, "val/loss": val}))
    assert v["val_best"] == pytest.approx(0.5)
    assert v["val_evals_after_best"] == 2
    assert v["val_rise"] == pytest.approx((0.7 - 0.5) / 0.5)
    assert v["train_drop_after_best"] > 0


def test_level_shift_sees_a_band_but_not_bounces_around_one_level():
    """``val_shift_after_best``: medians either side of the turn, checked against numpy."""
    train = list(np.linspace(1.0, 0.1, 40))
    rng = np.random.default_rng(3)
    level = 0.5 + rng.choice([-1.0, 1.0], 20) * rng.uniform(0.05, 0.3, 20)  # bounces, one level
    jump = np.concatenate([[1.0, 0.8, 0.6, 0.5], 2.0 + rng.uniform(-0.8, 0.8, 12)])
    bounced = compute({"val_shift_after_best"}, ctx({"train/loss": train, "val/loss": list(level)}))
    jumped = compute({"val_shift_after_best"}, ctx({"train/loss": train, "val/loss": list(jump)}))
    assert abs(bounced["val_shift_after_best"]) < 0.3
    # the jump's turn is its fourth evaluation: as many before it as there are after (all four)
    want = float(np.median(jump[4:])) / float(np.median(jump[:4])) - 1
    assert jumped["val_shift_after_best"] == pytest.approx(want)
    assert want > 1.5


def test_gap_uses_train_at_validation_steps():
    train = [1.0] * 10 + [0.2] * 10
    val = [1.0, 0.8]
    v = compute({"gap_end", "gap_ratio_end"}, ctx({"train/loss": train, "val/loss": val}, {"val/loss": [0, 19]}))
    assert v["gap_end"] == pytest.approx(0.8 - 0.2, abs=0.05)
    assert v["gap_ratio_end"] == pytest.approx(4.0, rel=0.1)


def test_missing_validation_gives_none_not_zero():
    v = compute({"gap_end", "val_best", "acc_gap_end"}, ctx({"train/loss": [1.0, 0.5, 0.3, 0.2, 0.1]}))
    assert v.get("gap_end") is None and v.get("val_best") is None and v.get("acc_gap_end") is None


def test_uniform_predictions_against_ln_k():
    k = 10
    flat = [math.log(k) + 0.5 * math.exp(-i) for i in range(30)]
    v = compute({"chance_dev", "lnk_ratio_end"}, ctx({"train/loss": flat}, num_classes=k))
    assert v["chance_dev"] < 0.01 and v["lnk_ratio_end"] == pytest.approx(1.0, abs=0.01)
    v = compute({"chance_dev"}, ctx({"train/loss": flat}))  # K unknown: cannot say
    assert v["chance_dev"] is None


def test_still_improving_share():
    line = list(np.linspace(1.0, 0.5, 50))
    conv = [0.5 + 0.5 * math.exp(-i / 3) for i in range(50)]
    a = compute({"tail_share"}, ctx({"train/loss": line}))["tail_share"]
    b = compute({"tail_share"}, ctx({"train/loss": conv}))["tail_share"]
    assert a == pytest.approx(0.2, abs=0.05) and b < 0.01


def test_context_values_and_nice_rounding():
    v = compute({"lr", "lr_div3", "lr_x3", "lr_x10"}, ctx({"train/loss": [1.0, 0.5]}, params={"lr": 10}))
    assert (v["lr"], v["lr_div3"], v["lr_x3"], v["lr_x10"]) == (10.0, 3.0, 30.0, 100.0)
    assert nice(0.01 * 3) == 0.03 and nice(1 / 3) == 0.3
    # lr from the recorded lr metric when params lack it
    v = compute({"lr"}, ctx({"train/loss": [1.0, 0.5], "lr": [0.1, 0.05]}))
    assert v["lr"] == 0.1


def test_run_summary_min_and_max_modes():
    run = Run.from_series({"val/loss": [1.0, 0.4, 0.6], "val/acc": [0.5, 0.9, 0.8]})
    s = run_summary(run, "val/loss", "min")
    assert (s["best"], s["final"]) == (0.4, 0.6)
    s = run_summary(run, "val/acc", "max")
    assert (s["best"], s["final"]) == (0.9, 0.8)


def _ts_slope_reference(s: np.ndarray, v: np.ndarray, most: int = 400) -> float | None:
    """The Theil-Sen slope by its definition: np.median of every pairwise slope (i < j)."""
    idx = np.linspace(0, len(v) - 1, min(len(v), most)).astype(np.int64)
    x, y = s[idx].astype(np.float64), v[idx]
    i, j = np.triu_indices(len(x), 1)
    dx, dy = x[j] - x[i], y[j] - y[i]
    ok = dx != 0
    if len(dx) and not ok.any():
        return None
    with np.errstate(all="ignore"):
        return float(np.median(dy[ok] / dx[ok])) if len(dx) else math.nan


@pytest.mark.parametrize("seed", range(6))
def test_theil_sen_slope_is_bit_identical_to_the_median_of_all_pair_slopes(seed):
    from diagnose.features._series import _ts_slope

    rng = np.random.default_rng(seed)
    for t in range(150):
        n = int(rng.integers(1, 900))
        if t % 3 == 2:  # repeated steps
            s = np.sort(rng.integers(0, max(1, n // 2), n))
        else:
            s = np.sort(rng.choice(10 * n + 10, n, replace=False))
        v = [rng.normal(size=n), np.round(rng.normal(size=n), 1),  # many tied slopes
             np.exp(-s / (5.0 * n + 1)) + rng.normal(0, 1e-3, n),
             rng.integers(0, 3, n).astype(float), np.zeros(n),  # a zero in the middle
             rng.normal(size=n) * 1e306][t % 6]  # slopes that overflow
        with np.errstate(all="ignore"):
            want, got = _ts_slope_reference(s, v), _ts_slope(s, v)
        assert np.array(want).tobytes() == np.array(got).tobytes(), (seed, t, n, want, got)


def test_trailing_medians_equal_the_median_of_each_window():
    from diagnose.features._spikes import _trailing_medians

    rng = np.random.default_rng(0)
    for t in range(300):
        n, k = int(rng.integers(1, 60)), int(rng.integers(1, 6))
        v = np.exp(rng.normal(size=n))
        if t % 2:
            v = np.round(v, 1)  # ties
        got = _trailing_medians(v, k)
        for i in range(1, n):
            want = np.median(v[max(0, i - k):i])
            assert np.float64(want).tobytes() == got[i].tobytes(), (t, i, k)
