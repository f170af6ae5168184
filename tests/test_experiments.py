"""Across runs: grouping, the group rules (DG3xx) on really trained runs, and `sweep`.

Runs come from real PyTorch training recorded with the Recorder (the chapter's
recipe in :mod:`diagnose._chapter`, or a tiny MLP below), or from the committed
fixtures when they exist. Expected numbers are recomputed here from the raw
``metrics.jsonl`` files, never copied from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

import pytest

from diagnose import check
from diagnose import sweep
from diagnose.grouping import compile_pattern, group_runs
from diagnose.readers._params import path_params
from diagnose.report.sweep import render as render_sweep
from diagnose.features import GroupContext
from diagnose.run import Run

torch = pytest.importorskip("torch")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


# ---------------------------------------------------------------------------------------
# real runs, trained once per session
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest on a shared CI box
    yield
    torch.set_num_threads(before)


def _chapter(out: Path, **kw) -> Path:
    from diagnose._chapter import train_chapter_sweep

    train_chapter_sweep(out, **kw)
    return out


@pytest.fixture(scope="session")
def chapter_sweep(tmp_path_factory, one_thread) -> Path:
    """The chapter's sweep exactly: lr 1e-3..10, seed 123, 40 steps."""
    return _chapter(tmp_path_factory.mktemp("chapter"))


def _seed_runs(tmp_path_factory, name: str, lr: float) -> Path:
    """Three seeds of one setting: the committed fixture if present, else trained here."""
    fx = FIXTURES / name
    if fx.is_dir():
        return fx
    return _chapter(tmp_path_factory.mktemp(name), lrs=(lr,), seeds=(1, 2, 3))


@pytest.fixture(scope="session")
def seeds_high(tmp_path_factory, one_thread) -> Path:
    """lr=10 on the chapter's task: one seed diverges early, the others converge."""
    return _seed_runs(tmp_path_factory, "seeds-high-variance", 10.0)


@pytest.fixture(scope="session")
def seeds_low(tmp_path_factory, one_thread) -> Path:
    return _seed_runs(tmp_path_factory, "seeds-low-variance", 1.0)


def _train_mlp(path: Path, lr: float, hidden: int, seed: int = 0, steps: int = 30) -> None:
    """A tiny real run whose knobs (lr, hidden width) really change the training."""
    from torch import nn

    from diagnose import Recorder

    g = torch.Generator().manual_seed(7)
    x = torch.randn(200, 4, generator=g)
    y = (x[:, 0] - x[:, 2] > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    with Recorder(path, params={"lr": lr, "hidden": hidden, "seed": seed}) as rec:
        for step in range(steps):
            loss = loss_fn(model(x[:150]), y[:150])
            with torch.no_grad():
                val = loss_fn(model(x[150:]), y[150:])
            rec.log(step, train_loss=loss.detach(), val_loss=val)
            opt.zero_grad()
            loss.backward()
            opt.step()


def _val_losses(run_dir: Path, metric: str = "val/loss") -> list[float]:
    """A run's finite values of one metric, read straight from metrics.jsonl."""
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if metric in rec and math.isfinite(float(rec[metric])):
            out.append(float(rec[metric]))
    return out


def _run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("metrics.jsonl"))


def _group_findings(report, code_prefix: str = "DG3") -> list:
    return [f for f in report.findings if f.group and f.rule.startswith(code_prefix)]


# ---------------------------------------------------------------------------------------
# grouping (a pure function of params and paths)
# ---------------------------------------------------------------------------------------
def _runs(*specs: dict) -> list[Run]:
    return [Run(id=f"r{i}", params=dict(p)) for i, p in enumerate(specs)]


def test_seed_group_sweep_and_varying_params():
    runs = _runs(*({"lr": lr, "batch_size": 32, "seed": s, "output_dir": f"/o/{lr}/{s}"}
                   for lr in (0.01, 0.1, 1.0) for s in (1, 2)))
    groups = {g.id: g for g in group_runs(runs)}
    seeds = [g for g in groups.values() if g.kind == "seeds"]
    sweeps = [g for g in groups.values() if g.kind == "sweep"]
    assert len(seeds) == 3 and all(len(g.runs) == 2 and g.varying == ["seed"] for g in seeds)
    assert len(sweeps) == 1
    assert sweeps[0].param == "lr" and sweeps[0].varying == ["lr", "seed"]
    assert len(sweeps[0].runs) == 6
    # output_dir differs per run but is bookkeeping, not a knob: no mixed group
    assert not [g for g in groups.values() if g.kind == "mixed"]


def test_several_params_vary_gives_mixed_group_listing_them():
    runs = _runs({"lr": 0.1, "batch_size": 32, "optimizer": "SGD"},
                 {"lr": 1.0, "batch_size": 128, "optimizer": "Adam"})
    groups = group_runs(runs)
    assert [g.kind for g in groups] == ["mixed"]
    assert groups[0].varying == ["lr", "batch_size", "optimizer"]


def test_group_by_glob_and_regex_read_params_from_paths():
    paths = [f"/exp/lr={lr}/seed={s}" for lr in (0.1, 1) for s in (1, 2)]
    runs = [Run(id=f"r{i}", path=p) for i, p in enumerate(paths)]
    kinds = sorted(g.kind for g in group_runs(runs, group_by="lr=*/seed=*"))
    assert kinds == ["seeds", "seeds", "sweep"]
    assert runs[3].params == {"lr": 1, "seed": 2}

    odd = [Run(id=f"q{i}", path=f"/exp/run_{lr}_{s}") for i, (lr, s) in
           enumerate([(0.1, 1), (0.1, 2), (1.0, 1)])]
    groups = group_runs(odd, group_by=r"run_(?P<lr>[^_/]+)_(?P<seed>\d+)")
    assert sorted(g.kind for g in groups) == ["seeds", "sweep"]
    with pytest.raises(ValueError, match="names no field"):
        compile_pattern("runs/*")


def test_key_value_path_pieces_are_read_when_params_are_unknown():
    assert path_params("/x/lr=0.3,bs=64/seed=2") == {"lr": 0.3, "bs": 64, "seed": 2}
    assert path_params("/x/lr=0.3", [compile_pattern("{lr}/seed=*")]) == {}


def test_a_fraction_spelled_without_its_point_in_a_name_is_not_read():
    """``vit-lr03``: lr 0.3 or 0.03 with the point dropped, never lr = 3 (a public run named so
    got "lr=3" in its advice); a seed or batch size with a leading zero is still a number."""
    assert path_params("/x/runs/vit-lr03") == {}
    assert path_params("/x/runs/cnn-wd0001_seed07_bs064") == {"seed": 7, "batch_size": 64}
    assert path_params("/x/runs/vit-lr0.03") == {"lr": 0.03}


# ---------------------------------------------------------------------------------------
# seed variance on real runs
# ---------------------------------------------------------------------------------------
def test_high_variance_seed_group_is_flagged(seeds_high):
    report = check([seeds_high])
    found = [f for f in _group_findings(report) if f.pattern == "seed_variance"]
    assert found, "the unstable seeds should be flagged"
    f = found[0]
    dirs = _run_dirs(seeds_high)
    assert len(f.runs) == len(dirs) >= 2
    bests = [min(_val_losses(d)) for d in dirs]
    assert f.evidence["best_mean"] == pytest.approx(statistics.fmean(bests), rel=1e-9)
    assert f.evidence["best_std"] == pytest.approx(statistics.stdev(bests), rel=1e-9)
    assert (f.evidence["best_min"], f.evidence["best_max"]) == (min(bests), max(bests))
    assert f.cause and f.next_experiment


def test_low_variance_seed_group_is_not_flagged(seeds_low):
    report = check([seeds_low])
    assert [g.kind for g in report.groups] == ["seeds"]
    assert not [f for f in _group_findings(report) if f.pattern == "seed_variance"]


def test_seed_features_directly_with_a_group_context(seeds_high):
    from diagnose import load_all
    from diagnose.features import compute

    runs = [r for d in _run_dirs(seeds_high) for r in load_all(d)]
    (group,) = [g for g in group_runs(runs) if g.kind == "seeds"]
    vals = compute(["n_seeds", "best_min", "best_max"], GroupContext(group, runs, {}))
    bests = [min(_val_losses(d)) for d in _run_dirs(seeds_high)]
    assert vals["n_seeds"] == len(bests)
    assert (vals["best_min"], vals["best_max"]) == (min(bests), max(bests))


# ---------------------------------------------------------------------------------------
# process rules on real runs
# ---------------------------------------------------------------------------------------
def test_several_knobs_changed_is_flagged_and_a_grid_is_not(tmp_path, one_thread):
    _train_mlp(tmp_path / "a", lr=0.1, hidden=4)
    _train_mlp(tmp_path / "b", lr=1.0, hidden=32)
    found = [f for f in check([tmp_path]).findings if f.rule == "DG304"]
    assert len(found) == 1 and "lr, hidden" in found[0].message

    grid = tmp_path / "grid"
    for lr in (0.1, 1.0):
        for hidden in (4, 32):
            _train_mlp(grid / f"lr={lr}-h={hidden}", lr=lr, hidden=hidden)
    report = check([grid])
    assert any(g.kind == "mixed" for g in report.groups)
    assert not [f for f in report.findings if f.rule == "DG304"]


def test_best_at_the_edge_of_the_range_is_flagged(tmp_path, one_thread):
    lrs = (0.001, 0.01, 0.1)
    root = _chapter(tmp_path / "edge", lrs=lrs)
    finals = {lr: _val_losses(root / f"lr={lr:g}")[-1] for lr in lrs}
    best_lr = min(finals, key=finals.get)
    assert best_lr == max(lrs)  # the fact the rule must notice
    (f,) = [f for f in check([root]).findings if f.rule == "DG307"]
    assert f.evidence["best_value"] == best_lr and f.evidence["edge"] == "highest"
    assert f.evidence["beyond"] > best_lr
    assert "extend" in sweep(root).next_experiment


def test_bracketed_best_is_not_at_the_edge(chapter_sweep):
    assert not [f for f in check([chapter_sweep]).findings if f.rule == "DG307"]


def test_selection_by_a_training_metric_warns_and_names_the_validation_pick(chapter_sweep):
    res = sweep(chapter_sweep, by="train/loss")
    dirs = _run_dirs(chapter_sweep)
    val_best = min(dirs, key=lambda d: min(_val_losses(d)))
    lr_label = val_best.name  # the chapter's folders are named lr=<lr>
    (f,) = [f for f in res.findings if f.rule == "DG306"]
    assert f.severity == "warning" and lr_label in f.message and "val/loss" in f.message
    assert any("training metric" in n for n in res.notes)
    assert lr_label in res.card["Selection metric"]
    # by the validation metric: no such warning
    assert not [f for f in sweep(chapter_sweep).findings if f.rule == "DG306"]


# ---------------------------------------------------------------------------------------
# sweep(): table, JSON contract, markdown, CSV
# ---------------------------------------------------------------------------------------
def test_sweep_json_follows_the_contract(chapter_sweep):
    data = json.loads(render_sweep(sweep(chapter_sweep), "json"))
    assert {"best", "table", "decision", "next_experiment", "card"} <= set(data)
    assert {"run", "path", "params", "metric", "value"} <= set(data["best"])
    dirs = _run_dirs(chapter_sweep)
    bests = {str(d): min(_val_losses(d)) for d in dirs}
    want = min(bests, key=bests.get)
    assert data["best"]["path"] == want and data["best"]["value"] == bests[want]
    assert data["best"]["metric"] == "val/loss" and data["best"]["params"]["lr"] == 1.0
    assert len(data["table"]) == len(dirs)
    assert list(data["card"]) == ["Question", "Fixed", "Changed", "Selection metric",
                                  "Best setting", "Next experiment"]
    assert data["decision"].startswith("lr=1 gives the best validation loss")
    assert data["next_experiment"] in data["decision"]
    html = sweep(chapter_sweep)._repr_html_()
    assert html.count("<tr") == 1 + len(dirs) + len(data["card"])  # header, runs, card
    assert html.count("<img") == 1  # the report's sweep plot, in the notebook too


def test_markdown_table_has_a_separator_row_and_one_row_per_run(chapter_sweep):
    md = render_sweep(sweep(chapter_sweep), "markdown").splitlines()
    start = next(i for i, ln in enumerate(md) if ln.startswith("| run |"))
    header, sep = md[start], md[start + 1]
    n_cols = header.count("|") - 1
    assert sep.startswith("|") and set(sep) <= set("|-:") and sep.count("|") - 1 == n_cols
    rows = []
    for ln in md[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append(ln)
    assert len(rows) == len(_run_dirs(chapter_sweep))
    assert all(r.count("|") - 1 == n_cols for r in rows)


def test_csv_is_the_experiment_log(chapter_sweep):
    rows = list(csv.DictReader(io.StringIO(render_sweep(sweep(chapter_sweep), "csv"))))
    for col in ("experiment_id", "code_version", "data_version", "seed", "lr", "batch_size",
                "optimizer", "weight_decay", "dropout", "epochs", "best_val_metric",
                "best_step", "final_val_metric", "train_time", "findings"):
        assert col in rows[0]
    by_path = {r["path"]: r for r in rows}
    for d in _run_dirs(chapter_sweep):
        vals = _val_losses(d)
        row = by_path[str(d)]
        assert float(row["best_val_metric"]) == min(vals)
        assert float(row["final_val_metric"]) == vals[-1]
        assert row["seed"] == "123"
    assert sum(r["decision"] == "selected" for r in rows) == 1


def test_sweep_with_seeds_reports_mean_and_std(tmp_path, one_thread):
    root = _chapter(tmp_path / "s", lrs=(0.3, 1.0, 3.0), seeds=(1, 2))
    data = sweep(root).to_dict()
    for st in data["settings"]:
        lr = st["params"]["lr"]
        bests = [min(_val_losses(root / f"lr={lr:g}" / f"seed={s}")) for s in (1, 2)]
        assert st["mean"] == pytest.approx(statistics.fmean(bests), rel=1e-12)
        assert st["std"] == pytest.approx(statistics.stdev(bests), rel=1e-12)
    assert "over 2 seeds" in data["card"]["Best setting"]
    assert "seed: 1, 2" in data["card"]["Changed"]


def test_sweep_cli_writes_json_and_card_prints_the_card(chapter_sweep, tmp_path):
    from click.testing import CliRunner

    from diagnose.cli import main

    out = tmp_path / "s.json"
    r = CliRunner().invoke(main, ["sweep", str(chapter_sweep), "--format", "json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["best"]["params"]["lr"] == 1.0
    r = CliRunner().invoke(main, ["card", str(chapter_sweep)])
    assert r.exit_code == 0 and r.output.startswith("Question")
    assert "Next experiment" in r.output
    r = CliRunner().invoke(main, ["sweep", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "missing" in r.output


def test_next_experiment_moves_to_batch_size_once_lr_is_settled():
    """Local neighbours, three seeds each, a clear winner: the next knob in the order."""
    runs = []
    for lr, base in ((0.3, 0.20), (1.0, 0.10), (3.0, 0.15)):
        for s in (1, 2, 3):
            v = base + 0.001 * s
            runs.append(Run.from_series({"val/loss": [0.7, 0.4, v]}, id=f"lr{lr}-s{s}",
                                        params={"lr": lr, "batch_size": 128, "seed": s}))
    res = sweep(runs, findings=[])
    assert res.best["params"]["lr"] == 1.0
    assert res.next_experiment.startswith("keep lr=1 fixed and compare batch_size=")
    assert math.isclose(res.best["mean"], 0.102)


def test_sweep_csv_keeps_every_param(tmp_path):
    """Constant params (model depth, data size) are part of the experiment log too."""
    import csv as _csv
    import io

    from click.testing import CliRunner

    from diagnose.cli import main

    root = Path(__file__).resolve().parent.parent / "fixtures" / "chapter-sweep"
    from diagnose import discover

    runs = discover([root]).runs
    every = {k for r in runs for k in r.params}
    out = CliRunner().invoke(main, ["sweep", str(root), "--format", "csv"]).output
    header = next(_csv.reader(io.StringIO(out)))
    assert every <= set(header), every - set(header)
    rows = list(_csv.DictReader(io.StringIO(out)))
    by_path = {row["path"]: row for row in rows}
    for r in runs:
        for k, v in r.params.items():
            assert by_path[r.path][k] == ("" if v is None else str(v)), (k, v)
