"""Group features: measurements over a seed group, a sweep or a mixed group.

The rules in ``rules/DG3*.toml`` judge them. They read the per-run summaries the
engine computed (never raw curves when a summary is there) and the layout
:mod:`diagnose.grouping` found.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..findings import Group
from ..grouping import Layout, Setting, num, run_seed, settings_of
from ..run import Run, canonical_name, counterpart, finite, infer_mode, is_number, is_train_metric
from ._registry import GroupContext, group_feature
from ._summary import nice, run_summary

#: Neighbours closer than this ratio count as a local (refined) search on a log axis.
_LOCAL_RATIO = 3.5
#: Seeds the chapter asks for before a result is trusted.
MIN_SEEDS = 3


def metric_scale(values: Sequence[float], mode: str) -> float | None:
    """How far the metric is from its ideal: the yardstick for "a large spread".

    Losses (minimised) are judged against their own size; bounded scores
    (maximised, within 0..1 like accuracy) against the remaining error, 1 - mean.
    """
    if not values:
        return None
    mean = float(np.mean(values))
    if mode == "max" and all(0.0 <= v <= 1.0 for v in values):
        return max(1.0 - mean, 1e-3)
    return abs(mean) if mean else None


# ---------------------------------------------------------------------------------------
# group features (judged by rules/DG3*.toml)
# ---------------------------------------------------------------------------------------
def _summaries(ctx: GroupContext) -> dict[str, dict[str, Any]]:
    """Per-run summaries of the group's runs (computed here when the caller gave none)."""
    if "summaries" not in ctx._cache:
        out = {}
        for r in ctx.runs:
            s = ctx.summaries.get(r.id)
            out[r.id] = dict(s) if s is not None else run_summary(r, ctx.metric, ctx.mode)
        ctx._cache["summaries"] = out
    return ctx._cache["summaries"]


def _group_label(group: Group) -> str:
    return group.id.split(":", 1)[1] if ":" in group.id else group.id


@group_feature("val_metric", "members", "setting")
def group_info(ctx: GroupContext) -> dict[str, Any]:
    """Names for messages: the validation metric, the member runs, the setting label."""
    return {"val_metric": ctx.metric, "members": ", ".join(r.id for r in ctx.runs),
            "setting": _group_label(ctx.group)}


#: The accuracy-like metric whose spread, in points, tells whether seeds disagree.
ACC = "val/acc"


@group_feature("gain", "spread_gain", "n_blown", "has_acc", "acc_spread_pts", "acc_min", "acc_max")
def seed_spread_scale(ctx: GroupContext) -> dict[str, Any]:
    """The seeds' spread against what training achieved, and in accuracy points.

    ``gain``: the mean improvement of the metric from its first evaluation to its best;
    ``spread_gain``: the range of the seeds' best values over ``gain`` (0.04 of a 0.9
    improvement is 0.04; one seed that never learned is about 1). Final values are not
    compared this way: seeds that overfit end far apart in loss while agreeing in
    accuracy; ``n_blown`` counts the seeds that blew up by the end (a loss ending above
    twice its first evaluation, a score ending below its first), the final-value sign;
    ``acc_spread_pts``: the range of the seeds' final ``val/acc`` in percentage points
    (when an accuracy is logged, 0..1 or 0..100).
    """
    sums = _summaries(ctx)
    gains = [abs(float(s["first"]) - float(s["best"])) for s in sums.values()
             if finite(s.get("first")) and finite(s.get("best"))]
    out: dict[str, Any] = {"has_acc": 0.0}
    spread = seed_spread(ctx).get("spread")
    if gains and spread is not None:
        gain = float(np.mean(gains))
        out["gain"] = gain
        out["spread_gain"] = spread / gain if gain > 0 else math.inf
    def blown(s: dict[str, Any]) -> bool:
        f, first = s.get("final"), s.get("first")
        if not (finite(f) and finite(first)):
            return bool(s.get("ends_nonfinite"))
        return f > 2 * abs(first) if ctx.mode == "min" else f < first

    out["n_blown"] = sum(1 for s in sums.values() if blown(s))
    accs = []
    for r in ctx.runs:
        s = sums[r.id] if ctx.metric == ACC else _summary_for(ctx, r, ACC, "max")
        if finite(s.get("final")):
            accs.append(float(s["final"]))
    if len(accs) >= 2:
        scale = 100.0 if max(accs) <= 1.0 else 1.0
        out.update(has_acc=1.0, acc_spread_pts=(max(accs) - min(accs)) * scale,
                   acc_min=min(accs) * scale,
                   acc_max=max(accs) * scale)
    return out


@group_feature("n_seeds", "best_mean", "best_std", "best_min", "best_max", "spread",
               "final_mean", "final_std", "final_min", "final_max", "final_spread",
               "spread_rel", "n_failed")
def seed_spread(ctx: GroupContext) -> dict[str, Any]:
    """Mean ± std and range of the best and final validation metric across the group's seeds.

    ``spread_rel`` is the larger of the two ranges over the metric's scale
    (:func:`metric_scale` of the best values), so one threshold fits losses and
    accuracies, and seeds that agree on an early best but end far apart count.
    ``n_failed`` counts seeds with an error finding (divergence, NaN).
    """
    sums = _summaries(ctx)
    best = [float(s["best"]) for s in sums.values() if finite(s.get("best"))]
    final = [float(s["final"]) for s in sums.values() if finite(s.get("final"))]
    seeds = {run_seed(r) for r in ctx.runs}
    out: dict[str, Any] = {"n_seeds": len(seeds - {None}) or len(ctx.runs),
                           "n_failed": sum(1 for s in sums.values() if s.get("errors"))}
    scale = metric_scale(best, ctx.mode)
    rel = []
    for name, vals in (("best", best), ("final", final)):
        if len(vals) < 2:
            continue
        spread = max(vals) - min(vals)
        out.update({f"{name}_mean": float(np.mean(vals)), f"{name}_std": float(np.std(vals, ddof=1)),
                    f"{name}_min": min(vals), f"{name}_max": max(vals),
                    "spread" if name == "best" else "final_spread": spread})
        if scale:
            rel.append(spread / scale)
    out["spread_rel"] = max(rel) if rel else None
    return out


def _sweep_settings(ctx: GroupContext) -> list[Setting]:
    if "settings" not in ctx._cache:
        keys = [ctx.group.param] if ctx.group.param else list(ctx.group.varying)
        keys = [k for k in keys if k != "seed"]
        ctx._cache["settings"] = settings_of(ctx.runs, _summaries(ctx), keys, ctx.mode, ctx.at)
    return ctx._cache["settings"]


def selectable(settings: Sequence[Setting]) -> list[Setting]:
    """The settings a selection may pick, best first: a finite value and no diverged run."""
    return [s for s in settings if s.score is not None and not s.diverged]


@group_feature("swept", "n_settings", "best_setting", "best_score", "best_n_seeds",
               "best_run", "runner_up", "runner_up_score", "gap", "gap_rel", "seed_spread_top",
               "spread_vs_gap")
def sweep_ranking(ctx: GroupContext) -> dict[str, Any]:
    """The best setting of a sweep (mean over its seeds), the runner-up and how far apart.

    ``spread_vs_gap`` is the largest seed range of the two over the gap between
    their means: above 1, reseeding alone could swap them.
    """
    sts = selectable(_sweep_settings(ctx))
    out: dict[str, Any] = {"swept": ctx.group.param or ", ".join(ctx.group.varying),
                           "n_settings": len(_sweep_settings(ctx))}
    if not sts:
        return out
    best = sts[0]
    sums = _summaries(ctx)
    sign = 1.0 if ctx.mode == "min" else -1.0
    best_run = min(best.runs, key=lambda r: sign * float(sums[r.id][ctx.at])
                   if finite(sums[r.id].get(ctx.at)) else math.inf)
    out.update(best_setting=best.label, best_score=best.score, best_n_seeds=best.n,
               best_run=best_run.id)
    if len(sts) >= 2:
        second = sts[1]
        gap = abs(best.score - second.score)
        scale = metric_scale([best.score, second.score], ctx.mode)
        out.update(runner_up=second.label, runner_up_score=second.score, gap=gap,
                   gap_rel=gap / scale if scale else None)
        spreads = [s.spread for s in (best, second) if s.spread is not None]
        if len(spreads) == 2:
            out["seed_spread_top"] = max(spreads)
            out["spread_vs_gap"] = max(spreads) / gap if gap > 0 else math.inf
    return out


def edge_info(values: Sequence[Any], best: Any, failed: Sequence[Any] = ()) -> dict[str, Any]:
    """Whether ``best`` is the lowest or highest of the numeric ``values`` tried, and what lies beyond.

    On a log-spaced range (positive values spanning at least 10x) the next value
    is one typical ratio further; otherwise one typical step. A best of 0 at the
    lower edge is a natural bound (no weight decay, no dropout), not an edge.
    ``failed``: values whose runs diverged. A best next to one is not at an edge: the
    range is bounded there, and ``refine`` is the value between (lr=3 between 1 and 10).
    """
    bad = sorted({float(v) for v in failed if is_number(v) and math.isfinite(float(v))})
    if bad and is_number(best):
        b = float(best)
        above = [v for v in bad if v > b]
        below = [v for v in bad if v < b]
        ok = [float(v) for v in values if is_number(v) and float(v) not in bad]
        if above and not [v for v in ok if b < v < above[0]] and b == max(ok, default=b):
            out = edge_info([v for v in values if v not in bad], best)
            out.update(best_at_edge=0.0, bounded_by=above[0], refine=_between(b, above[0]))
            return out
        if below and not [v for v in ok if below[-1] < v < b] and b == min(ok, default=b):
            out = edge_info([v for v in values if v not in bad], best)
            out.update(best_at_edge=0.0, bounded_by=below[-1], refine=_between(below[-1], b))
            return out
    nums = sorted({float(v) for v in values if is_number(v) and math.isfinite(float(v))})
    out: dict[str, Any] = {"n_values": len(nums)}
    if len(nums) < 2 or not is_number(best):
        return out
    b = float(best)
    log = nums[0] > 0 and nums[-1] / nums[0] >= 10
    out.update(range_lo=nums[0], range_hi=nums[-1], log_spaced=float(log))
    if log:
        step = (nums[-1] / nums[0]) ** (1 / (len(nums) - 1))
        ratios = [hi / lo for lo, hi in zip(nums, nums[1:])]
        i = nums.index(b) if b in nums else None
        near = [ratios[j] for j in (i - 1, i) if i is not None and 0 <= j < len(ratios)]
        out["local"] = float(bool(near) and max(near) <= _LOCAL_RATIO and len(near) == 2)
    else:
        step = (nums[-1] - nums[0]) / (len(nums) - 1)
        out["local"] = 1.0
    at_low, at_high = b == nums[0], b == nums[-1]
    edge = "highest" if at_high else ("lowest" if at_low else None)
    if at_low and b == 0:
        edge = None
    out["best_at_edge"] = float(edge is not None)
    if edge:
        out["edge"] = edge
        if log:
            beyond = nice(b * step) if at_high else nice(b / step)
        else:
            beyond = b + step if at_high else b - step
            if beyond < 0 <= nums[0]:
                beyond = None
        out["beyond"] = beyond
    return out


def _between(lo: float, hi: float) -> float:
    """A value people would type between ``lo`` and ``hi`` (geometric mean on a log range)."""
    mid = math.sqrt(lo * hi) if lo > 0 and hi / lo >= 3 else (lo + hi) / 2
    return nice(mid)


@group_feature("n_values", "range_lo", "range_hi", "log_spaced", "local", "best_at_edge",
               "edge", "best_value", "beyond", "bounded_by", "refine")
def sweep_edge(ctx: GroupContext) -> dict[str, Any]:
    """Where the best value of the swept param sits in the range tried (edge or inside).

    A diverged value bounds the range: the best next to it is not at an edge.
    """
    sts = selectable(_sweep_settings(ctx))
    p = ctx.group.param
    if not p or not sts:
        return {}
    best = sts[0].params.get(p)
    out = edge_info([s.params.get(p) for s in _sweep_settings(ctx)], best,
                    [s.params.get(p) for s in _sweep_settings(ctx) if s.diverged])
    out["best_value"] = best if is_number(best) else None
    return out


def longer_budget(last_step: int | None) -> int | None:
    """Twice a run's budget, rounded as people would write it (18 -> 20, 80 -> 80)."""
    return int(nice(2.0 * last_step)) if last_step else None


@group_feature("best_still_improving", "best_last_step", "longer_budget")
def sweep_budget(ctx: GroupContext) -> dict[str, Any]:
    """Whether the best run was still improving when its budget ran out."""
    rank = sweep_ranking(ctx)
    run_id = rank.get("best_run")
    if run_id is None:
        return {}
    s = _summaries(ctx)[run_id]
    last = s.get("last_step")
    imp = s.get("still_improving")
    return {"best_still_improving": None if imp is None else float(bool(imp)),
            "best_last_step": last, "longer_budget": longer_budget(last)}


@group_feature("time_lo", "time_hi", "time_ratio", "best_time", "mem_lo", "mem_hi",
               "mem_ratio", "best_mem")
def sweep_cost(ctx: GroupContext) -> dict[str, Any]:
    """The spread of train time and peak memory across the group's runs, and the best run's."""
    sums = _summaries(ctx)
    best_id = sweep_ranking(ctx).get("best_run")
    out: dict[str, Any] = {}
    for key, name in (("train_time", "time"), ("peak_memory", "mem")):
        vals = {rid: float(s[key]) for rid, s in sums.items() if finite(s.get(key)) and s[key] > 0}
        if len(vals) < 2:
            continue
        lo, hi = min(vals.values()), max(vals.values())
        out.update({f"{name}_lo": lo, f"{name}_hi": hi, f"{name}_ratio": hi / lo,
                    f"best_{name}": vals.get(best_id)})
    return out


@group_feature("n_varying", "varying", "first_knob", "n_configs", "n_confounded", "confounded")
def knob_changes(ctx: GroupContext) -> dict[str, Any]:
    """How many knobs vary among compared runs, and which settings have no one-knob neighbour.

    A setting whose every neighbour differs in two or more knobs cannot tell
    which change mattered ("confounded"); a full grid has none.
    """
    lay = Layout.of(ctx.runs)
    configs = list(lay.configs())
    confounded = [lay.label(dict(zip(lay.varying, a))) for a in lay.confounded()]
    return {"n_varying": len(lay.varying), "varying": ", ".join(lay.varying),
            "first_knob": lay.varying[0] if lay.varying else None, "n_configs": len(configs),
            "n_confounded": len(confounded),
            # a readable message: the first few settings, then a count
            "confounded": "; ".join(confounded[:3])
            + (f"; and {len(confounded) - 3} more" if len(confounded) > 3 else "")}

def summary_specs(metric: str, mode: str, by: str | None) -> list[tuple[str, str]]:
    """The ``(metric, mode)`` summaries :func:`selection_metric` reads besides the main one.

    The engine has each run summarise these where it is analysed, so group rules
    work on runs whose curves were not kept (parallel checks).
    """
    by = canonical_name(by or metric)
    acc = [] if metric == ACC else [(ACC, "max")]  # seed spread in accuracy points
    if not is_train_metric(by):
        return acc
    specs = [(by, mode if metric == by else infer_mode(by))] + acc
    vals = ["val/" + by.split("/", 1)[1], "val/loss"] if is_train_metric(metric) else [metric]
    specs += [(v, mode if v == metric else infer_mode(v)) for v in vals]
    return list(dict.fromkeys(specs))


def _summary_for(ctx: GroupContext, run: Run, metric: str, mode: str) -> dict[str, Any]:
    """A run's summary of ``metric``: the one its analysis made, else computed from its curves."""
    got = ((ctx.summaries.get(run.id) or {}).get("other") or {}).get(f"{metric}|{mode}")
    return got if got is not None else run_summary(run, metric, mode)


@group_feature("by_is_train", "by_metric", "by_pick", "val_pick", "same_pick")
def selection_metric(ctx: GroupContext) -> dict[str, Any]:
    """Which setting a training metric picks (when asked to select by one) and which the validation metric picks."""
    by = canonical_name(ctx.by or ctx.metric)
    out: dict[str, Any] = {"by_metric": by, "by_is_train": float(is_train_metric(by))}
    if not out["by_is_train"]:
        return out
    keys = [ctx.group.param] if ctx.group.param else [k for k in ctx.group.varying if k != "seed"]
    by_mode = ctx.mode if ctx.metric == by else infer_mode(by)
    by_sums = {r.id: _summary_for(ctx, r, by, by_mode) for r in ctx.runs}
    picks = [s for s in settings_of(ctx.runs, by_sums, keys, by_mode) if s.score is not None]
    out["by_pick"] = picks[0].label if picks else None
    val = counterpart(by, ctx.runs) if is_train_metric(ctx.metric) else ctx.metric
    if val:
        val_mode = ctx.mode if val == ctx.metric else infer_mode(val)
        sums = {r.id: _summary_for(ctx, r, val, val_mode) for r in ctx.runs}
        vpicks = [s for s in settings_of(ctx.runs, sums, keys, val_mode) if s.score is not None]
        if vpicks:
            out["val_pick"] = f"{vpicks[0].label} ({val} {num(vpicks[0].score)})"
            out["same_pick"] = float(bool(picks) and vpicks[0].label == picks[0].label)
    return out
