"""Defect 12: output that other programs render is inert.

Before: Markdown kept ``![x](http://...)`` images and ``javascript:`` links from run names
(they reach PR comments and job summaries); ``sweep --format csv`` wrote cells like
``=1+2+cmd|...`` raw (spreadsheet formula injection); an unreadable folder was reported
twice (in the report and again on stderr).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from conftest import EXPLOSION, healthy_run, no_traceback, run_cli, run_py

LINKS = "![x](http://evil.example/p.png) [click](javascript:alert(1)) <img src=x>"
#: Markdown that would render as an image or a link, or raw HTML.
#: An unescaped ``[text](`` (``![alt](`` is one too), or an HTML tag.
ACTIVE = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*(?<!\\)\]\(|<img|<a ")


def test_markdown_neutralises_links_and_images_from_run_names(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "a", run_id="a " + LINKS, src=EXPLOSION)
    healthy_run(tmp_path / "runs" / "b", run_id="b " + LINKS)
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "markdown", timeout=10)
    no_traceback(r)
    assert r.code == 1 and "evil.example" in r.out, r.both  # the name is shown ...
    assert not ACTIVE.search(r.out), r.out  # ... but nothing in it is live
    for fmt in ("markdown",):
        s = run_cli("sweep", str(tmp_path / "runs"), "--format", fmt, timeout=20)
        no_traceback(s)
        assert "evil.example" in s.out and not ACTIVE.search(s.out), s.out


FORMULAS = ["=1+2+cmd|' /C calc'!A0", "+SUM(A1)", "-2+3+cmd|x", "@SUM(A1)"]


def test_sweep_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    for i, f in enumerate(FORMULAS):
        run = healthy_run(tmp_path / "runs" / f"r{i}", run_id=f)
        meta = json.loads((run / "run.json").read_text())
        meta["params"]["note"] = f
        (run / "run.json").write_text(json.dumps(meta))
    r = run_cli("sweep", str(tmp_path / "runs"), "--format", "csv", timeout=20)
    no_traceback(r)
    rows = list(csv.reader(io.StringIO(r.out)))
    cells = [c for row in rows[1:] for c in row]
    text = [c for c in cells if c and not _is_number(c)]
    assert text and not [c for c in text if c[0] in "=+-@"], rows
    assert sum(c.startswith("'=1+2+cmd") for c in cells) >= 1


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def test_an_unreadable_folder_is_reported_once(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    locked = tmp_path / "runs" / "locked"
    healthy_run(locked / "inside")
    # root lists any folder: refuse this one the way the OS would
    code = f"""
import os, sys
from pathlib import Path
locked = Path({str(locked)!r})
real_scandir, real_listdir = os.scandir, os.listdir
def refuse(real):
    def f(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)
    return f
os.scandir, os.listdir = refuse(real_scandir), refuse(real_listdir)
from diagnose.cli import main
sys.argv = ["diagnose", *sys.argv[1:]]
main()
"""
    for args in (["check", str(tmp_path / "runs"), "-q"], ["sweep", str(tmp_path / "runs")]):
        r = run_py(code.replace("sys.argv[1:]", repr(args)))
        no_traceback(r)
        assert r.code == 2, r.both
        assert (r.out + r.err).count("Permission denied") == 1, r.both
