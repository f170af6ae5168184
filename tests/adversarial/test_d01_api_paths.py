"""Defect 1: ``diagnose.check`` takes one path as a path, never as its characters.

Before: ``check("runs")`` checked "r", "u", "n", "s" (``r: no such file or directory``)
and ``check("runs/")`` walked ``/``, every log on the machine, until memory ran out.
"""

from __future__ import annotations

from pathlib import Path

from conftest import healthy_run, run_py

CODE = """
import os, pathlib, diagnose
for arg in ({arg}):
    rep = diagnose.check(arg, jobs=1)
    print(len(rep.runs), [r.id for r in rep.runs], rep.errors)
"""


def test_check_takes_a_str_a_pathlike_or_an_iterable_of_them(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "a")
    healthy_run(tmp_path / "other")
    args = '"runs", "runs/", pathlib.Path("runs"), ["runs", "other"], (p for p in ["runs/"])'
    r = run_py(CODE.format(arg=args), cwd=tmp_path, timeout=10)
    assert r.code == 0, r.err[-2000:]
    lines = r.out.strip().splitlines()
    assert len(lines) == 5
    counts = [int(line.split(" ", 1)[0]) for line in lines]
    assert counts == [1, 1, 1, 2, 1]
    assert all(line.endswith("[]") for line in lines)  # no error: not "r: no such file"


def test_a_missing_str_path_is_one_error_naming_it(tmp_path: Path) -> None:
    r = run_py(CODE.format(arg='"nothere",'), cwd=tmp_path)
    assert r.code == 0, r.err[-2000:]
    assert r.out.count("no such file") == 1 and "nothere" in r.out
