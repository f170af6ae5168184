"""Issue 14: no "All checks passed" on a broken run.

One test per numbered miss of the issue, each on runs made by real training
(``fixtures/make_trust_fixtures.py`` writes ``fixtures/trust/``; the older fixtures come from
``fixtures/make_fixtures.py``). Every label is checked here on the logged values with plain
arithmetic, never with diagnose's own features; then the report must say what the log shows.
The last tests hold the thresholds to the rule files: no numeric literal other than 0 and 1
in a rule condition or in a comparison inside a feature function.
"""

from __future__ import annotations

import ast
import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.config import Config
from diagnose.features import run_summary
from diagnose.report import render

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
TRUST = FIX / "trust"


def check(*paths: Path, config: Config | None = None) -> diagnose.Report:
    return diagnose.check(list(paths), config=config)


def patterns(report: diagnose.Report, run_id: str | None = None) -> set[str]:
    fs = report.findings if run_id is None else report.for_run(run_id)
    return {f.pattern for f in fs if f.severity in ("warning", "error")}


def logged(run: diagnose.Run, metric: str) -> tuple[np.ndarray, np.ndarray]:
    s, v = run.arrays(metric)
    ok = np.isfinite(v)
    return s[ok], v[ok]


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


# -- 1. a blow-up inside the first logging window ------------------------------------------
@pytest.mark.parametrize("name", ["hf-bert-lr200", "hf-bert-lr5"])
def test_case01_blowup_inside_first_logging_window_is_an_explosion(name):
    state = json.loads((TRUST / name / "trainer_state.json").read_text())
    train = [e["loss"] for e in state["log_history"] if "loss" in e and "eval_loss" not in e]
    acc = [e["eval_accuracy"] for e in state["log_history"] if "eval_accuracy" in e]
    # the label, from the log: two classes (accuracy at 1/2 all run), a first logged
    # (windowed) loss dozens of times ln 2, never back below ln 2
    assert abs(np.median(acc) - 0.5) < 0.05
    assert train[0] > 30 * math.log(2) and min(train) > math.log(2)
    report = check(TRUST / name)
    assert "explosion" in patterns(report)
    f = next(f for f in report.findings if f.pattern == "explosion")
    assert f.severity == "error"
    assert f"{train[0]:.4g}" in f.message and "ln(2)" in f.message
    assert "All checks passed" not in render(report, "text", color=False)


# -- 2. collapse after a blow-up -------------------------------------------------------------
@pytest.mark.parametrize("path", ["seeds-high-variance/seed=2", "trust/sgd-sweep/lr=1.5",
                                  "trust/collapse-after-blowup"])
def test_case02_collapse_after_blowup_is_an_explosion_that_never_recovered(path):
    run = diagnose.load(FIX / path)
    s, v = run.arrays("train/loss")
    _, acc = logged(run, "val/acc")
    k = run.num_classes
    finite = v[np.isfinite(v)]
    # the label: a blow-up far above the start, then validation accuracy at chance (1/K)
    # for the last evaluations: the model never came back
    assert finite.max() > 10 * finite[0]
    assert abs(np.median(acc[-3:]) * k - 1) < 0.2
    report = check(FIX / path)
    got = patterns(report)
    assert "explosion" in got, [f.message for f in report.findings]
    assert [f.severity for f in report.findings if f.pattern == "explosion"] == ["error"]
    # everything else on a diverged run is noise: suppressed
    assert got == {"explosion"} or got <= {"explosion", "nonfinite"}


# -- 3. stuck at chance, with a config that contradicts the curves ---------------------------
def test_case03_stuck_at_chance_with_a_wrong_num_classes_in_the_config():
    run = diagnose.load(TRUST / "chance-wrong-k")
    assert run.num_classes == 10  # what the config says
    _, acc = logged(run, "val/acc")
    _, val = logged(run, "val/loss")
    # the curves say 4 classes: accuracy at 1/4 and loss at ln 4 for most of training
    assert abs(np.median(acc) - 0.25) < 0.03
    assert abs(np.median(val[len(val) // 2:]) / math.log(4) - 1) < 0.01
    report = check(TRUST / "chance-wrong-k")
    f = [f for f in report.findings if f.pattern == "uniform_predictions"]
    assert f, [x.message for x in report.findings]
    assert "ln(4)" in f[0].message and "config says 10 classes" in f[0].message


# -- 4. the same run, two logging intervals, one verdict ------------------------------------
def test_case04_same_run_logged_every_step_and_every_5_steps_gets_one_verdict():
    native = TRUST / "lightning-diverge" / "native"
    tb = TRUST / "lightning-diverge" / "tensorboard" / "version_0"
    a, b = diagnose.load(native), diagnose.load(tb)
    sa, _ = a.arrays("train/loss")
    sb, _ = b.arrays("train/loss")
    assert len(sa) > 4 * len(sb)  # really two logging intervals
    verdicts = []
    for p in (native, tb):
        report = check(p)
        verdicts.append(sorted((f.pattern, f.severity) for f in report.findings))
    assert verdicts[0] == verdicts[1] == [("explosion", "error")]


# -- 5. generalization gap on the final model -------------------------------------------------
def test_case05_generalization_gap_judged_on_the_final_model():
    run = diagnose.load(TRUST / "gap-final-model")
    _, tacc = logged(run, "train/acc")
    vs, vacc = logged(run, "val/acc")
    ls, vl = logged(run, "val/loss")
    # the label: train accuracy 1.0 at the end, validation near 0.5; at the lowest validation
    # loss the train loss was still close to it (so a gap judged only there is missed)
    assert tacc[-20:].mean() == 1.0 and abs(vacc[-1] - 0.5) < 0.05
    report = check(TRUST / "gap-final-model")
    f = [f for f in report.findings if f.pattern == "generalization_gap"]
    assert f, [x.message for x in report.findings]
    assert f"final model (step {int(ls[-1])})" in f[0].message
    assert f"val loss {vl[-1]:.4g}" in f[0].message
    assert f"best checkpoint (step {int(ls[np.argmin(vl)])})" in f[0].message


# -- 6. late overfitting that rises slowly ---------------------------------------------------
def test_case06_slow_steady_rise_after_a_large_drop_is_late_overfitting():
    run = diagnose.load(TRUST / "overfit-slow-rise")
    s, v = logged(run, "val/loss")
    i = int(np.argmin(v))
    _, t = logged(run, "train/loss")
    # the label: a large first drop, then a rise of more than a tenth but far less than
    # half the drop, while the train loss keeps falling
    drop, rise = v[0] - v[i], v[-1] - v[i]
    assert drop > 1.0 and 0.1 * v[i] < rise < 0.25 * drop
    assert np.median(t[-50:]) < 0.7 * np.median(t[i * 32: i * 32 + 50])
    report = check(TRUST / "overfit-slow-rise")
    f = [f for f in report.findings if f.pattern == "late_overfitting"]
    assert f, [x.message for x in report.findings]
    assert f"step {int(s[i])} ({v[i]:.4g})" in f[0].message


# -- 7. flat loss on short noisy runs -------------------------------------------------------
@pytest.mark.parametrize("name", ["flat-short-a", "flat-short-b"])
def test_case07_flat_loss_on_a_short_noisy_run(name):
    run = diagnose.load(TRUST / name)
    _, v = logged(run, "train/loss")
    _, acc = logged(run, "val/acc")
    # the label: 28 per-batch points, no trend (first and last thirds agree within noise),
    # validation accuracy at chance for 4 classes
    assert len(v) == 28
    assert abs(np.median(v[:9]) - np.median(v[-9:])) < 2 * np.std(v)
    assert abs(acc.mean() - 0.25) < 0.05
    report = check(TRUST / name)
    assert "flat_loss" in patterns(report), [f.message for f in report.findings]


def test_case07_flat_short_b_has_end_points_that_mislead():
    _, v = logged(diagnose.load(TRUST / "flat-short-b"), "train/loss")
    assert abs(v[0] - v[-1]) / v[0] > 0.1  # two end points alone would call it a fall


# -- 8. spikes ---------------------------------------------------------------------------------
def test_case08_every_spike_of_spikes_recover_is_reported_with_the_tallest():
    run = diagnose.load(FIX / "spikes-recover")
    s, v = logged(run, "train/loss")
    before = np.array([np.median(v[max(0, i - 10):i]) if i else v[0] for i in range(len(v))])
    tall = s[(v > 5 * before) & (np.arange(len(v)) > 10)]
    assert list(tall) == [96, 193, 290]  # the README's three spikes, from the log
    tallest = float(np.max((v / before)[np.isin(s, tall)]))
    report = check(FIX / "spikes-recover")
    f = [f for f in report.findings if f.pattern == "loss_spikes"]
    assert f and f[0].message.startswith("3 loss spike(s)")
    assert f[0].steps == (96, 290)
    reported = numbers(f[0].message.split("largest", 1)[1])[0]
    assert abs(reported - tallest) / tallest < 0.35  # judged against the local median


def test_case08_wiggles_of_a_tiny_loss_are_not_spikes():
    run = diagnose.load(TRUST / "tiny-loss-wiggles")
    _, v = logged(run, "train/loss")
    late = v[len(v) // 10:]
    # the label: after the first tenth every wiggle is under a tenth of the first loss,
    # although some are hundreds of times the local level
    assert late.max() < 0.1 * v[0]
    assert late.max() > 100 * np.median(late)
    report = check(TRUST / "tiny-loss-wiggles")
    assert "loss_spikes" not in patterns(report), [f.message for f in report.findings]


def test_case08_a_loss_that_bounces_all_run_is_not_ok_and_its_healthy_neighbour_is():
    fast, calm = TRUST / "bouncing-sgd" / "lr=3", TRUST / "bouncing-sgd" / "lr=1"
    _, vf = logged(diagnose.load(fast), "val/loss")
    _, vc = logged(diagnose.load(calm), "val/loss")
    _, tf = logged(diagnose.load(fast), "train/loss")
    # the label: lr=3 ends with validation twice as bad as lr=1, its train loss jumping by
    # more than ln 2 in the second half
    assert vf[-3:].mean() > 2 * vc[-3:].mean()
    half = tf[len(tf) // 2:]
    assert np.percentile(half, 90) - np.percentile(half, 10) > 0.5 * math.log(2)
    report = check(fast, calm)
    by_id = {r.path: r.id for r in report.runs}
    # it bounces to its end but never runs away: loss spikes, not an explosion
    assert "loss_spikes" in patterns(report, by_id[str(fast)])
    assert "explosion" not in patterns(report, by_id[str(fast)])
    assert not patterns(report, by_id[str(calm)]), [f.message for f in report.for_run(by_id[str(calm)])]
    # the cause is the rate all run long (no spike to warm up to): the advice is its calm
    # neighbour's rate, a third of it, in words and as data
    (f,) = [f for f in report.for_run(by_id[str(fast)]) if f.rule == "DG202"]
    assert "third of the learning rate (lr=1 instead of 3)" in f.next_experiment
    assert [(n["kind"], n["change"]) for n in f.next_run] == [("rerun", {"lr": 1})]


# -- 9. still-improving on a rising curve, and "% lower" ------------------------------------
def test_case09_no_still_improving_when_validation_ends_above_its_lowest():
    run = diagnose.load(TRUST / "adam-lr1")
    _, v = logged(run, "val/loss")
    assert v[-1] > 1.5 * v.min()  # the last evaluation is far above the best one
    report = check(TRUST / "adam-lr1")
    assert "still_improving" not in {f.pattern for f in report.findings}


def test_case09_percent_lower_is_a_share_of_where_the_stretch_started():
    report = check(*[p for p in sorted(FIX.iterdir()) if p.is_dir() and p.name != "formats"])
    seen = 0
    for f in report.findings:
        if f.rule != "DG203":
            continue
        seen += 1
        pct = float(re.search(r"its (?:smoothed value|last logged value|Theil-Sen line through the last 20%, at the last step,) ([-\d.]+)% lower", f.message).group(1))
        assert 0 < pct <= 100, f.message
    assert seen


# -- 10. numbers a user can find in the log ------------------------------------------------
@pytest.mark.parametrize("path", ["trust/gap-final-model", "trust/overfit-slow-rise",
                                  "late-overfitting", "generalization-gap"])
def test_case10_best_step_and_value_are_logged_ones_and_agree_with_sweep(path):
    run = diagnose.load(FIX / path)
    s, v = logged(run, "val/loss")
    i = int(np.argmin(v))
    report = check(FIX / path)
    quoted = [f for f in report.findings if "val_best_step" in f.evidence]
    assert quoted
    for f in quoted:
        assert f.evidence["val_best_step"] == int(s[i]) and f.evidence["val_best"] == float(v[i])
        assert f"{v[i]:.4g}" in f.message
    summary = run_summary(run)  # what sweep, the report and the group rules use
    assert (summary["best_step"], summary["best"]) == (int(s[i]), float(v[i]))


@pytest.mark.parametrize("path", [FIX / "trust/gap-final-model", FIX / "generalization-gap",
                                  ROOT / "bench" / "real-runs" / "w51a-flowers-cls-10ep"])
def test_case10_the_train_loss_quoted_beside_a_gap_is_logged_or_says_how_it_was_read(path):
    """The final train loss DG103 quotes is the one logged at that step, or the message says
    how it was read (smoothed, or the median of the logged points around it in a sparse log:
    a public 10-epoch log quoted 0.9294, its epoch 7, beside epoch 9's 0.5712, unexplained)."""
    run = diagnose.load(path)
    (gap,) = [f for f in check(path).findings if f.rule == "DG103"]
    s, v = logged(run, "train/loss")
    quoted = float(re.search(r"at the final model \(step (\d+)\) val loss \S+(?: \(smoothed \S+\))? vs train (\S+)",
                             gap.message).group(2))
    end = int(re.search(r"at the final model \(step (\d+)\)", gap.message).group(1))
    at = float(v[np.searchsorted(s, end, side="right") - 1])
    if f"{at:.4g}" != f"{quoted:.4g}":
        assert re.search(r"vs train \S+ \((smoothed|the median of \d+ logged train points around it), ", gap.message)


# -- 11. causes from evidence; a diverged run has one finding --------------------------------
def test_case11_uniform_predictions_is_suppressed_on_a_diverged_run():
    report = check(TRUST / "sgd-sweep" / "lr=1.5")
    assert {f.rule for f in report.findings} == {"DG102"}


def test_case11_cause_fits_the_run_when_the_lr_was_too_high():
    run = diagnose.load(TRUST / "sgd-sweep" / "lr=1.5")
    _, v = logged(run, "train/loss")
    assert v.max() > 100 * v[0]  # it blew up before settling at chance
    report = check(TRUST / "sgd-sweep" / "lr=1.5", config=Config(ignore=["DG102"]))
    f = [f for f in report.findings if f.rule == "DG204"]
    assert f, [x.message for x in report.findings]
    assert "too high" in f[0].cause and "so low" not in f[0].cause and "too low" not in f[0].cause


def test_case11_the_next_experiment_follows_the_cause_printed():
    # the blow-up is the cause: the advice lowers the learning rate, in words and as data,
    # instead of sending the user to inspect batches of data that are fine
    report = check(TRUST / "sgd-sweep" / "lr=1.5", config=Config(ignore=["DG102"]))
    (f,) = [f for f in report.findings if f.rule == "DG204"]
    lr = diagnose.load(TRUST / "sgd-sweep" / "lr=1.5").param("lr")
    assert float(lr) == 1.5
    assert "third of the learning rate (lr=0.5 instead of 1.5)" in f.next_experiment
    assert "overfit a single batch" not in f.next_experiment
    assert [(n["kind"], n["change"]) for n in f.next_run] == [("rerun", {"lr": 0.5})]
    # a run that never learned keeps the rule's own advice: look at the data first
    (g,) = [g for g in check(FIX / "flat-loss").findings if g.rule == "DG204"]
    assert "overfit a single batch" in g.next_experiment and [n["kind"] for n in g.next_run] == ["inspect"]


def test_case11_cause_for_a_run_that_never_learned():
    report = check(FIX / "flat-loss")
    f = [f for f in report.findings if f.rule == "DG204"]
    assert f and "Nothing was learned from the start" in f[0].cause


# -- 12. thresholds live in the rule files ------------------------------------------------------
def _literals(node: ast.AST) -> list[float]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)]


def test_case12_rule_conditions_hold_no_literal_but_0_and_1():
    bad = []
    for path in sorted((ROOT / "rules").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        conds = ([data["when"]] + [c["when"] for c in data.get("causes", [])]
                 + list(data.get("terms", {}).values()))
        for c in conds:
            for x in _literals(ast.parse(c, mode="eval")):
                if x not in (0, 1):
                    bad.append(f"{path.name}: {x} in {c}")
    assert not bad, bad


def test_case12_feature_verdicts_hold_no_literal_but_0_and_1():
    bad = []
    for path in sorted((ROOT / "diagnose" / "features").glob("*.py")):
        bad += _literal_verdicts(path.read_text())
    assert not bad, bad


def _literal_verdicts(src: str) -> list[str]:
    """Comparisons with a literal other than 0 and 1 inside features (and run_summary)."""
    bad = []
    for fn in ast.parse(src).body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        is_feature = any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "feature"
                         for d in fn.decorator_list)
        if not (is_feature or fn.name in ("classes", "run_summary")):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Compare):
                for x in _literals(node):
                    if x not in (0, 1):
                        bad.append(f"{fn.name}: {x} in {ast.get_source_segment(src, node)}")
    return bad


def test_case12_every_threshold_a_feature_reads_is_a_documented_bounded_rule_param():
    from diagnose.features import FEATURES, feature_params

    rules = diagnose.load_rules()
    declared = {n: p for r in rules for n, p in r.params.items()}
    wanted = feature_params()
    assert {"spike_z", "spike_min_ratio", "spike_recover_share", "chance_loss_tol",
            "chance_acc_tol", "growth_ratio"} <= wanted
    for name in wanted:
        p = declared[name]
        assert p.doc and p.min is not None and p.max is not None and p.min <= p.default <= p.max
    assert all(set(spec.params) <= set(declared) for spec in FEATURES.values())


def test_case12_a_configured_feature_threshold_changes_the_verdict():
    # spike_min_height is read inside the spike detector: a high bar hides the spikes
    cfg = Config(params={"DG202": {"spike_min_height": 50.0}})
    report = check(FIX / "spikes-recover", config=cfg)
    assert "loss_spikes" not in patterns(report)
    assert "loss_spikes" in patterns(check(FIX / "spikes-recover"))


def test_nan_in_a_quantity_no_rule_judges_is_not_a_nonfinite_error():
    """A public Lightning TensorBoard log whose ``avg_val_projected_errors`` holds NaN while
    the loss curves are finite: DG201 spoke of a numerical fault in training."""
    path = ROOT / "bench" / "real-runs" / "tb-macchinine-long"
    run = diagnose.load_all(path)[0]
    _, other = run.arrays("avg_val_projected_errors")
    assert not np.isfinite(other).all()
    assert all(np.isfinite(run.arrays(m)[1]).all() for m in ("train/loss", "val/loss"))
    assert "nonfinite" not in patterns(check(path))


def test_a_spike_in_the_validation_loss_is_found_and_a_smooth_one_is_not():
    """Case 8 for validation: a public Keras log whose val_loss jumps 1.44 -> 7.42 -> 1.29
    over three epochs got "All checks passed" (the spike detector read the train loss only)."""
    path = ROOT / "bench" / "real-runs" / "k-emotion-detection-resnet"
    run = diagnose.load_all(path)[0]
    _, v = run.arrays("val/loss")
    assert v[1] > 2 * v[0] and v[2] < v[0]  # the jump and the return, from the log itself
    report = check(path)
    assert "loss_spikes" in patterns(report)
    assert any(f.rule == "DG207" for f in report.findings)


def test_a_detector_loss_far_above_ln_k_that_keeps_falling_is_not_an_explosion():
    """A public YOLOv3 Lightning log (num_classes=20 in its hparams, but the loss is the sum of
    box, objectness and class terms): train loss 45.9 -> 3.4, still falling at the end, was
    called diverged because its first value is 15x ln 20 and its end above ln 20."""
    path = ROOT / "bench" / "real-runs" / "yolov3-v4"
    run = diagnose.load_all(path)[0]
    s, v = logged(run, "train/loss")
    tail = v[s >= s[-1] - (s[-1] - s[0]) / 5]
    assert v[0] > 10 * math.log(20) and v[-1] < v[0] / 10  # from the log itself
    assert np.median(tail[: len(tail) // 2]) > np.median(tail[len(tail) // 2:])  # still falling
    assert "explosion" not in patterns(check(path))
