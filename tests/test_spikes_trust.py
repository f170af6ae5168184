"""Issue 14, case 8 (and issue 18 for the spike detector's memory): loss spikes judged against
their own neighbourhood, on runs made by real training (``fixtures/make_trust_fixtures.py``).

Each label is read off the logged values with plain arithmetic (jumps to more than 3x the
median of the 20 points before, after which a 5-point running mean comes back under 1.5x
that level within 100 points), never with diagnose's own features.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

import diagnose
from diagnose.features import RunContext, compute
from diagnose.features._run import classes
from diagnose.run import Run, tidy_metrics

ROOT = Path(__file__).resolve().parents[1]
TRUST = ROOT / "fixtures" / "trust"


def jumps(v: np.ndarray) -> list[int]:
    """Indices of jumps above 3x the median of the 20 points before that came back."""
    out, i = [], 20
    while i < len(v) - 5:
        prev = float(np.median(v[i - 20:i]))
        back = np.convolve(v[i + 1:i + 101], np.ones(5) / 5, "valid")
        if v[i] > 3 * prev and len(back) and back.min() < 1.5 * prev:
            out.append(i)
            i += 20
        i += 1
    return out


def train(run: diagnose.Run) -> tuple[np.ndarray, np.ndarray]:
    s, v = run.arrays("train/loss")
    ok = np.isfinite(v)
    return s[ok], v[ok]


def spike_findings(*runs: diagnose.Run) -> list:
    report = diagnose.check(list(runs))
    return [f for f in report.findings if f.pattern == "loss_spikes" and f.severity == "warning"]


def test_spikes_small_on_the_run_scale_that_stand_out_of_a_calm_loss_are_found():
    """Adam at lr 0.05 on a noise-free regression: the loss, already ~1e-3, is thrown up for
    tens of steps at a time, again and again. Each rise is a few percent of the first loss
    (the old detector's bar was a tenth of it: "All checks passed"), but tens of times the
    level just before, where the loss barely moves from step to step."""
    run = diagnose.load(TRUST / "spikes-adam-regression")
    s, v = train(run)
    j = jumps(v)
    assert len(j) >= 3  # recurring
    assert max(v[i] for i in j) < 0.1 * v[0]  # every one small on the run's scale
    f = spike_findings(run)
    assert f, "the spikes were not reported"
    assert f[0].message.split()[1:4] == ["loss", "spike(s)", "that"]
    first, last = f[0].steps
    assert any(first <= s[i] <= last for i in j)  # it points at jumps the log shows


def test_the_same_spikes_logged_every_5_or_10_steps_are_still_found():
    """What a logger writing every 5 steps (the value at that step) or every 5 or 10 steps
    (the mean over the window, as Hugging Face's Trainer logs) keeps of the same run."""
    run = diagnose.load(TRUST / "spikes-adam-regression")
    s, v = train(run)
    vs, vv = run.arrays("val/loss")
    copies = {"every 5, sampled": (s[4::5], v[4::5])}
    for n in (5, 10):
        m = len(v) // n * n
        copies[f"every {n}, window mean"] = (s[n - 1:m:n], v[:m].reshape(-1, n).mean(axis=1))
    for name, (cs, cv) in copies.items():
        assert jumps(cv), name  # the label is still visible in this copy
        copy = Run.from_series({"train/loss": cv, "val/loss": vv},
                               steps={"train/loss": cs, "val/loss": vs}, id=name, params=run.params)
        assert spike_findings(copy), name


def test_medium_spikes_that_recur_are_found():
    """2% of the batches with inputs x6: jumps of 3-5x the level, a dozen times over the run."""
    run = diagnose.load(TRUST / "spikes-corrupt-x6")
    _, v = train(run)
    assert len(jumps(v)) >= 3
    f = spike_findings(run)
    assert f and int(f[0].message.split()[0]) >= 2


def test_spike_detector_temporaries_stay_small_on_a_long_series():
    """Issue 18: on a long run the spike features must not hold several copies of the
    series at once (the detector reads it chunk by chunk). Two million noisy points with a
    few tall spikes: under 16 bytes per step of temporaries, and the spikes still found."""
    n = 2_000_000
    rng = np.random.default_rng(0)
    loss = 2.0 * np.exp(-np.arange(n) / (n / 10)) + 0.5
    loss *= np.exp(0.1 * rng.standard_normal(n))
    at = np.sort(rng.choice(np.arange(n // 10, n - 1000), 5, replace=False))
    loss[at] *= 20.0
    run = Run(id="long", metrics=tidy_metrics(step=np.arange(n), metric=np.full(n, "train/loss", dtype=object),
                                              value=loss))
    ctx = RunContext(run)
    ctx.finite("train/loss")  # the run's own arrays, shared by every feature
    classes(ctx)  # the number of classes the run's scale reads, cached for every feature
    tracemalloc.start()
    v = compute({"spike_count", "spike_first_step", "spike_last_step"}, ctx)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak / n < 16, f"{peak / n:.1f} bytes per step"
    assert v["spike_count"] == len(at)
    assert (v["spike_first_step"], v["spike_last_step"]) == (int(at[0]), int(at[-1]))


def test_a_bounce_logged_every_ten_steps_whose_first_point_caught_a_jump_is_found():
    """SGD at lr=3 on a tanh MLP (K=2), the train loss written every 10 steps: the first
    logged point is one of the jumps (6x ln 2), and the old bounce height, read on the first
    loss, made the bounce at the end look calm ("All checks passed"). Read on ln K it is not."""
    run = diagnose.load(TRUST / "bouncing-sgd-every10")
    s, v = train(run)
    assert s[1] - s[0] == 10  # logged every 10 steps
    assert v[0] > 3 * np.log(2)  # the first logged point is far above chance: one of the jumps
    h = v[len(v) // 2:]
    p10, p90 = np.percentile(h, [10, 90])
    assert p90 > 3 * p10 and p90 > np.log(2)  # still bounces, past chance level, at the end
    f = spike_findings(run)
    assert f, "the bouncing loss was not reported"
    assert "bounces" in f[0].message


def test_one_batch_spikes_in_a_loss_that_learns_on_are_spikes_not_a_run_away():
    # a public Lightning run (bench/real-runs/w9a-gmlp-v8): two one-point jumps (38, 110) in a
    # noisy loss that drifts up to ~7.5 and falls again, ending 1.4x where it started. DG102
    # read the 110 as a divergence that never recovered.
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9a-gmlp-v8"
    _, v = diagnose.load(path).arrays("train/loss")
    i = int(np.argmax(v))
    assert v[i] > 15 * np.median(v[max(0, i - 20):i]) and v[i + 1] < 0.1 * v[i]
    # after the peak it learns on: its last points sit clearly below the ones just after it
    assert np.median(v[-20:]) < 0.9 * np.median(v[i + 1:i + 31]) and np.median(v[-20:]) < 1.5 * np.median(v[:10])
    rules = {f.rule for f in diagnose.check(path).findings}
    assert "DG102" not in rules and "DG202" in rules


def test_a_part_of_the_validation_loss_that_jumps_under_a_calmer_sum():
    # a public Ultralytics segmentation run (bench/real-runs/w9e-yoloseg-fish): val/seg_loss
    # jumps from ~1.1 to 6.5 at one evaluation and is back under 1 two later, while the summed
    # validation loss only goes 5.8 -> 10.8 (under 2x), so DG207 saw nothing
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9e-yoloseg-fish"
    run = diagnose.load(path)
    _, part = run.arrays("val/seg_loss")
    _, total = run.arrays("val/loss")
    i = int(np.argmax(part[:20]))
    assert part[i] > 4 * np.median(part[max(0, i - 3):i]) and part[i + 2] < 0.2 * part[i]
    assert total[i] < 2 * np.median(total[max(0, i - 3):i])
    found = [f for f in diagnose.check(path).findings if f.rule == "DG207"]
    assert found and "val/seg_loss" in found[0].message


def test_a_part_of_the_train_loss_that_jumps_under_a_calmer_sum():
    # a public Ultralytics detection run (bench/real-runs/w9d-kitchen-cv): train/cls_loss jumps
    # four-fold for single epochs (0.58 -> 2.64 -> 0.61) and comes back, while the summed train
    # loss stays under 2x its level: DG202 read only the sum and the run passed every check
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9d-kitchen-cv"
    run = diagnose.load(path)
    _, part = run.arrays("train/cls_loss")
    _, total = run.arrays("train/loss")
    jumps = [i for i in range(3, len(part) - 1)
             if part[i] > 3 * np.median(part[i - 3:i]) and part[i + 1] < 1.5 * np.median(part[i - 3:i])]
    assert jumps and all(total[i] < 2 * np.median(total[i - 3:i]) for i in jumps)
    found = [f for f in diagnose.check(path).findings if f.rule == "DG202"]
    assert found and "train/cls_loss" in found[0].message


def test_a_validation_spike_is_judged_against_where_a_falling_curve_is_now():
    """The level a validation evaluation is judged against is the median of the (up to 3)
    evaluations before it, or the last of them when they fell at every step: a median lags a
    falling curve, so a jump back to where the curve stood two evaluations earlier read as none.
    Checked against a plain loop over random curves (some falling), then on a public log."""
    from diagnose.features._spikes import _levels_before

    rng = np.random.default_rng(7)
    for _ in range(500):
        v = rng.random(int(rng.integers(2, 15))) * 10
        if rng.random() < 0.4:
            v = np.sort(v)[::-1].copy()
        got = _levels_before(v, 3)
        for i in range(1, len(v)):
            w = v[max(0, i - 3):i]
            want = w[-1] if len(w) >= 2 and all(b < a for a, b in zip(w, w[1:])) else np.median(w)
            assert got[i] == want, (v, i)
    # bench/real-runs/chem-v20 (a Lightning regression): 58958, 19274, 10467, then 28425
    val = [58958, 19274, 10467, 28425, 11767, 12708, 9220.6, 3464.6]
    metrics = tidy_metrics([{"step": i, "metric": "val/loss", "value": x} for i, x in enumerate(val)]
                           + [{"step": 0, "metric": "train/loss", "value": 3689.9},
                              {"step": 7, "metric": "train/loss", "value": 1173.2}])
    out = compute(["val_spike_count", "val_spike_max_ratio"], RunContext(Run(id="chem", metrics=metrics)))
    assert out["val_spike_count"] >= 1 and out["val_spike_max_ratio"] > 28425 / 19274


def test_spikes_that_came_back_before_the_loss_turned_nan_are_named_beside_the_explosion():
    # public Lightning runs (bench/real-runs/yolov3-v0, t10a-causalasym-v1852): a train loss with
    # one-row jumps that came back, then NaN. The explosion rules spoke and silenced DG202, so
    # the spikes (the instability's earlier signs, and the step it began) went unsaid.
    for name in ("yolov3-v0", "t10a-causalasym-v1852"):
        path = ROOT / "bench" / "real-runs" / name
        s, v = diagnose.load(path).arrays("train/loss")
        j = int(np.argmax(~np.isfinite(v)))
        before = v[:j]
        hits = jumps(before)  # plain arithmetic on the points before the first NaN
        assert j > 20 and hits and np.median(before[-3:]) < 2 * np.median(before)
        found = spike_findings(path)
        assert [f.rule for f in found] == ["DG216"]
        assert found[0].steps[0] <= int(s[hits[0]]) < int(s[j])
        assert {f.pattern for f in diagnose.check(path).findings} >= {"explosion", "loss_spikes"}


def test_a_loss_that_grows_into_nan_through_bounces_is_one_explosion():
    # the fresh bench's g-explode-after-warmup (seed 93, logged every step; SGD warmed up to lr
    # 20): jumps that come back (292 -> 7.5, 5560 -> 16) while the level climbs, then it grows
    # into NaN. One blow-up, not spikes that came back before a NaN.
    v = np.array([2.283, 2.326, 2.332, 2.17, 2.219, 2.231, 2.007, 6.225, 19.6, 38.21, 4.261, 5.301,
                  2.537, 2.466, 3.238, 3.552, 2.704, 2.545, 2.653, 2.344, 2.722, 2.935, 4.461, 3.626,
                  4.306, 3.862, 3.155, 2.481, 5.286, 5.912, 3.837, 4.182, 292.5, 7.512, 5560, 16.12,
                  5824, 8.511, 8.637, 4.976, 3.65, 4.172e+05, 7.224, 4.627, 3363, 3.555e+08, 1.01e+13,
                  5.586e+19, 2.372e+25] + [np.nan] * 11)
    j = int(np.argmax(~np.isfinite(v)))
    came_back = [i for i in range(1, j - 1) if v[i] > 10 * max(v[i - 1], v[i + 1])]  # one-point jumps
    assert came_back and np.median(v[j - 3:j]) > 1e6 * np.median(v[:j])  # ... and it grew into the NaN
    n = len(v)
    run = Run(id="bouncing-up", metrics=tidy_metrics(step=np.arange(1, n + 1),
                                                     metric=np.full(n, "train/loss", dtype=object), value=v))
    rules = {f.rule for f in diagnose.check([run]).findings}
    assert "DG216" not in rules and "DG102" in rules


def test_a_validation_burst_is_quoted_at_the_evaluation_that_logged_its_top():
    # issue 14, case 10: the message quotes logged steps and values; a two-evaluation burst
    # 3.0 then 6.0 had been quoted as "6 at" the step of the 3.0
    val = [1.0, 0.9, 0.85, 0.8, 3.0, 6.0, 0.8, 0.78, 0.77, 0.76]
    run = diagnose.Run.from_series({"train/loss": [2.0 - 0.1 * i for i in range(10)], "val/loss": val})
    found = [f for f in diagnose.check([run]).findings if f.rule == "DG207"]
    steps, _ = run.arrays("val/loss")
    assert found and f"6 at step {int(steps[val.index(6.0)])}," in found[0].message, found


def test_the_largest_spike_is_quoted_as_logged() -> None:
    """Issue 14, case 10: the spike message quotes the largest spike's logged top and the value
    after it at their logged steps, so a user finds them in the log; the top is one of the
    fixture's jumps found with plain arithmetic above."""
    import re

    path = ROOT / "fixtures" / "spikes-recover"
    run = diagnose.load(path)
    s, v = train(run)
    (f,) = [f for f in spike_findings(run) if f.rule == "DG202"]
    m = re.search(r"logged ([-\d.e+]+) just before step (\d+), ([-\d.e+]+) at step (\d+), "
                  r"([-\d.e+]+) at step (\d+)", f.message)
    assert m, f.message
    at = {int(k): float(x) for k, x in zip(s, v)}
    top_step, next_step = int(m.group(4)), int(m.group(6))
    assert top_step in {int(s[i]) for i in jumps(v)}  # one of the fixture's own jumps
    assert float(m.group(3)) == float(f"{at[top_step]:.4g}")
    assert next_step > top_step
    assert float(m.group(5)) == float(f"{at[next_step]:.4g}")
    assert float(m.group(1)) < float(m.group(3)) / 3  # the level before: under a third of the top
