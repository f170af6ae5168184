"""Which runs are comparable: settings (params without the seed), seed groups, one-knob sweeps.

The chapter's advice is about sequences of experiments: change one knob at a time,
repeat the winner with several seeds. This module reads that structure off the runs'
params (any reader) and ``--group-by`` patterns over their paths; it measures nothing
(the group features in :mod:`diagnose.features.group` do) and judges nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .findings import Group
from .readers._params import CONFIG_FIELDS, compile_pattern, path_params
from .run import Run, finite, is_number

__all__ = [
    "Layout",
    "folder_family",
    "identity_of",
    "is_knob",
    "Setting",
    "compile_pattern",
    "diverged",
    "group_runs",
    "layouts_shared",
    "settings_of",
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


def num(x: Any, digits: int = 3) -> str:
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


def sort_key(v: Any) -> tuple:
    """Numbers before strings, numbers numerically; None first."""
    if v is None:
        return (0, 0.0, "")
    if is_number(v):
        return (1, float(v), "")
    return (2, 0.0, str(v))

#: Integers this large are "no limit" sentinels (HF's num_train_epochs when max_steps is
#: set: 9223372036849999872), never a value someone tuned.
SENTINEL = 2.0 ** 53

#: Params a writer derives from others: HF's Trainer logs ``max_steps`` (from epochs and the
#: data size) and the epochs that follow from it whatever the user set.
_DERIVED = {"hf": {"max_steps"}}


def is_knob(run: Run, key: str, value: Any) -> bool:
    """Whether ``key=value`` configures the run (a knob) rather than locate, label or count it."""
    if key in SEED_KEYS or _is_bookkeeping(key) or key in _DERIVED.get(run.format or "", ()):
        return False
    return not (is_number(value) and abs(float(value)) >= SENTINEL)


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
# grouping
# ---------------------------------------------------------------------------------------
#: Recorded identity that makes runs the same experiment (``run.identity`` fields, and
#: params that name the data or the model rather than tune it). Runs differing in any of
#: them are different experiments, whatever their knobs.
IDENTITY_KEYS = ("experiment", "experiment_name", "dataset", "dataset_name", "data", "task",
                 "task_name", "model", "model_name", "model_type", "name_or_path", "project",
                 "mlflow_experiment", "logger")
IDENTITY_PARAMS = ("dataset", "dataset_name", "task_name", "model_type", "model_name_or_path",
                   "_name_or_path", "data", "project")
#: Path segments that name one run of a family (a param piece, a number, a date, a version).
_RUN_SEGMENT = re.compile(
    r"=|^(version|run|trial|seed|fold|checkpoint)[-_]?\d+$|^[\d\W_]+$"
    r"|^(offline-)?run-\d{8}_\d{6}-\w+$", re.I)
_FILE_NAME = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}$")


def identity_of(run: Run) -> tuple:
    """The run's recorded experiment identity (empty when nothing is recorded)."""
    got = [(k, str(run.identity[k])) for k in IDENTITY_KEYS if run.identity.get(k) not in (None, "")]
    got += [(k, str(run.params[k])) for k in IDENTITY_PARAMS if run.params.get(k) not in (None, "")]
    n = _examples(run)
    if n:
        got.append(("examples", n))
    return tuple(got)


def _examples(run: Run) -> str | None:
    """The training set size a HF Trainer state implies (steps per epoch x batch size), 2 digits.

    Runs on one dataset agree on it whatever their batch size; unrelated tasks almost never do.
    """
    steps, epochs, bs = (run.params.get(k) for k in ("max_steps", "epochs", "batch_size"))
    if run.format != "hf" or not all(is_number(x) and 0 < x < SENTINEL for x in (steps, epochs)):
        return None
    per_epoch = round(steps / epochs)
    # without a recorded batch size, the steps per epoch (data size / a fixed batch size)
    return f"{per_epoch * bs:.2g}" if is_number(bs) and bs > 0 else f"{per_epoch} steps/epoch"


#: curves a run logs or not by its settings (a scheduler's lr, clipping's grad norm) or its
#: bookkeeping: two runs of one experiment may differ in them
_OPTIONAL_CURVE = re.compile(r"(^|[/_.\s-])(lr|learning[_ ]?rate|grad|momentum|beta|time|epoch|"
                             r"step|memory|mem|throughput|samples|tokens)", re.I)


def _task_metrics(run: Run) -> tuple[str, ...]:
    """The run's curves beside its losses and accuracies, bookkeeping aside (a segmenter's
    ``iou``, ``precision``): one experiment's runs log the same ones, unrelated projects rarely
    do, though both record only ``lr`` and ``batch_size`` in sibling folders."""
    return tuple(sorted(m for m in run.metric_names if "/" not in m
                        and not _OPTIONAL_CURVE.search(m)))


def _part_way(run: Run) -> bool:
    """A run stopped part-way through its budget: in progress (or saved as a checkpoint) and,
    where its ``max_steps`` is recorded, short of it (a state saved at its last step is done)."""
    budget = run.params.get("max_steps")
    if not run.in_progress:
        return False
    if is_number(budget) and 0 < budget < SENTINEL and run.step_range:
        return run.step_range[1] < budget
    return True


def folder_family(path: str | None, shared: bool = False) -> str:
    """The folder a run's siblings share: its own folder's parent, run-like segments dropped.

    ``shared``: several runs come from this one path (a tidy CSV, an MLflow database):
    the path itself is their family.
    """
    p = str(path or "").replace("\\", "/").rstrip("/")
    if shared or not p:
        return p
    parts = p.split("/")
    if _FILE_NAME.search(parts[-1]):  # the run's own file: its folder is the run
        parts = parts[:-1]
    parts = parts[:-1]
    while parts and _RUN_SEGMENT.search(parts[-1]):
        parts = parts[:-1]
    return "/".join(parts)


def _family_names(families: list[tuple[str, tuple, list[str]]]) -> list[str]:
    """A name per experiment (folder, recorded identity, run ids): the folder the runs share,
    else their identity; where two experiments would read alike (two kinds of run side by side
    in one folder), the identity and then the runs are added, so a user can tell them apart."""
    names = [folder or ", ".join(v for _, v in ident) for folder, ident, _ in families]
    for step in ("identity", "runs"):
        alike = {n for n in names if names.count(n) > 1}
        for i, (_, ident, ids) in enumerate(families):
            if names[i] not in alike:
                continue
            said = (", ".join(f"{k}={v}" for k, v in ident) if step == "identity" else
                    ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else ""))
            if said:
                names[i] = f"{names[i]} [{said}]"
    return names


def _fingerprint(run: Run, setting: Mapping[str, Any], seed: Any) -> tuple:
    """What one run read twice (two formats, two stores) has in common with itself."""
    curves: tuple = ()
    if run.has_metrics:
        curves = tuple((m, len(v), round(float(np.nansum(v[np.isfinite(v)])), 6))
                       for m in ("val/loss", "train/loss") for _, v in [run.arrays(m)] if len(v))
    return (tuple(sorted(setting.items())), seed, run.step_range,
            curves or run.identity.get("run_name") or folder_family(run.path))


@dataclass
class Layout:
    """How a set of runs is organised: settings (params without the seed) and seeds.

    Only runs of one experiment are compared (:func:`identity_of`, :func:`folder_family`):
    ``parts`` holds one Layout per experiment that has two runs or more; ``apart`` the runs
    alone in theirs (not comparable with anything here); ``same_as`` maps a run read twice
    (two formats of one run) to the copy kept. With one part, this Layout is that part.
    """

    runs: list[Run]
    settings: list[dict[str, Any]]  # per run: comparable params, seed excluded
    seeds: list[Any]
    keys: list[str]  # every setting param seen, tuning order first
    varying: list[str]  # keys with more than one value
    ungrouped: list[Run] = field(default_factory=list)
    apart: list[Run] = field(default_factory=list)
    same_as: dict[str, str] = field(default_factory=dict)
    parts: list["Layout"] = field(default_factory=list)
    family: str = ""

    @classmethod
    def of(cls, runs: Sequence[Run], group_by: str | Sequence[str] | None = None) -> "Layout":
        cache = _LAYOUTS.get()
        if cache is None:
            return cls._of(runs, group_by)
        key = (frozenset(map(id, runs)), tuple(as_list(group_by)))
        lay = cache.get(key)
        if lay is None:
            lay = cache[key] = cls._of(runs, group_by)
            # the runs it compares give the same layout: a mixed group asks for that one
            cache.setdefault((frozenset(map(id, lay.runs)), key[1]), lay)
        return lay

    @classmethod
    def _of(cls, runs: Sequence[Run], group_by: str | Sequence[str] | None = None) -> "Layout":
        patterns = [compile_pattern(p) for p in as_list(group_by)]
        kept: list[Run] = []
        settings: list[dict[str, Any]] = []
        seeds: list[Any] = []
        ungrouped: list[Run] = []
        for run in runs:
            wanted = run.path and (patterns or not run.params)
            from_path = path_params(run.path, patterns) if wanted else {}
            for k, v in from_path.items():
                run.params.setdefault(k, v)
            source = from_path if patterns else run.params
            if patterns and not from_path:
                source = run.params  # not matched: fall back to its own params
            s = {k: _hashable(v) for k, v in source.items() if is_knob(run, k, v)}
            seed = run_seed(run)
            if not s and seed is None:
                ungrouped.append(run)
                continue
            kept.append(run)
            settings.append(s)
            seeds.append(seed)
        # one run read in two formats is one run
        same_as: dict[str, str] = {}
        first: dict[tuple, Run] = {}
        unique = []
        for i, run in enumerate(kept):
            fp = _fingerprint(run, settings[i], seeds[i])
            if fp in first and first[fp] is not run:
                same_as[run.id] = first[fp].id
            else:
                first.setdefault(fp, run)
                unique.append(i)
        # one experiment per family: recorded identity, else the folder the runs share
        paths: dict[str, int] = {}
        for i in unique:
            paths[kept[i].path or ""] = paths.get(kept[i].path or "", 0) + 1
        fams: dict[tuple, list[int]] = {}
        for i in unique:
            r = kept[i]
            # same identity, same folder, the same knobs recorded and the same validation metrics;
            # and finished or not alike: a checkpoint part-way through its budget set against a
            # finished run compares two budgets, not two settings. A settings file beside each
            # run must record the same names: two projects built from one template (Stanford
            # CS230's params.json) share the knobs, not the template's other fields
            fam = (identity_of(r), folder_family(r.path, paths[r.path or ""] > 1),
                   tuple(sorted(settings[i])), r.identity.get(CONFIG_FIELDS, ""),
                   tuple(sorted(m for m in r.metric_names if m.startswith("val/"))),
                   _task_metrics(r), _part_way(r))
            fams.setdefault(fam, []).append(i)
        apart = [kept[idx[0]] for idx in fams.values() if len(idx) == 1]
        groups = [(fam, idx) for fam, idx in fams.items() if len(idx) >= 2]
        names = _family_names([(fam[1], fam[0], [kept[i].id for i in idx]) for fam, idx in groups])
        parts = [cls._flat([kept[i] for i in idx], [settings[i] for i in idx],
                           [seeds[i] for i in idx], name)
                 for (fam, idx), name in zip(groups, names)]
        dups = [r for r in kept if r.id in same_as]
        if len(parts) == 1:
            lay = parts[0]
            lay.ungrouped, lay.apart, lay.same_as = ungrouped + apart + dups, apart, same_as
            lay.parts = [lay]
            return lay
        inside = [i for idx in fams.values() if len(idx) >= 2 for i in idx]
        lay = cls._flat([kept[i] for i in inside], [settings[i] for i in inside],
                        [seeds[i] for i in inside])
        lay.ungrouped, lay.apart, lay.same_as, lay.parts = (ungrouped + apart + dups, apart,
                                                            same_as, parts)
        return lay

    @classmethod
    def _flat(cls, runs: list[Run], settings: list[dict[str, Any]], seeds: list[Any],
              family: str = "") -> "Layout":
        keys = sorted({k for s in settings for k in s}, key=lambda k: (tuning_stage(k), k))
        varying = [k for k in keys if len({s.get(k) for s in settings}) > 1]
        return cls(runs, settings, seeds, keys, varying, family=family)

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
                (tuple(sort_key(v) for v in self.key(i)), sort_key(self.seeds[i]))
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
            sorted(out.items(), key=lambda kv: tuple(sort_key(v) for v in kv[0])))
        return dict(self.__dict__["_configs"])

    def groups(self) -> list[Group]:
        """Seed groups, sweeps and mixed groups inside each experiment (never across them)."""
        if len(self.parts) == 1 and self.parts[0] is self:
            return self._groups()
        out = []
        for part in self.parts:
            for g in part._groups():
                g.id += f" [{part.family}]" if part.family else ""
                out.append(g)
        return out

    def confounded(self) -> list[tuple]:
        """Settings whose every neighbour differs in two or more knobs (no one-knob pair)."""
        configs = list(self.configs())
        # a and b differ in exactly knob j iff they agree once j is left out: count per j (O(n k)).
        rests: list[dict[tuple, int]] = [{} for _ in self.varying]
        for a in configs:
            for j, seen in enumerate(rests):
                rest = a[:j] + a[j + 1:]
                seen[rest] = seen.get(rest, 0) + 1
        return [a for a in configs
                if all(seen[a[:j] + a[j + 1:]] < 2 for j, seen in enumerate(rests))]

    def _groups(self) -> list[Group]:
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
        # runs of one experiment (the layout's family) that differ in several knobs
        if len(self.varying) >= 2:
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


def as_list(x: str | Sequence[str] | None) -> list[str]:
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
def diverged(summary: Mapping[str, Any] | None, mode: str) -> bool:
    """A run that is never selected: it ended with an error finding (an explosion, NaN)
    or its metric ended non-finite. (A validation loss that rises by overfitting is not
    divergence: the final value already ranks it.)"""
    return bool(summary and (summary.get("errors") or summary.get("ends_nonfinite")))


@dataclass
class Setting:
    """One setting of the compared params, with its seeds' compared, best and final values.

    ``best`` holds the values compared (``at``: each run's ``final`` value, the last
    evaluation, or its ``best`` over steps); ``best_over_steps`` and ``final`` both
    numbers, so tables can show them side by side. ``diverged``: a run of it blew up
    (:func:`diverged`), so the setting is never selected.
    """

    params: dict[str, Any]
    runs: list[Run]
    best: list[float]  # finite per-run compared values (seeds)
    final: list[float]
    best_steps: list[int | None] = field(default_factory=list)
    best_over_steps: list[float] = field(default_factory=list)
    diverged: bool = False
    at: str = "best"

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
            return num(self.score, digits)
        return f"{num(self.score, digits)} ± {num(self.std, digits)}"


def settings_of(
    runs: Sequence[Run],
    summaries: Mapping[str, Mapping[str, Any]],
    keys: Sequence[str],
    mode: str,
    value: str = "best",
) -> list[Setting]:
    """Pool runs by the values of ``keys`` and rank the settings, best first.

    ``value`` is the per-run number compared: ``best`` (best over steps) or
    ``final`` (the last evaluation). Settings with a diverged run rank after every
    other, and settings without any finite value last.
    """
    by_key: dict[tuple, Setting] = {}
    for run in runs:
        params = {k: _hashable(run.param(k)) for k in keys}
        key = tuple(params.values())
        st = by_key.get(key)
        if st is None:
            st = by_key[key] = Setting(params, [], [], [], at=value)
        st.runs.append(run)
        s = summaries.get(run.id) or {}
        st.diverged = st.diverged or diverged(s, mode)
        if finite(s.get(value)):
            st.best.append(float(s[value]))
            st.best_steps.append(s.get("best_step" if value == "best" else "final_step"))
        if finite(s.get("best")):
            st.best_over_steps.append(float(s["best"]))
        if finite(s.get("final")):
            st.final.append(float(s["final"]))
    sign = 1.0 if mode == "min" else -1.0
    return sorted(
        by_key.values(),
        key=lambda st: (st.score is None, st.diverged,
                        sign * st.score if st.score is not None else 0.0,
                        tuple(sort_key(v) for v in st.params.values())),
    )
