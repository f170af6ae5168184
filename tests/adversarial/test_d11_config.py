"""Defect 11: a config mistake is an error, never accepted silently.

Before: ``[tool.diagnose.params.no-such-rule]`` was accepted; the params of an ignored
rule were never validated (``max_drop = "evil"`` passed); ``metrics`` values were not
checked to be canonical names; a 3.8 MB ``per-run-ignores`` glob cost 35 s and 1.9 GB for
one run. Each is now a ConfigError (exit 2) naming the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import healthy_run, no_traceback, run_cli

CASES = {
    "unknown rule": ('[tool.diagnose.params.no-such-rule]\nmax_drop = 0.1\n', "names no rule"),
    "ignored rule, bad value": (('[tool.diagnose]\nignore = ["flat-loss"]\n'
                                 '[tool.diagnose.params.flat-loss]\nmax_drop = "evil"\n'),
                                "max_drop"),
    "metric not canonical": ('[tool.diagnose.metrics]\n"objective" = "banana"\n',
                             "not a canonical metric name"),
    "metric an alias": ('[tool.diagnose.metrics]\n"objective" = "loss"\n',
                        "not a canonical metric name"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_mistakes_are_errors(tmp_path: Path, case: str) -> None:
    healthy_run(tmp_path / "runs" / "good")
    text, expected = CASES[case]
    (tmp_path / "pyproject.toml").write_text(text)
    r = run_cli("check", "runs", "-q", cwd=tmp_path, timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both
    assert "pyproject.toml" in r.err and expected in r.err, r.err
    if case.startswith("metric"):  # and canonical names still pass: split/name, lr
        (tmp_path / "pyproject.toml").write_text('[tool.diagnose.metrics]\n"objective" = '
                                                 '"test/loss"\n"x" = "lr"\n')
        assert run_cli("check", "runs", "-q", cwd=tmp_path, timeout=10).code == 0


def test_a_huge_per_run_ignores_glob_is_refused_fast(tmp_path: Path) -> None:
    healthy_run(tmp_path / "runs" / "good")
    glob = "*a" * 1_900_000  # 3.8 MB
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.diagnose.per-run-ignores]\n"{glob}" = ["ALL"]\n')
    r = run_cli("check", "runs", "-q", cwd=tmp_path, timeout=10)
    no_traceback(r)
    assert r.code == 2 and "per-run-ignores" in r.err and "at most" in r.err, r.both
