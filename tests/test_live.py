"""Live checks in the Recorder: a diverging run stops at the next check, healthy runs never.

Real training (small MLPs on CPU, and the recipes of fixtures/make_fixtures.py) and
replays of the committed fixture logs through a live Recorder. Expected steps are
computed from the written log by the test itself, never taken from the code under test.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

import diagnose
from diagnose.record import Recorder
from diagnose.record._live import LIMIT

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
EVERY = 200
STEPS = 1600


def train_losses(run_dir: Path, metric: str = "train/loss") -> list[tuple[int, float]]:
    """(step, value) of one metric, straight from metrics.jsonl (plain json, not our reader)."""
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if metric in rec:
            out.append((rec["step"], float(rec[metric])))  # "NaN"/"Infinity" strings too
    return out


def blowup_start(series: list[tuple[int, float]]) -> int | None:
    """First step whose loss is non-finite or above twice the first finite loss."""
    first = next(v for _, v in series if math.isfinite(v))
    return next((s for s, v in series if not math.isfinite(v) or v > 2 * first), None)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Small models train faster on one thread, and a busy CI machine hurts them less."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def mlp_run(run_dir: Path, steps: int, diverge_at: int | None, **rec_kwargs: Any) -> Recorder:
    """MLP 32->64->2 with SGD (lr 0.05); from ``diverge_at`` on, lr 50: far too high."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2048, 32, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    rec = Recorder(run_dir, params={"lr": 0.05, "batch_size": 64}, num_classes=2,
                   check_every=EVERY, **rec_kwargs)
    with rec:
        rec.watch(opt)
        for step in range(steps):
            if step == diverge_at:
                for group in opt.param_groups:
                    group["lr"] = 50.0
            i = torch.randint(0, 2048, (64,), generator=g)
            loss = F.cross_entropy(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            rec.log(step, train_loss=loss)
            if step % 50 == 0:
                with torch.no_grad():
                    rec.log(step, val_loss=F.cross_entropy(model(x[:256]), y[:256]))
    return rec


# -- the acceptance: stop a diverging run, never a healthy one --------------------------


def test_diverging_run_stops_within_one_check_interval(tmp_path, one_thread):
    run_dir = tmp_path / "diverge"
    with pytest.raises(diagnose.StopTraining) as info:
        mlp_run(run_dir, steps=STEPS, diverge_at=700)  # default budget: the sentinel's job
    err = info.value
    series = train_losses(run_dir)
    start = blowup_start(series)
    assert start is not None and start >= 700
    assert start <= err.step <= start + EVERY  # within one check interval
    assert series[-1][0] <= err.step + 1  # nothing trained after the stop
    boom = [f for f in err.findings if f.pattern == "explosion" or
            (f.severity == "error" and "nonfinite" in f.pattern)]
    assert boom and all(f.severity == "error" for f in err.findings)
    assert boom[0].steps is not None and boom[0].steps[0] == start
    bad = [s for s, v in series if not math.isfinite(v)]
    if bad:  # the message names where the values went non-finite
        assert f"step {bad[0]}" in boom[0].message
    saved = json.loads((run_dir / "findings.json").read_text())
    assert saved["live"]["stopped"] is True
    assert saved["live"]["stopped_by"] == [f.rule for f in err.findings]
    assert {f["rule"] for f in saved["findings"]} >= {f.rule for f in err.findings}
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "stopped" and meta["results"]["stopped_at_step"] == err.step
    assert str(run_dir / "findings.json") in str(err)


def test_the_same_run_without_divergence_is_never_stopped(tmp_path, one_thread):
    rec = mlp_run(tmp_path / "healthy", steps=STEPS, diverge_at=None, check_budget=1.0)
    assert not rec.should_stop
    assert rec.live.full_checks >= STEPS // EVERY - 1  # every interval was really checked
    saved = json.loads((tmp_path / "healthy" / "findings.json").read_text())
    assert not [f for f in saved["findings"] if f["severity"] == "error"]
    assert json.loads((tmp_path / "healthy" / "run.json").read_text())["status"] == "finished"


def _make_fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault("make_fixtures", mod)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules["make_fixtures"])  # type: ignore[union-attr]
    return sys.modules["make_fixtures"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["healthy-mlp-adam", "healthy-regression",
                                  "healthy-sgd-cosine", "healthy-digits-cnn"])
def test_healthy_fixture_recipes_train_to_the_end_under_live_checks(tmp_path, monkeypatch, name,
                                                                   one_thread):
    mf = _make_fixtures()
    live = functools.partial(mf.Recorder, check_every=25, check_budget=1.0)  # strict: all full
    monkeypatch.setattr(mf, "Recorder", live)
    recipe = next(r for r in mf.recipes(0) if r.name == name)
    summary = mf.train(recipe, tmp_path)  # raises StopTraining if a check stops it
    saved = json.loads((tmp_path / name / "findings.json").read_text())
    assert saved["live"]["stopped"] is False
    assert saved["live"]["full_checks"] >= summary["steps"] // 25 - 1
    assert json.loads((tmp_path / name / "run.json").read_text())["status"] == "finished"


# -- replays of the committed fixtures ---------------------------------------------------


def fixture_runs() -> list[Path]:
    return [p.parent for p in sorted(FIXTURES.rglob("metrics.jsonl"))
            if "formats" not in p.relative_to(FIXTURES).parts]


def records(run_dir: Path) -> Iterator[tuple[int, dict[str, float]]]:
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        step = rec.pop("step")
        rec.pop("wall_time", None)
        rec.pop("epoch", None)
        yield step, {k: float(v) for k, v in rec.items()}


def replay(src: Path, dst: Path, **kwargs: Any) -> Recorder:
    """Log a recorded run again, record by record, through a live Recorder."""
    meta = json.loads((src / "run.json").read_text())
    kwargs.setdefault("check_every", 10)
    kwargs.setdefault("check_budget", 1.0)
    rec = Recorder(dst, params=meta.get("params"), num_classes=meta.get("num_classes"), **kwargs)
    with rec:
        for step, values in records(src):
            rec.log(step, values)
            if rec.should_stop:
                break
    return rec


def _offline(run_dir: Path) -> list[diagnose.Finding]:
    from diagnose.pipeline import check

    return check([run_dir]).findings


OFFLINE = {p: _offline(p) for p in fixture_runs()} if FIXTURES.is_dir() else {}


#: Recipes built to be unstable: a diverging SGD, the chapter's lr=10 (blows up, then
#: recovers) and lr=0.8 on 48 examples (its loss sits at several times its start for
#: dozens of steps before it may come back: a live check cannot know yet that it will).
UNSTABLE = ("explosion", "chapter-sweep/lr=10", "seeds-high-variance")


def _diverged(p: Path) -> bool:
    name = str(p.relative_to(FIXTURES))
    return name.startswith(UNSTABLE) or any(
        f.severity == "error" or f.pattern == "explosion" for f in OFFLINE[p])


@pytest.mark.parametrize("src", [p for p in OFFLINE if not _diverged(p)],
                         ids=lambda p: str(p.relative_to(FIXTURES)))
def test_stable_fixture_runs_are_never_stopped(tmp_path, src):
    rec = replay(src, tmp_path / "r", raise_on_stop=False)
    assert not rec.should_stop, [f.message for f in rec.live.stopped]
    assert rec.live.full_checks >= len(train_losses(src)) // 10 - 1


@pytest.mark.parametrize("src", [p for p in OFFLINE
                                 if any(f.severity == "error" for f in OFFLINE[p])],
                         ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_runs_that_diverged_are_stopped(tmp_path, src):
    with pytest.raises(diagnose.StopTraining) as info:
        replay(src, tmp_path / "r")
    series = train_losses(src)
    start = blowup_start(series)
    assert start is not None and start <= info.value.step < series[-1][0]
    offline_errors = {f.rule for f in OFFLINE[src] if f.severity == "error"}
    assert offline_errors & {f.rule for f in info.value.findings}


def _points(p: Path) -> int:
    counts: dict[str, int] = {}
    for _, values in records(p):
        for k in values:
            counts[k] = counts.get(k, 0) + 1
    return max(counts.values())


@pytest.mark.parametrize("src", [p for p in OFFLINE if not _diverged(p) and _points(p) <= LIMIT],
                         ids=lambda p: str(p.relative_to(FIXTURES)))
def test_final_live_findings_equal_an_offline_live_check_of_the_log(tmp_path, src):
    """Below ``LIMIT`` points nothing is subsampled: live and offline must agree exactly."""
    from diagnose.engine import evaluate_run
    from diagnose.rules import load_rules

    replay(src, tmp_path / "r", raise_on_stop=False, check_every=50)
    saved = json.loads((tmp_path / "r" / "findings.json").read_text())
    run = diagnose.load(tmp_path / "r")
    offline = evaluate_run(run, load_rules(), live=True)
    assert [(f["rule"], f["message"]) for f in saved["findings"]] == sorted(
        ((f.rule, f.message) for f in offline), key=lambda x: x[0])
    assert saved["live"]["step"] == run.step_range[1]


# -- long runs: subsampled trends, every value counted, bounded cost --------------------


def _curve(n: int) -> list[float]:
    return [2.0 * math.exp(-3.0 * i / n) + 0.3 + 0.05 * math.sin(i * 0.7) for i in range(n)]


def test_long_run_check_counts_every_nonfinite_value(tmp_path):
    n, bad = 20_000, 15_321
    values = _curve(n)
    values[bad] = math.nan
    found: list[diagnose.Finding] = []
    with Recorder(tmp_path / "r", check_every=EVERY, stop_on=None, on_finding=found.append) as rec:
        for i, v in enumerate(values):
            rec.log(i, train_loss=v)
    nonfinite = [f for f in found if f.rule == "DG201"]
    assert len(nonfinite) == 1
    assert nonfinite[0].evidence["first_nonfinite_step"] == bad
    assert nonfinite[0].evidence["nonfinite"] == 1
    # found at the first check after it, although most intervals skip the full evaluation
    saved = json.loads((tmp_path / "r" / "findings.json").read_text())
    assert bad < saved["live"]["first_seen"]["DG201"] <= bad + EVERY
    assert saved["live"]["full_checks"] < saved["live"]["checks"]


def test_long_run_check_sees_the_largest_value(tmp_path):
    n, first, peak, last = 20_000, 12_000, 12_100, 13_000
    values = _curve(n)
    for i in range(first, last):
        values[i] = 10.0  # a sustained blow-up, 1000 steps long, that comes back
    values[peak] = 40.0  # its largest value, at one step
    found: list[diagnose.Finding] = []
    with Recorder(tmp_path / "r", check_every=EVERY, stop_on=None, on_finding=found.append) as rec:
        for i, v in enumerate(values):
            rec.log(i, train_loss=v)
    blown = [f for f in found if f.pattern == "explosion"]
    assert blown  # seen although the trend features see 1 value in 40
    for f in blown:
        assert f.evidence["peak_step"] == peak and f.evidence["blowup_value"] == 40.0
        assert f.evidence["blowup_first_step"] == first


def _run_with(tmp_path: Path, values: list[float], found: list) -> Recorder:
    with Recorder(tmp_path, check_every=100, check_budget=1.0, on_finding=found.append) as rec:
        for i, v in enumerate(values):
            rec.log(i, train_loss=v)
    return rec


def test_a_finite_blowup_that_recovers_before_the_next_check_does_not_stop(tmp_path):
    values = _curve(1000)
    values[590:611] = [10.0] * 21  # across the check at step 600, gone by step 700
    found: list[diagnose.Finding] = []
    rec = _run_with(tmp_path / "r", values, found)
    assert [f.rule for f in found if f.severity == "error"]  # reported when seen...
    assert not rec.should_stop  # ...but it did not hold at the next check


def test_a_finite_blowup_that_holds_stops_at_the_second_check(tmp_path):
    values = _curve(1000)
    values[590:] = [10.0] * 410
    with pytest.raises(diagnose.StopTraining) as info:
        _run_with(tmp_path / "r", values, [])
    assert 600 < info.value.step <= 590 + 2 * 100


def test_nonfinite_values_stop_at_the_first_check(tmp_path):
    values = _curve(1000)
    values[590:] = [math.nan] * 410
    with pytest.raises(diagnose.StopTraining) as info:
        _run_with(tmp_path / "r", values, [])
    assert 590 <= info.value.step <= 590 + 100


def test_full_checks_stay_within_the_time_budget(tmp_path):
    values = _curve(20_000)
    with Recorder(tmp_path / "r", check_every=EVERY) as rec:
        for i, v in enumerate(values):
            rec.log(i, train_loss=v)
    live = rec.live
    assert live.checks >= 20_000 // EVERY - 1
    assert live.full_checks >= 1
    # the budget is 1 % of the time since the recorder started, plus at most one check
    assert live.seconds <= 0.01 * rec.results["train_time"] + live.seconds / live.full_checks + 0.05


# -- API details ------------------------------------------------------------------------


def test_raise_on_stop_false_sets_the_flag(tmp_path):
    rec = replay(FIXTURES / "explosion", tmp_path / "r", raise_on_stop=False)
    assert rec.should_stop and rec.live.stopped
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["status"] == "stopped"
    assert meta["results"]["stopped_by"] == [f.rule for f in rec.live.stopped]


def test_on_finding_is_called_once_per_new_finding(tmp_path):
    calls: list[str] = []
    replay(FIXTURES / "flat-loss", tmp_path / "r", stop_on=None,
           on_finding=lambda f: calls.append(f.rule))
    saved = json.loads((tmp_path / "r" / "findings.json").read_text())
    assert calls and len(calls) == len(set(calls))
    assert set(calls) == set(saved["live"]["first_seen"])
    assert saved["live"]["stopped"] is False


def test_stop_on_warning_stops_at_a_warning(tmp_path):
    with pytest.raises(diagnose.StopTraining) as info:
        replay(FIXTURES / "flat-loss", tmp_path / "r", stop_on="warning")
    assert {f.severity for f in info.value.findings} <= {"error", "warning"}
    assert info.value.findings


def test_on_finding_errors_reach_the_caller(tmp_path):
    def boom(f: diagnose.Finding) -> None:
        raise KeyError(f.rule)

    with pytest.raises(KeyError):
        replay(FIXTURES / "flat-loss", tmp_path / "r", stop_on=None, on_finding=boom)


def test_a_failing_check_warns_and_training_goes_on(tmp_path, monkeypatch):
    import diagnose.engine

    def broken(*a: Any, **k: Any) -> list:
        raise RuntimeError("feature exploded")

    monkeypatch.setattr(diagnose.engine, "evaluate_run", broken)
    with pytest.warns(RuntimeWarning, match="live check at step .* failed.*feature exploded"):
        rec = replay(FIXTURES / "explosion", tmp_path / "r")
    assert not rec.should_stop
    assert len(train_losses(tmp_path / "r")) == len(train_losses(FIXTURES / "explosion"))
    with pytest.raises(ValueError, match="feature exploded"):
        replay(FIXTURES / "explosion", tmp_path / "s", strict=True)


def test_resume_checks_the_whole_run(tmp_path):
    values = _curve(1000)
    with Recorder(tmp_path / "r") as rec:
        for i in range(600):
            rec.log(i, train_loss=values[i])
    with pytest.raises(diagnose.StopTraining) as info, \
            Recorder(tmp_path / "r", resume=True, check_every=100) as rec:
        for i in range(600, 1000):
            rec.log(i, train_loss=values[i] if i < 700 else math.inf)
    assert info.value.step <= 800
    saved = json.loads((tmp_path / "r" / "findings.json").read_text())
    assert saved["runs"][0]["steps"] == len(train_losses(tmp_path / "r"))
    f = next(f for f in info.value.findings if f.severity == "error")
    # the loss is inf from step 700 to the latest point the check saw: the run died there
    assert f.rule == "DG210" and f.evidence["nonfinite_to_end_step"] == 700
    assert f.evidence.get("first_step", 0) == 0


def test_findings_json_is_written_at_close_even_when_nothing_was_found(tmp_path):
    with Recorder(tmp_path / "r", check_every=1000) as rec:
        for i, v in enumerate(_curve(50)):
            rec.log(i, train_loss=v)
    saved = json.loads((tmp_path / "r" / "findings.json").read_text())
    assert saved["version"] == 1 and saved["live"]["step"] == 49
    assert saved["runs"][0]["in_progress"] is False


def test_without_check_every_nothing_is_checked(tmp_path):
    with Recorder(tmp_path / "r") as rec:
        for i in range(300):
            rec.log(i, train_loss=math.nan)
    assert rec.live is None and not rec.should_stop
    assert not (tmp_path / "r" / "findings.json").exists()


def test_bad_settings_fail_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="stop_on"):
        Recorder(tmp_path / "a", check_every=10, stop_on="fatal")
    with pytest.raises(ValueError, match="check_budget"):
        Recorder(tmp_path / "b", check_every=10, check_budget=2.0)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_rules_and_config_choose_what_is_checked(tmp_path):
    from diagnose.config import Config
    from diagnose.rules import load_rules

    only = [r for r in load_rules() if r.code == "DG201"]
    with Recorder(tmp_path / "a", check_every=10, rules=only, stop_on=None) as rec:
        for i, v in enumerate(_curve(100)):
            rec.log(i, train_loss=v if i < 50 else math.inf)
    saved = json.loads((tmp_path / "a" / "findings.json").read_text())
    assert saved["live"]["rules"] == ["DG201"]
    assert {f["rule"] for f in saved["findings"]} <= {"DG201"}
    cfg = Config(ignore=["DG102", "DG201", "DG210"])
    with Recorder(tmp_path / "b", check_every=10, config=cfg) as rec:
        for i, v in enumerate(_curve(100)):
            rec.log(i, train_loss=v if i < 50 else math.inf)  # nothing left to stop it
    assert not rec.should_stop


def test_stop_training_is_a_diagnose_error_and_pickles(tmp_path):
    with pytest.raises(diagnose.StopTraining) as info:
        replay(FIXTURES / "explosion", tmp_path / "r")
    err = info.value
    assert isinstance(err, diagnose.DiagnoseError)
    again = pickle.loads(pickle.dumps(err))
    assert again.step == err.step and [f.rule for f in again.findings] == [
        f.rule for f in err.findings]
    assert str(again) == str(err)


def test_importing_diagnose_imports_no_framework():
    code = ("import sys, diagnose, diagnose.integrations, diagnose.record; "
            "bad = [m for m in ('torch', 'lightning', 'pytorch_lightning', 'transformers') "
            "if m in sys.modules]; print(bad); assert not bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_live_checks_need_no_warnings_on_a_clean_run(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Recorder(tmp_path / "r", check_every=20) as rec:
            for i, v in enumerate(_curve(200)):
                rec.log(i, train_loss=v)
