"""The autopilot (issue 19): `diagnose tune --demo` on the chapter's toy task, checked by
reading back what it wrote and by `diagnose sweep` over the same folder."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from diagnose import tune
from diagnose._chapter import train_toy
from diagnose.cli import main
from diagnose.tuner import CARD_FILE, LOG_FILE


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "runs"
    torch.set_num_threads(1)
    res = CliRunner().invoke(main, ["tune", "--demo", "--budget", "15", str(out),
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.output)


def test_demo_selects_a_good_setting_and_writes_log_and_card(demo):
    out, got = demo
    rows = list(csv.DictReader((out / LOG_FILE).open(encoding="utf-8")))
    chosen = [r for r in rows if r["decision"] == "selected"]
    assert len(chosen) >= 3  # three seeds
    assert {r["lr"] for r in chosen} == {str(got["best"]["lr"])}
    finals = [float(r["final_val_metric"]) for r in chosen]
    assert sum(finals) / len(finals) <= 0.08
    assert got["score"] == pytest.approx(sum(finals) / len(finals))
    assert got["used_runs"] <= 15
    # the log has the chapter's fields: identity, hyperparameters, results, decision
    for col in ("experiment_id", "code_version", "data_version", "seed", "lr", "batch_size",
                "final_val_metric", "best_val_metric", "status", "decision", "stage"):
        assert col in rows[0]
    # a run stopped by a live check is never selected
    assert all(r["status"] == "finished" for r in chosen)
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    for field in ("Question", "Fixed", "Changed", "Selection metric", "Best setting",
                  "Next experiment", "Why:"):
        assert field in card
    assert [s["knob"] for s in got["stages"]][:2] == ["lr", "lr"]  # coarse, then refine
    assert len(got["stages"][1]["seeds"]) == 3


def test_sweep_agrees_with_the_tuner(demo):
    out, got = demo
    res = CliRunner().invoke(main, ["sweep", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    best = json.loads(res.output)["best"]
    assert best["params"]["lr"] == got["best"]["lr"]
    assert best["params"]["batch_size"] == got["best"]["batch_size"]


def test_stopped_run_returns_budget(demo):
    out, got = demo
    rows = list(csv.DictReader((out / LOG_FILE).open(encoding="utf-8")))
    stopped = [r for r in rows if r["status"] == "stopped"]
    n_runs = len(rows)
    # each stopped run counts less than a whole run, so more runs fit than the budget's count
    assert got["used_runs"] < n_runs or not stopped


def test_executor_runs_trials_and_budget_stops(tmp_path):
    space = {"lr": (0.1, 1.0), "batch_size": [180, 90], "epochs": 10}
    with ThreadPoolExecutor(2) as pool:
        res = tune(train_toy, space, 4, tmp_path, pool, seeds=(1, 2))
    assert [s.knob for s in res.stages] == ["lr"]  # refine (5 runs) does not fit in 4
    assert "budget" in res.stop_reason, [(t.params, t.status, t.stopped_by, t.error) for t in res.trials]
    assert len(res.trials) == 2 and all(t.ok for t in res.trials)
    assert (tmp_path / LOG_FILE).exists() and (tmp_path / CARD_FILE).exists()


def test_space_needs_a_learning_rate(tmp_path):
    with pytest.raises(ValueError, match="learning-rate"):
        tune(train_toy, {"batch_size": [1, 2]}, 3, tmp_path)



def test_concurrent_trials_of_the_toy_train_the_same_model(tmp_path):
    """The autopilot runs trials in threads, and torch's global random state is shared by
    them: seeding and building the model must not interleave with another trial's, or the
    same params give another model (seen once as a coarse sweep whose runs all stopped)."""
    import diagnose
    from diagnose import Recorder

    def final_val(k) -> float:
        with Recorder(tmp_path / f"r{k}", overwrite=True) as rec:
            train_toy({"lr": 0.1, "batch_size": 180, "epochs": 10, "seed": 1}, rec)
        _, v = diagnose.load(tmp_path / f"r{k}").arrays("val/loss")
        return float(v[-1])

    alone = final_val("alone")
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(final_val, range(16)))
    assert got == [alone] * len(got)
