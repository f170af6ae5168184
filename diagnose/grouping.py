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
from .readers._params import path_params
from .run import Run, finite, is_number

__all__ = [
    "Layout",
    "Setting",
    "compile_pattern",
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
                        tuple(sort_key(v) for v in st.params.values())),
    )
