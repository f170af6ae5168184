"""The next experiment as data: what to run next, as a list a script can carry out.

Every finding and every sweep decision says in words what to try next; this module
says it as data, in the JSON contract (``"next"``), one entry per setting to run, in
the order the chapter would try them::

    {"kind": "rerun", "change": {"lr": 3.0}, "keep": {"batch_size": 32, ...},
     "seeds": [1, 2, 3], "budget": {"steps": 80}, "compare_by": "val/loss", "at": "final",
     "success": "val/loss below 0.291 (the current best)", "baseline": 0.291}

``kind`` is ``rerun`` (train ``keep`` + ``change`` with each seed for ``budget`` steps),
``inspect`` (look at the data or the code first: ``also`` says what), ``keep_checkpoint``
(keep the checkpoint at ``step``; no new run) or ``reselect`` (choose again from the runs
you have). A rule declares its next runs in a ``[next_run]`` table (or ``[[next_run]]``
alternatives) whose values name the rule's declared values; :func:`parse_spec` checks it
when the rule loads and :func:`finding_next` fills it in from the run(s) the finding is
about. :func:`sweep_next` is the same for the decision of a compared set of runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ._errors import RuleError
from .features import nice
from .features.group import MIN_SEEDS, edge_info, longer_budget
from .grouping import SEED_KEYS, fmt, num, run_seed, sort_key, tuning_stage
from .run import Run, infer_mode, is_number

__all__ = ["KINDS", "command", "finding_next", "parse_spec", "pow2", "runs_of", "sweep_next"]

KINDS = ("rerun", "inspect", "keep_checkpoint", "reselect")
_SPEC_KEYS = {"kind", "change", "also", "budget", "seeds", "step"}
#: Selection metrics looked for in a run, most preferred first.
_METRICS = ("val/loss", "val/acc", "val/accuracy", "train/loss")


# ---------------------------------------------------------------------------------------
# a rule's [next_run] table
# ---------------------------------------------------------------------------------------
def parse_spec(raw: Any, declared: Iterable[str], where: str) -> tuple[tuple[dict[str, Any], ...],
                                                                        set[str]]:
    """A rule's ``next_run`` (a table or an array of tables) checked: (alternatives, names read).

    ``change`` maps a param (or ``"{name}"``: the param a declared value names) to a
    declared value or a number; ``budget`` (steps), ``seeds`` (how many) and ``step``
    name a declared value or give a number; ``also`` is plain text.
    """
    if raw is None:
        return (), set()
    alts = raw if isinstance(raw, list) else [raw]
    declared = set(declared)
    out, names = [], set()

    def ref(v: Any, w: str) -> Any:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise RuleError(f"{w}: must name a declared value or be a number, got {v!r}")
        if isinstance(v, str):
            if v not in declared:
                raise RuleError(f"{w}: {v!r} is not a declared value")
            names.add(v)
        return v

    for i, a in enumerate(alts):
        w = f"{where}: next_run" + (f"[{i}]" if isinstance(raw, list) else "")
        if not isinstance(a, dict):
            raise RuleError(f"{w}: must be a table")
        extra = set(a) - _SPEC_KEYS
        if extra:
            raise RuleError(f"{w}: unknown key(s): {', '.join(sorted(extra))}")
        kind = a.get("kind", "rerun")
        if kind not in KINDS:
            raise RuleError(f"{w}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        change = a.get("change", {})
        if not isinstance(change, dict):
            raise RuleError(f"{w}: change must be a table {{param = value}}")
        for k, v in change.items():
            if k.startswith("{") and k.endswith("}"):
                ref(k[1:-1], f"{w}: change key {k}")
            ref(v, f"{w}: change.{k}")
        spec = {"kind": kind, "change": dict(change)}
        for k in ("budget", "seeds", "step"):
            if k in a:
                spec[k] = ref(a[k], f"{w}: {k}")
        if "also" in a:
            if not isinstance(a["also"], str):
                raise RuleError(f"{w}: also must be text")
            spec["also"] = a["also"]
        out.append(spec)
    return tuple(out), names


# ---------------------------------------------------------------------------------------
# filling a spec in from the runs
# ---------------------------------------------------------------------------------------
def runs_of(runs: Sequence[Run], summaries: Mapping[str, Mapping[str, Any]] | None = None,
            metric: str | None = None, mode: str | None = None) -> dict[str, Any]:
    """What the next run inherits from ``runs``: shared params, seeds, budget, metric, result.

    ``summaries`` (run id -> :func:`diagnose.features.run_summary` of ``metric``): use
    them instead of the curves, which the group stage does not have.
    """
    shared: dict[str, Any] = {}
    if runs:
        first = runs[0].params
        shared = {k: v for k, v in first.items() if k not in SEED_KEYS
                  and all(r.params.get(k) == v for r in runs[1:])}
    seeds = sorted({s for s in (run_seed(r) for r in runs) if s is not None}, key=sort_key)
    finals, last = [], []
    if summaries is not None:
        mode = mode or (infer_mode(metric) if metric else "min")
        for r in runs:
            sm = summaries.get(r.id) or {}
            if sm.get("final") is not None and math.isfinite(sm["final"]):
                finals.append(float(sm["final"]))
            if sm.get("last_step") is not None:
                last.append(sm["last_step"])
    else:
        metric = next((m for m in _METRICS if any(r.has(m) for r in runs)), None)
        mode = infer_mode(metric) if metric else "min"
        for r in runs:
            if metric:
                _, v = r.arrays(metric)
                v = v[np.isfinite(v)]
                if len(v):
                    finals.append(float(v[-1]))
            if r.step_range:
                last.append(r.step_range[1])
    base = (min(finals) if mode == "min" else max(finals)) if finals else None
    return {"keep": shared, "seeds": seeds, "steps": max(last) if last else None,
            "metric": metric, "mode": mode, "baseline": base}


def _success(metric: str | None, mode: str, baseline: float | None, what: str) -> str | None:
    if metric is None or baseline is None:
        return None
    return f"{metric} {'below' if mode == 'min' else 'above'} {num(baseline)} ({what})"


def _more_seeds(seeds: Sequence[Any], n: int) -> list[Any]:
    """``seeds`` plus new integer seeds, ``n`` in all."""
    out = list(seeds)[:n]
    k = 0
    while len(out) < n:
        if k not in out:
            out.append(k)
        k += 1
    return out


def _entry(kind: str, change: Mapping[str, Any], ctx: Mapping[str, Any], what: str, *,
           seeds: Sequence[Any] | None = None, steps: Any = None, also: str | None = None,
           step: Any = None) -> dict[str, Any]:
    e: dict[str, Any] = {"kind": kind, "change": dict(change)}
    if kind == "rerun":
        e["keep"] = {k: v for k, v in ctx["keep"].items() if k not in change}
        e["seeds"] = list(ctx["seeds"] if seeds is None else seeds)
        n = steps if steps is not None else ctx["steps"]
        e["budget"] = {"steps": int(n)} if is_number(n) else {}
    e["compare_by"] = ctx["metric"]
    e["at"] = "final"
    e["success"] = _success(ctx["metric"], ctx["mode"], ctx["baseline"], what)
    e["baseline"] = ctx["baseline"]
    if step is not None:
        e["step"] = step
    if also:
        e["also"] = also
    return e


def finding_next(spec: Sequence[Mapping[str, Any]], env: Mapping[str, Any],
                 runs: Sequence[Run], summaries: Mapping[str, Mapping[str, Any]] | None = None,
                 metric: str | None = None, mode: str | None = None) -> list[dict[str, Any]]:
    """A rule's next runs for one finding: the spec with its names read from ``env``.

    An alternative whose change cannot be worked out (the run recorded no lr) is left
    out: the finding's text still says it in words.
    """
    if not spec:
        return []
    ctx = runs_of(runs, summaries, metric, mode)
    what = "the diagnosed run's final value" if len(runs) == 1 else "the best of these runs"
    out = []
    for alt in spec:
        change, ok = {}, True
        for k, v in alt["change"].items():
            key = env.get(k[1:-1]) if k.startswith("{") else k
            val = env.get(v) if isinstance(v, str) else v
            if not isinstance(key, str) or val is None or (isinstance(val, float)
                                                           and not math.isfinite(val)):
                ok = False
                break
            change[key] = val
        if not ok:
            continue
        got = {k: (env.get(alt[k]) if isinstance(alt.get(k), str) else alt.get(k))
               for k in ("budget", "seeds", "step")}
        seeds = (_more_seeds(ctx["seeds"], int(got["seeds"])) if is_number(got["seeds"])
                 else None)
        out.append(_entry(alt["kind"], change, ctx, what, seeds=seeds, steps=got["budget"],
                          also=alt.get("also"), step=got["step"]))
    return out


# ---------------------------------------------------------------------------------------
# the decision of a compared set of runs
# ---------------------------------------------------------------------------------------
def pow2(x: float) -> int:
    """The power of two nearest ``x`` (at least 1): batch sizes people use."""
    return int(2 ** round(math.log2(max(x, 1.0))))


def sweep_next(res: Any) -> list[dict[str, Any]]:
    """The next runs after a comparison (a :class:`diagnose.sweeps.SweepResult`), in order.

    The chapter's order, as the decision text says it: extend a range whose best is at
    its edge; refine a coarse log-spaced sweep (x0.3 and x3, three seeds); give the best
    and the runner-up three seeds; then the next knob, one at a time.
    """
    scored = [s for s in res.settings if s.score is not None]
    if not scored or not res.best:
        return []
    best = scored[0]
    by_id = {r.id: r for r in res.runs}
    ctx = runs_of([r for r in best.runs])
    ctx["metric"], ctx["mode"] = res.by, res.mode
    ctx["baseline"] = best.score
    run = by_id.get(res.best.get("run"))
    base = {**ctx["keep"], **(dict(run.params) if run is not None else {})}
    ctx["keep"] = {k: v for k, v in base.items() if k not in SEED_KEYS}
    what = f"the current best, {best.label}"
    three = _more_seeds(ctx["seeds"], MIN_SEEDS)
    varying = list(res.varying)
    rerun = lambda change, **kw: _entry("rerun", change, ctx, what, **kw)

    if not varying:
        if best.n < MIN_SEEDS:
            return [rerun({}, seeds=three)]
        key = next((k for k in ctx["keep"] if tuning_stage(k) == 0), None)
        lr = ctx["keep"].get(key) if key else None
        if is_number(lr) and lr > 0:
            return [rerun({key: nice(lr * f)}, seeds=ctx["seeds"][:1])
                    for f in (0.01, 0.1, 10.0)]
        return []
    p = varying[0]
    bv = best.params.get(p)
    if len(varying) > 1:
        if is_number(bv) and bv > 0:
            return [rerun({p: nice(bv * f)}, seeds=three) for f in (0.3, 3.0)]
        return []
    info = edge_info([s.params.get(p) for s in res.settings], bv)
    if info.get("best_at_edge") and info.get("n_values", 0) >= 3 and info.get("beyond") is not None:
        return [rerun({p: info["beyond"]}, seeds=ctx["seeds"])]
    if is_number(bv) and info.get("log_spaced") and not info.get("local"):
        return [rerun({p: v}, seeds=three) for v in (nice(bv * 0.3), bv, nice(bv * 3))]
    if best.n < MIN_SEEDS:
        out = [rerun({}, seeds=three)]
        if len(scored) > 1:
            out.append(rerun(dict(scored[1].params), seeds=three))
        return out
    spreads = [s.spread for s in scored[:2] if s.spread is not None]
    if len(scored) > 1 and spreads and max(spreads) >= abs(best.score - scored[1].score):
        return [_entry("inspect", {}, ctx, what, also=(
            f"{best.label} and {scored[1].label} are within seed noise: stabilise training "
            "(lower lr, warmup or clipping) or add seeds before choosing"))]
    return _next_knob(tuning_stage(p) + 1, ctx, three, what)


def _next_knob(stage: int, ctx: dict[str, Any], seeds: list[Any], what: str) -> list[dict]:
    keep = ctx["keep"]
    if stage <= 1:
        bs = keep.get("batch_size")
        vals = ([pow2(bs / 4), pow2(bs / 2)] if is_number(bs) and bs >= 4 else [32, 64])
        return [_entry("rerun", {"batch_size": v}, ctx, what, seeds=seeds) for v in vals]
    if stage == 2:
        n = longer_budget(ctx["steps"]) if ctx["steps"] else None
        return [_entry("rerun", {}, ctx, what, seeds=seeds, steps=n,
                       also=f"early stopping on {ctx['metric']} (keep the best checkpoint)")]
    if stage == 3:
        wd = keep.get("weight_decay")
        if is_number(wd) and wd > 0:
            return [_entry("rerun", {"weight_decay": nice(wd * 10)}, ctx, what, seeds=seeds)]
        return [_entry("rerun", {"weight_decay": 1e-4}, ctx, what, seeds=seeds),
                _entry("rerun", {"dropout": 0.1}, ctx, what, seeds=seeds)]
    return [_entry("inspect", {}, ctx, what, also=(
        "the tuning order is done: confirm the setting with "
        f"{MIN_SEEDS} seeds and evaluate it once on the held-out test split"))]


def command(template: str, entry: Mapping[str, Any]) -> list[str]:
    """One command line per seed of a ``rerun`` entry, from a ``str.format`` template.

    The template may name any param of ``keep`` and ``change``, ``seed`` and ``steps``.
    """
    if entry.get("kind") != "rerun":
        return []
    params = {**entry.get("keep", {}), **entry.get("change", {})}
    steps = entry.get("budget", {}).get("steps")
    out = []
    for seed in entry.get("seeds") or [None]:
        values = {k: fmt(v) for k, v in {**params, "seed": seed, "steps": steps}.items()}
        out.append(template.format_map(_Strict(values)))
    return out


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)
