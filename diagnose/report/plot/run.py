"""Pictures of runs: curves with the findings drawn where they happen, and sweep plots.

matplotlib is an optional extra (``diagnose[plot]``). It is imported inside these
functions only, and figures are drawn on an Agg canvas without pyplot, so neither
``import diagnose`` nor a notebook's own matplotlib backend is touched.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...findings import Finding
from ...run import PARAM_FIELDS, Run, canonical_name, infer_mode, is_number
from ..text import sorted_findings, steps_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "INSTALL_HINT",
    "PlotUnavailable",
    "figure_bytes",
    "figure_data_uri",
    "require_matplotlib",
    "run_figure",
    "save_figure",
]

INSTALL_HINT = 'pip install "diagnose[plot]"'
SEVERITY_COLORS = {"error": "#d62728", "warning": "#f0a202", "info": "#8c7ac9"}
TRAIN_COLOR, VAL_COLOR, NONFINITE_COLOR, OK_COLOR = "#1f77b4", "#e8590c", "#d62728", "#2b8a3e"
#: A panel switches to a log y-axis when its finite positive values span more decades than this.
LOG_DECADES = 1.5
#: Series with at most this many points are drawn with a marker on each point.
MARKERS_UP_TO = 25
#: Finding lines listed under a plot before the rest are summarised in one line.
MAX_FINDING_LINES = 8
#: A panel's y-axis stops this many times above the largest first value (a blow-up's peak
#: would otherwise flatten every other curve); the steps above are marked on the top edge.
OFF_SCALE = 1e3
OFF_SCALE_COLOR = "#7a0000"
#: Where NaN/inf crosses sit (axes fraction) and the finding-label lanes under them.
NONFINITE_Y, LANE_TOP, LANE = 0.975, 0.94, 0.075
WIDTH_IN = 9.6
#: Characters of finding text per line under a plot of the default width.
LINE_CHARS = 128

_SPLIT_WORDS = {"train": "train", "val": "validation"}
_PANEL_TITLES = {"loss": "loss", "acc": "accuracy", "lr": "learning rate"}


class PlotUnavailable(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as e:
        raise PlotUnavailable(f"plots need matplotlib; install it with: {INSTALL_HINT}") from e


def new_figure(width: float, height: float) -> Figure:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# ---------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------
def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure encoded as ``png``, ``svg`` or ``pdf`` (metadata without dates: reproducible)."""
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else ({"Date": None} if fmt == "svg" else {})
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white", metadata=meta)
    return buf.getvalue()


def figure_data_uri(fig: Figure, dpi: int = 80) -> str:
    """A ``data:image/png;base64,...`` URI: the figure inline, for a self-contained HTML file."""
    return "data:image/png;base64," + base64.b64encode(figure_bytes(fig, "png", dpi)).decode()


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write the figure in the format its suffix names (``.png``, ``.svg``, ``.pdf``)."""
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{p}: cannot tell the image format; end the name in .png, .svg or .pdf")
    p.write_bytes(figure_bytes(fig, fmt, dpi))
    return p


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------
def wants_log(values: Iterable[np.ndarray]) -> bool:
    """True when the finite values are all positive and span more than ``LOG_DECADES``."""
    parts = [np.asarray(v, dtype=float) for v in values]
    v = np.concatenate(parts) if parts else np.empty(0)
    v = v[np.isfinite(v)]
    return len(v) >= 2 and v.min() > 0 and math.log10(v.max() / v.min()) > LOG_DECADES


def fmt_value(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def fmt_param(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _plain(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool)) or is_number(v)


def varying_params(runs: Sequence[Run], skip: Iterable[str] = ()) -> list[str]:
    """Params (plain values only) that differ between runs, sorted by name."""
    skip = set(skip)
    keys = sorted({k for r in runs for k, v in r.params.items() if _plain(v) and k not in skip})
    return [k for k in keys if len({repr(r.params.get(k)) for r in runs}) > 1]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Short legend labels: the params that differ between runs (``lr=10``), else the ids."""
    if len(runs) < 2:
        return [r.id for r in runs]
    varying = varying_params(runs)
    if not varying:
        return [r.id for r in runs]
    labels = [", ".join(f"{k}={fmt_param(r.params.get(k))}" for k in varying) for r in runs]
    return labels if len(set(labels)) == len(labels) else [r.id for r in runs]


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.92, n)]


def key_params(run: Run, limit: int = 5, skip: Iterable[str] = ()) -> str:
    keys = [k for k in PARAM_FIELDS if k in run.params] + sorted(
        k for k in run.params if k not in PARAM_FIELDS)
    keys = [k for k in keys if k not in set(skip)]
    bits = [f"{k}={fmt_param(run.params[k])}" for k in keys if _plain(run.params[k])]
    return ", ".join(bits[:limit]) + (", ..." if len(bits) > limit else "")


# ---------------------------------------------------------------------------------------
# panels
# ---------------------------------------------------------------------------------------
@dataclass
class Panel:
    """One axes of a run figure: which metrics it shows and how tall it is."""

    key: str
    metrics: list[str]
    height: float

    @property
    def ylabel(self) -> str:
        if self.key in _PANEL_TITLES:
            return _PANEL_TITLES[self.key]
        return self.key


def _resolve_metric(name: str, present: Sequence[str]) -> list[str]:
    """``val/f1`` as given; ``loss`` as both splits (``train/loss``, ``val/loss``); aliases."""
    if name in present:
        return [name]
    hits = sorted(m for m in present if m.rsplit("/", 1)[-1] == name)
    if hits:
        return hits
    canon = canonical_name(name)
    if canon in present:
        return [canon]
    raise ValueError(f"no metric {name!r} in these runs; they record: {', '.join(present) or 'nothing'}")


def panels_for(runs: Sequence[Run], metrics: Sequence[str] | None = None) -> list[Panel]:
    """Loss, accuracy and a thin learning-rate panel by default; one panel per ``metrics`` name."""
    present = sorted({m for r in runs for m in r.metric_names})
    if metrics:
        return [Panel(name, _resolve_metric(name, present), 1.0 if name == "lr" else 2.4)
                for name in metrics]
    out = []
    for key, names, height in (("loss", ["train/loss", "val/loss"], 3.2),
                               ("acc", ["train/acc", "val/acc"], 2.0),
                               ("lr", ["lr"], 0.9)):
        have = [m for m in names if m in present]
        if have:
            out.append(Panel(key, have, height))
    if not out:  # nothing canonical recorded: show what is there
        out = [Panel(m, [m], 2.4) for m in present[:3]]
    return out


def _series_label(metric: str, panel: Panel) -> str:
    split, _, rest = metric.partition("/")
    if rest and split in _SPLIT_WORDS:
        return f"{_SPLIT_WORDS[split]} {panel.ylabel if panel.key in _PANEL_TITLES else rest}"
    return metric


# ---------------------------------------------------------------------------------------
# the run figure
# ---------------------------------------------------------------------------------------
def run_figure(
    runs: Run | Sequence[Run],
    findings: Sequence[Finding] | None = None,
    *,
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    width: float = WIDTH_IN,
    notes: bool = True,
) -> Figure:
    """Curves of one run or several overlaid, with every finding drawn where it happens.

    Findings with a step range are shaded (a dashed line for a single step) on every
    panel and labelled with their rule code; the best validation step is starred;
    non-finite values are red crosses along the panel's top edge, never skipped.
    Findings are listed, with their next experiment, under the panels (``notes``).
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise ValueError("no runs to plot")
    ids = {r.id for r in runs}
    found = sorted_findings(f for f in (findings or ()) if f.run in ids)
    panels = panels_for(runs, metrics)
    if not panels:
        raise ValueError("these runs record no metrics to plot: " + ", ".join(sorted(ids)))
    lines = _finding_lines(runs, found) if notes else []
    foot = [0.1 + 0.19 * len(lines)] if lines else []
    heights = [p.height for p in panels] + foot
    fig = new_figure(width, sum(heights) + 0.45)
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    axes: list[Axes] = []
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None)
        ax.set_label(panel.key)
        axes.append(ax)
    multi = len(runs) > 1
    labels = run_labels(runs)
    colors = _colors(len(runs)) if multi else [None]
    for i, (panel, ax) in enumerate(zip(panels, axes)):
        _draw_panel(ax, panel, runs, labels, colors, multi, first=i == 0)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("step")
    _x_range(axes[0], [run.arrays(m)[0] for run in runs for p in panels for m in p.metrics])
    _draw_findings(axes, found, dict(zip([r.id for r in runs], labels)) if multi else {})
    _title(axes[0], runs, found, title)
    if lines:
        note = fig.add_subplot(grid[-1, 0])
        note.set_label("findings")
        note.set_axis_off()
        for i, (text, color) in enumerate(lines):
            note.annotate(text, (0.0, 1.0), xycoords="axes fraction", xytext=(0, -13.5 * i),
                          textcoords="offset points", va="top", ha="left", fontsize=8.5,
                          color=color).set_in_layout(False)
    return fig


def _draw_panel(ax: Axes, panel: Panel, runs: Sequence[Run], labels: Sequence[str],
                colors: Sequence[Any], multi: bool, first: bool) -> None:
    from matplotlib.lines import Line2D

    drawn: list[np.ndarray] = []
    series: list[tuple[np.ndarray, np.ndarray]] = []
    bad_steps: list[np.ndarray] = []
    for run, label, color in zip(runs, labels, colors):
        for metric in panel.metrics:
            steps, values = run.arrays(metric)
            if not len(steps):
                continue
            is_train = metric.startswith("train/")
            if multi:
                c = color
                style = {"ls": "--", "lw": 1.1, "alpha": 0.75} if is_train else {"ls": "-", "lw": 1.8}
                name = label if not is_train or len(panel.metrics) == 1 else None
            else:
                c = TRAIN_COLOR if is_train else (VAL_COLOR if metric.startswith("val/") else "#444")
                style = {"ls": "-", "lw": 1.6}
                name = _series_label(metric, panel)
            v = np.where(np.isfinite(values), values, np.nan)
            few = len(steps) <= (MARKERS_UP_TO if is_train or panel.key == "lr" else 2 * MARKERS_UP_TO)
            ax.plot(steps, v, color=c, label=name or "_", marker="o" if few else None,
                    ms=3 if few else 0, **style)
            drawn.append(v)
            series.append((steps, v))
            bad_steps.append(steps[~np.isfinite(values)])
            if metric.startswith("val/"):
                _mark_best(ax, steps, values, metric, c, None if multi else panel)
    edge_marks = finish_y(ax, series, bad_steps, panel)
    ax.set_ylabel(panel.ylabel)
    ax.grid(True, alpha=0.25, lw=0.6)
    if panel.key == "lr":
        _lr_ticks(ax, drawn)
    handles, names = ax.get_legend_handles_labels()
    if multi and len(panel.metrics) > 1 and first:
        handles += [Line2D([], [], color="#555", ls="-", lw=1.8),
                    Line2D([], [], color="#555", ls="--", lw=1.1)]
        names += ["validation", "train"]
    show = first if multi else panel.key != "lr" or edge_marks
    if handles and show:
        ax.legend(handles, names, fontsize=8, loc="best", framealpha=0.85,
                  ncol=2 if len(handles) > 6 else 1)


def _x_range(ax: Axes, steps: Sequence[np.ndarray]) -> None:
    """Every recorded step in view, NaN-only ones too (they do not move matplotlib's limits)."""
    s = np.concatenate(steps) if steps else np.empty(0)
    if len(s):
        lo, hi = float(s.min()), float(s.max())
        pad = (hi - lo) * 0.02 or 0.5
        ax.set_xlim(lo - pad, hi + pad)


def _off_scale_cap(values: Sequence[np.ndarray]) -> float | None:
    """The y limit above which a blow-up is cut off, or None when nothing climbs that far."""
    firsts = [v[np.isfinite(v)][0] for v in values if np.isfinite(v).any()]
    if not firsts or max(firsts) <= 0:
        return None
    cap = max(firsts) * OFF_SCALE
    top = max(float(np.nanmax(np.where(np.isfinite(v), v, -np.inf))) for v in values if len(v))
    return cap if top > cap else None


def finish_y(ax: Axes, series: Sequence[tuple[np.ndarray, np.ndarray]],
              bad_steps: Sequence[np.ndarray], panel: Panel | None) -> bool:
    """Scale and limits of a panel, and the marks on its top edge; True if there are marks.

    Log scale when the values span decades. A blow-up far above where the curves
    started is cut off at ``OFF_SCALE`` times the start (its steps marked with
    triangles) so it does not flatten every other curve; NaN/inf steps are crosses.
    """
    values = [v for _, v in series]
    if not any(np.isfinite(v).any() for v in values):
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center",
                color=NONFINITE_COLOR, fontsize=10)
    cap = None if panel is not None and panel.key == "lr" else _off_scale_cap(values)
    shown = [np.minimum(v, cap) for v in values] if cap else values
    if wants_log(shown):
        ax.set_yscale("log")
    elif panel is not None:
        _honest_limits(ax, panel, shown)
    top = ax.get_xaxis_transform()
    if cap is not None:
        ax.set_ylim(top=cap)
        over = np.unique(np.concatenate([s[np.nan_to_num(v, nan=-np.inf) > cap]
                                         for s, v in series]))
        ax.scatter(over, np.full(len(over), NONFINITE_Y), transform=top, marker="^", s=30,
                   color=OFF_SCALE_COLOR, zorder=6, clip_on=False,
                   label=f"off scale (> {cap:.3g}, {len(over)} step{'s' * (len(over) != 1)})")
    bad = np.unique(np.concatenate(bad_steps)) if len(bad_steps) else np.empty(0)
    if len(bad):
        ax.scatter(bad, np.full(len(bad), NONFINITE_Y), transform=top, marker="x", s=36, lw=1.8,
                   color=NONFINITE_COLOR, zorder=6, clip_on=False,
                   label=f"NaN/inf ({len(bad)} step{'s' * (len(bad) != 1)})")
    if cap is not None or len(bad):
        _reserve_top(ax, 0.07)
        return True
    return False


def _honest_limits(ax: Axes, panel: Panel, drawn: Sequence[np.ndarray]) -> None:
    """Linear losses start at 0 and fractions span 0..1, so a flat curve looks flat."""
    v = np.concatenate(drawn) if drawn else np.empty(0)
    v = v[np.isfinite(v)]
    if not len(v) or v.min() < 0 or panel.key == "lr":
        return
    hi = ax.get_ylim()[1]
    if v.max() <= 1.0 and panel.key == "acc" or all(m.endswith("acc") for m in panel.metrics):
        ax.set_ylim(0.0, max(hi, 1.02) if v.max() <= 1.0 else hi)
    elif panel.key == "loss" or all(m.endswith("loss") for m in panel.metrics):
        ax.set_ylim(0.0, hi)


def _reserve_top(ax: Axes, frac: float) -> None:
    """Free the top ``frac`` of the axes (for finding labels and NaN marks) by raising the limit."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        a, b = math.log10(lo), math.log10(hi)
        ax.set_ylim(lo, 10 ** (a + (b - a) / (1 - frac)))
    else:
        ax.set_ylim(lo, lo + (hi - lo) / (1 - frac))


def _lr_ticks(ax: Axes, drawn: Sequence[np.ndarray]) -> None:
    """Three ticks at most; a constant learning rate gets one tick at its value."""
    from matplotlib.ticker import LogLocator, MaxNLocator

    v = np.concatenate(drawn) if drawn else np.empty(0)
    v = v[np.isfinite(v)]
    if len(v) and v.min() == v.max():
        ax.set_yticks([v[0]], [f"{v[0]:g}"])
        ax.set_ylim(v[0] - abs(v[0]) * 0.5 - 1e-12, v[0] + abs(v[0]) * 0.5 + 1e-12)
        ax.minorticks_off()
        return
    ax.yaxis.set_major_locator(LogLocator(numticks=3) if ax.get_yscale() == "log"
                               else MaxNLocator(3))


def _mark_best(ax: Axes, steps: np.ndarray, values: np.ndarray, metric: str, color: Any,
               panel: Panel | None) -> None:
    ok = np.isfinite(values)
    if not ok.any():
        return
    s, v = steps[ok], values[ok]
    i = int(np.argmin(v) if infer_mode(metric) == "min" else np.argmax(v))
    label = "_"
    if panel is not None:
        label = f"best {_series_label(metric, panel)} {fmt_value(float(v[i]))} @ step {int(s[i])}"
    ax.plot([s[i]], [v[i]], marker="*", ms=14, color=color or VAL_COLOR, mec="black", mew=0.8,
            ls="none", zorder=7, label=label)


def _draw_findings(axes: Sequence[Axes], found: Sequence[Finding],
                   run_label: Mapping[str, str]) -> None:
    """Draw each finding at its steps and label it with its rule code in a strip on top.

    One run: the steps are shaded on every panel (a dashed line for a single step).
    Several runs: each finding is a bar in its own lane of the strip, so shading from
    one run never hides another's curve.
    """
    top = axes[0]
    x0, x1 = top.get_xlim()
    span = (x1 - x0) or 1.0
    axes_pts = top.get_position().width * top.figure.get_figwidth() * 72
    multi = bool(run_label)
    lanes: list[float] = []
    placed = []
    for f in found:
        if f.steps is None:
            continue
        a, b = float(f.steps[0]), float(f.steps[1])
        text = f"{f.rule} {f.name}" + (f" ({run_label[f.run]})" if f.run in run_label else "")
        width = (len(text) * 5.3 + 6) / axes_pts * span
        right = a + width > x1  # no room after the start: the label ends at the finding's end
        start = min(a, b - width) if right else a
        end = max(start + width, b) if multi else start + width
        lane = next((i for i, e in enumerate(lanes) if e < start), len(lanes))
        if lane == len(lanes):
            lanes.append(-math.inf)
        lanes[lane] = end
        placed.append((f, a, b, text, lane % 8, right))
    if not placed:
        return
    rows = max(p[4] for p in placed) + 1
    _reserve_top(top, 0.04 + LANE * rows + (0.05 if NONFINITE_Y < 1 else 0))
    for f, a, b, text, lane, right in placed:
        color = SEVERITY_COLORS.get(f.severity, "#888")
        gid = f"finding:{f.rule}:{f.run}"
        y_hi = LANE_TOP - LANE * lane
        if multi:
            art = top.axvspan(a, b, ymin=y_hi - LANE * 0.85, ymax=y_hi, color=color, alpha=0.45,
                              lw=0 if a != b else 2.5, ec=color, zorder=2)
            art.set_gid(gid)
        else:
            wide = (b - a) / span > 0.6
            for ax in axes:
                if a == b:
                    art = ax.axvline(a, color=color, lw=1.6, ls="--", alpha=0.95, zorder=1)
                else:
                    art = ax.axvspan(a, b, color=color, alpha=0.1 if wide else 0.2, lw=0, zorder=0)
                art.set_gid(gid)
        top.text(b if right else a, y_hi - LANE * 0.42, f" {text} ",
                 transform=top.get_xaxis_transform(), fontsize=8, fontweight="bold",
                 color=_darker(color), va="center", ha="right" if right else "left", zorder=8)
    top.set_xlim(x0, x1)


def _darker(color: str) -> str:
    from matplotlib.colors import to_hex, to_rgb

    return to_hex(tuple(c * 0.72 for c in to_rgb(color)))


def _finding_lines(runs: Sequence[Run], found: Sequence[Finding]) -> list[tuple[str, str]]:
    """The text under the panels: one line per finding and its next experiment."""
    if not found:
        what = "runs" if len(runs) > 1 else "run"
        return [(f"No findings: every rule passed on this {what}.", OK_COLOR)]
    labels = dict(zip([r.id for r in runs], run_labels(runs))) if len(runs) > 1 else {}
    out: list[tuple[str, str]] = []
    for f in found[:MAX_FINDING_LINES]:
        where = steps_label(f.steps)
        who = f"[{labels[f.run]}] " if f.run in labels else ""
        head = f"{who}{f.rule} {f.severity}" + (f" ({where})" if where else "") + f": {f.message}"
        out.append((textwrap.shorten(head, LINE_CHARS, placeholder=" ..."),
                    _darker(SEVERITY_COLORS.get(f.severity, "#888"))))
        if f.next_experiment:
            out.append(("      next: " + textwrap.shorten(f.next_experiment, LINE_CHARS - 12, placeholder=" ..."),
                        "#333333"))
    if len(found) > MAX_FINDING_LINES:
        out.append((f"... and {len(found) - MAX_FINDING_LINES} more findings", "#333333"))
    return out


def _title(ax: Axes, runs: Sequence[Run], found: Sequence[Finding], title: str | None) -> None:
    if title is None:
        if len(runs) == 1:
            params = key_params(runs[0])
            title = runs[0].id + (f"\n{params}" if params else "")
        else:
            title = f"{len(runs)} runs"
    ax.set_title(title, loc="left", fontsize=10)
    counts: dict[str, int] = {}
    for f in found:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    worst = next((s for s in SEVERITY_COLORS if counts.get(s)), None)
    verdict = ", ".join(f"{n} {s}{'s' * (n != 1 and s != 'info')}" for s, n in counts.items())
    ax.set_title(verdict or "no findings", loc="right", fontsize=10, fontweight="bold",
                 color=_darker(SEVERITY_COLORS[worst]) if worst else OK_COLOR)
