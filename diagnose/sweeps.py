"""Selection and the next experiment: a set of runs compared, one decision, one card.

:func:`compare` turns runs (and their findings) into a :class:`SweepResult`: the
experiment table, the best setting by the selection metric (mean over seeds), the
decision, the next experiment by the chapter's tuning order and the decision card.
It reads nothing and runs no rules: :func:`diagnose.pipeline.sweep` does that first.
Formatters for a SweepResult live in :mod:`diagnose.report.sweep`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .advice import pow2
from .features import nice, run_summary
from .features.group import MIN_SEEDS, edge_info, longer_budget, selectable
from .findings import Finding, Group, jsonable
from .grouping import (
    Layout,
    Setting,
    diverged,
    fmt,
    num,
    run_seed,
    settings_of,
    sort_key,
    tuning_stage,
)
from .run import PARAM_FIELDS, Run, counterpart, finite, infer_mode, is_number, is_train_metric

__all__ = ["CARD_FIELDS", "SweepResult", "compare", "next_knob_text", "validation_sets"]

#: Evaluation sets never used to select (the chapter evaluates on test once, at the end).
_NOT_VALIDATION = {"train", "test", "lr", "grad_norm", "epoch"}


def validation_sets(runs: Sequence[Run], by: str) -> list[str]:
    """The metrics ``by`` may mean: itself when a run logs it; else, for ``val/<m>``, the
    ``<set>/<m>`` of each other evaluation set the runs log (HF ``eval_<set>_<m>``,
    Lightning ``val/<set>/<m>``, Keras ``val_<set>_<m>``), in the order first seen."""
    if not runs or any(r.has(by) for r in runs) or not by.startswith("val/"):
        return [by]
    m = by.split("/", 1)[1]
    seen: dict[str, None] = {}
    for r in runs:
        for name in r.metric_names:
            head, _, tail = name.rpartition("/")
            if tail == m and head and head.split("/")[0] not in _NOT_VALIDATION:
                seen.setdefault(name, None)
            elif name.startswith("val_") and name.endswith("_" + m) and len(name) > 5 + len(m):
                seen.setdefault(name, None)
    return list(seen) or [by]

# ---------------------------------------------------------------------------------------
# the next experiment, by the chapter's order
# ---------------------------------------------------------------------------------------
def next_knob_text(stage: int, fixed: str, params: Mapping[str, Any], metric: str,
                   budget: int | None) -> str:
    """The experiment for the next knob in the tuning order, everything else fixed."""
    keep = f"keep {fixed} fixed and " if fixed else ""
    if stage <= 1:
        bs = params.get("batch_size")
        if is_number(bs) and bs >= 4:
            a, b = pow2(bs / 4), pow2(bs / 2)
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
                  "peak_memory", "at", "decision", "note", "findings", "run", "path")
CARD_FIELDS = ("Question", "Fixed", "Changed", "Selection metric", "Best setting",
               "Next experiment")

@dataclass
class SweepResult:
    """A set of runs compared: the table, the best setting, the decision and the card.

    Render with :func:`diagnose.report.sweep.render` (``text``, ``markdown``, ``csv``,
    ``json``) or display in a notebook (``_repr_html_``, registered by ``notebook.py``).
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
    #: which value of each run was compared: ``final`` (last evaluation) or ``best``
    at: str = "final"

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
            "at": self.at,
            "val_metric": self.val_metric,
            "varying": list(self.varying),
            "best": jsonable(self.best),
            "table": [jsonable(r) for r in self.rows],
            "settings": [
                {"setting": s.label, "params": jsonable(s.params), "runs": [r.id for r in s.runs],
                 "n": s.n, "at": s.at, "mean": s.score, "std": s.std,
                 "min": min(s.best) if s.best else None, "max": max(s.best) if s.best else None,
                 "best_mean": float(np.mean(s.best_over_steps)) if s.best_over_steps else None,
                 "final_mean": float(np.mean(s.final)) if s.final else None,
                 "diverged": s.diverged}
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


def summary_of(run: Run, metric: str, mode: str,
               summaries: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A run's summary of ``metric``: the one the check made (one reading path), else from its curves."""
    s = (summaries or {}).get(run.id)
    if s is not None:
        if s.get("metric") == metric:
            return dict(s)
        got = (s.get("other") or {}).get(f"{metric}|{mode}")
        if got is not None:
            return dict(got, errors=s.get("errors", []))
    out = run_summary(run, metric, mode)
    if s is not None:
        out["errors"] = list(s.get("errors", []))
    return out


#: Under ``--at best``, a final value this far back from the best (as a share of the
#: improvement training achieved) is flagged: the best step holds only with its checkpoint.
FINAL_FAR_SHARE = 0.5


def final_far_from_best(s: Mapping[str, Any]) -> bool:
    """Whether a run ended far worse than its best point (see :data:`FINAL_FAR_SHARE`)."""
    b, f, first = s.get("best"), s.get("final"), s.get("first")
    if not (finite(b) and finite(f) and finite(first)) or first == b:
        return False
    return abs(f - b) / abs(first - b) > FINAL_FAR_SHARE


def compare(runs: Sequence[Run], findings: Sequence[Finding], by: str = "val/loss",
            mode: str = "min", group_by: str | Sequence[str] | None = None,
            errors: Sequence[str] = (), at: str = "final",
            summaries: Mapping[str, Mapping[str, Any]] | None = None) -> SweepResult:
    """Runs and their findings compared: the experiment table, the best setting, the decision.

    ``by`` (a canonical metric name) and ``mode`` are the selection metric and its
    direction; ``at`` which value of each run is compared: ``final`` (the last
    evaluation, the chapter's rule) or ``best`` (the best step, when its checkpoint
    was kept). The best setting is the best mean over seeds among settings none of
    whose runs diverged. Only runs of one experiment are compared (see
    :class:`diagnose.grouping.Layout`); ``summaries`` are the check's per-run numbers.
    """
    if at not in ("final", "best"):
        raise ValueError(f"at must be 'final' or 'best', got {at!r}")
    runs, errors = list(runs), list(errors)
    sets = validation_sets(runs, by)
    set_note = ""
    if sets[0] != by:
        set_note = (f"No run logs {by}; its evaluation sets are {', '.join(sets)}: selecting by "
                    f"{sets[0]}, the first (--by picks another).")
        by, mode = sets[0], infer_mode(sets[0])
    val = counterpart(by, runs) if is_train_metric(by) else by
    val_mode = mode if val == by else infer_mode(val or "")
    lay = Layout.of(runs, group_by)
    groups = lay.groups()
    findings = sorted(findings, key=Finding.sort_key)
    by_sums = {r.id: summary_of(r, by, mode, summaries) for r in runs}
    val_sums = by_sums if val == by else {r.id: summary_of(r, val, val_mode, summaries)
                                          for r in runs}
    for f in findings:  # error findings made elsewhere (a Report's) count too
        if f.run in by_sums and f.severity == "error" and f.rule not in by_sums[f.run]["errors"]:
            by_sums[f.run]["errors"] = [*by_sums[f.run]["errors"], f.rule]
    keys = lay.varying
    settings = settings_of(lay.runs, by_sums, keys, mode, at)
    one_experiment = len(lay.parts) == 1
    several = len(keys) >= 2 and bool(lay.confounded())
    scored = selectable(settings) if one_experiment and not several else []
    best_setting = scored[0] if scored else None
    sign = 1.0 if mode == "min" else -1.0
    best_run = (min(best_setting.runs, key=lambda r: sign * by_sums[r.id][at]
                    if finite(by_sums[r.id][at]) else math.inf) if best_setting else None)

    per_run_codes: dict[str, list[str]] = {}
    for f in findings:
        if f.run:
            per_run_codes.setdefault(f.run, []).append(f.rule)
    param_cols = [k for k in PARAM_FIELDS if any(k in r.params for r in runs)]
    param_cols += [k for k in keys if k not in param_cols]
    param_cols += sorted({k for r in runs for k in r.params} - {*param_cols, *LOG_COLUMNS})  # csv: all
    best_ids = {r.id for r in best_setting.runs} if best_setting else set()
    order = [lay.runs[i] for i in lay.order(range(len(lay.runs)))] + lay.ungrouped
    apart = {r.id for r in lay.apart}
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
        notes = []
        if diverged(bs, mode):
            notes.append("diverged: never selected")
        if at == "best" and final_far_from_best(bs):
            notes.append("final far worse than best")
        if r.id in apart:
            notes.append("not comparable")
        if r.id in lay.same_as:
            notes.append(f"same run as {lay.same_as[r.id]}")
        row.update(at=at, note="; ".join(notes))
        row.update(train_time=vs.get("train_time"), peak_memory=vs.get("peak_memory"),
                   decision="selected" if r.id in best_ids else "",
                   findings=",".join(sorted(set(per_run_codes.get(r.id, [])))),
                   run=r.id, path=r.path)
        rows.append(row)

    best = None
    if best_setting and best_run:
        best = {"run": best_run.id, "path": best_run.path, "params": dict(best_run.params),
                "metric": by, "at": at, "value": by_sums[best_run.id][at],
                "best_value": by_sums[best_run.id]["best"],
                "final_value": by_sums[best_run.id]["final"],
                "setting": best_setting.label, "mean": best_setting.score,
                "std": best_setting.std, "n_seeds": best_setting.n}
    if not one_experiment:
        plan = _apart_plan(lay, by)
    elif several:
        plan = _several_plan(lay, by, mode, at)
    else:
        plan = _plan(lay, settings, best_setting, best_run, by, mode, val, val_sums, by_sums,
                     findings, at)
    res = SweepResult(by=by, mode=mode, val_metric=val, rows=rows, param_columns=param_cols,
                      settings=settings, groups=groups, findings=list(findings), best=best,
                      decision=plan["decision"], next_experiment=plan["next"], card=plan["card"],
                      varying=list(keys), runs=runs, errors=errors,
                      notes=([set_note] if set_note else []) + plan["notes"], at=at)
    return res


def _selection_words(by: str, mode: str, at: str, seeds: bool) -> str:
    order_words = "lowest" if mode == "min" else "highest"
    when = ("final value, the last evaluation" if at == "final"
            else "best over steps, which assumes the best checkpoint was kept")
    return f"{by} ({order_words}, {when}" + (", mean over seeds)" if seeds else ")")


def _apart_plan(lay: Layout, by: str) -> dict[str, Any]:
    """Runs of different experiments: nothing is selected, each experiment is named."""
    n_apart = len(lay.apart)
    exps = [f"{p.family or 'unnamed'} ({len(p.runs)} runs)" for p in lay.parts]
    if exps:
        decision = (f"No decision: these runs come from {len(exps)} different experiments "
                    f"({'; '.join(exps)})" + (f" and {n_apart} unrelated run(s)" if n_apart else "")
                    + "; runs of different experiments are not compared.")
        nxt = "compare each experiment on its own (pass its folder, or --group-by)."
    else:
        decision = (f"No decision: no two of these {n_apart} runs are the same experiment "
                    "(different recorded identity, folder, knobs, settings-file fields or "
                    "validation metrics), so none is compared with another.")
        nxt = ("compare runs of one experiment: the same data, model and code, with one knob "
               "changed (and seeds).")
    card = _card("Which setting is best? (not answerable: the runs are different experiments)",
                 [], [], _selection_words(by, "min" if infer_mode(by) == "min" else "max",
                                          "final", False), "none (not comparable)", nxt)
    return {"decision": f"{decision}\nNext: {nxt}", "next": nxt, "card": card, "notes": []}


def _several_plan(lay: Layout, by: str, mode: str, at: str) -> dict[str, Any]:
    """Several knobs changed together: a comparison table, no best, one question to ask next."""
    first = lay.varying[0]
    changed = [f"{k}: " + ", ".join(fmt(v) for v in sorted({s.get(k) for s in lay.settings},
                                                            key=sort_key)) for k in lay.varying]
    vals = {k: lay.settings[0].get(k) for k in lay.varying}
    keep = ", ".join(f"{k}={fmt(v)}" for k, v in vals.items() if k != first)
    nxt = (f"ask one question: which {first} gives the best {by}? Vary only {first}"
           + _refine_values(first, vals.get(first)) + f", keeping {keep} fixed.")
    decision = (f"No decision: {', '.join(lay.varying)} changed together, so no setting can be "
                "called best (which change made the difference is unknown).")
    card = _card(f"Which {first} gives the best {by}, everything else fixed? (this comparison "
                 f"changed {', '.join(lay.varying)} at once and cannot answer it)",
                 [], changed, _selection_words(by, mode, at, False), "none (several knobs changed)",
                 nxt)
    return {"decision": f"{decision}\nNext: {nxt}", "next": nxt, "card": card, "notes": []}

def _metric_words(metric: str) -> str:
    return {"val/loss": "validation loss", "val/acc": "validation accuracy",
            "train/loss": "training loss", "train/acc": "training accuracy"}.get(metric, metric)


def _plan(lay: Layout, settings: list[Setting], best: Setting | None, best_run: Run | None,
          by: str, mode: str, val: str | None, val_sums: dict, by_sums: dict,
          findings: Sequence[Finding], at: str = "final") -> dict[str, Any]:
    """The decision line, the one next experiment and the card, by the chapter's order."""
    notes: list[str] = []
    varying = lay.varying
    fixed_keys = [k for k in lay.keys if k not in varying]
    fixed_parts = [f"{k}={_short(fmt(lay.settings[0][k]))}" for k in fixed_keys
                   if lay.settings[0].get(k) is not None] if lay.runs else []
    seeds = sorted({s for s in lay.seeds if s is not None}, key=sort_key)
    if len(seeds) == 1:
        fixed_parts.insert(0, f"seed={fmt(seeds[0])}")
    for k in ("data_version", "code_version"):
        vals = {r.identity.get(k) for r in lay.runs}
        if len(vals) == 1 and None not in vals:
            fixed_parts.insert(0, f"{k}={_short(str(vals.pop()))}")
    changed = [f"{k}: " + ", ".join(fmt(v) for v in sorted({s.get(k) for s in lay.settings},
                                                            key=sort_key)) for k in varying]
    if len(seeds) > 1:
        changed.append("seed: " + ", ".join(fmt(s) for s in seeds))
    order_words = "lowest" if mode == "min" else "highest"
    selection = _selection_words(by, mode, at, any(s.n > 1 for s in settings))
    if is_train_metric(by):
        vs = selectable(settings_of(lay.runs, val_sums, varying, infer_mode(val), at)) if val else []
        pick = f"{vs[0].label} ({val} {num(vs[0].score)})" if vs else "nothing (no validation metric logged)"
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
        failed = [s for s in settings if s.score is not None and s.diverged]
        if failed:
            nxt = ("lower the learning rate (a third) or add warmup or gradient clipping, "
                   "then compare again.")
            head = (f"Every setting has a run that diverged or ended with an error finding "
                    f"({', '.join(s.label for s in failed[:4])}): none is selected.")
        else:
            head = f"No run has a finite {by}."
        card = _card(question, fixed_parts, changed, selection, "none", nxt)
        return {"decision": f"{head}\nNext: {nxt}", "next": nxt,
                "card": card, "notes": notes}

    label = best.label if varying else best_run.id
    runs_word = "seeds" if len(seeds) > 1 else "runs"
    bsum = by_sums[best_run.id]
    other = "best" if at == "final" else "final"
    both = (f"; its {other} value {num(bsum.get(other))}"
            + (f" at step {bsum.get('best_step')}" if other == "best" else "")
            + (", far worse than its best: keep that checkpoint" if at == "best"
               and final_far_from_best(bsum) else ""))
    best_desc = f"{label} ({by} {at} {best.mean_std()}"
    best_desc += f" over {best.n} {runs_word})" if best.n > 1 else f"{both}; 1 run)"
    if len(varying) == 0:
        noisy = any(f.pattern == "seed_variance" for f in findings)
        nxt = _next_without_sweep(lay, best, seeds, by, noisy)
        if len(seeds) > 1:
            question = "How much does the result vary across seeds?"
            decision = (f"Over {best.n} seeds the {metric_words} is {best.mean_std()} "
                        f"(range {num(min(best.best))} to {num(max(best.best))}).")
        elif best.n > 1:
            question = "Which of these runs is best? (their recorded params do not differ)"
            decision = (f"{best_run.id} has the best {metric_words} ({num(bsum[at])}, {at}) "
                        f"of {best.n} runs whose recorded params do not differ.")
        else:
            question = "Is this setting good enough to build on?"
            decision = (f"One run: {best_run.id} ends at {by} {num(bsum.get('final'))} "
                        f"(best {num(bsum.get('best'))} at step {bsum.get('best_step')}).")
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
    info = edge_info([s.params.get(p) for s in settings], bv,
                     [s.params.get(p) for s in settings if s.diverged])
    longer = f" and {longer_budget(budget)} steps" if still and budget else ""
    seeds_txt = f"{MIN_SEEDS} seeds"
    if info.get("refine") is not None:
        return (f"{p}={fmt(info['bounded_by'])} diverged, so the range ends there: refine "
                f"between the best {p}={fmt(bv)} and it with {p}={fmt(info['refine'])}, "
                "everything else fixed.")
    if info.get("best_at_edge") and info.get("n_values", 0) >= 3:
        beyond = info.get("beyond")
        side = "above" if info.get("edge") == "highest" else "below"
        extra = f": add {p}={fmt(beyond)}" if beyond is not None else ""
        return (f"the best {p}={fmt(bv)} is the {info['edge']} value tried; extend the range "
                f"{side} it{extra}, everything else fixed.")
    if is_number(bv) and info.get("log_spaced") and not info.get("local"):
        return (f"refine around {p}={fmt(bv)}: try {p}={fmt(_scaled(bv, 0.3))}, {fmt(bv)} and "
                f"{fmt(_scaled(bv, 3))} with {seeds_txt}{longer}, everything else fixed.")
    scored = selectable(settings)
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
                    f"(gap {num(gap)}, seed range up to {num(max(spreads))}); stabilise "
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
