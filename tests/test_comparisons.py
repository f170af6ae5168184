"""Issue 15: what may be compared, which setting wins, and how much seeds disagree.

One test per case of the issue's "What was seen"; each fails on the code before the change.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.grouping import Layout, group_runs
from diagnose.pipeline import check, sweep
from diagnose.grouping import identity_of
from diagnose.run import Run

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "bench" / "real-runs"
FORMATS = ROOT / "fixtures" / "formats"


def one_per_repository() -> list[Path]:
    seen, out = set(), []
    with open(REAL / "MANIFEST.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["repository"] not in seen and (REAL / row["id"]).exists():
                seen.add(row["repository"])
                out.append(REAL / row["id"])
    return out


# --- 1. fabricated comparisons ---------------------------------------------------------
def test_unrelated_real_runs_give_no_group_finding_and_no_decision():
    paths = one_per_repository()
    assert len(paths) >= 20
    res = sweep(paths)
    assert len(res.runs) >= 20
    # a group finding needs runs that record one experiment: two unrelated Ultralytics runs
    # that both say task=detect, data=data.yaml with every default alike (t10c-fruitripe-t5,
    # w14d-plates-tr17) read as one experiment to any tool; nothing without such a record groups
    ident = {r.id: identity_of(r) for r in res.runs}
    for f in (f for f in res.findings if f.group):
        ids = {ident[i] for i in f.runs}
        assert len(ids) == 1 and next(iter(ids)), (f.group, f.runs, ids)
    # no setting is selected; the decision may be "No decision: ..." or, where two HF states
    # imply the same data size at two significant digits (two unrelated ~1,000-example runs
    # without a validation loss), "No run has a finite val/loss": never a choice
    assert res.best is None and res.decision.startswith("No ")
    # the experiments it names can be told apart, though all sit side by side in one folder
    named = re.findall(r"([^(;]+?) \(\d+ runs\)", res.decision.split("\n")[0])
    assert len(named) == len(set(named)), named


def test_only_the_hydra_multirun_and_the_appended_seeds_are_grouped_in_the_format_fixtures():
    """Runs are grouped only where their settings say they belong together: the Hydra
    multirun, and the two runs appended to one text log, each printed as ``run seed=N``
    (their only printed setting is the seed, so they read as seeds of one setting)."""
    report = check([FORMATS])
    assert report.groups
    by_id = {r.id: r for r in report.runs}
    appended = {r.id for r in report.runs if r.path.endswith(str(Path("textlog", "appended", "train.log")))}
    assert len(appended) == 2
    for g in report.groups:
        assert all("hydra_sweep" in by_id[i].path for i in g.runs) or set(g.runs) == appended, g.id
    seeds = sorted(by_id[i].params.get("seed") for i in appended)
    assert seeds == [0, 1]


def _run(rid, path, params, val, fmt="unknown", acc=None):
    series = {"val/loss": val, "train/loss": val}
    if acc is not None:
        series["val/acc"] = acc
    r = Run.from_series(series, id=rid, params=params)
    r.path, r.format = path, fmt
    return r


def test_hf_bookkeeping_is_not_a_knob():
    # max_steps follows from the data size; the sentinel epochs is HF's "no limit"
    runs = [_run("a", "out/a", {"batch_size": 8, "max_steps": 500, "epochs": 9223372036849999872},
                 [1.0, 0.5], fmt="hf"),
            _run("b", "out/b", {"batch_size": 8, "max_steps": 900, "epochs": 9223372036849999872},
                 [1.0, 0.4], fmt="hf")]
    lay = Layout.of(runs)
    assert "max_steps" not in lay.keys and "epochs" not in lay.keys
    assert not [g for g in group_runs(runs) if g.kind == "sweep"]


def test_runs_recording_different_knobs_are_different_experiments():
    # six experiments in one folder, each recording its own knobs: nothing is compared
    runs = [_run("e1", "x/e1", {"lr": 0.001, "depth": 2}, [1, 0.5]),
            _run("e2", "x/e2", {"lr": 0.01, "hidden": 64}, [1, 0.4]),
            _run("e3", "x/e3", {"momentum": 0.9, "optimizer": "sgd"}, [1, 0.3]),
            _run("e4", "x/e4", {"n_train": 100, "lr": 0.1}, [1, 0.6])]
    res = sweep(runs, findings=[])
    assert res.best is None and not res.groups
    assert "different experiments" in res.card["Question"]


def test_several_knobs_changed_give_a_table_and_no_best():
    runs = [_run("a", "x/a", {"lr": 0.1, "batch_size": 32, "optimizer": "sgd"}, [0.7, 0.5, 0.4]),
            _run("b", "x/b", {"lr": 1.0, "batch_size": 128, "optimizer": "adam"}, [0.7, 0.3, 0.2])]
    report = check(runs)
    assert any(f.rule == "DG304" for f in report.findings)
    res = sweep(report.runs, findings=report.findings, summaries=report.summaries)
    assert res.best is None and not any(r["decision"] for r in res.rows)
    assert res.decision.startswith("No decision") and "Which lr" in res.card["Question"]


def test_one_run_read_from_two_stores_is_one_run():
    lay = Layout.of(check([FORMATS / "mlflow_file", FORMATS / "mlflow_sqlite"]).runs)
    assert len(lay.same_as) == 2 and not lay.parts


# --- 2. a diverged setting wins ----------------------------------------------------------
def _lr_sweep(last_of_10):
    vals = {0.001: [0.74, 0.73, 0.72, 0.71], 0.01: [0.74, 0.66, 0.6, 0.55],
            0.1: [0.74, 0.45, 0.37, 0.35], 1.0: [0.74, 0.2, 0.1, 0.072],
            10.0: [0.74, 0.05, 3.0, last_of_10]}
    return [_run(f"lr={lr}", f"s/lr={lr}", {"lr": lr}, v) for lr, v in vals.items()]


def test_a_diverged_lr_is_not_selected_and_the_next_step_refines_below_it():
    report = check(_lr_sweep(math.nan))
    res = sweep(report.runs, findings=report.findings, summaries=report.summaries)
    assert res.best["params"]["lr"] == 1.0
    assert "lr=3" in res.next_experiment and "lr=100" not in res.next_experiment
    assert not any(f.rule == "DG307" for f in res.findings)
    res_best = sweep(report.runs, findings=report.findings, summaries=report.summaries, at="best")
    assert res_best.best["params"]["lr"] == 1.0  # diverged: never selected, even by its best step


def test_final_is_the_default_and_best_flags_a_far_final():
    steady = _run("steady", "s/a", {"lr": 0.1}, [1.0, 0.6, 0.4, 0.3, 0.25])
    spiky = _run("spiky", "s/b", {"lr": 0.3}, [1.0, 0.1, 0.9, 0.95, 0.9])
    final = sweep([steady, spiky], findings=[])
    assert final.at == "final" and final.best["run"] == "steady"
    assert final.best["final_value"] == 0.25 and final.best["best_value"] == 0.25
    best = sweep([steady, spiky], findings=[], at="best")
    assert best.best["run"] == "spiky"
    assert "final far worse than best" in next(r for r in best.rows if r["run"] == "spiky")["note"]
    assert "best over steps" in best.card["Selection metric"]


def test_cli_at_is_named_in_json(tmp_path):
    for lr, v in ((0.1, [1.0, 0.5, 0.4]), (1.0, [1.0, 0.2, 0.6])):
        d = tmp_path / f"lr={lr}"
        d.mkdir()
        (d / "history.csv").write_text("step,val_loss\n" + "".join(
            f"{i},{x}\n" for i, x in enumerate(v)))
    out = CliRunner().invoke(main, ["sweep", str(tmp_path), "--format", "json", "--at", "best"])
    data = json.loads(out.output)
    assert data["at"] == "best" and data["best"]["params"]["lr"] == 1.0
    out = CliRunner().invoke(main, ["sweep", str(tmp_path), "--format", "json"])
    data = json.loads(out.output)
    assert data["at"] == "final" and data["best"]["params"]["lr"] == 0.1


# --- 3. seed spread on the wrong scale: rules/DG302 cases (test_rules.py) ---------------
# --- 4. one reading path -------------------------------------------------------------------
def test_sweep_reads_the_numbers_check_read_without_curves():
    report = check([FORMATS / "hydra_sweep"], jobs=2, keep_metrics=False)
    assert not any(r.has_metrics for r in report.runs)
    res = sweep(report.runs, findings=report.findings, summaries=report.summaries)
    assert res.best is not None and "No run has a finite" not in res.decision


def test_the_plot_stars_the_selection_and_names_final():
    pytest.importorskip("matplotlib")
    from diagnose.report.plot import sweep_figure

    report = check(_lr_sweep(math.nan))
    res = sweep(report.runs, findings=report.findings, summaries=report.summaries)
    fig = sweep_figure(res)
    left = next(a for a in fig.axes if a.get_label() == "sweep")
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert any(t.startswith("selected: lr=1 (final") and "best" in t for t in labels), labels
    assert "by its final value" in fig._suptitle.get_text()


# --- 5. several evaluation sets --------------------------------------------------------------
def test_without_val_loss_the_first_evaluation_set_selects_and_says_so():
    def run(rid, lr, m, mm):
        r = Run.from_series({"train/loss": [1.0, 0.5, 0.3], "mnli_m/loss": m, "mnli_mm/loss": mm},
                            id=rid, params={"lr": lr})
        r.path = f"glue/{rid}"
        return r

    runs = [run("a", 0.1, [1.0, 0.6, 0.5], [1.0, 0.5, 0.4]),
            run("b", 1.0, [1.0, 0.5, 0.4], [1.0, 0.6, 0.5])]
    res = sweep(runs)
    assert res.by == "mnli_m/loss" and res.best["params"]["lr"] == 1.0
    assert any("evaluation sets are mnli_m/loss, mnli_mm/loss" in n for n in res.notes)
    other = sweep(runs, by="mnli_mm/loss")
    assert other.best["params"]["lr"] == 0.1


def test_at_in_pyproject_and_its_bounds(tmp_path):
    from diagnose._errors import ConfigError
    from diagnose.config import load_config

    good = tmp_path / "pyproject.toml"
    good.write_text('[tool.diagnose]\nat = "best"\n')
    assert load_config(good).at == "best"
    good.write_text('[tool.diagnose]\nat = "last"\n')
    with pytest.raises(ConfigError, match="at must be"):
        load_config(good)


@pytest.mark.parametrize("names", [("val/mnli/loss", "val/snli/loss"),  # Lightning
                                   ("val_mnli_loss", "val_snli_loss")])  # Keras
def test_lightning_and_keras_evaluation_sets_are_validation_sets(names):
    from diagnose.sweeps import validation_sets

    r = Run.from_series({"train/loss": [1.0, 0.5], names[0]: [1.0, 0.6], names[1]: [1.0, 0.7],
                         "test/loss": [1.0, 0.1]}, id="a")
    assert validation_sets([r], "val/loss") == list(names)


def test_hf_runs_of_different_models_are_not_compared(tmp_path):
    """Two real HF runs (the trust fixtures, lr=200 and lr=5): one sweep over lr while both
    are BERT; none once one folder's config.json is a GPT-2 config written by transformers."""
    import shutil

    transformers = pytest.importorskip("transformers")
    src = Path(__file__).resolve().parent.parent / "fixtures" / "trust"
    for name in ("hf-bert-lr200", "hf-bert-lr5"):
        shutil.copytree(src / name, tmp_path / name)
    same = diagnose.check(str(tmp_path))
    assert [(g.kind, g.param) for g in same.groups] == [("sweep", "lr")]
    transformers.GPT2Config(n_layer=1, n_head=1, n_embd=8, num_labels=2).to_json_file(
        str(tmp_path / "hf-bert-lr5" / "config.json"))
    mixed = diagnose.check(str(tmp_path))
    assert {r.identity.get("model_type") for r in mixed.runs} == {"bert", "gpt2"}
    assert mixed.groups == [] and not [f for f in mixed.findings if f.group]


def test_a_checkpoint_part_way_through_its_budget_is_not_compared_with_a_finished_run():
    # two HF states that imply the same data size and differ in batch size: a sweep, unless one
    # is a checkpoint at step 500 of its 2400 (the pair of public runs w10a-bertproj2-ck500 and
    # w9b-hf-agnews-lora, from two repositories, was compared as a batch-size sweep)
    def hf(rid, bs, max_steps, last, in_progress):
        at = [100, (100 + last) // 2, last]
        r = Run.from_series({"val/loss": [1.0, 0.6, 0.4], "train/loss": [1.0, 0.6, 0.4]},
                            {"val/loss": at, "train/loss": at}, id=rid,
                            params={"batch_size": bs, "max_steps": max_steps, "epochs": 1})
        r.path, r.format, r.in_progress = f"out/{rid}", "hf", in_progress
        return r

    done = [hf("a", 16, 2400, 2400, True), hf("b", 32, 1200, 1200, False)]
    assert [g.param for g in group_runs(done) if g.kind == "sweep"] == ["batch_size"]
    part_way = [hf("a", 16, 2400, 500, True), hf("b", 32, 1200, 1200, False)]
    assert not [g for g in group_runs(part_way) if g.kind == "sweep"]


def test_runs_on_different_data_are_different_experiments():
    # Ultralytics args.yaml records the dataset as `data`: three detectors trained on three
    # datasets were compared as one "several knobs changed" sweep
    runs = [_run("a", "x/a", {"lr": 0.01, "batch_size": 16, "data": "fruit.yaml"}, [1, 0.5]),
            _run("b", "x/b", {"lr": 0.001, "batch_size": 32, "data": "falls.yaml"}, [1, 0.4])]
    assert not group_runs(runs)
    same = [_run("a", "x/a", {"lr": 0.01, "batch_size": 16, "data": "fruit.yaml"}, [1, 0.5]),
            _run("b", "x/b", {"lr": 0.001, "batch_size": 16, "data": "fruit.yaml"}, [1, 0.4])]
    assert [g.param for g in group_runs(same) if g.kind == "sweep"] == ["lr"]
