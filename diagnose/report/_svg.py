"""A run's curves as inline SVG, written here: the HTML report needs no plotting library.

Panels as the plots have them (loss, accuracy, learning rate, whichever the run
logged), one polyline per series, broken where a value is NaN or infinite; the
step ranges of the run's findings shaded in their severity's colour, with the rule
in a tooltip. Long series are thinned to the lowest and highest value per pixel
column, so a one-step spike stays visible. A loss that spans more than three
decades is drawn on a log axis.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from ..findings import Finding
from ..run import Run

__all__ = ["run_svg"]

WIDTH = 720
PANEL_H = 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 14, 22, 26
#: points kept per series: two per pixel column at most
_MAX_POINTS = 2 * (WIDTH - _LEFT - _RIGHT)
_SEVERITY = {"error": "#c92a2a", "warning": "#f0a202", "info": "#8c7ac9"}
_SPLIT_COLOURS = {"train": "#1c7ed6", "val": "#e8590c"}
_OTHER_COLOURS = ("#2b8a3e", "#7048e8", "#c2255c", "#495057")
_PANELS = (("loss", ("train/loss", "val/loss")), ("accuracy", ("train/acc", "val/acc")),
           ("learning rate", ("lr",)))
_e = html.escape


def run_svg(run: Run, findings: Sequence[Finding] = ()) -> str | None:
    """The run's curves (and its findings' step ranges) as one ``<svg>`` element; None if
    it logged nothing to draw."""
    present = set(run.metric_names)
    panels = [(title, [m for m in names if m in present]) for title, names in _PANELS]
    panels = [(t, ms) for t, ms in panels if ms]
    if not panels and run.metric_names:
        panels = [(run.metric_names[0], [run.metric_names[0]])]
    series = {m: _finite_runs(*run.arrays(m)) for _, ms in panels for m in ms}
    panels = [(t, ms) for t, ms in panels if any(len(s) for m in ms for s, _ in series[m])]
    if not panels:
        return None
    steps = [s for parts in series.values() for s, _ in parts if len(s)]
    x_lo, x_hi = float(min(s[0] for s in steps)), float(max(s[-1] for s in steps))
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    height = PANEL_H * len(panels)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" aria-label="curves of {_e(run.id)}" '
           'style="max-width:780px;height:auto;font-family:system-ui,sans-serif;font-size:11px;'
           'background:#fff;border:1px solid #eee">']
    spans = [f for f in findings if f.steps is not None]
    for k, (title, metrics) in enumerate(panels):
        out.append(_panel(k * PANEL_H, title, metrics, series, (x_lo, x_hi), spans))
    out.append("</svg>")
    return "".join(out)


def _finite_runs(steps: np.ndarray, values: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The series as stretches of finite values (a NaN or inf breaks the line)."""
    ok = np.isfinite(values)
    if not ok.any():
        return []
    cuts = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
    parts = []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(values)]):
        if ok[a]:
            parts.append((steps[a:b].astype(np.float64), values[a:b].astype(np.float64)))
    return parts


def _thin(xs: np.ndarray, ys: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most two points per column: the lowest and the highest, in step order."""
    if len(xs) <= 2 * columns:
        return xs, ys
    bucket = np.minimum(((xs - xs[0]) / max(xs[-1] - xs[0], 1e-12) * columns).astype(int),
                        columns - 1)
    starts = np.r_[0, np.flatnonzero(np.diff(bucket)) + 1]
    keep = []
    for a, b in zip(starts, np.r_[starts[1:], len(xs)]):
        lo, hi = a + int(np.argmin(ys[a:b])), a + int(np.argmax(ys[a:b]))
        keep += sorted({lo, hi})
    idx = np.array(keep)
    return xs[idx], ys[idx]


def _panel(top: int, title: str, metrics: list[str],
           series: dict[str, list[tuple[np.ndarray, np.ndarray]]],
           xr: tuple[float, float], spans: Sequence[Finding]) -> str:
    x0, x1 = _LEFT, WIDTH - _RIGHT
    y0, y1 = top + _TOP, top + PANEL_H - _BOTTOM
    vals = np.concatenate([v for m in metrics for _, v in series[m]])
    lo, hi = float(vals.min()), float(vals.max())
    log = lo > 0 and hi / lo > 1e3

    def ty(v: np.ndarray | float):
        return np.log10(v) if log else v

    t_lo, t_hi = float(ty(lo)), float(ty(hi))
    if t_hi - t_lo < 1e-12:  # a constant: centred, with a margin on its own scale
        d = 0.5 if log or t_lo == 0 else 0.1 * abs(t_lo)
        t_lo, t_hi = t_lo - d, t_hi + d
    pad = 0.05 * (t_hi - t_lo)
    t_lo, t_hi = t_lo - pad, t_hi + pad

    def px(x):
        return x0 + (x - xr[0]) / (xr[1] - xr[0]) * (x1 - x0)

    def py(v):
        return y1 - (ty(v) - t_lo) / (t_hi - t_lo) * (y1 - y0)

    out = [f'<g class="panel"><rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
           'fill="#fff" stroke="#ccc"/>']
    for f in spans:
        a, b = (max(px(float(s)), x0) for s in f.steps)
        b = min(max(b, a + 2), x1)
        colour = _SEVERITY.get(f.severity, "#999")
        out.append(f'<rect class="finding" x="{a:.1f}" y="{y0}" width="{b - a:.1f}" '
                   f'height="{y1 - y0}" fill="{colour}" fill-opacity="0.16">'
                   f"<title>{_e(f.rule)} {_e(f.name)} (steps {f.steps[0]}-{f.steps[1]})</title></rect>")
    for t in _ticks(xr[0], xr[1], 6):
        out.append(f'<line x1="{px(t):.1f}" y1="{y1}" x2="{px(t):.1f}" y2="{y1 + 4}" stroke="#888"/>'
                   f'<text x="{px(t):.1f}" y="{y1 + 15}" text-anchor="middle" fill="#555">'
                   f"{_label(t)}</text>")
    for t in _ticks(t_lo, t_hi, 4):
        v = 10 ** t if log else t
        out.append(f'<line x1="{x0 - 4}" y1="{py(v):.1f}" x2="{x1}" y2="{py(v):.1f}" '
                   f'stroke="#eee"/><text x="{x0 - 6}" y="{py(v) + 4:.1f}" text-anchor="end" '
                   f'fill="#555">{_label(v)}</text>')
    out.append(f'<text x="{x0}" y="{top + 15}" font-weight="600" fill="#333">{_e(title)}'
               f'{" (log scale)" if log else ""}</text>')
    lx = x1
    for i, m in enumerate(reversed(metrics)):
        colour = _colour(m, i)
        lx -= 8 + 7 * len(m)
        out.append(f'<line x1="{lx - 18}" y1="{top + 11}" x2="{lx - 4}" y2="{top + 11}" '
                   f'stroke="{colour}" stroke-width="2"/><text x="{lx}" y="{top + 15}" fill="#333">'
                   f"{_e(m)}</text>")
        lx -= 22
    for i, m in enumerate(metrics):
        colour = _colour(m, len(metrics) - 1 - i)
        for xs, ys in series[m]:
            xs, ys = _thin(xs, ys, x1 - x0)
            pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
            if len(xs) == 1:
                out.append(f'<circle cx="{px(xs[0]):.1f}" cy="{py(ys[0]):.1f}" r="2" fill="{colour}"/>')
            else:
                out.append(f'<polyline class="curve" points="{pts}" fill="none" stroke="{colour}" '
                           'stroke-width="1.5" stroke-linejoin="round"/>')
    out.append("</g>")
    return "".join(out)


def _colour(metric: str, i: int) -> str:
    split = metric.split("/", 1)[0]
    return _SPLIT_COLOURS.get(split, _OTHER_COLOURS[i % len(_OTHER_COLOURS)])


def _ticks(lo: float, hi: float, n: int) -> list[float]:
    """Round values between ``lo`` and ``hi``, about ``n`` of them."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step) + 1)]


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.4g}"
