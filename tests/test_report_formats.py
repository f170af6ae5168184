"""Formatters: a Report built from real Runs (read from native run dirs) in, text out.

The engine is not involved: findings are constructed here, so each test knows exactly
what the report holds and derives its expectations from that, not from the formatter.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.findings import Finding, Group, Report
from diagnose.report import FORMATS, render
from diagnose.report import github as gh

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TRICKY = 'peak 50% up: loss=1,2\nsecond line | piped <b>&"'


def write_run(root: Path, name: str, lr: float, losses: list[float], torn: bool = False) -> Path:
    """A native run dir written by hand: run.json + metrics.jsonl."""
    d = root / name
    d.mkdir(parents=True)
    meta = {"format": "diagnose-run", "version": 1, "id": name, "params": {"lr": lr, "seed": 0}}
    (d / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    lines = [json.dumps({"step": i, "loss": v, "val_loss": v * 1.1}) for i, v in enumerate(losses)]
    text = "\n".join(lines) + "\n"
    if torn:
        text += '{"step": 99, "lo'
    (d / "metrics.jsonl").write_text(text, encoding="utf-8")
    return d


def load_runs(tmp_path: Path, n_clean: int = 1) -> list[diagnose.Run]:
    runs = [
        diagnose.load(write_run(tmp_path, "lr_10", 10.0, [0.78, 3.0, 15.0, 9.0, 4.0], torn=True)),
        diagnose.load(write_run(tmp_path, "lr_0.1", 0.1, [2.3, 1.9, 1.5, 1.2, 1.0])),
    ]
    for i in range(n_clean):
        runs.append(diagnose.load(write_run(tmp_path, f"clean_{i:02d}", 1.0, [2.3, 1.0, 0.5, 0.4])))
    return runs


def findings() -> list[Finding]:
    return [
        Finding(
            "DG110", "still-improving", "still_improving", "info",
            "loss still falling 12% per window",
            "The budget ended before the curve flattened.", "Rerun with 2x the steps.",
            run="lr_0.1", steps=(3, 4), evidence={"slope": np.float64(-0.12)},
        ),
        Finding(
            "DG102", "loss-explosion", "explosion", "error", TRICKY,
            "Learning rate too high.", "Rerun with lr=3 (a third of 10) and gradient clipping.",
            run="lr_10", steps=(2, 2),
            evidence={"peak_ratio": 19.2, "nonfinite": float("nan"), "top": float("inf"),
                      "series": np.array([0.78, np.inf]), "n": np.int64(3)},
        ),
        Finding(
            "DG105", "seed-variance", "seed_variance", "warning", "seeds disagree by 0.4",
            "Too few seeds.", "Add 3 seeds.", group="g1", runs=["lr_10", "lr_0.1"],
        ),
        Finding(
            "DG103", "generalization-gap", "generalization_gap", "warning", "val/train gap 0.3",
            "Overfitting.", "Add weight decay 1e-4.", run="lr_10", steps=(1, 4),
        ),
    ]


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return Report(
        runs=load_runs(tmp_path),
        findings=findings(),
        groups=[Group("g1", "seeds", ["lr_10", "lr_0.1"], ["seed"])],
        errors=[f"{tmp_path / 'broken' / 'run.json'}:line 1: not valid JSON"],
    )


def expected_order(rep: Report) -> list[tuple[str, str | None]]:
    rank = {"error": 0, "warning": 1, "info": 2}
    fs = sorted(rep.findings, key=lambda f: (rank[f.severity], f.rule, f.run or "", f.group or ""))
    return [(f.rule, f.run) for f in fs]


# -- every format --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github", "junit", "sarif"])
def test_every_format_is_registered_deterministic_and_order_free(report: Report, fmt: str) -> None:
    assert fmt in FORMATS
    out = render(report, fmt)
    shuffled = Report(report.runs, list(reversed(report.findings)), report.groups, report.errors)
    assert render(shuffled, fmt) == out
    assert out.endswith("\n")
    assert not [ln for ln in out.splitlines() if ln != ln.rstrip()]


# -- json ------------------------------------------------------------------------------------
def _no_constants(name: str) -> None:
    raise AssertionError(f"non-strict JSON constant {name}")


def test_json_contract(report: Report) -> None:
    doc = json.loads(render(report, "json"), parse_constant=_no_constants)
    assert list(doc) == ["version", "runs", "groups", "findings", "summary", "errors"]
    assert doc["version"] == 1
    for entry, run in zip(doc["runs"], report.runs, strict=True):
        assert entry == {
            "id": run.id, "path": run.path, "format": "native", "steps": run.n_steps,
            "metrics": ["train/loss", "val/loss"], "params": run.params,
            "name_map": {"loss": "train/loss", "val_loss": "val/loss"},
            "warnings": run.warnings, "in_progress": run.in_progress,
            "unchecked": {},  # train and validation loss logged: every pattern was judged
        }
    assert doc["runs"][0]["in_progress"] is True and doc["runs"][0]["warnings"]
    assert doc["runs"][0]["steps"] == 5
    assert doc["groups"] == [{"id": "g1", "kind": "seeds", "runs": ["lr_10", "lr_0.1"],
                              "varying": ["seed"]}]
    assert [(f["rule"], f["run"]) for f in doc["findings"]] == expected_order(report)
    keys = {"rule", "name", "pattern", "also", "severity", "run", "group", "runs", "steps",
            "message", "cause", "next_experiment", "next", "evidence"}
    assert all(set(f) == keys for f in doc["findings"])
    assert all(isinstance(f["next"], list) for f in doc["findings"])
    assert doc["summary"] == {"error": 1, "warning": 2, "info": 1}
    assert doc["summary"] == dict(Counter(f.severity for f in report.findings))
    assert doc["errors"] == report.errors


def test_json_nonfinite_and_numpy_evidence(report: Report) -> None:
    doc = json.loads(render(report, "json"), parse_constant=_no_constants)
    by_rule = {f["rule"]: f for f in doc["findings"]}
    ev = by_rule["DG102"]["evidence"]
    assert ev == {"peak_ratio": 19.2, "nonfinite": "NaN", "top": "Infinity",
                  "series": [0.78, "Infinity"], "n": 3}
    assert by_rule["DG102"]["message"] == TRICKY
    assert by_rule["DG102"]["steps"] == [2, 2]
    assert by_rule["DG105"]["steps"] is None and by_rule["DG105"]["run"] is None
    assert by_rule["DG110"]["evidence"]["slope"] == pytest.approx(-0.12)


def test_json_params_with_nan_stay_strict(tmp_path: Path) -> None:
    run = diagnose.load(write_run(tmp_path, "r", 1.0, [1.0, 0.5]))
    run.params.update(wd=float("-inf"), arr=np.array([1, 2]), half=np.float32(0.5))
    doc = json.loads(render(Report(runs=[run]), "json"), parse_constant=_no_constants)
    assert doc["runs"][0]["params"] == {"lr": 1.0, "seed": 0, "wd": "-Infinity", "arr": [1, 2],
                                        "half": 0.5}
    assert doc["findings"] == [] and doc["summary"] == {"error": 0, "warning": 0, "info": 0}


# -- text ------------------------------------------------------------------------------------
def test_text_per_run_findings_cause_next_and_summary(report: Report) -> None:
    out = render(report, "text")
    assert "\x1b" not in out
    lines = out.splitlines()
    header = next(ln for ln in lines if ln.startswith("lr_10"))
    assert report.runs[0].path in header and "native" in header and "5 steps" in header
    assert "in progress" in header
    assert any("DG102 loss-explosion (step 2): peak 50% up" in ln for ln in lines)
    assert any("DG103 generalization-gap (steps 1-4): val/train gap 0.3" in ln for ln in lines)
    for f in report.findings:
        assert any(ln.strip() == f"cause: {f.cause}" for ln in lines)
        assert any(ln.strip() == f"next:  {f.next_experiment}" for ln in lines)
    # the message's second line stays in the finding's column
    i = next(i for i, ln in enumerate(lines) if "peak 50% up" in ln)
    assert lines[i + 1].strip() == "second line | piped <b>&\""
    assert lines[i + 1].startswith("  " + " " * 8)
    assert any("torn last line" in ln for ln in lines)
    assert "clean_00: ok" in lines
    # the group section lists its member runs
    g = lines.index("across runs:")
    assert "g1" in lines[g + 1] and "seeds" in lines[g + 1]
    assert lines[g + 2].strip() == "runs: lr_10, lr_0.1"
    assert "seeds disagree by 0.4" in lines[g + 3]
    u = lines.index("unreadable inputs:")
    assert report.errors[0] in lines[u + 1]
    c = Counter(f.severity for f in report.findings)
    assert lines[-1] == (
        f"Found {len(report.findings)} findings ({c['error']} error, {c['warning']} warnings, "
        f"{c['info']} info) in {len(report.runs)} runs; 1 input could not be read."
    )


def test_text_colour_only_when_asked(report: Report) -> None:
    plain = render(report, "text")
    coloured = render(report, "text", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31merror" in coloured
    assert ANSI.sub("", coloured) == plain


def test_text_verbose_shows_evidence_and_renames(report: Report) -> None:
    out = render(report, "text", verbose=True)
    assert "evidence: peak_ratio=19.2, nonfinite=nan, top=inf, series=[0.78, inf], n=3" in out
    assert "metrics renamed: loss -> train/loss, val_loss -> val/loss" in out
    assert "evidence" not in render(report, "text")


def test_text_many_clean_runs_share_one_line(tmp_path: Path) -> None:
    runs = load_runs(tmp_path, n_clean=12)
    rep = Report(runs=runs[2:])  # twelve clean runs, no warnings
    lines = render(rep, "text").splitlines()
    assert lines[-1] == "All checks passed: 12 runs, no findings."
    listed = " ".join(lines[:-1])
    assert listed.startswith("clean (12 runs): ")
    assert all(r.id in listed for r in rep.runs)
    assert not any(ln.endswith(": ok") for ln in lines)
    few = render(Report(runs=runs[2:5]), "text").splitlines()
    assert few[:3] == [f"{r.id}: ok" for r in runs[2:5]]


def test_text_snapshot(tmp_path: Path) -> None:
    run = diagnose.load(write_run(tmp_path, "a", 1.0, [2.0, 1.0, 0.5]))
    run.path = "runs/a"
    f = Finding("DG101", "flat-loss", "flat_loss", "warning", "train loss fell 2% in 3 steps",
                "Learning rate too low.", "Rerun with lr=3.", run="a", steps=(0, 2))
    assert render(Report(runs=[run], findings=[f]), "text") == (
        "a  runs/a  (native, 3 steps)\n"
        "  warning DG101 flat-loss (steps 0-2): train loss fell 2% in 3 steps\n"
        "          cause: Learning rate too low.\n"
        "          next:  Rerun with lr=3.\n"
        "\n"
        "Found 1 finding (0 errors, 1 warning, 0 info) in 1 run.\n"
    )


# -- markdown --------------------------------------------------------------------------------
def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_markdown_tables(report: Report) -> None:
    out = render(report, "markdown")
    rows = [ln for ln in out.splitlines() if ln.startswith("|")]
    header = rows.index("| Run | Rule | Severity | Steps | Message | Next experiment |")
    body = rows[header + 2:]
    assert len(body) == len(report.findings)
    assert all(len(_cells(r)) == 6 for r in body)
    explosion = next(_cells(r) for r in body if "DG102" in r)
    assert "second line \\| piped &lt;b&gt;" in explosion[4] and "<br>" in explosion[4]
    assert explosion[0] == "lr_10" and explosion[3] == "2"
    counts = {_cells(r)[0].split()[-1]: int(_cells(r)[1]) for r in rows[2:header]}
    assert counts == {"error": 1, "warning": 2, "info": 1}
    assert any("group g1 (lr_10, lr_0.1)" in r for r in body)
    assert report.errors[0] in out


# -- github ----------------------------------------------------------------------------------
_COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def _unescape(s: str) -> str:
    for code, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        s = s.replace(code, ch)
    return s


def test_github_annotations_escape(tmp_path: Path) -> None:
    run = diagnose.load(write_run(tmp_path, "lr:10,b", 10.0, [1.0, 5.0]))
    f = Finding("DG102", "loss-explosion", "explosion", "error", "50% up: a,b\r\nnext line",
                "cause", "next", run=run.id, steps=(0, 1))
    info = Finding("DG110", "still-improving", "x", "info", "m", "c", "n", run=run.id)
    lines = render(Report(runs=[run], findings=[info, f]), "github").splitlines()
    assert len(lines) == 3  # two findings + the summary notice
    kind, props, data = _COMMAND.match(lines[0]).groups()
    assert kind == "error"
    assert "\n" not in lines[0] and "\r" not in lines[0]
    parsed = dict(p.split("=", 1) for p in props.split(","))
    assert _unescape(parsed["file"]) == run.path and "%3A" in parsed["file"]
    assert "%2C" in parsed["file"]
    assert _unescape(parsed["title"]) == "DG102 loss-explosion (steps 0-1)"
    assert _unescape(data).splitlines()[0] == f"{run.id}: 50% up: a,b"
    assert "%25" in data and "%0D%0A" in data
    assert _COMMAND.match(lines[1]).group(1) == "notice"
    assert _COMMAND.match(lines[2]).group(1) == "notice"
    assert gh.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_step_summary_is_markdown(report: Report) -> None:
    summary = gh.step_summary(report)
    assert summary == render(report, "markdown")
    kinds = [_COMMAND.match(ln).group(1) for ln in render(report, "github").splitlines()]
    assert kinds.count("error") == 1 + len(report.errors)
    assert kinds.count("warning") == 2


# -- junit -----------------------------------------------------------------------------------
def test_junit_structure(report: Report) -> None:
    report.findings[1].message += "\x01 ctrl"
    root = ET.fromstring(render(report, "junit").encode("utf-8"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    for run in report.runs:
        cases = suites[run.id].findall("testcase")
        mine = [f for f in report.findings if f.run == run.id]
        assert len(cases) == max(len(mine), 1)
        fails = [c.find("failure") for c in cases if c.find("failure") is not None]
        assert len(fails) == sum(f.severity in ("error", "warning") for f in mine)
        assert int(suites[run.id].get("failures")) == len(fails)
        assert suites[run.id].get("file") == run.path
    clean = suites["clean_00"].find("testcase")
    assert clean.find("failure") is None and clean.find("error") is None
    explosion = next(c for c in root.iter("testcase") if c.get("name") == "DG102 loss-explosion")
    failure = explosion.find("failure")
    assert failure.get("type") == "error"
    assert failure.get("message") == TRICKY + " ctrl"
    assert "next: Rerun with lr=3" in failure.text
    still = next(c for c in root.iter("testcase") if c.get("name") == "DG110 still-improving")
    assert still.find("failure") is None and "still falling" in still.find("system-out").text
    assert suites["group g1"].find("testcase/failure").get("type") == "warning"
    assert suites["unreadable inputs"].find("testcase/error") is not None
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites.values())
    assert int(root.get("failures")) == 3  # error + two warnings; info passes


def test_junit_fail_on_error_only(report: Report) -> None:
    root = ET.fromstring(render(report, "junit", fail_on="error"))
    assert [f.get("type") for f in root.iter("failure")] == ["error"]


# -- sarif -----------------------------------------------------------------------------------
def test_sarif_shape(report: Report) -> None:
    doc = json.loads(render(report, "sarif"), parse_constant=_no_constants)
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "diagnose" and driver["version"] == diagnose.__version__
    assert driver["informationUri"].startswith("https://")
    codes = [r["id"] for r in driver["rules"]]
    assert sorted(codes) == sorted({f.rule for f in report.findings}) == codes
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    results = run["results"]
    assert [(r["ruleId"], r["properties"]["run"]) for r in results] == expected_order(report)
    levels = {"error": "error", "warning": "warning", "info": "note"}
    paths = {r.id: r.path for r in report.runs}
    for res, f in zip(results, sorted(report.findings, key=Finding.sort_key), strict=True):
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] == levels[f.severity]
        assert res["message"]["text"].startswith(f.message)
        members = [f.run] if f.run else f.runs
        uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in res["locations"]]
        assert uris == [Path(paths[m]).as_uri() for m in members]
        assert res["properties"]["steps"] == (list(f.steps) if f.steps else None)
    assert results[0]["properties"]["evidence"]["nonfinite"] == "NaN"
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == \
        report.errors[0]


def test_sarif_relative_path_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_run(Path("runs"), "lr 1", 1.0, [1.0, 0.5])
    run = diagnose.load("runs/lr 1")
    f = Finding("DG101", "flat-loss", "flat_loss", "warning", "m", "c", "n", run=run.id)
    doc = json.loads(render(Report(runs=[run], findings=[f]), "sarif"))
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc["uri"] == "runs/lr%201"
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is True



def test_sarif_lists_every_loaded_rule_with_its_docs(report: Report) -> None:
    from types import SimpleNamespace

    quiet = SimpleNamespace(
        code="DG001", name="nonfinite", pattern="nonfinite", severity="error", tags=("numerics",),
        docs={"what": "NaN or inf in a metric.\n\nMore detail."}, explain=lambda: "# DG001\n",
    )
    doc = json.loads(render(report, "sarif", rules=[quiet]))
    driver = doc["runs"][0]["tool"]["driver"]
    first = driver["rules"][0]
    assert first["id"] == "DG001" and first["shortDescription"]["text"] == "NaN or inf in a metric."
    assert first["help"]["markdown"] == "# DG001\n"
    fired = {f.rule for f in report.findings}
    assert [r["id"] for r in driver["rules"]] == sorted({"DG001"} | fired)
    for res in doc["runs"][0]["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
