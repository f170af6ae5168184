"""Defect 4: no input produces a traceback, and a crash never exits 1 (CI's "findings").

Before: a lone surrogate (``"\\ud800"``) in a run id, param or metric name crashed every
output format but JUnit; an HF ``log_history`` step of 1000 digits raised OverflowError
(also with ``--jobs 2``); ``tool = 5`` in pyproject.toml raised AttributeError (also in
``Recorder(check_every=...)``); ``$\\foo{$`` in a run id broke ``diagnose plot`` (a deep
one: RecursionError). An unexpected internal error now exits 2 with the file named and
a one-line hint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EXPLOSION, FIXTURES, ROOT, healthy_run, no_traceback, run_cli, run_py

FORMATS = ["text", "json", "markdown", "github", "junit", "sarif"]


def _surrogate_run(dest: Path) -> Path:
    run = healthy_run(dest, run_id="run\ud800x", src=EXPLOSION)  # a finding names it
    meta = json.loads((run / "run.json").read_text())
    meta["params"]["p\udc80"] = "v\ud800"
    (run / "run.json").write_text(json.dumps(meta))
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 10_000, "m\ud800": 1.0}) + "\n")
    return run


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_never_crash_an_output_format(tmp_path: Path, fmt: str) -> None:
    _surrogate_run(tmp_path / "runs" / "s")
    r = run_cli("check", str(tmp_path / "runs"), "-q", "-v", "--format", fmt, timeout=10)
    no_traceback(r)
    assert r.code == 1, r.both  # the explosion is found, in every format
    if fmt != "junit":  # XML cannot hold it at all
        assert "\\ud800" in r.out  # shown as a visible escape
    if fmt in ("json", "sarif"):
        json.loads(r.out)


def test_lone_surrogates_in_the_github_step_summary(tmp_path: Path) -> None:
    _surrogate_run(tmp_path / "runs" / "s")
    summary = tmp_path / "summary.md"
    r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", "github", timeout=10,
                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    no_traceback(r)
    assert r.code == 1 and "\\ud800" in summary.read_text(encoding="utf-8"), r.both


def test_lone_surrogates_in_the_html_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    _surrogate_run(tmp_path / "runs" / "s")
    out = tmp_path / "r.html"
    r = run_cli("report", str(tmp_path / "runs"), "-o", str(out), "--max-plots", "1",
                timeout=30)
    no_traceback(r)
    assert r.code == 0 and out.read_text(encoding="utf-8"), r.both


def _hf_with_step(dest: Path, step: str) -> Path:
    src = FIXTURES / "formats" / "hf_state" / "run" / "checkpoint-4" / "trainer_state.json"
    dest.mkdir(parents=True)
    text = src.read_text().replace('"step": 1\n', f'"step": {step}\n', 1)
    assert text != src.read_text()
    (dest / "trainer_state.json").write_text(text)
    return dest


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_hf_step_of_1000_digits_is_skipped_with_a_note(tmp_path: Path, jobs: str) -> None:
    _hf_with_step(tmp_path / "runs" / "hf", "9" * 1000)
    healthy_run(tmp_path / "runs" / "good")
    r = run_cli("check", str(tmp_path / "runs"), "-q", "-v", "--jobs", jobs, timeout=20)
    no_traceback(r)
    assert r.code in (0, 1), r.both
    assert "without an integer step" in r.out and "healthy-mlp-adam" in r.out


def test_an_hf_value_of_1000_digits_is_read_as_inf(tmp_path: Path) -> None:
    run = _hf_with_step(tmp_path / "hf", "0")
    text = (run / "trainer_state.json").read_text().replace('"loss": 2.1', '"loss": 1' + "0" * 999)
    (run / "trainer_state.json").write_text(text)
    r = run_py(f"import diagnose; r = diagnose.load({str(run)!r}); "
               "s, v = r.arrays('train/loss'); print(s[0], v[0])")
    assert r.code == 0 and r.out.split() == ["0", "inf"], r.both


def test_tool_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    (tmp_path / "pyproject.toml").write_text("tool = 5\n")
    r = run_cli("check", "runs", "-q", cwd=tmp_path, timeout=10)
    no_traceback(r)
    assert r.code == 2 and "pyproject.toml" in r.err and "'tool' must be a table" in r.err


def test_tool_not_a_table_in_the_recorder_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 5\n")
    r = run_py("import diagnose\n"
               "try:\n"
               "    diagnose.Recorder('run', check_every=10).close()\n"
               "except diagnose.ConfigError as e:\n"
               "    print('ConfigError', e)\n", cwd=tmp_path, mem=8 << 30, timeout=60)
    assert r.code == 0 and r.out.startswith("ConfigError") and "'tool'" in r.out, r.both


@pytest.mark.parametrize("rid", ["$\\foo{$", "$" + "{" * 400 + "x" + "}" * 400 + "$"],
                         ids=["bad-math", "deep-math"])
def test_matplotlib_math_in_a_run_id_is_drawn_as_text(tmp_path: Path, rid: str) -> None:
    pytest.importorskip("matplotlib")
    healthy_run(tmp_path / "runs" / "m", run_id=rid)
    out = tmp_path / "p.png"
    r = run_cli("plot", str(tmp_path / "runs"), "-o", str(out), timeout=30)
    no_traceback(r)
    assert r.code == 0 and out.stat().st_size > 0, r.both


def test_an_internal_error_exits_2_naming_the_file(tmp_path: Path) -> None:
    run = healthy_run(tmp_path / "runs" / "good")
    code = ("import sys, diagnose.pipeline as e\n"
            "def boom(*a, **k):\n"
            "    raise RuntimeError('a bug')\n"
            "e.analyse_run = boom\n"
            "sys.argv = ['diagnose', 'check', sys.argv[1], '-q']\n"
            "from diagnose.cli import main\n"
            "main()\n")
    r = run_py(code.replace("sys.argv[1]", repr(str(tmp_path / "runs"))))
    no_traceback(r)
    assert r.code == 2, r.both
    line = next(ln for ln in (r.out + r.err).splitlines() if "internal error" in ln)
    assert str(run) in line and "RuntimeError" in line and "DIAGNOSE_DEBUG" in line


def test_an_internal_error_outside_a_run_exits_2_in_one_line(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    code = ("import sys, diagnose.report.text as t\n"
            "def boom(*a, **k):\n"
            "    raise KeyError('oops')\n"
            "t.render = boom\n"
            f"sys.argv = ['diagnose', 'check', {str(tmp_path / 'runs')!r}, '-q']\n"
            "from diagnose.cli import main\n"
            "main()\n")
    r = run_py(code)
    no_traceback(r)
    assert r.code == 2 and "diagnose: internal error" in r.err and "KeyError" in r.err, r.both


assert ROOT.is_dir() and shutil  # imported for the helpers' paths
