"""The chapter's tuning strategy as an autopilot: :func:`tune`.

The user's ``train(params, recorder)`` trains one run and logs with the Recorder it is
given. The driver runs stages in the chapter's order, one knob at a time:

1. a coarse learning-rate sweep, log-spaced (x10 apart) over the ``lr`` range, one seed;
2. local refinement around the best: x0.3, x1 and x3, every seed (three by default), and
   one step further when the best is at an edge of that (never to a value that diverged);
3. the next knobs in the chapter's order (batch size, epochs / early stopping, weight
   decay / dropout, ...): the neighbouring values of each, every seed, everything else
   fixed at the best so far.

Every run is judged live (``Recorder(check_every=...)``: a run that diverges stops at
the next check, and the steps it did not use go back to the budget) and afterwards by
:func:`diagnose.pipeline.sweep` over the runs of the stage, which makes each decision. A
setting with a run that stopped or failed is never selected. After each stage the
experiment log (``experiment_log.csv``) and the decision card (``decision_card.md``) are
rewritten under ``out``, and the card says why the next stage was chosen. The final
choice is the sweep of everything under ``out``, so ``diagnose sweep OUT`` agrees with it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pipeline
from ._errors import StopTraining
from .features import nice
from .findings import jsonable
from .grouping import TUNING_ORDER, fmt, num, tuning_stage
from .record import Recorder
from .sweeps import CARD_FIELDS, SweepResult

__all__ = ["CARD_FILE", "LOG_FILE", "Stage", "Trial", "TuneResult", "tune"]

LOG_FILE = "experiment_log.csv"
CARD_FILE = "decision_card.md"
DEFAULT_SEEDS = (0, 1, 2)
#: Refinement factors around the best learning rate (the chapter's x0.3 and x3).
REFINE = (0.3, 1.0, 3.0)


@dataclass
class Trial:
    """One run the autopilot planned: its params, where it logs, and how it ended."""

    stage: int
    params: dict[str, Any]
    path: Path
    status: str = "planned"  # finished | stopped | failed
    steps: int | None = None  # last step logged (stopped: the step of the stop)
    stopped_by: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


@dataclass
class Stage:
    """One step of the strategy: the knob it varies, why, and what it decided."""

    index: int
    knob: str
    values: list[Any]
    seeds: list[Any]
    why: str
    question: str
    decision: str = ""
    best: dict[str, Any] | None = None
    score: float | None = None
    cost: float = 0.0  # runs used (a stopped run counts the share of steps it used)


@dataclass
class TuneResult:
    """What :func:`tune` did: the stages, the trials, the choice, the files it wrote."""

    best: dict[str, Any]
    score: float | None
    n_seeds: int
    stages: list[Stage]
    trials: list[Trial]
    budget_runs: float
    used_runs: float
    stop_reason: str
    sweep: SweepResult
    out: Path
    log_path: Path
    card_path: Path

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "best": self.best, "score": self.score, "n_seeds": self.n_seeds,
            "budget_runs": self.budget_runs, "used_runs": round(self.used_runs, 3),
            "stop_reason": self.stop_reason, "out": str(self.out),
            "log": str(self.log_path), "card": str(self.card_path),
            "stages": [{"index": s.index, "knob": s.knob, "values": s.values, "seeds": s.seeds,
                        "why": s.why, "decision": s.decision, "best": s.best,
                        "score": s.score, "cost": round(s.cost, 3)} for s in self.stages],
        })


# ---------------------------------------------------------------------------------------
# one trial (module level, so a process pool can pickle it)
# ---------------------------------------------------------------------------------------
def run_trial(train: Callable[[dict, Recorder], Any], params: Mapping[str, Any], path: str,
              identity: Mapping[str, Any], check_every: int) -> dict[str, Any]:
    """Train one run with live checks; return how it ended (never raises for the run's sake)."""
    out: dict[str, Any] = {"status": "finished", "stopped_by": [], "error": None, "steps": None}
    rec = None
    try:
        with Recorder(path, params=dict(params), identity=dict(identity), overwrite=True,
                      check_every=check_every, stop_on="error") as rec:
            train(dict(params), rec)
    except StopTraining as e:
        out.update(status="stopped", steps=e.step, stopped_by=[f.rule for f in e.findings])
    except Exception as e:  # noqa: BLE001 - a failed trial is a result, not the end of tuning
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    if rec is not None and out["steps"] is None:
        out["steps"] = rec.results.get("stopped_at_step", getattr(rec, "_last_step", None))
    return out


# ---------------------------------------------------------------------------------------
# the search space
# ---------------------------------------------------------------------------------------
def _is_lr(k: str) -> bool:
    return tuning_stage(k) == 0


def _start(spec: Any) -> Any:
    """Where a knob starts: a list's first value, a range's low end, a fixed value itself."""
    if isinstance(spec, list):
        return spec[0]
    if isinstance(spec, tuple):
        return spec[0]
    return spec


def _coarse_values(lo: float, hi: float, max_n: int) -> list[float]:
    """x10 apart over [lo, hi]; every other decade when the budget cannot afford them all."""
    if not (lo > 0 and hi >= lo):
        raise ValueError(f"the learning-rate range must be positive, got ({lo}, {hi})")
    a, b = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    vals = [float(f"1e{e}") for e in range(a, b + 1)] or [nice(math.sqrt(lo * hi))]
    step = 1
    while len(vals[::step]) > max(max_n, 3):
        step += 1
    picked = vals[::step]
    if picked[-1] != vals[-1] and len(picked) < max(max_n, 3):
        picked.append(vals[-1])
    return picked


def _neighbours(spec: Any, current: Any) -> list[Any]:
    """The values next to ``current`` to try for a later knob, nearest first."""
    if isinstance(spec, list):
        if current not in spec:
            return list(spec[:2])
        i = spec.index(current)
        return [spec[j] for j in (i + 1, i - 1) if 0 <= j < len(spec)]
    if isinstance(spec, tuple):
        lo, hi = spec
        if not current:
            return [nice(hi / 10) if hi else hi]
        vals = [nice(current * 2), nice(current / 2)]
        if isinstance(current, int) and not isinstance(current, bool):
            vals = [round(v) for v in vals]
        return [v for v in vals if lo <= v <= hi and v != current]
    return []


# ---------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------
class _Tuner:
    def __init__(self, train, space, budget, out, executor, seeds, by, check_every, log,
                 identity):
        self.train, self.executor, self.by = train, executor, by
        self.out = Path(out)
        self.seeds = list(seeds)
        if not self.seeds:
            raise ValueError("tune needs at least one seed")
        self.check_every, self.say, self.identity = check_every, log or (lambda s: None), identity
        if isinstance(budget, Mapping):
            self.budget_runs = float(budget["runs"])
            self.steps_per_run: int | None = budget.get("steps")
        else:
            self.budget_runs, self.steps_per_run = float(budget), None
        self.space = dict(space)
        lr_keys = [k for k in self.space if _is_lr(k) and isinstance(self.space[k], (tuple, list))]
        if not lr_keys:
            raise ValueError("space needs a learning-rate range, e.g. {'lr': (1e-3, 10)}")
        self.lr = lr_keys[0]
        self.knobs = sorted((k for k, v in self.space.items()
                             if isinstance(v, (tuple, list)) and k != self.lr),
                            key=lambda k: (tuning_stage(k), list(self.space).index(k)))
        self.current = {k: _start(v) for k, v in self.space.items()}
        self.trials: dict[tuple, Trial] = {}
        self.stages: list[Stage] = []
        self.used = 0.0
        self.stop_reason = ""

    # -- bookkeeping ---------------------------------------------------------------------
    @property
    def left(self) -> float:
        return self.budget_runs - self.used

    def _key(self, params: Mapping[str, Any]) -> tuple:
        return tuple((k, params[k]) for k in [self.lr, *self.knobs]) + (("seed", params["seed"]),)

    def _path(self, params: Mapping[str, Any]) -> Path:
        parts = [f"{k}={fmt(params[k])}" for k in [self.lr, *self.knobs]]
        return self.out.joinpath(*parts, f"seed={fmt(params['seed'])}")

    def _params(self, change: Mapping[str, Any], seed: Any) -> dict[str, Any]:
        return {**self.current, **change, "seed": seed}

    def _cost(self, t: Trial) -> float:
        if t.ok or not self.steps_per_run or t.steps is None:
            return 1.0
        return min(1.0, (t.steps + 1) / (self.steps_per_run + 1))

    def _run(self, stage: Stage, wanted: Sequence[dict[str, Any]]) -> list[Trial]:
        """Run the trials not run before (in parallel with an executor); all of them back."""
        todo, got = [], []
        for p in wanted:
            t = self.trials.get(self._key(p))
            if t is None:
                t = Trial(stage.index, p, self._path(p))
                self.trials[self._key(p)] = t
                todo.append(t)
            got.append(t)
        args = [(self.train, t.params, str(t.path),
                 {**self.identity, "experiment_id": f"tune/{stage.index}-{stage.knob}/"
                  + str(t.path.relative_to(self.out))}, self.check_every) for t in todo]
        if self.executor is None:
            results = [run_trial(*a) for a in args]
        else:
            results = [f.result() for f in [self.executor.submit(run_trial, *a) for a in args]]
        for t, r in zip(todo, results):
            t.status, t.steps, t.stopped_by, t.error = (r["status"], r["steps"], r["stopped_by"],
                                                        r["error"])
        if self.steps_per_run is None:
            done = [t.steps for t in todo if t.ok and t.steps is not None]
            self.steps_per_run = max(done) if done else None
        stage.cost = sum(self._cost(t) for t in todo)
        self.used += stage.cost
        for t in todo:
            how = t.status + (f" by {', '.join(t.stopped_by)} at step {t.steps}"
                              if t.stopped_by else "") + (f" ({t.error})" if t.error else "")
            self.say(f"  {t.path.relative_to(self.out)}: {how}")
        return got

    def _decide(self, stage: Stage, trials: Sequence[Trial]) -> SweepResult:
        """The stage's sweep; its best setting with no stopped or failed run."""
        res = pipeline.sweep([str(t.path) for t in trials], by=self.by)
        bad = {str(Path(t.path).resolve()) for t in trials if not t.ok}
        for s in res.settings:
            if s.score is None or any(str(Path(r.path).resolve()) in bad for r in s.runs):
                continue
            first = next(t for t in trials if str(t.path.resolve()) == str(Path(s.runs[0].path).resolve()))
            stage.best = {k: first.params[k] for k in [self.lr, *self.knobs]}
            stage.score = _mean(s.final)
            break
        skipped = [t for t in trials if not t.ok]
        if stage.best is None:
            stage.decision = "no setting finished without a stop; nothing to build on."
        else:
            label = ", ".join(f"{k}={fmt(v)}" for k, v in stage.best.items()
                              if k == stage.knob)
            stage.decision = (f"{label} is best: final {self.by} {num(stage.score)} "
                              f"(mean over {len(stage.seeds)} seed(s))")
            if skipped:
                stage.decision += "; not selectable (stopped or failed): " + ", ".join(
                    f"{stage.knob}={fmt(t.params[stage.knob])}" for t in skipped)
            stage.decision += "."
        return res

    # -- the stages ------------------------------------------------------------------------
    def run(self) -> TuneResult:
        self.out.mkdir(parents=True, exist_ok=True)
        lo, hi = (self.space[self.lr] if isinstance(self.space[self.lr], tuple)
                  else (min(self.space[self.lr]), max(self.space[self.lr])))
        n_seeds = len(self.seeds)
        refine_cost = len(REFINE) * n_seeds - 1
        # the coarse sweep leaves room for the refinement; when there is none, it takes all
        max_coarse = int(self.left - refine_cost if self.left - refine_cost >= 3 else self.left)
        values = (_coarse_values(lo, hi, max_coarse) if isinstance(self.space[self.lr], tuple)
                  else sorted(self.space[self.lr]))
        coarse = self._stage(self.lr, values, self.seeds[:1],
                             f"the chapter tunes the learning rate first: a coarse sweep, x10 "
                             f"apart over {fmt(lo)}..{fmt(hi)}, one seed")
        self._go(coarse)
        if coarse.best is None:
            self.stop_reason = "every run of the coarse sweep stopped or failed"
            return self._finish()
        c = coarse.best[self.lr]
        self.current[self.lr] = c
        refine = sorted({nice(c * f) for f in REFINE if lo <= nice(c * f) <= hi} | {c})
        why = (f"refine around {self.lr}={fmt(c)} (x0.3 and x3) with {n_seeds} seeds: the "
               "coarse sweep had one seed, a decision needs the mean over seeds")
        stage = self._stage(self.lr, refine, self.seeds, why)
        if not self._affordable(stage):
            return self._finish()
        self._go(stage)
        if stage.best is not None:
            self.current[self.lr] = stage.best[self.lr]
            self._extend(stage, lo, hi)
        for knob in self.knobs:
            cands = _neighbours(self.space[knob], self.current[knob])
            if not cands:
                continue
            title = TUNING_ORDER[tuning_stage(knob)][0] if tuning_stage(knob) < len(
                TUNING_ORDER) else knob
            while cands and len(cands) * n_seeds > self.left + 1e-9:
                cands = cands[:-1]
            why = (f"next knob in the chapter's order ({title}): {knob}="
                   f"{', '.join(fmt(v) for v in cands) or '?'} against {fmt(self.current[knob])}, "
                   f"{n_seeds} seeds, everything else fixed at the best so far")
            stage = self._stage(knob, [self.current[knob], *cands], self.seeds, why)
            if not cands:
                self._affordable(stage, need=n_seeds)
                return self._finish()
            self._go(stage)
            if stage.best is not None:
                self.current[knob] = stage.best[knob]
        self.stop_reason = self.stop_reason or "every knob in the space was tuned once"
        return self._finish()

    def _extend(self, refine: Stage, lo: float, hi: float) -> None:
        """Best at an edge of the refinement: one more value past it, every seed, if affordable.

        The value past the edge is x0.3 (or x3) of the best, or the value tried in the
        coarse sweep when that lies within that step (its run is reused). A value whose run
        stopped or failed is never extended to: the range ends before a diverged setting.
        """
        best = refine.best[self.lr] if refine.best else None
        vals = sorted(refine.values)
        if best is None or len(vals) < 2 or best not in (vals[0], vals[-1]):
            return
        up = best == vals[-1]
        step = nice(best * (REFINE[-1] if up else REFINE[0]))
        tried = sorted({t.params[self.lr] for t in self.trials.values()})
        between = [v for v in tried if (best < v <= step * 1.2) or (step / 1.2 <= v < best)]
        between = [v for v in between if (v > best) == up]
        beyond = (min(between) if up else max(between)) if between else step
        if not lo <= beyond <= hi:
            return
        if any(not t.ok for t in self.trials.values() if t.params[self.lr] == beyond):
            self.say(f"not extending to {self.lr}={fmt(beyond)}: a run there stopped or failed")
            return
        why = (f"the best {self.lr}={fmt(best)} is the {'highest' if up else 'lowest'} value "
               f"refined: extend one step to {self.lr}={fmt(beyond)} with every seed")
        stage = self._stage(self.lr, [best, beyond], self.seeds, why)
        if self._need(stage) > self.left + 1e-9:
            self.say(f"not extending to {self.lr}={fmt(beyond)}: {self._need(stage)} run(s) "
                     f"needed, {num(self.left, 2)} left")
            return
        self._go(stage)
        if stage.best is not None:
            self.current[self.lr] = stage.best[self.lr]

    def _stage(self, knob: str, values: list[Any], seeds: list[Any], why: str) -> Stage:
        fixed = ", ".join(f"{k}={fmt(self.current[k])}" for k in [self.lr, *self.knobs]
                          if k != knob)
        q = f"Which {knob} gives the lowest {self.by}" + (f" with {fixed}?" if fixed else "?")
        return Stage(len(self.stages) + 1, knob, list(values), list(seeds), why, q)

    def _need(self, stage: Stage) -> int:
        return sum(1 for v in stage.values for s in stage.seeds
                   if self._key(self._params({stage.knob: v}, s)) not in self.trials)

    def _affordable(self, stage: Stage, need: int | None = None) -> bool:
        need = self._need(stage) if need is None else need
        if need <= self.left + 1e-9:
            return True
        self.stop_reason = (f"budget: {num(self.left, 2)} run(s) left; the next stage ("
                            f"{stage.why.split(':')[0]}) needs {need}")
        self.say(f"stop: {self.stop_reason}")
        self._write(self._next_words())
        return False

    def _go(self, stage: Stage) -> None:
        self.stages.append(stage)
        self.say(f"stage {stage.index}: {stage.knob} = {', '.join(fmt(v) for v in stage.values)}"
                 f" x {len(stage.seeds)} seed(s) - why: {stage.why}")
        trials = self._run(stage, [self._params({stage.knob: v}, s)
                                   for v in stage.values for s in stage.seeds])
        self._decide(stage, trials)
        self.say(f"  decision: {stage.decision} (budget left: {num(self.left, 2)} runs)")
        self._write(self._next_words(after=stage))

    def _next_words(self, after: Stage | None = None) -> str:
        done = {s.knob for s in self.stages}
        if after is not None and after.knob == self.lr and after.index == 1:
            return "refine the learning rate (x0.3, x3) with every seed."
        rest = [k for k in self.knobs if k not in done]
        if rest:
            return f"tune {rest[0]} next (the chapter's order), everything else fixed."
        return "stop tuning: confirm the setting and evaluate it once on the test split."

    # -- outputs -----------------------------------------------------------------------
    def _write(self, nxt: str) -> SweepResult:
        res = pipeline.sweep(str(self.out), by=self.by)
        by_path = {str(t.path.resolve()): t for t in self.trials.values()}
        chosen = _chosen(res, by_path)
        rows = []
        for row in res.rows:
            t = by_path.get(str(Path(row["path"]).resolve()))
            stage = self.stages[t.stage - 1] if t and t.stage <= len(self.stages) else None
            out = {"stage": t.stage if t else "", "stage_knob": stage.knob if stage else "",
                   "status": t.status if t else "", "stopped_by": ",".join(t.stopped_by) if t else ""}
            out.update({k: v for k, v in row.items() if k != "decision"})
            ids = {str(Path(r.path).resolve()) for r in chosen.runs} if chosen else set()
            out["decision"] = ("selected" if str(Path(row["path"]).resolve()) in ids else
                               "stopped early: not selectable" if t and not t.ok else "")
            rows.append(out)
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
        (self.out / LOG_FILE).write_text(buf.getvalue(), encoding="utf-8")
        (self.out / CARD_FILE).write_text(self._card(res, chosen, nxt), encoding="utf-8")
        return res

    def _card(self, res: SweepResult, chosen: Any, nxt: str) -> str:
        last = self.stages[-1] if self.stages else None
        fixed = ", ".join(f"{k}={fmt(v)}" for k, v in self.current.items()
                          if k not in (last.knob if last else "",))
        best = ("none" if chosen is None else
                f"{chosen.label} (final {self.by} {num(_mean(chosen.final))} over "
                f"{len(chosen.final)} seed(s))")
        card = dict(zip(CARD_FIELDS, (
            last.question if last else "", fixed or "nothing",
            (f"{last.knob}: {', '.join(fmt(v) for v in last.values)}; seed: "
             f"{', '.join(fmt(s) for s in last.seeds)}") if last else "nothing",
            (f"{self.by} as `diagnose sweep` ranks it (mean over seeds; a setting with a "
             "stopped run is never selected); the values shown are final values"),
            best, (f"Stop ({self.stop_reason}). " if self.stop_reason else "") + nxt[:1].upper()
            + nxt[1:])))
        lines = ["| Decision card | |", "|---|---|"]
        lines += [f"| **{k}** | {v} |" for k, v in card.items()]
        lines += ["", (f"Budget: {num(self.used, 2)} of {fmt(self.budget_runs)} runs used "
                       "(a run stopped early counts the share of steps it used)."),
                  "", "## Stages", ""]
        for s in self.stages:
            lines += [(f"{s.index}. **{s.knob}** = {', '.join(fmt(v) for v in s.values)} x "
                       f"{len(s.seeds)} seed(s), {num(s.cost, 2)} runs. Why: {s.why}. "
                       f"Decision: {s.decision}")]
        return "\n".join(lines) + "\n"

    def _finish(self) -> TuneResult:
        res = self._write(self._next_words())
        by_path = {str(t.path.resolve()): t for t in self.trials.values()}
        chosen = _chosen(res, by_path)
        best: dict[str, Any] = {}
        if chosen is not None:
            t = by_path[str(Path(chosen.runs[0].path).resolve())]
            best = {k: v for k, v in t.params.items() if k != "seed"}
        self.say(f"chosen: {', '.join(f'{k}={fmt(v)}' for k, v in best.items())} - final "
                 f"{self.by} {num(_mean(chosen.final)) if chosen else 'n/a'}; log: "
                 f"{self.out / LOG_FILE}, card: {self.out / CARD_FILE}")
        return TuneResult(best=best, score=_mean(chosen.final) if chosen else None,
                          n_seeds=chosen.n if chosen else 0, stages=self.stages,
                          trials=list(self.trials.values()), budget_runs=self.budget_runs,
                          used_runs=self.used, stop_reason=self.stop_reason, sweep=res,
                          out=self.out, log_path=self.out / LOG_FILE,
                          card_path=self.out / CARD_FILE)


def _mean(xs: Sequence[float]) -> float | None:
    return float(sum(xs) / len(xs)) if xs else None


def _chosen(res: SweepResult, by_path: Mapping[str, Trial]) -> Any:
    """The sweep's best setting, passing over any with a run that stopped or failed."""
    for s in res.settings:
        if s.score is None:
            continue
        if all(by_path.get(str(Path(r.path).resolve()), None) is None
               or by_path[str(Path(r.path).resolve())].ok for r in s.runs):
            return s
    return None


def tune(train: Callable[[dict, Recorder], Any], space: Mapping[str, Any],
         budget: float | Mapping[str, Any], out: str | Path = "runs/",
         executor: Any = None, *, seeds: Sequence[Any] = DEFAULT_SEEDS, by: str = "val/loss",
         check_every: int = 5, log: Callable[[str], Any] | None = None,
         identity: Mapping[str, Any] | None = None) -> TuneResult:
    """Tune ``train`` over ``space`` by the chapter's strategy within ``budget`` runs.

    ``train(params, recorder)`` trains one run with ``params`` (every knob of ``space``
    plus ``seed``) and logs with ``recorder``. ``space`` maps knob names to a fixed value,
    a ``(low, high)`` range or a list of values (tuning starts at a range's low end or a
    list's first value); it needs a learning-rate range. ``budget``: a number of runs, or
    ``{"runs": N, "steps": S}`` where S is the steps a full run logs (a run stopped early
    returns the rest of its steps; without S it is learned from the first full run).
    ``executor``: any ``concurrent.futures.Executor`` runs the trials of a stage in
    parallel (``train`` must then be picklable). Returns a :class:`TuneResult`; the
    experiment log and the decision card are under ``out``.
    """
    return _Tuner(train, space, budget, out, executor, seeds, by, check_every, log,
                  dict(identity or {})).run()
