"""Plots: the pictures are read back (pixels, axes, artists) and compared with the data."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib", reason="plots need the [plot] extra (matplotlib)")
from _plot_runs import chapter_sweep, seed_groups, with_nonfinite, with_range_finding
from PIL import Image

import diagnose
from diagnose.cli import main
from diagnose.report.plot import (
    SEVERITY_COLORS,
    figure_bytes,
    run_figure,
    save_figure,
    sweep_figure,
)


def _rgb(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)


def _axes(fig, label):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, [ax.get_label() for ax in fig.axes]
    return found[0]


def _tinted(pixels: np.ndarray, color: str) -> np.ndarray:
    """Pixels that are the colour laid thinly over white: same direction away from white."""
    from matplotlib.colors import to_rgb

    want = 255.0 - np.array(to_rgb(color)) * 255.0
    away = 255.0 - pixels
    norm = np.linalg.norm(away, axis=-1)
    cos = (away @ want) / (np.maximum(norm, 1e-9) * np.linalg.norm(want))
    return (norm > 12) & (cos > 0.97)


@pytest.fixture(scope="module")
def flagged():
    """A run with a finding over a range of steps, and that finding (from the engine)."""
    run = with_range_finding()
    report = diagnose.check([run])
    ranged = [f for f in report.findings if f.steps and f.steps[0] < f.steps[1]]
    assert ranged, f"the rules found no range in {run.id}: {report.findings}"
    return run, report, ranged[0]


def test_png_has_the_size_asked_for_and_real_content(flagged):
    run, report, _ = flagged
    fig = run_figure(run, report.findings)
    data = figure_bytes(fig, "png", dpi=100)
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)
    w, h = fig.get_size_inches() * 100
    assert img.shape[:2] == (round(h), round(w))
    ink = (np.abs(img - 255.0).sum(axis=-1) > 30).mean()
    assert 0.04 < ink < 0.9, ink


def test_one_axes_per_panel_matching_what_the_run_records(flagged):
    run, report, _ = flagged
    fig = run_figure(run, report.findings)
    names = set(run.metric_names)
    want = [key for key, metrics in (("loss", {"train/loss", "val/loss"}),
                                     ("acc", {"train/acc", "val/acc"}), ("lr", {"lr"}))
            if metrics & names]
    panels = [ax.get_label() for ax in fig.axes if ax.axison]
    assert panels == want
    loss = _axes(fig, "loss")
    drawn = {ln.get_label() for ln in loss.get_lines()}
    assert ("train loss" in drawn) == ("train/loss" in names)
    assert ("validation loss" in drawn) == ("val/loss" in names)


def test_finding_shaded_over_its_steps_in_data_and_in_pixels(flagged):
    run, report, finding = flagged
    fig = run_figure(run, report.findings)
    a, b = finding.steps
    color = SEVERITY_COLORS[finding.severity]
    for ax in (ax for ax in fig.axes if ax.axison):
        spans = [p for p in ax.patches if (p.get_gid() or "").startswith(f"finding:{finding.rule}")]
        assert len(spans) == 1, ax.get_label()
        x0 = spans[0].get_x()
        assert (x0, x0 + spans[0].get_width()) == pytest.approx((a, b))

    rgb = _rgb(fig)
    ax = _axes(fig, "loss")
    box = ax.get_window_extent()
    height = rgb.shape[0]
    # pixel columns where the background is tinted with the severity colour, on rows
    # spread over the panel (curves cross some of them, the median ignores that)
    firsts, lasts = [], []
    for frac in np.linspace(0.15, 0.85, 15):
        row = int(height - (box.y0 + frac * box.height))
        cols = np.flatnonzero(_tinted(rgb[row, int(box.x0) + 2:int(box.x1) - 2], color))
        if len(cols):
            firsts.append(cols[0] + int(box.x0) + 2)
            lasts.append(cols[-1] + int(box.x0) + 2)
    assert len(firsts) >= 8
    xa, xb = (ax.transData.transform([(s, 1.0)])[0][0] for s in (a, b))
    assert np.median(firsts) == pytest.approx(xa, abs=3)
    assert np.median(lasts) == pytest.approx(xb, abs=3)
    # the rule code is written on the plot, at the start of the range
    labels = [t for t in ax.texts if finding.rule in t.get_text()]
    assert labels and labels[0].get_position()[0] in (pytest.approx(a), pytest.approx(b))


def test_best_validation_step_is_starred(flagged):
    run, report, _ = flagged
    steps, values = run.arrays("val/loss")
    ok = np.isfinite(values)
    i = np.argmin(np.where(ok, values, np.inf))
    fig = run_figure(run, report.findings)
    stars = [ln for ln in _axes(fig, "loss").get_lines() if ln.get_marker() == "*"]
    assert len(stars) == 1
    assert stars[0].get_xdata()[0] == steps[i]
    assert stars[0].get_ydata()[0] == pytest.approx(values[i])
    assert f"step {steps[i]}" in stars[0].get_label()


def test_nonfinite_steps_are_marked_not_skipped():
    run = with_nonfinite()
    panels_metrics = {"loss": ["train/loss", "val/loss"], "acc": ["train/acc", "val/acc"]}
    fig = run_figure(run, diagnose.check([run]).findings)
    checked = 0
    for key, metrics in panels_metrics.items():
        bad = set()
        for m in metrics:
            s, v = run.arrays(m)
            bad |= set(s[~np.isfinite(v)].tolist())
        if not bad:
            continue
        ax = _axes(fig, key)
        marks = [c for c in ax.collections if "NaN/inf" in str(c.get_label())]
        assert len(marks) == 1
        xs = marks[0].get_offsets()[:, 0]
        assert sorted(xs.tolist()) == sorted(bad)
        checked += 1
    assert checked, "the fixture records no NaN/inf"


def test_log_scale_only_when_the_loss_spans_decades():
    for run in chapter_sweep():
        v = np.concatenate([run.arrays(m)[1] for m in ("train/loss", "val/loss")])
        v = v[np.isfinite(v)]
        decades = math.log10(v.max() / v.min())
        ax = _axes(run_figure(run), "loss")
        assert ax.get_yscale() == ("log" if decades > 1.5 else "linear"), (run.id, decades)


def test_several_runs_overlay_with_a_legend_entry_each():
    runs = chapter_sweep()
    report = diagnose.check(runs)
    fig = run_figure(runs, report.findings)
    ax = _axes(fig, "loss")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    for run in runs:
        assert f"lr={run.param('lr'):g}" in texts
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and ln.get_marker() != "*"]
    assert len(solid) == sum(run.has("val/loss") for run in runs)
    # every ranged finding of every run is drawn once, in its own lane
    ranged = [f for f in report.findings if f.run and f.steps]
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith("finding:")]
    assert sorted(p.get_gid() for p in bars) == sorted(f"finding:{f.rule}:{f.run}" for f in ranged)


def test_metric_option_picks_panels_and_names_what_exists():
    run = chapter_sweep()[0]
    fig = run_figure(run, metrics=["lr", "loss"])
    assert [ax.get_label() for ax in fig.axes if ax.axison] == ["lr", "loss"]
    assert len(_axes(fig, "loss").get_lines()) >= 2  # both splits
    with pytest.raises(ValueError, match="val/loss"):
        run_figure(run, metrics=["no-such-metric"])


def test_sweep_plot_log_x_best_starred_and_values_match_the_runs():
    runs = chapter_sweep()
    fig = sweep_figure(runs, "lr", "val/loss")
    ax = _axes(fig, "sweep")
    assert ax.get_xscale() == "log"
    best = {r.param("lr"): np.nanmin(np.where(np.isfinite(r.arrays("val/loss")[1]),
                                              r.arrays("val/loss")[1], np.nan)) for r in runs}
    want = min(best, key=best.get)
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(star) == 1
    assert star[0].get_xdata()[0] == pytest.approx(want)
    assert star[0].get_ydata()[0] == pytest.approx(best[want])
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == "best")
    assert list(line.get_ydata()) == pytest.approx([best[k] for k in sorted(best)])
    assert len(_axes(fig, "curves").get_lines()) == len(runs)


def test_sweep_plot_bands_for_seed_groups():
    runs = seed_groups()
    settings: dict = {}
    for r in runs:
        key = tuple(sorted((k, repr(v)) for k, v in r.params.items() if k != "seed"))
        settings.setdefault(key, []).append(r)
    curves = _axes(sweep_figure(runs), "curves")
    bands = [c for c in curves.collections if "Poly" in type(c).__name__]
    seeded = [v for v in settings.values() if len(v) >= 2]
    assert len(bands) == len(seeded) >= 1
    # at a setting's first common step, one band spans mean ± std of its seeds there
    edges = [np.concatenate([p.vertices for p in b.get_paths()]) for b in bands]
    for seeds in seeded:
        step = max(r.arrays("val/loss")[0][0] for r in seeds)
        vals = [r.series("val/loss")[step] for r in seeds]
        mean, std = np.mean(vals), np.std(vals, ddof=1)
        spans = [(v[np.isclose(v[:, 0], step), 1].min(), v[np.isclose(v[:, 0], step), 1].max())
                 for v in edges if np.isclose(v[:, 0], step).any()]
        assert any(lo == pytest.approx(mean - std) and hi == pytest.approx(mean + std)
                   for lo, hi in spans), (spans, mean, std)


def test_runs_with_error_findings_drawn_differently():
    runs = chapter_sweep()[:3] + [with_nonfinite()]
    report = diagnose.check(runs)
    errors = {f.run for f in report.findings if f.severity == "error"}
    assert errors
    ax = _axes(sweep_figure(report, "lr", "val/loss"), "sweep")
    marked = [ln for ln in ax.get_lines() if ln.get_label() == "run with an error finding"]
    diverged = [c for c in ax.collections if "diverged" in str(c.get_label())]
    assert marked or diverged


def test_svg_and_png_written_by_suffix(tmp_path):
    run = chapter_sweep()[0]
    fig = run_figure(run, metrics=["val/loss"])
    svg = save_figure(fig, tmp_path / "a.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert save_figure(fig, tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\.png"):
        save_figure(fig, tmp_path / "a.txt")


# -- CLI ------------------------------------------------------------------------------------
def _native_dirs(tmp_path):
    """Two run directories on disk: committed fixtures if there are, else recorded runs."""
    from _plot_runs import write_native

    runs = chapter_sweep()[-2:]
    if all(r.path for r in runs):
        return [str(r.path) for r in runs]
    root = write_native(runs, tmp_path / "sweep")
    return [str(root / r.id) for r in runs]


def test_cli_plot_writes_png_and_svg_and_rejects_other_suffixes(tmp_path):
    src = _native_dirs(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["plot", *src, "-o", str(tmp_path / "p.png"), "--metric", "loss"])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "p.png").size[0] >= 800
    assert "2 runs" in res.output
    res = runner.invoke(main, ["plot", *src, "--sweep", "-o", str(tmp_path / "s.svg")])
    assert res.exit_code == 0, res.output
    assert "<svg" in (tmp_path / "s.svg").read_text()
    res = runner.invoke(main, ["plot", *src, "-o", str(tmp_path / "p.gif")])
    assert res.exit_code == 2 and ".png, .svg or .pdf" in res.output


def test_plot_exits_2_with_the_install_hint_without_matplotlib(tmp_path, monkeypatch):
    for name in {"matplotlib", *(m for m in sys.modules if m.startswith("matplotlib."))}:
        monkeypatch.setitem(sys.modules, name, None)
    res = CliRunner().invoke(main, ["plot", str(tmp_path), "-o", str(tmp_path / "p.png")])
    assert res.exit_code == 2, res.output
    assert 'pip install "diagnose[plot]"' in res.output
    assert not (tmp_path / "p.png").exists()
    # the HTML report draws its own curves (tests/test_svg_report.py)


def test_import_and_check_never_import_matplotlib():
    code = ("import sys, diagnose, diagnose.report, diagnose.report.html, diagnose.report.plot, "
            "diagnose._cli_plot; diagnose.check([]); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
