"""GitHub annotations: printed once, on the log file relative to the repository, at the step's line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
ANNOTATION = re.compile(r"^::(error|warning|notice) title=(?P<title>[^,:]*)(?P<props>[^:]*)::", re.M)


def _props(line: str) -> dict[str, str]:
    m = ANNOTATION.match(line)
    assert m, line
    return dict(p.split("=", 1) for p in m.group("props").split(",") if "=" in p)


def _steps(title: str) -> int:
    m = re.search(r"\(steps? (\d+)", title.replace("%2C", ","))
    assert m, title
    return int(m.group(1))


@pytest.fixture()
def repo(tmp_path):
    """A repository with runs in three formats: native JSON lines, a Keras CSV, a HF Trainer state."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "explosion", root / "runs" / "explosion")
    shutil.copytree(FIXTURES / "formats" / "keras_csv", root / "runs" / "keras_csv")
    shutil.copytree(FIXTURES / "formats" / "hf_state" / "run", root / "runs" / "hf")
    (root / ".git").mkdir()
    return root


def _check(*args, env):
    return CliRunner().invoke(main, ["check", *args, "--format", "github"], env=env,
                              catch_exceptions=False)


def _annotations(text: str) -> list[str]:
    return [x for x in text.splitlines() if ANNOTATION.match(x) and "title=diagnose" not in x]


def test_each_annotation_once_on_the_log_file_and_line(repo, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo), "GITHUB_STEP_SUMMARY": None}
    r = _check(str(repo / "runs"), env=env)
    found = _annotations(r.stdout)
    assert found and not _annotations(r.stderr)
    assert len(found) == len(set(found))
    files = set()
    for a in found:
        props = _props(a)
        title = ANNOTATION.match(a).group("title")
        rel = props["file"]
        files.add(rel)
        assert not rel.startswith(("/", "..")), rel
        path = repo / rel
        assert path.is_file(), rel
        if "(step" not in title.replace("%2C", ","):
            continue
        assert "line" in props, a  # every format here has a known line per step
        text = path.read_text(encoding="utf-8").splitlines()[int(props["line"]) - 1]
        step = _steps(title)
        if rel.endswith(".jsonl"):
            assert json.loads(text)["step"] == step
        elif rel.endswith("trainer_state.json"):
            assert re.fullmatch(rf'\s*"step": {step},?', text), text
        else:
            assert int(text.split(",")[0]) == step  # Keras: the epoch column
    assert {"runs/explosion/metrics.jsonl", "runs/keras_csv/training.log"} <= files
    assert any(f.startswith("runs/hf/") and f.endswith("trainer_state.json") for f in files)


def test_relative_to_the_repository_root_without_github_workspace(repo, monkeypatch):
    sub = repo / "ci"
    sub.mkdir()
    monkeypatch.chdir(sub)
    r = _check("../runs/explosion", env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": None,
                                         "GITHUB_STEP_SUMMARY": None})
    files = {_props(a)["file"] for a in _annotations(r.stdout)}
    assert files == {"runs/explosion/metrics.jsonl"}


def test_report_to_a_file_still_annotates_once(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    out = tmp_path / "annotations.txt"
    r = _check("runs/explosion", "-o", str(out),
               env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo), "GITHUB_STEP_SUMMARY": None})
    printed = _annotations(r.stdout)
    assert printed and printed == _annotations(out.read_text(encoding="utf-8"))
    assert not _annotations(r.stderr)


def test_outside_actions_the_path_is_the_run_as_given(repo, monkeypatch):
    monkeypatch.chdir(repo)
    r = _check("runs/explosion", env={"GITHUB_ACTIONS": None})
    props = [_props(a) for a in _annotations(r.stdout)]
    assert props and all(p["file"] == "runs/explosion" and "line" not in p for p in props)
