"""The wheel: built from this checkout, installed into a fresh venv, the CLI runs from there."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted(p.name for p in (ROOT / "rules").glob("*.toml"))


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    # a PYTHONPATH pointing at a checkout would shadow the venv's installed copy
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install -e '.[dev]')")
    # Offline when the backend is already installed; otherwise an isolated build fetches it.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
    _run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", str(out), str(ROOT)])
    (whl,) = out.glob("diagnose-*.whl")
    return whl


@pytest.mark.slow
def test_rule_files_ship_inside_the_wheel(wheel):
    assert RULE_FILES, "rules/ holds no rule files"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"diagnose/_rules/{n}" for n in RULE_FILES} <= names


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_the_cli_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    _run([str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)], timeout=600)
    where = _run([str(bindir / "python"), "-c", "import diagnose; print(diagnose.__file__)"],
                 cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    version = _run([str(bindir / "diagnose"), "--version"], cwd=tmp_path).stdout
    from diagnose import __version__

    assert __version__ in version

    assert RULE_FILES, "rules/ holds no rule files"
    help_text = _run([str(bindir / "diagnose"), "--help"], cwd=tmp_path).stdout
    assert " rules " in help_text, help_text
    listing = _run([str(bindir / "diagnose"), "rules"], cwd=tmp_path).stdout
    codes = {n.split("-", 1)[0] for n in RULE_FILES}
    assert all(code in listing for code in codes), listing
