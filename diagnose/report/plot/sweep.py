"""The sweep figure: each setting's best value against the swept param, seeds as points.

Shares the run figure's helpers (:mod:`diagnose.report.plot.run`); matplotlib is
imported inside the functions only.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...findings import Finding
from ...grouping import SEED_KEYS, run_seed, tuning_stage
from ...run import Run, infer_mode, is_number
from .run import (
    NONFINITE_COLOR,
    TRAIN_COLOR,
    VAL_COLOR,
    finish_y,
    fmt_param,
    fmt_value,
    key_params,
    new_figure,
    varying_params,
    wants_log,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["sweep_figure"]


# ---------------------------------------------------------------------------------------
# the sweep figure
# ---------------------------------------------------------------------------------------
@dataclass
class _Point:
    run: Run
    x: Any
    best: float | None
    final: float  # may be NaN/inf: a diverged run
    error: bool


def _sweep_inputs(source: Any) -> tuple[list[Run], list[Finding], Any]:
    """Runs, findings and the sweep result (if any) from a SweepResult, Report or run list."""
    if isinstance(source, Run):
        return [source], [], None
    runs = getattr(source, "runs", None)
    if runs is not None and not isinstance(source, (list, tuple)):
        return list(runs), list(getattr(source, "findings", []) or []), source
    return list(source), [], None


def _swept_param(runs: Sequence[Run], result: Any) -> str | None:
    varying = list(getattr(result, "varying", None) or [])
    if varying:
        return varying[0]
    for g in getattr(result, "groups", None) or []:
        if getattr(g, "param", None):
            return g.param

    varying = varying_params(runs, SEED_KEYS)
    return min(varying, key=lambda k: (tuning_stage(k), k)) if varying else None


def _default_metric(runs: Sequence[Run], result: Any) -> str:
    chosen = getattr(result, "val_metric", None) or getattr(result, "by", None)
    if chosen:
        return chosen
    present = {m for r in runs for m in r.metric_names}
    for m in ("val/loss", "val/acc", "train/loss"):
        if m in present:
            return m
    val = sorted(m for m in present if m.startswith("val/"))
    return (val or sorted(present) or ["val/loss"])[0]


def _is_log_spaced(xs: Sequence[float]) -> bool:
    """Positive values covering at least a decade, spaced more evenly in log than linearly."""
    v = np.unique(np.asarray(xs, dtype=float))
    if len(v) < 2 or v.min() <= 0 or v.max() / v.min() < 10:
        return False
    if len(v) == 2:
        return True
    lin, log = np.diff(v), np.diff(np.log10(v))
    return float(np.std(log) / np.mean(log)) < float(np.std(lin) / np.mean(lin))


def sweep_figure(
    source: Any,
    param: str | None = None,
    metric: str | None = None,
    *,
    mode: str | None = None,
    findings: Sequence[Finding] | None = None,
    title: str | None = None,
    width: float = 11.0,
    at: str | None = None,
) -> Figure:
    """A sweep at a glance: the validation metric against the swept param, and the curves.

    ``source`` is a sweep result (``diagnose.sweep``), a ``Report`` or a list of runs.
    Left: best (filled) and final (hollow) value per run against ``param`` (log x when
    log-spaced), mean ± std over seeds, the best setting starred, runs with an error
    finding drawn as red crosses, diverged finals as red marks on the top edge. Right:
    the metric over steps per setting, mean ± std bands where a setting has several seeds.
    ``at``: the value the star selects by, ``final`` (the last evaluation; default, or the
    sweep result's) or ``best``; settings with a run that diverged or has an error finding
    are never starred.
    """
    runs, own_findings, result = _sweep_inputs(source)
    at = at or getattr(result, "at", None) or "final"
    if not runs:
        raise ValueError("no runs to plot")
    found = list(findings if findings is not None else own_findings)
    param = param or _swept_param(runs, result)
    metric = metric or _default_metric(runs, result)
    mode = mode or (getattr(result, "mode", None) if metric == getattr(result, "by", None)
                    else None) or infer_mode(metric)
    errors = {f.run for f in found if f.severity == "error" and f.run}
    pooled = _setting_labels(runs) if param is None else {}
    points = [_point(r, r.param(param) if param else pooled[r.id], metric, mode, r.id in errors)
              for r in runs if r.has(metric)]
    missing = [r.id for r in runs if not r.has(metric)]
    if not points:
        raise ValueError(f"no run records {metric!r}; pass metric= one they record")
    settings = _settings(points)
    by_seed = param is None and len(settings) == 1 and len(points) > 1

    if by_seed:  # one setting, several seeds: each seed its own point on the left
        x_of = {p.run.id: run_seed(p.run) for p in points}
        if None not in x_of.values() and len(set(x_of.values())) == len(points):
            left_settings = _settings([replace(p, x=x_of[p.run.id]) for p in points])
        else:
            by_seed = False
    if not by_seed:
        left_settings = settings

    fig = new_figure(width, 4.6 + (0.25 if missing else 0))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
    left.set_label("sweep")
    right.set_label("curves")
    xname = "seed" if by_seed else param
    numeric = xname is not None and all(is_number(x) for x in left_settings)
    xpos = _x_positions(left, left_settings, numeric and not by_seed, xname)
    best_x = _draw_sweep_values(left, left_settings, xpos, mode, xname, compare=not by_seed,
                                at=at)
    left.set_xlabel(xname or "setting")
    left.set_ylabel(metric)
    left.grid(True, alpha=0.25, lw=0.6)
    _draw_sweep_curves(right, settings, metric, param)
    nseeds = max(len(v) for v in settings.values())
    if title is None:
        what = (f"Sweep over {param}" if param else
                f"{len(points)} seeds of one setting ({key_params(points[0].run, 3, skip=SEED_KEYS)})"
                if by_seed else f"{len(runs)} runs")
        best = ("" if best_x is None or by_seed
                else f" — best {param or 'setting'}: {fmt_param(best_x)} by its {at} value")
        title = f"{what}: {metric} ({mode}){best}"
        also = [k for k in varying_params(runs, SEED_KEYS) if k != param] if param else []
        if also:
            title += f"; {', '.join(also[:3])} also var{'y' if len(also) > 1 else 'ies'}"
        if nseeds > 1:
            title += (f", {nseeds} seeds per setting (mean ± std)" if len(settings) > 1
                      else ", mean ± std")
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    if missing:
        fig.supxlabel(textwrap.shorten(f"not shown, no {metric} recorded: " + ", ".join(missing),
                                       int(width * 14), placeholder=" ..."),
                      fontsize=8.5, color="#555", x=0.01, ha="left")
    return fig


def _setting_labels(runs: Sequence[Run]) -> dict[str, str]:
    """Without a swept param: runs pooled by their params other than the seed."""
    varying = varying_params(runs, SEED_KEYS)
    return {r.id: ", ".join(f"{k}={fmt_param(r.params.get(k))}" for k in varying) or "all runs"
            for r in runs}


def _point(run: Run, x: Any, metric: str, mode: str, error: bool) -> _Point:
    values = run.arrays(metric)[1]
    ok = np.isfinite(values)
    best = None
    if ok.any():
        best = float(np.min(values[ok]) if mode == "min" else np.max(values[ok]))
    final = float(values[-1]) if len(values) else math.nan
    return _Point(run, x if x is not None else run.id, best, final, error)


def _settings(points: Sequence[_Point]) -> dict[Any, list[_Point]]:
    out: dict[Any, list[_Point]] = {}
    for p in points:
        out.setdefault(p.x, []).append(p)
    return dict(sorted(out.items(), key=lambda kv: (0, float(kv[0]), "") if is_number(kv[0])
                       else (1, 0.0, str(kv[0]))))


def _x_positions(ax: Axes, settings: Mapping[Any, list[_Point]], numeric: bool,
                 param: str | None) -> dict[Any, float]:
    if numeric:
        xs = [float(x) for x in settings]
        if _is_log_spaced(xs):
            ax.set_xscale("log")
        if len(xs) <= 12:  # ticks at the values tried
            ax.set_xticks(xs, [fmt_param(x) for x in settings])
            ax.minorticks_off()
        return {x: float(x) for x in settings}
    ax.set_xticks(range(len(settings)), [textwrap.shorten(str(x), 18, placeholder="...")
                                         for x in settings],
                  rotation=30 if len(settings) > 4 else 0, ha="right" if len(settings) > 4 else "center")
    return {x: float(i) for i, x in enumerate(settings)}


def _pad_x(ax: Axes, xs: Sequence[float]) -> None:
    """Every setting inside the axes, NaN-only ones included (they do not move the limits)."""
    lo, hi = min(xs), max(xs)
    if ax.get_xscale() == "log":
        ax.set_xlim(lo / 1.6, hi * 1.6)
    else:
        pad = (hi - lo) * 0.06 or 0.5
        ax.set_xlim(lo - pad, hi + pad)


def _draw_sweep_values(ax: Axes, settings: Mapping[Any, list[_Point]], xpos: Mapping[Any, float],
                       mode: str, name: str | None, compare: bool = True,
                       at: str = "final") -> Any:
    """Best and final per setting (seeds pooled); returns the best setting's x value.

    ``compare=False`` (seeds of one setting): points are not joined and none is starred,
    since seeds are draws to look at, not options to pick from.
    """
    xs, best_mean, best_std, final_mean = [], [], [], []
    for x, pts in settings.items():
        b = [p.best for p in pts if p.best is not None]
        fin = [p.final for p in pts if math.isfinite(p.final)]
        xs.append(xpos[x])
        best_mean.append(float(np.mean(b)) if b else math.nan)
        best_std.append(float(np.std(b, ddof=1)) if len(b) > 1 else 0.0)
        final_mean.append(float(np.mean(fin)) if fin else math.nan)
    many = any(len(p) > 1 for p in settings.values())
    ax.plot(xs, final_mean, color=VAL_COLOR, marker="s", ms=9, mfc="white", mew=1.4,
            ls="--" if compare else "none",
            lw=1.3, label="final" + (" (mean)" if many else ""), zorder=2, gid="final")
    ax.errorbar(xs, best_mean, yerr=best_std if many else None, color=TRAIN_COLOR, marker="o",
                ms=6, lw=1.6 if compare else 0, capsize=4, label="best over steps" + (" (mean ± std)" if many else ""),
                zorder=3).lines[0].set_gid("best")
    if many:
        for x, pts in settings.items():
            bs = [p.best for p in pts if p.best is not None]
            ax.plot([xpos[x]] * len(bs), bs, "o", ms=3.5, color=TRAIN_COLOR, alpha=0.45, zorder=2)
    err = [(xpos[x], p.best if p.best is not None else p.final) for x, pts in settings.items()
           for p in pts if p.error]
    err_y = [y for _, y in err if math.isfinite(y)]
    if err_y:
        ax.plot([x for x, y in err if math.isfinite(y)], err_y, "X", ms=12, color=NONFINITE_COLOR,
                mec="white", mew=0.8, ls="none", zorder=8, label="run with an error finding")
    diverged = [xpos[x] for x, pts in settings.items() for p in pts if not math.isfinite(p.final)]
    if diverged:
        ax.scatter(diverged, np.full(len(diverged), 0.96), transform=ax.get_xaxis_transform(),
                   marker="x", s=50, lw=2, color=NONFINITE_COLOR, clip_on=False, zorder=6,
                   label="final NaN/inf (diverged)")
    if wants_log([np.array(best_mean), np.array(final_mean)]):
        ax.set_yscale("log")
    # the selection's way: by the chosen value, never a setting with a failed run
    chosen = final_mean if at == "final" else best_mean
    scored = [(m, x) for m, x in zip(chosen, settings) if math.isfinite(m)
              and not any(p.error or not math.isfinite(p.final) for p in settings[x])]
    best_x = None
    if scored and len(settings) > 1 and compare:
        m, best_x = (min if mode == "min" else max)(scored, key=lambda t: t[0])
        what = f"{name}={fmt_param(best_x)}" if name else str(best_x)
        other = best_mean if at == "final" else final_mean
        o = other[list(settings).index(best_x)]
        ax.plot([xpos[best_x]], [m], marker="*", ms=22, color="#ffd43b", mec="black", mew=1.0,
                ls="none", zorder=7,
                label=f"selected: {what} ({at} {fmt_value(m)}; "
                      f"{'best' if at == 'final' else 'final'} {fmt_value(o)})")
    _pad_x(ax, list(xpos.values()))
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    return best_x


def _aligned(runs: Sequence[Run], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Runs' values on the union of their steps (NaN where a run has no value)."""
    series = [run.arrays(metric) for run in runs]
    steps = np.unique(np.concatenate([s for s, _ in series])) if series else np.empty(0)
    out = np.full((len(series), len(steps)), np.nan)
    for i, (s, v) in enumerate(series):
        idx = np.searchsorted(steps, s)
        out[i, idx] = np.where(np.isfinite(v), v, np.nan)
    return steps, out


def _draw_sweep_curves(ax: Axes, settings: Mapping[Any, list[_Point]], metric: str,
                       param: str | None) -> None:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(settings)
    series: list[tuple[np.ndarray, np.ndarray]] = []
    bad: list[np.ndarray] = []
    for i, (x, pts) in enumerate(settings.items()):
        color = cmap(0.9 * i / max(n - 1, 1))
        steps, vals = _aligned([p.run for p in pts], metric)
        if not len(steps):
            continue
        label = f"{param}={fmt_param(x)}" if param else (str(x) if n > 1 else "mean")
        counts = np.isfinite(vals).sum(axis=0)
        mean = np.nanmean(np.where(counts > 0, vals, 0.0), axis=0)  # no all-NaN column warning
        mean[counts == 0] = np.nan
        ax.plot(steps, mean, color=color, lw=1.7, label=label + (f" (n={len(pts)})" if len(pts) > 1
                                                                   else ""))
        if len(pts) > 1:
            for row in vals:
                ax.plot(steps, row, color=color, lw=0.7, alpha=0.35)
            sq = np.where(np.isfinite(vals), (vals - mean) ** 2, 0.0).sum(axis=0)
            std = np.sqrt(sq / np.maximum(counts - 1, 1))
            ok = counts > 1
            low = mean - std
            if np.nanmin(vals, initial=np.inf) >= 0:  # a loss never goes below 0; nor does its band
                low = np.maximum(low, 0.0)
            ax.fill_between(steps, np.where(ok, low, np.nan), np.where(ok, mean + std, np.nan),
                            color=color, alpha=0.22, lw=0)
        series.append((steps, mean))
        for p in pts:
            s_, v_ = p.run.arrays(metric)
            bad.append(s_[~np.isfinite(v_)])
    finish_y(ax, series, bad, None)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.25, lw=0.6)
    ax.legend(fontsize=8, loc="best", framealpha=0.85, ncol=2 if n > 6 else 1)
