"""The one-file HTML report: parsed back, checked for content and for self-containment."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from _plot_runs import chapter_sweep, with_nonfinite, write_native
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.report import render

CHROMIUM = Path("/usr/bin/chromium")


class _Doc(HTMLParser):
    """Every element with its attributes and the ids/classes of the elements around it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str], list[str]]] = []
        self.stack: list[str] = []
        self.text: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        where = [f"{t}" for t in self.stack]
        self.tags.append((tag, a, where))
        if tag not in ("img", "meta", "br", "link", "input"):
            self.stack.append(f"{tag}#{a.get('id', '')}.{a.get('class', '')}")

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop().startswith(tag + "#"):
                break

    def handle_data(self, data):
        if data.strip():
            self.text.append((data.strip(), list(self.stack)))

    def inside(self, marker: str) -> list[tuple[str, dict[str, str], list[str]]]:
        return [t for t in self.tags if any(marker in w for w in t[2])]

    def texts(self, marker: str) -> str:
        return " ".join(t for t, where in self.text if any(marker in w for w in where))


def _parse(text: str) -> _Doc:
    doc = _Doc()
    doc.feed(text)
    return doc


@pytest.fixture(scope="module")
def sweep_report():
    pytest.importorskip("matplotlib", reason="the plots need the [plot] extra (matplotlib)")
    runs = chapter_sweep()[-3:] + [with_nonfinite()]
    report = diagnose.check(runs)
    return report, render(report, "html")


def test_self_contained_no_network_no_script(sweep_report):
    _, text = sweep_report
    doc = _parse(text)
    assert not [t for t in doc.tags if t[0] in ("script", "link", "iframe", "object", "embed")]
    for tag, attrs, _ in doc.tags:
        for key in ("src", "href", "srcset", "action", "data"):
            value = attrs.get(key, "")
            assert not value.lower().startswith(("http:", "https:", "//", "file:")), (tag, value)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert "url(" not in text and "@import" not in text
    for _, attrs, _ in (t for t in doc.tags if t[0] == "img"):
        assert attrs["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_counts_by_severity_match_the_findings(sweep_report):
    report, text = sweep_report
    doc = _parse(text)
    for sev in ("error", "warning", "info"):
        box = doc.texts(f".count sev-{sev}").split()
        assert int(box[0]) == sum(f.severity == sev for f in report.findings), (sev, box)
        assert box[1].startswith(sev)
    # one row per (severity, rule) in the summary table, its count the findings of that rule
    rows = [a for t, a, w in doc.inside("#summary") if t == "tr" and "sev-" in a.get("class", "")]
    assert len(rows) == len({(f.severity, f.rule) for f in report.findings})


def test_one_image_per_run_beside_its_findings_and_next_experiment(sweep_report):
    report, text = sweep_report
    doc = _parse(text)
    svgs = [t for t in doc.inside("#runs") if t[0] == "svg"]
    assert len(svgs) == len(report.runs)
    assert not [t for t in doc.inside("#runs") if t[0] == "img"]
    for i, run in enumerate(report.runs):
        section = doc.texts(f"section#run-{i + 1}.")
        assert run.id in section
        for f in report.for_run(run.id):
            assert f.rule in section and f.next_experiment in section
        if not report.for_run(run.id):
            assert "No findings" in section


def test_sweep_table_and_decision_card_when_runs_form_groups(sweep_report):
    report, text = sweep_report
    assert report.groups
    doc = _parse(text)
    sweep_tags = doc.inside("#sweep")
    rows = [t for t in sweep_tags if t[0] == "tr" and "selected" in t[1].get("class", "")]
    assert len(rows) >= 1
    body = doc.texts("#sweep")
    for field in ("Question", "Changed", "Selection metric", "Best setting", "Next experiment"):
        assert field in body
    assert [t for t in sweep_tags if t[0] == "img"], "the sweep plot is inline"
    table_rows = [t for t in doc.inside("table#.table") if t[0] == "tr"]
    assert len(table_rows) == 1 + len(report.runs)  # header + one row per run


def test_no_sweep_section_for_a_single_run():
    pytest.importorskip("matplotlib")
    run = chapter_sweep()[-1]
    report = diagnose.check([run])
    doc = _parse(render(report, "html"))
    assert not doc.inside("#sweep") and not [t for t in doc.tags if t[1].get("id") == "sweep"]
    assert len([t for t in doc.tags if t[0] == "svg"]) == 1


def test_without_matplotlib_the_report_draws_the_curves_itself(monkeypatch):
    for name in {"matplotlib", *(m for m in sys.modules if m.startswith("matplotlib."))}:
        monkeypatch.setitem(sys.modules, name, None)
    report = diagnose.check(chapter_sweep()[:2])
    text = render(report, "html")
    doc = _parse(text)
    assert not [t for t in doc.tags if t[0] == "img"]
    assert len([t for t in doc.inside("#runs") if t[0] == "svg"]) == len(report.runs)
    assert 'pip install "diagnose[plot]"' in doc.texts("#sweep")  # only the sweep plot needs it
    assert all(f.message in doc.texts("#runs") for f in report.findings if f.run)


def test_notebook_reprs_show_the_plot_and_the_findings():
    pytest.importorskip("matplotlib")
    runs = chapter_sweep()[-2:]
    report = diagnose.check(runs)
    doc = _parse(report._repr_html_())
    assert len([t for t in doc.tags if t[0] == "svg"]) >= len(runs)
    run = next(r for r in runs if report.for_run(r.id))
    doc = _parse(run._repr_html_())
    assert len([t for t in doc.tags if t[0] == "svg"]) == 1
    text = " ".join(t for t, _ in doc.text)
    for f in report.for_run(run.id):
        assert f.rule in text and f.next_experiment in text
    assert not [t for t in doc.tags if t[0] == "script"]


def test_cli_report_writes_the_file(tmp_path):
    src = write_native(chapter_sweep()[:2], tmp_path / "runs")
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(src), "-o", str(out), "--title", "lr sweep"])
    assert res.exit_code == 0, res.output
    doc = _parse(out.read_text(encoding="utf-8"))
    assert [t for t in doc.text if t[0] == "lr sweep"]
    assert len([t for t in doc.inside("#runs") if t[0] == "svg"]) == 2
    res = CliRunner().invoke(main, ["report", str(tmp_path / "missing"), "-o", str(out)])
    assert res.exit_code == 2


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                    "(apt-get install -y chromium)")
def test_report_opens_in_headless_chromium(tmp_path, sweep_report):
    from PIL import Image

    _, text = sweep_report
    page = tmp_path / "report.html"
    page.write_text(text, encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1200,2000", page.as_uri()]
    t0 = time.monotonic()
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)  # the shot tells
    assert shot.exists(), f"no screenshot after {time.monotonic() - t0:.0f}s"
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[:2] == (2000, 1200)
    ink = (np.abs(img - 255).sum(axis=-1) > 30).mean()
    assert ink > 0.05, ink  # text, tables and the inline plots were painted
    colours = len(np.unique(img.reshape(-1, 3)[::7], axis=0))
    assert colours > 200, colours  # plots (anti-aliased curves), not just black text
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                    "(apt-get install -y chromium)")
def test_report_fits_an_1100_px_page(tmp_path, sweep_report):
    """Laid out by Chromium at 1100 px: the page does not scroll sideways, and every table
    fits the page or sits in its own scrolling box."""
    import re

    _, text = sweep_report
    probe = ("<script>window.onload=function(){var out=[document.documentElement.scrollWidth,"
             "window.innerWidth];document.querySelectorAll('table').forEach(function(t){"
             "var r=t.getBoundingClientRect(),box=t.closest('.scroll');out.push(Math.ceil(r.right)"
             "+(box?'s'+Math.ceil(box.getBoundingClientRect().right):''));});"
             "document.title='W '+out.join(' ');}</script>")
    page = tmp_path / "probe.html"
    page.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    res = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                          "--window-size=1100,2000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    title = re.search(r"<title>W ([^<]*)</title>", res.stdout)
    assert title, res.stderr[-2000:]
    nums = title.group(1).split()
    page_w, view_w = int(nums[0]), int(nums[1])
    assert page_w <= view_w <= 1100
    tables = nums[2:]
    assert tables
    for t in tables:
        right, _, box = t.partition("s")
        assert int(box or right) <= view_w, tables
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
