"""The report's own SVG curves: drawn without matplotlib, spikes kept, findings shaded."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import diagnose
from diagnose.report._svg import run_svg

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(name: str) -> tuple[diagnose.Run, list, ET.Element]:
    report = diagnose.check([FIXTURES / name])
    run = diagnose.load(FIXTURES / name)
    text = run_svg(run, report.findings)
    assert text is not None
    return run, report.findings, ET.fromstring(text)


def _frames(root: ET.Element) -> list[ET.Element]:
    return [g.find("s:rect", NS) for g in root.findall("s:g", NS)]


def _points(poly: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in poly.get("points").split()]


def test_findings_step_ranges_are_shaded_where_the_steps_are():
    run, findings, root = _svg("explosion")
    first, last = run.step_range
    frame = _frames(root)[0]
    fx, fw = float(frame.get("x")), float(frame.get("width"))
    shaded = [r for r in root.iter(f"{{{NS['s']}}}rect") if r.get("class") == "finding"]
    assert shaded
    for f in (f for f in findings if f.steps):
        mine = [r for r in shaded if r.find("s:title", NS).text.startswith(f.rule)]
        assert mine, f.rule
        r = mine[0]
        left = (float(r.get("x")) - fx) / fw
        assert abs(left - (f.steps[0] - first) / (last - first)) < 0.01
        if f.steps[1] > f.steps[0]:
            right = (float(r.get("x")) + float(r.get("width")) - fx) / fw
            assert abs(right - (f.steps[1] - first) / (last - first)) < 0.01


def test_a_loss_over_many_decades_is_on_a_log_axis():
    _, _, root = _svg("explosion")
    titles = [t.text for t in root.iter(f"{{{NS['s']}}}text") if t.get("font-weight") == "600"]
    assert titles[0] == "loss (log scale)"
    _, _, calm = _svg("healthy-mlp-adam")
    assert all("log" not in (t.text or "") for t in calm.iter(f"{{{NS['s']}}}text"))


def test_one_step_spikes_survive_thinning():
    from diagnose.report._svg import _thin

    run = diagnose.load(FIXTURES / "spikes-recover")
    steps, values = run.arrays("train/loss")
    med = float(sorted(values)[len(values) // 2])
    spikes = {int(s): float(v) for s, v in zip(steps, values) if v > 4 * med and s > steps[0] + 20}
    assert spikes
    columns = len(steps) // 8  # eight steps per pixel column
    xs, ys = _thin(steps.astype(float), values.astype(float), columns)
    assert len(xs) <= 2 * columns < len(steps)
    kept = dict(zip(xs.astype(int).tolist(), ys.tolist()))
    for s, v in spikes.items():
        assert kept.get(s) == v, s
    assert list(xs) == sorted(xs)


def test_nan_breaks_the_line_and_never_reaches_the_markup():
    run, _, root = _svg("explosion")
    _, values = run.arrays("train/loss")
    assert (values != values).any()
    text = ET.tostring(root, encoding="unicode")
    assert not re.search(r"nan|inf", text.split(">", 1)[1].lower().replace("info", ""))


def test_report_without_matplotlib_writes_curves(tmp_path):
    out = tmp_path / "report.html"
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from diagnose.cli import main\n"
            f"main(['report', {str(FIXTURES / 'chapter-sweep')!r}, '-o', {str(out)!r}])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count("<svg") == 5 and "<img" not in text
    assert text.count('class="curve"') >= 5
