"""Across runs: seed groups, sweeps, the decision card and the next experiment.

The chapter's advice is about sequences of experiments: change one knob at a
time, select by the validation metric, repeat the winner with several seeds,
search coarsely first and refine locally later. This module reads that
structure off the runs' params (any reader), measures it with group features
(the rules in ``rules/DG3*.toml`` judge them) and turns a set of runs into an
experiment table, one decision and one next experiment.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import functools
import html
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .features import GroupContext, group_feature, nice, run_summary
from .findings import Finding, Group, json_number
from .run import PARAM_FIELDS, Run, canonical_name, finite, is_number

__all__ = [
    "Setting",
    "SweepResult",
    "group_runs",
    "infer_mode",
    "sweep",
    "tuning_stage",
]

#: Param names that hold the random seed (they split runs into seed groups, not settings).
SEED_KEYS = ("seed", "random_seed", "rng_seed", "training_seed", "seed_everything")

#: Params that locate or label a run rather than configure it: never a "changed knob".
_BOOKKEEPING = {
    "output_dir", "logging_dir", "log_dir", "logdir", "save_dir", "run_name", "name", "run_id",
    "id", "experiment_name", "experiment_id", "project", "entity", "group", "notes", "tags",
    "timestamp", "date", "time", "hostname", "host", "device", "devices", "num_workers",
    "dataloader_num_workers", "logging_steps", "save_steps", "eval_steps", "save_total_limit",
    "report_to", "push_to_hub", "hub_model_id", "overwrite_output_dir", "resume_from_checkpoint",
    "code_version", "data_version", "version", "git_sha", "commit",
}

#: The chapter's tuning order: (stage title, param-name pattern). Unknown params come last.
TUNING_ORDER: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (title, re.compile(r"(^|[_./])(" + pat + r")$", re.I))
    for title, pat in (
        ("learning rate", r"lr|learning_rate|base_lr|max_lr|lr0|init_lr|eta"),
        ("batch size", r"batch_size|bs|batch|gradient_accumulation_steps"),
        ("epochs / early stopping",
         r"epochs|max_epochs|num_train_epochs|n_epochs|max_steps|steps|num_steps|n_steps"
         r"|patience|early_stopping\w*|budget"),
        ("weight decay / dropout",
         r"weight_decay|wd|l2|decay|\w*dropout\w*|label_smoothing|augment\w*|mixup\w*"),
        ("architecture",
         r"hidden\w*|width|depth|\w*layers?|n_layer|d_model|n_embd|n_head|\w*heads|model\w*"
         r"|arch\w*|channels|units|\w*_dim|\w*_size|\w*_units"),
        ("optimizer details",
         r"optimizer|optim|name|momentum|beta\w*|betas|eps|epsilon|adam_\w*|warmup\w*"
         r"|\w*scheduler\w*|schedule|gamma|\w*clip\w*|clipnorm|max_grad_norm|nesterov"),
    )
)
_OTHER_STAGE = len(TUNING_ORDER)

_MAX_METRICS = re.compile(r"acc|f1|auc|precision|recall|score|bleu|rouge|iou|dice|map|r2|top\d",
                          re.I)

#: Neighbours closer than this ratio count as a local (refined) search on a log axis.
_LOCAL_RATIO = 3.5
#: Seeds the chapter asks for before a result is trusted.
MIN_SEEDS = 3


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------
def infer_mode(metric: str) -> str:
    """``max`` for accuracy-like metrics (acc, f1, auc, bleu, ...), else ``min``."""
    return "max" if _MAX_METRICS.search(metric.rsplit("/", 1)[-1]) else "min"


def tuning_stage(param: str) -> int:
    """Position of a param in the chapter's tuning order (unknown params last)."""
    if re.search(r"warmup|schedul", param, re.I):  # warmup_steps is not a budget
        return len(TUNING_ORDER) - 1
    for i, (_, pat) in enumerate(TUNING_ORDER):
        if pat.search(param):
            return i
    return _OTHER_STAGE


def fmt(v: Any) -> str:
    """A param value as people write it: ``0.001``, ``1``, ``SGD``."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return str(v)


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float):
        return f"{x:.{digits}f}" if 1e-3 <= abs(x) < 1e4 or x == 0 else f"{x:.{digits}g}"
    return str(x)


def _hashable(v: Any) -> Any:
    """Param values as comparable keys: floats rounded to 12 digits, lists as tuples."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    t = type(v)
    if (t is float or t is int) and v == v:  # a sweep repeats a few values over many runs
        got = _HASHABLE.get((t, v))
        if got is None:
            got = _hashable_number(v)
            if len(_HASHABLE) < 100_000:
                _HASHABLE[t, v] = got
        return got
    if is_number(v):
        return _hashable_number(v)
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


#: (type, value) -> ``_hashable`` of a float or int param (bounded).
_HASHABLE: dict[tuple[type, Any], Any] = {}


def _hashable_number(v: Any) -> Any:
    f = float(v)
    if not math.isfinite(f):
        return f
    r = float(f"{f:.12g}")
    return int(r) if r.is_integer() and isinstance(v, (int, np.integer)) else r


def _sort_key(v: Any) -> tuple:
    """Numbers before strings, numbers numerically; None first."""
    if v is None:
        return (0, 0.0, "")
    if is_number(v):
        return (1, float(v), "")
    return (2, 0.0, str(v))


def _parse_value(text: str) -> Any:
    """A value read from a path: int, float, bool or the string itself."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        f = float(t)
        return f if math.isfinite(f) else t
    except ValueError:
        return t


@functools.lru_cache(maxsize=4096)
def _is_bookkeeping(key: str) -> bool:
    k = key.lower()
    if k in _BOOKKEEPING:
        return True
    return k.endswith(("_dir", "_path", "_file")) and "model" not in k


def run_seed(run: Run) -> Any:
    """The run's seed, from params or identity, under any of the usual names."""
    for k in SEED_KEYS:
        v = run.param(k)
        if v is not None:
            return _hashable(v)
    return None


# ---------------------------------------------------------------------------------------
# --group-by patterns
# ---------------------------------------------------------------------------------------
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A ``--group-by`` pattern as a regex over a run's path.

    Either a regex with named groups (``(?P<lr>[^/]+)``) or a glob whose
    ``name=*`` and ``{name}`` pieces capture the value of ``name`` (``lr=*/seed=*``);
    a bare ``*`` matches within one path segment, ``**`` across segments.
    """
    if "(?P<" in pattern:
        try:
            return re.compile(pattern)
        except re.error as e:
            raise ValueError(f"--group-by {pattern!r}: not a valid regex ({e})") from None
    out, i = [], 0
    token = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)=\*|\{([A-Za-z_][A-Za-z0-9_]*)\}|\*\*|\*")
    names: list[str] = []
    for m in token.finditer(pattern):
        out.append(re.escape(pattern[i:m.start()]))
        if m.group(1):
            name = m.group(1)
            out.append(re.escape(name) + "=" + _capture(name, names))
        elif m.group(2):
            out.append(_capture(m.group(2), names))
        else:
            out.append(".*" if m.group(0) == "**" else "[^/]*")
        i = m.end()
    out.append(re.escape(pattern[i:]))
    if not names:
        raise ValueError(
            f"--group-by {pattern!r} names no field: use name=* pieces (lr=*/seed=*) "
            "or a regex with named groups ((?P<lr>[^/]+))"
        )
    return re.compile("(?:^|/)" + "".join(out) + "(?:/|$)")


def _capture(name: str, names: list[str]) -> str:
    group = re.sub(r"\W", "_", name)
    if group in names:
        return f"(?P={group})"
    names.append(group)
    return f"(?P<{group}>[^/]*?)"


_KV_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)=([^,/=]+)")


def params_from_path(path: str | None, patterns: Sequence[re.Pattern[str]] = ()) -> dict[str, Any]:
    """Params spelled in a run's path: by the given patterns, else every ``key=value`` piece."""
    if not path:
        return {}
    posix = PurePath(path).as_posix()
    for pat in patterns:
        m = pat.search(posix)
        if m:
            return {k: _parse_value(v) for k, v in m.groupdict().items() if v is not None}
    if patterns:
        return {}
    out: dict[str, Any] = {}
    for seg in posix.split("/"):
        for m in _KV_SEGMENT.finditer(seg):
            out[m.group(1)] = _parse_value(m.group(2))
    return out


# ---------------------------------------------------------------------------------------
# grouping
# ---------------------------------------------------------------------------------------
@dataclass
class Layout:
    """How a set of runs is organised: settings (params without the seed) and seeds."""

    runs: list[Run]
    settings: list[dict[str, Any]]  # per run: comparable params, seed excluded
    seeds: list[Any]
    keys: list[str]  # every setting param seen, tuning order first
    varying: list[str]  # keys with more than one value
    ungrouped: list[Run] = field(default_factory=list)

    @classmethod
    def of(cls, runs: Sequence[Run], group_by: str | Sequence[str] | None = None) -> "Layout":
        cache = _LAYOUTS.get()
        if cache is None:
            return cls._of(runs, group_by)
        key = (frozenset(map(id, runs)), tuple(_as_list(group_by)))
        lay = cache.get(key)
        if lay is None:
            lay = cache[key] = cls._of(runs, group_by)
            # the runs it compares give the same layout: a mixed group asks for that one
            cache.setdefault((frozenset(map(id, lay.runs)), key[1]), lay)
        return lay

    @classmethod
    def _of(cls, runs: Sequence[Run], group_by: str | Sequence[str] | None = None) -> "Layout":
        patterns = [compile_pattern(p) for p in _as_list(group_by)]
        kept: list[Run] = []
        settings: list[dict[str, Any]] = []
        seeds: list[Any] = []
        ungrouped: list[Run] = []
        for run in runs:
            from_path = params_from_path(run.path, patterns) if (patterns or not run.params) else {}
            for k, v in from_path.items():
                run.params.setdefault(k, v)
            source = from_path if patterns else run.params
            if patterns and not from_path:
                source = run.params  # not matched: fall back to its own params
            s = {k: _hashable(v) for k, v in source.items()
                 if k not in SEED_KEYS and not _is_bookkeeping(k)}
            seed = run_seed(run)
            if not s and seed is None:
                ungrouped.append(run)
                continue
            kept.append(run)
            settings.append(s)
            seeds.append(seed)
        keys = sorted({k for s in settings for k in s}, key=lambda k: (tuning_stage(k), k))
        varying = [k for k in keys if len({s.get(k) for s in settings}) > 1]
        return cls(kept, settings, seeds, keys, varying, ungrouped)

    def key(self, i: int, keys: Sequence[str] | None = None) -> tuple:
        s = self.settings[i]
        return tuple(s.get(k) for k in (self.varying if keys is None else keys))

    def label(self, values: Mapping[str, Any], i: int | None = None) -> str:
        """``lr=0.1, batch_size=32`` from the values that vary (None left out).

        When nothing varies, run ``i``'s first two params in tuning order name it.
        """
        text = ", ".join(f"{k}={fmt(v)}" for k, v in values.items() if v is not None)
        if not text and i is not None:
            s = self.settings[i]
            text = ", ".join([f"{k}={fmt(s[k])}" for k in self.keys if s.get(k) is not None][:2])
        return text or "these runs"

    def order(self, idx: Iterable[int]) -> list[int]:
        keys = self.__dict__.get("_order_keys")
        if keys is None:  # computed once: grouping sorts the same runs many times
            keys = self.__dict__["_order_keys"] = [
                (tuple(_sort_key(v) for v in self.key(i)), _sort_key(self.seeds[i]))
                for i in range(len(self.runs))]
        return sorted(idx, key=keys.__getitem__)

    def configs(self) -> dict[tuple, list[int]]:
        """Setting key (values of the varying params) -> run indices, in order."""
        if "_configs" in self.__dict__:
            return dict(self.__dict__["_configs"])
        out: dict[tuple, list[int]] = {}
        for i in self.order(range(len(self.runs))):
            out.setdefault(self.key(i), []).append(i)
        self.__dict__["_configs"] = dict(
            sorted(out.items(), key=lambda kv: tuple(_sort_key(v) for v in kv[0])))
        return dict(self.__dict__["_configs"])

    def groups(self) -> list[Group]:
        out: list[Group] = []
        ids = [r.id for r in self.runs]
        configs = self.configs()
        for key, idx in configs.items():
            if len({self.seeds[i] for i in idx if self.seeds[i] is not None}) >= 2:
                label = self.label(dict(zip(self.varying, key)), idx[0])
                out.append(Group(f"seeds:{label}", "seeds", [ids[i] for i in idx], ["seed"]))
        for p in self.varying:
            others = [k for k in self.varying if k != p]
            clusters: dict[tuple, list[int]] = {}
            for key, idx in configs.items():
                ctx = tuple(v for k, v in zip(self.varying, key) if k != p)
                clusters.setdefault(ctx, []).extend(idx)
            for ctx, idx in clusters.items():
                if len({self.settings[i].get(p) for i in idx}) < 2:
                    continue
                idx = self.order(idx)
                where = self.label(dict(zip(others, ctx))) if others else ""
                gid = f"sweep:{p}" + (f" @ {where}" if where else "")
                seeds_inside = len({self.seeds[i] for i in idx}) > 1
                out.append(Group(gid, "sweep", [ids[i] for i in idx],
                                 [p] + (["seed"] if seeds_inside else []), param=p))
        # A mixed group compares runs of one family: every run sets every varying knob.
        # Runs that do not even share their params (different projects in one folder)
        # are not an experiment, and telling them "one knob at a time" would be noise.
        same_family = all(self.settings[i].get(k) is not None
                          for i in range(len(self.runs)) for k in self.varying)
        if len(self.varying) >= 2 and same_family:
            idx = self.order(range(len(self.runs)))
            out.append(Group("mixed:" + ",".join(self.varying), "mixed", [ids[i] for i in idx],
                             list(self.varying)))
        return out


#: Layouts already worked out during one check (see :func:`layouts_shared`); None outside.
_LAYOUTS: contextvars.ContextVar[dict[tuple, Layout] | None] = contextvars.ContextVar(
    "diagnose_layouts", default=None)


@contextlib.contextmanager
def layouts_shared() -> Iterator[None]:
    """Within one check, grouping and the group rules work out each layout once.

    Only while the runs cannot change under it: the cache lives for the ``with`` block.
    """
    token = _LAYOUTS.set({})
    try:
        yield
    finally:
        _LAYOUTS.reset(token)


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else [p for p in x if p]


def group_runs(runs: Sequence[Run], group_by: str | Sequence[str] | None = None) -> list[Group]:
    """Seed groups, one-knob sweeps and (when several knobs vary) one mixed group.

    Runs differing only in seed form a ``seeds`` group; runs differing in exactly
    one other param form a ``sweep`` over it (seeds inside or not); when two or
    more params vary, all compared runs also form a ``mixed`` group whose
    ``varying`` lists them. ``group_by`` patterns on paths (``lr=*/seed=*`` or a
    regex with named groups) name the fields to compare: a run whose path matches
    is compared on those fields only. Runs without params and without a pattern
    are read from ``key=value`` pieces of their paths. Values found in paths fill
    missing ``run.params``, so tables and rules see them.
    """
    return Layout.of(runs, group_by).groups()


# ---------------------------------------------------------------------------------------
# settings: runs sharing params, their seeds pooled
# ---------------------------------------------------------------------------------------
@dataclass
class Setting:
    """One setting of the compared params, with its seeds' best and final values."""

    params: dict[str, Any]
    runs: list[Run]
    best: list[float]  # finite per-run best values (seeds)
    final: list[float]
    best_steps: list[int | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={fmt(v)}" for k, v in self.params.items()) or "all runs"

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def score(self) -> float | None:
        return float(np.mean(self.best)) if self.best else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.best, ddof=1)) if len(self.best) >= 2 else None

    @property
    def spread(self) -> float | None:
        return float(max(self.best) - min(self.best)) if len(self.best) >= 2 else None

    def mean_std(self, digits: int = 3) -> str:
        if self.score is None:
            return "no finite value"
        if self.std is None:
            return _num(self.score, digits)
        return f"{_num(self.score, digits)} ± {_num(self.std, digits)}"


def settings_of(
    runs: Sequence[Run],
    summaries: Mapping[str, Mapping[str, Any]],
    keys: Sequence[str],
    mode: str,
    value: str = "best",
) -> list[Setting]:
    """Pool runs by the values of ``keys`` and rank the settings, best first.

    ``value`` is the per-run number compared: ``best`` (best over steps) or
    ``final``. Settings without any finite value rank last.
    """
    by_key: dict[tuple, Setting] = {}
    for run in runs:
        params = {k: _hashable(run.param(k)) for k in keys}
        key = tuple(params.values())
        st = by_key.get(key)
        if st is None:
            st = by_key[key] = Setting(params, [], [], [])
        st.runs.append(run)
        s = summaries.get(run.id) or {}
        if finite(s.get(value)):
            st.best.append(float(s[value]))
            st.best_steps.append(s.get("best_step" if value == "best" else "final_step"))
        if finite(s.get("final")):
            st.final.append(float(s["final"]))
    sign = 1.0 if mode == "min" else -1.0
    return sorted(
        by_key.values(),
        key=lambda st: (st.score is None, sign * st.score if st.score is not None else 0.0,
                        tuple(_sort_key(v) for v in st.params.values())),
    )


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
        ctx._cache["settings"] = settings_of(ctx.runs, _summaries(ctx), keys, ctx.mode)
    return ctx._cache["settings"]


@group_feature("swept", "n_settings", "best_setting", "best_score", "best_n_seeds",
               "best_run", "runner_up", "runner_up_score", "gap", "gap_rel", "seed_spread_top",
               "spread_vs_gap")
def sweep_ranking(ctx: GroupContext) -> dict[str, Any]:
    """The best setting of a sweep (mean over its seeds), the runner-up and how far apart.

    ``spread_vs_gap`` is the largest seed range of the two over the gap between
    their means: above 1, reseeding alone could swap them.
    """
    sts = [s for s in _sweep_settings(ctx) if s.score is not None]
    out: dict[str, Any] = {"swept": ctx.group.param or ", ".join(ctx.group.varying),
                           "n_settings": len(_sweep_settings(ctx))}
    if not sts:
        return out
    best = sts[0]
    sums = _summaries(ctx)
    sign = 1.0 if ctx.mode == "min" else -1.0
    best_run = min(best.runs, key=lambda r: sign * float(sums[r.id]["best"])
                   if finite(sums[r.id].get("best")) else math.inf)
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


def edge_info(values: Sequence[Any], best: Any) -> dict[str, Any]:
    """Whether ``best`` is the lowest or highest of the numeric ``values`` tried, and what lies beyond.

    On a log-spaced range (positive values spanning at least 10x) the next value
    is one typical ratio further; otherwise one typical step. A best of 0 at the
    lower edge is a natural bound (no weight decay, no dropout), not an edge.
    """
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


@group_feature("n_values", "range_lo", "range_hi", "log_spaced", "local", "best_at_edge",
               "edge", "best_value", "beyond")
def sweep_edge(ctx: GroupContext) -> dict[str, Any]:
    """Where the best value of the swept param sits in the range tried (edge or inside)."""
    sts = [s for s in _sweep_settings(ctx) if s.score is not None]
    p = ctx.group.param
    if not p or not sts:
        return {}
    best = sts[0].params.get(p)
    out = edge_info([s.params.get(p) for s in _sweep_settings(ctx)], best)
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
    # a and b differ in exactly knob j iff they agree once j is left out: count per j (O(n k)).
    rests = [{} for _ in lay.varying]
    for a in configs:
        for j, seen in enumerate(rests):
            rest = a[:j] + a[j + 1:]
            seen[rest] = seen.get(rest, 0) + 1
    confounded = [lay.label(dict(zip(lay.varying, a))) for a in configs
                  if all(seen[a[:j] + a[j + 1:]] < 2 for j, seen in enumerate(rests))]
    return {"n_varying": len(lay.varying), "varying": ", ".join(lay.varying),
            "first_knob": lay.varying[0] if lay.varying else None, "n_configs": len(configs),
            "n_confounded": len(confounded),
            # a readable message: the first few settings, then a count
            "confounded": "; ".join(confounded[:3])
            + (f"; and {len(confounded) - 3} more" if len(confounded) > 3 else "")}


def counterpart(metric: str, runs: Sequence[Run]) -> str | None:
    """The validation metric that matches a training one (train/acc -> val/acc), if logged."""
    if not metric.startswith("train/"):
        return metric
    for cand in ("val/" + metric.split("/", 1)[1], "val/loss"):
        if any(r.has(cand) for r in runs):
            return cand
    return None


def is_train_metric(metric: str) -> bool:
    return canonical_name(metric).startswith("train/")


def summary_specs(metric: str, mode: str, by: str | None) -> list[tuple[str, str]]:
    """The ``(metric, mode)`` summaries :func:`selection_metric` reads besides the main one.

    The engine has each run summarise these where it is analysed, so group rules
    work on runs whose curves were not kept (parallel checks).
    """
    by = canonical_name(by or metric)
    if not is_train_metric(by):
        return []
    specs = [(by, mode if metric == by else infer_mode(by))]
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
            out["val_pick"] = f"{vpicks[0].label} ({val} {_num(vpicks[0].score)})"
            out["same_pick"] = float(bool(picks) and vpicks[0].label == picks[0].label)
    return out


# ---------------------------------------------------------------------------------------
# the next experiment, by the chapter's order
# ---------------------------------------------------------------------------------------
def _pow2(x: float) -> int:
    return int(2 ** round(math.log2(max(x, 1.0))))


def next_knob_text(stage: int, fixed: str, params: Mapping[str, Any], metric: str,
                   budget: int | None) -> str:
    """The experiment for the next knob in the tuning order, everything else fixed."""
    keep = f"keep {fixed} fixed and " if fixed else ""
    if stage <= 1:
        bs = params.get("batch_size")
        if is_number(bs) and bs >= 4:
            a, b = _pow2(bs / 4), _pow2(bs / 2)
            return f"{keep}compare batch_size={a} vs {b} (now {fmt(bs)})."
        return f"{keep}compare batch_size=32 vs 64."
    if stage == 2:
        longer = f"{longer_budget(budget)} steps" if budget else "twice the budget"
        return (f"{keep}train for {longer} with early stopping on {metric} "
                "(keep the best checkpoint).")
    if stage == 3:
        wd = params.get("weight_decay")
        if is_number(wd) and wd > 0:
            return f"{keep}compare weight_decay={fmt(wd)} vs {fmt(nice(wd * 10))}."
        return f"{keep}compare weight_decay=0 vs 1e-4 (then dropout 0 vs 0.1)."
    if stage == 4:
        return f"{keep}compare the model at half and at twice its width."
    if stage == 5:
        return f"{keep}tune one optimizer detail (momentum, warmup or the lr schedule)."
    return (f"{keep}stop tuning: confirm the setting with {MIN_SEEDS} seeds and evaluate it "
            "once on the held-out test split.")


def _scaled(v: float, factor: float) -> float:
    return nice(v * factor)


# ---------------------------------------------------------------------------------------
# sweep(): the experiment table, the decision, the next experiment, the card
# ---------------------------------------------------------------------------------------
LOG_COLUMNS = ("experiment_id", "code_version", "data_version", "seed")
RESULT_COLUMNS = ("metric", "best_val_metric", "best_step", "final_val_metric", "train_time",
                  "peak_memory", "decision", "findings", "run", "path")
CARD_FIELDS = ("Question", "Fixed", "Changed", "Selection metric", "Best setting",
               "Next experiment")


@dataclass
class SweepResult:
    """A set of runs compared: the table, the best setting, the decision and the card.

    Render with :meth:`render` (``text``, ``markdown``, ``csv``, ``json``) or
    display in a notebook (``_repr_html_``).
    """

    by: str
    mode: str
    val_metric: str | None
    rows: list[dict[str, Any]]
    param_columns: list[str]
    settings: list[Setting]
    groups: list[Group]
    findings: list[Finding]
    best: dict[str, Any] | None
    decision: str
    next_experiment: str
    card: dict[str, str]
    varying: list[str]
    runs: list[Run] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- data ---------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        extra = ["best_by", "final_by"] if self.val_metric != self.by else []
        return [*LOG_COLUMNS, *self.param_columns, *RESULT_COLUMNS[:4], *extra,
                *RESULT_COLUMNS[4:]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "mode": self.mode,
            "val_metric": self.val_metric,
            "varying": list(self.varying),
            "best": _jsonable(self.best),
            "table": [_jsonable(r) for r in self.rows],
            "settings": [
                {"setting": s.label, "params": _jsonable(s.params), "runs": [r.id for r in s.runs],
                 "n": s.n, "mean": s.score, "std": s.std,
                 "min": min(s.best) if s.best else None, "max": max(s.best) if s.best else None,
                 "final_mean": float(np.mean(s.final)) if s.final else None}
                for s in self.settings
            ],
            "groups": [g.to_dict() for g in self.groups],
            "findings": [f.to_dict() for f in self.findings],
            "decision": self.decision,
            "next_experiment": self.next_experiment,
            "card": dict(self.card),
            "notes": list(self.notes),
            "errors": list(self.errors),
        }

    # -- formats ------------------------------------------------------------------------
    def render(self, fmt_: str = "text") -> str:
        try:
            fn = {"text": self.to_text, "markdown": self.to_markdown, "md": self.to_markdown,
                  "csv": self.to_csv, "json": self.to_json, "html": self.to_html}[fmt_]
        except KeyError:
            raise ValueError(f"unknown format {fmt_!r}; choose text, markdown, csv, json") from None
        return fn()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """The chapter's reusable experiment log: one row per run, every log field."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: _csv_cell(r.get(k)) for k in self.columns})
        return buf.getvalue()

    def display_table(self) -> tuple[list[str], list[list[str]]]:
        """Header and cells for the human formats: what differs between runs, and results."""
        vm = self.val_metric or self.by
        head = ["run", *self.varying]
        if any(r.get("seed") is not None for r in self.rows):
            head.append("seed")
        head += [f"best {vm}", "step", f"final {vm}"]
        if self.val_metric != self.by:
            head += [f"best {self.by}"]
        head += ["train_time", "findings"]
        body = []
        names = short_ids([r["run"] for r in self.rows])
        for r, name in zip(self.rows, names):
            cells = [name, *[fmt(r.get(k)) if r.get(k) is not None else "" for k in self.varying]]
            if "seed" in head:
                cells.append(fmt(r.get("seed")) if r.get("seed") is not None else "")
            cells += [_num(r.get("best_val_metric")), _num(r.get("best_step")),
                      _num(r.get("final_val_metric"))]
            if self.val_metric != self.by:
                cells.append(_num(r.get("best_by")))
            tt = r.get("train_time")
            cells += [f"{tt:.3g}s" if finite(tt) else "", r.get("findings") or ""]
            if r.get("decision"):
                cells[0] += " *"
            body.append(cells)
        return head, body

    def to_text(self) -> str:
        head, body = self.display_table()
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
                  for i, h in enumerate(head)]
        lines = [self._title(), ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        for row in body:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if self.best:
            lines.append("(* = the selected setting)")
        if any(s.n > 1 for s in self.settings):
            lines += ["", f"Settings, {self.by} best over steps, mean ± std over seeds:"]
            for s in self.settings:
                rng = (f"  range {_num(min(s.best))}..{_num(max(s.best))}" if len(s.best) > 1
                       else "")
                lines.append(f"  {s.label}: {s.mean_std()} ({s.n} run{'s' * (s.n != 1)}){rng}")
        group_findings = [f for f in self.findings if f.group]
        if group_findings:
            lines += ["", "Across runs:"]
            for f in group_findings:
                lines.append(f"  {f.severity:<7} {f.rule} {f.name} [{f.group}]: {f.message}")
                lines.append(f"          next: {f.next_experiment}")
        for note in self.notes:
            lines += ["", note]
        lines += ["", "Decision:", *("  " + ln for ln in self.decision.splitlines())]
        lines += ["", "Decision card:"]
        w = max(len(k) for k in CARD_FIELDS)
        for k in CARD_FIELDS:
            lines.append(f"  {k.ljust(w)}  {self.card.get(k, '')}")
        for e in self.errors:
            lines.append(f"unreadable: {e}")
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        head, body = self.display_table()
        esc = _md_cell
        lines = [f"### {self._title()}", "",
                 "| " + " | ".join(esc(h) for h in head) + " |",
                 "|" + "|".join("---:" if _numeric_column(body, i) else "---"
                                for i in range(len(head))) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
        if any(s.n > 1 for s in self.settings):
            lines += ["", f"| setting | runs | {esc(self.by)} mean ± std | min | max |",
                      "|---|---:|---:|---:|---:|"]
            for s in self.settings:
                lines.append(f"| {esc(s.label)} | {s.n} | {s.mean_std()} | "
                             f"{_num(min(s.best)) if s.best else ''} | "
                             f"{_num(max(s.best)) if s.best else ''} |")
        group_findings = [f for f in self.findings if f.group]
        if group_findings:
            lines += ["", "**Across runs**", ""]
            lines += [f"- **{f.severity}** `{f.rule}` {esc(f.message)} — next: "
                      f"{esc(f.next_experiment)}" for f in group_findings]
        lines += ["", "**Decision:** " + self.decision.replace("\n", "  \n"), "",
                  "| Decision card | |", "|---|---|"]
        lines += [f"| **{k}** | {esc(self.card.get(k, ''))} |" for k in CARD_FIELDS]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        head, body = self.display_table()
        e = html.escape
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body)
        card = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(self.card.get(k, ''))}"
                       "</td></tr>" for k in CARD_FIELDS)
        return (f"<div><h4>{e(self._title())}</h4><table><thead><tr>"
                + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr></thead><tbody>{rows}"
                f"</tbody></table><p><b>Decision:</b> {e(self.decision)}</p>"
                f"<table>{card}</table></div>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()

    def _title(self) -> str:
        what = f"over {', '.join(self.varying)}" if self.varying else "of runs"
        n = len(self.rows)
        return f"Sweep {what}: {n} run{'s' * (n != 1)}, selected by {self.by} ({self.mode})"


def short_ids(ids: Sequence[str]) -> list[str]:
    """Run ids without the leading path pieces they all share (for tables)."""
    parts = [i.split("/") for i in ids]
    n = 0
    while (len(parts) > 1 and all(len(p) > n + 1 for p in parts)
           and len({p[n] for p in parts}) == 1):
        n += 1
    return ["/".join(p[n:]) for p in parts]


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if x is None or isinstance(x, (str, bool, int)):
        return x
    return json_number(float(x)) if is_number(x) else str(x)


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else json_number(v)
    from ._escape import csv_safe

    return csv_safe(v)  # no spreadsheet formula from a run name or param


def _numeric_column(body: Sequence[Sequence[str]], i: int) -> bool:
    cells = [row[i].rstrip("s") for row in body if row[i]]
    try:
        return bool(cells) and all(float(c) == float(c) for c in cells)
    except ValueError:
        return False


def _md_cell(s: Any) -> str:
    from ._escape import markdown_inline

    return markdown_inline(str(s)).replace("|", "\\|").replace("\n", " ")


def sweep(
    runs_or_paths: Any,
    by: str = "val/loss",
    mode: str | None = None,
    group_by: str | Sequence[str] | None = None,
    findings: Sequence[Finding] | None = None,
    config: Any = None,
) -> SweepResult:
    """Compare runs: the experiment table, the best setting, the decision and the next experiment.

    The best setting is chosen by ``by`` (best value over steps, mean over seeds);
    when ``by`` is a training metric the selection still follows it, and the
    card names what the validation metric would have picked. ``findings`` (with
    Run objects, e.g. a Report's runs and findings) skips the rule engine; ``config`` (a
    :class:`diagnose.config.Config`) selects rules and maps metric names.
    """
    from .engine import check

    aliases = (config.metrics or None) if config is not None else None
    by = canonical_name(by, aliases)
    asked_mode, mode = mode, mode or infer_mode(by)
    items = [runs_or_paths] if isinstance(runs_or_paths, (str, os.PathLike, Run)) else list(
        runs_or_paths)
    if findings is None:  # the engine reads the paths, makes run ids unique, runs the rules
        report = check(items, None, config, by=by, mode=asked_mode,
                       group_by=_as_list(group_by) or None)
        runs, errors, findings = report.runs, list(report.errors), report.findings
    else:
        runs, errors = [r for r in items if isinstance(r, Run)], []
        if len(runs) != len(items):
            raise ValueError("sweep(findings=...) takes Run objects (a Report's runs), not paths")
    val = counterpart(by, runs) if is_train_metric(by) else by
    val_mode = mode if val == by else infer_mode(val or "")
    lay = Layout.of(runs, group_by)
    groups = lay.groups()
    findings = sorted(findings, key=Finding.sort_key)
    by_sums = {r.id: run_summary(r, by, mode) for r in runs}
    val_sums = by_sums if val == by else {r.id: run_summary(r, val, val_mode) for r in runs}
    keys = lay.varying
    settings = settings_of(lay.runs, by_sums, keys, mode)
    scored = [s for s in settings if s.score is not None]
    best_setting = scored[0] if scored else None
    sign = 1.0 if mode == "min" else -1.0
    best_run = (min(best_setting.runs, key=lambda r: sign * by_sums[r.id]["best"]
                    if finite(by_sums[r.id]["best"]) else math.inf) if best_setting else None)

    per_run_codes: dict[str, list[str]] = {}
    for f in findings:
        if f.run:
            per_run_codes.setdefault(f.run, []).append(f.rule)
    param_cols = [k for k in PARAM_FIELDS if any(k in r.params for r in runs)]
    param_cols += [k for k in keys if k not in param_cols]
    best_ids = {r.id for r in best_setting.runs} if best_setting else set()
    order = [lay.runs[i] for i in lay.order(range(len(lay.runs)))] + lay.ungrouped
    rows = []
    for r in order:
        vs, bs = val_sums[r.id], by_sums[r.id]
        row: dict[str, Any] = {k: r.identity.get(k, r.params.get(k)) for k in LOG_COLUMNS[:3]}
        row["seed"] = run_seed(r)
        row.update({k: r.params.get(k) for k in param_cols})
        row.update(metric=val or by, best_val_metric=vs.get("best"), best_step=vs.get("best_step"),
                   final_val_metric=vs.get("final"))
        if val != by:
            row.update(best_by=bs.get("best"), final_by=bs.get("final"))
        row.update(train_time=vs.get("train_time"), peak_memory=vs.get("peak_memory"),
                   decision="selected" if r.id in best_ids else "",
                   findings=",".join(sorted(set(per_run_codes.get(r.id, [])))),
                   run=r.id, path=r.path)
        rows.append(row)

    best = None
    if best_setting and best_run:
        best = {"run": best_run.id, "path": best_run.path, "params": dict(best_run.params),
                "metric": by, "value": by_sums[best_run.id]["best"],
                "setting": best_setting.label, "mean": best_setting.score,
                "std": best_setting.std, "n_seeds": best_setting.n}
    plan = _plan(lay, settings, best_setting, best_run, by, mode, val, val_sums, by_sums,
                 findings)
    res = SweepResult(by=by, mode=mode, val_metric=val, rows=rows, param_columns=param_cols,
                      settings=settings, groups=groups, findings=list(findings), best=best,
                      decision=plan["decision"], next_experiment=plan["next"], card=plan["card"],
                      varying=list(keys), runs=runs, errors=errors, notes=plan["notes"])
    return res


def _metric_words(metric: str) -> str:
    return {"val/loss": "validation loss", "val/acc": "validation accuracy",
            "train/loss": "training loss", "train/acc": "training accuracy"}.get(metric, metric)


def _plan(lay: Layout, settings: list[Setting], best: Setting | None, best_run: Run | None,
          by: str, mode: str, val: str | None, val_sums: dict, by_sums: dict,
          findings: Sequence[Finding]) -> dict[str, Any]:
    """The decision line, the one next experiment and the card, by the chapter's order."""
    notes: list[str] = []
    varying = lay.varying
    fixed_keys = [k for k in lay.keys if k not in varying]
    fixed_parts = [f"{k}={_short(fmt(lay.settings[0][k]))}" for k in fixed_keys
                   if lay.settings[0].get(k) is not None] if lay.runs else []
    seeds = sorted({s for s in lay.seeds if s is not None}, key=_sort_key)
    if len(seeds) == 1:
        fixed_parts.insert(0, f"seed={fmt(seeds[0])}")
    for k in ("data_version", "code_version"):
        vals = {r.identity.get(k) for r in lay.runs}
        if len(vals) == 1 and None not in vals:
            fixed_parts.insert(0, f"{k}={_short(str(vals.pop()))}")
    changed = [f"{k}: " + ", ".join(fmt(v) for v in sorted({s.get(k) for s in lay.settings},
                                                            key=_sort_key)) for k in varying]
    if len(seeds) > 1:
        changed.append("seed: " + ", ".join(fmt(s) for s in seeds))
    order_words = "lowest" if mode == "min" else "highest"
    selection = f"{by} ({order_words}, best over steps"
    selection += ", mean over seeds)" if any(s.n > 1 for s in settings) else ")"
    if is_train_metric(by):
        vs = settings_of(lay.runs, val_sums, varying, infer_mode(val)) if val else []
        vs = [s for s in vs if s.score is not None]
        pick = f"{vs[0].label} ({val} {_num(vs[0].score)})" if vs else "nothing (no validation metric logged)"
        warn = (f"Warning: {by} is a training metric; selection should use the validation "
                f"metric, which picks {pick}.")
        notes.append(warn)
        selection += f" - a training metric; {val or 'the validation metric'} would pick {pick}"

    budget = None
    if best_run is not None:
        budget = by_sums[best_run.id].get("last_step")
    still = bool(best_run is not None and val_sums[best_run.id].get("still_improving"))
    metric_words = _metric_words(by)

    if best is None:
        question = "Which setting gives the best " + by + "?"
        logged = sorted({m for r in lay.runs + lay.ungrouped for m in r.metric_names})
        nxt = (f"log {by} for every run, then compare again (logged: "
               f"{', '.join(logged[:8]) or 'nothing'}; --by picks another metric)."
               if lay.runs or lay.ungrouped else
               "record runs with params (lr, batch_size, seed, ...) to compare.")
        card = _card(question, fixed_parts, changed, selection, "none", nxt)
        return {"decision": f"No run has a finite {by}.\nNext: {nxt}", "next": nxt,
                "card": card, "notes": notes}

    label = best.label if varying else best_run.id
    runs_word = "seeds" if len(seeds) > 1 else "runs"
    best_desc = f"{label} ({by} {best.mean_std()}"
    best_desc += f" over {best.n} {runs_word})" if best.n > 1 else (
        f" at step {by_sums[best_run.id].get('best_step')}; 1 run)")
    if len(varying) == 0:
        noisy = any(f.pattern == "seed_variance" for f in findings)
        nxt = _next_without_sweep(lay, best, seeds, by, noisy)
        if len(seeds) > 1:
            question = "How much does the result vary across seeds?"
            decision = (f"Over {best.n} seeds the {metric_words} is {best.mean_std()} "
                        f"(range {_num(min(best.best))} to {_num(max(best.best))}).")
        elif best.n > 1:
            question = "Which of these runs is best? (their recorded params do not differ)"
            decision = (f"{best_run.id} has the best {metric_words} ({_num(by_sums[best_run.id]['best'])}) "
                        f"of {best.n} runs whose recorded params do not differ.")
        else:
            question = "Is this setting good enough to build on?"
            decision = (f"One run: {best_run.id} reaches {by} {_num(best.score)} at step "
                        f"{by_sums[best_run.id].get('best_step')}.")
        card = _card(question, fixed_parts, changed, selection, best_desc, nxt)
        return {"decision": f"{decision}\nNext: {nxt}", "next": nxt, "card": card,
                "notes": notes}
    if len(varying) == 1:
        p = varying[0]
        question = f"Which {p} gives the {order_words} {by}, everything else fixed?"
        nxt = _next_for_sweep(p, settings, best, lay, by, budget, still, fixed_parts)
        sweep_name = "sweep"
    else:
        first = varying[0]
        question = (f"Which of {', '.join(varying)} matters? Several knobs changed together, "
                    "so this comparison cannot say which one made the difference.")
        vals = {k: lay.runs[0].params.get(k) for k in varying}
        vals.update(best.params)
        keep = ", ".join(f"{k}={fmt(v)}" for k, v in vals.items() if k != first)
        nxt = (f"start from {best.label} and change one knob at a time: vary only {first} "
               f"(keep {keep} fixed)" + _refine_values(first, vals.get(first)) + ".")
        sweep_name = "comparison"
    quick = "quick " if len(varying) == 1 and all(s.n == 1 for s in settings) else ""
    decision = (f"{best.label} gives the best {metric_words} in the {quick}{sweep_name}"
                + (f" ({best.mean_std()} over {best.n} seeds)." if best.n > 1 else ".")
                + f"\nNext: {nxt}")
    card = _card(question, fixed_parts, changed, selection, best_desc, nxt)
    return {"decision": decision, "next": nxt, "card": card, "notes": notes}


def _card(question: str, fixed: list[str], changed: list[str], selection: str, best: str,
          nxt: str) -> dict[str, str]:
    return dict(zip(CARD_FIELDS, (question, ", ".join(fixed) or "nothing recorded",
                                  "; ".join(changed) or "nothing", selection, best, _cap(nxt))))


def _short(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _refine_values(p: str, v: Any) -> str:
    if is_number(v) and v > 0:
        return f": try {p}={fmt(_scaled(v, 0.3))}, {fmt(v)} and {fmt(_scaled(v, 3))}"
    return ""


def _next_for_sweep(p: str, settings: list[Setting], best: Setting, lay: Layout, by: str,
                    budget: int | None, still: bool, fixed: list[str]) -> str:
    """One experiment after a sweep over ``p``: extend, refine, reseed, or move to the next knob."""
    bv = best.params.get(p)
    info = edge_info([s.params.get(p) for s in settings], bv)
    longer = f" and {longer_budget(budget)} steps" if still and budget else ""
    seeds_txt = f"{MIN_SEEDS} seeds"
    if info.get("best_at_edge") and info.get("n_values", 0) >= 3:
        beyond = info.get("beyond")
        side = "above" if info.get("edge") == "highest" else "below"
        extra = f": add {p}={fmt(beyond)}" if beyond is not None else ""
        return (f"the best {p}={fmt(bv)} is the {info['edge']} value tried; extend the range "
                f"{side} it{extra}, everything else fixed.")
    if is_number(bv) and info.get("log_spaced") and not info.get("local"):
        return (f"refine around {p}={fmt(bv)}: try {p}={fmt(_scaled(bv, 0.3))}, {fmt(bv)} and "
                f"{fmt(_scaled(bv, 3))} with {seeds_txt}{longer}, everything else fixed.")
    scored = [s for s in settings if s.score is not None]
    if best.n < MIN_SEEDS:
        runner = f" and the runner-up {scored[1].label}" if len(scored) > 1 else ""
        return (f"repeat {best.label}{runner} with {seeds_txt} each{longer} and compare "
                "mean ± std before moving on.")
    if len(scored) > 1:
        second = scored[1]
        spreads = [s.spread for s in (best, second) if s.spread is not None]
        gap = abs(best.score - second.score)
        if spreads and max(spreads) >= gap:
            return (f"{best.label} and {second.label} are within seed noise "
                    f"(gap {_num(gap)}, seed range up to {_num(max(spreads))}); stabilise "
                    "training (lower lr, warmup or clipping) or add seeds before choosing.")
    params = {**{k: v for k, v in lay.settings[0].items()}, **best.params}
    keep = best.label
    return next_knob_text(tuning_stage(p) + 1, keep, params, by, budget)


def _next_without_sweep(lay: Layout, best: Setting, seeds: list[Any], by: str,
                        noisy: bool) -> str:
    """Seeds only, or repeats: more seeds, stabilise, or start the tuning order with lr."""
    params = lay.settings[0] if lay.settings else {}
    if len(seeds) > 1 and best.n < MIN_SEEDS:
        return f"run {MIN_SEEDS - best.n} more seed(s) and report {by} as mean ± std."
    if len(seeds) > 1 and noisy:
        return ("stabilise training before tuning (lower lr, warmup or gradient clipping, "
                "more data) and rerun the same seeds.")
    key = next((k for k in params if tuning_stage(k) == 0), None)
    lr = params.get(key) if key else None
    if is_number(lr) and lr > 0:
        return (f"sweep the learning rate on a log scale around {key}={fmt(lr)} "
                f"({key}={fmt(_scaled(lr, 0.01))} to {fmt(_scaled(lr, 10))}, x10 apart), "
                "everything else fixed.")
    return "sweep the learning rate on a log scale (e.g. 1e-4 to 1), everything else fixed."
