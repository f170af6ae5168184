"""Discovery: walk a folder, read each run exactly once, skip non-logs, report the unreadable."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import diagnose
from diagnose import ReadError
from diagnose.readers import FORMATS, discover
from _real_logs import REAL_LOGS

ROOT = Path(__file__).resolve().parent.parent
FORMATS_DIR = ROOT / "fixtures" / "formats"
REAL = REAL_LOGS
REGISTERED = {name for name, _ in FORMATS}


def _under(path: str, folder: Path) -> bool:
    p = Path(path).resolve()
    return p == folder.resolve() or folder.resolve() in p.parents


# -- the real logs -------------------------------------------------------------------------------


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real logs not present at {REAL}")
def test_real_logs_each_run_found_exactly_once() -> None:
    """Every run the README lists is found once, by whichever registered format reads it.

    The MLflow run's TensorBoard copy (under ``artifacts/``) and its ``.profile-empty``
    file belong to the MLflow run and must not show up as runs of their own.
    """
    expected = {REAL / "mlflow-keras-swahili" / "mlruns" / "1" / "ed05f9cd599442fe9a0c9222184710b8":
                "mlflow"}
    if "tensorboard" in REGISTERED:
        for v in ("lightning-tb-dlgn/lightning_logs/version_2",
                  "lightning-tb-dlgn/lightning_logs/version_53",
                  "lightning-tb-lstm/lightning_logs/version_0"):
            expected[REAL / v] = "tensorboard"
    if "wandb" in REGISTERED:
        expected[REAL / "wandb-vqvae" / "wandb" / "run-20250315_162642-u87hyuws"] = "wandb"
    found = discover([REAL])
    assert found.errors == []
    assert len(found.runs) == len(expected), [(r.format, r.path) for r in found.runs]
    for folder, fmt in expected.items():
        hits = [r for r in found.runs if _under(r.path, folder)]
        assert len(hits) == 1, (folder, [r.path for r in hits])
        assert hits[0].format == fmt
    assert len({r.id for r in found.runs}) == len(found.runs)


# -- the fixtures ---------------------------------------------------------------------------------


def test_fixture_tree_each_expected_run_once() -> None:
    found = discover([FORMATS_DIR])
    mine = 0
    for exp in sorted(FORMATS_DIR.glob("*/expected.json")):
        runs = json.loads(exp.read_text()).get("runs")
        if not runs:
            continue  # another helper's schema
        case = exp.parent
        hits = [r for r in found.runs if _under(r.path, case)]
        assert len(hits) == len(runs), (case.name, [r.id for r in hits])
        assert not [e for e in found.errors if _under(e.path, case)]
        mine += len(runs)
    assert mine >= 19
    assert len({r.id for r in found.runs}) == len(found.runs)  # duplicate ids disambiguated


def test_hf_checkpoint_copies_are_not_runs(tmp_path: Path) -> None:
    src = FORMATS_DIR / "hf_trainer" / "hf_out"
    found = discover([src])
    assert len(found.runs) == 1 and Path(found.runs[0].path) == src
    root_state = json.loads((src / "trainer_state.json").read_text())
    assert found.runs[0].n_steps == len({e["step"] for e in root_state["log_history"]})

    # no root file: the latest checkpoint is the run
    out = tmp_path / "out"
    shutil.copytree(src, out)
    (out / "trainer_state.json").unlink()
    run = diagnose.load(out)
    latest = json.loads((out / "checkpoint-16" / "trainer_state.json").read_text())
    assert run.n_steps == len({e["step"] for e in latest["log_history"]})

    # a root file behind the latest checkpoint (a resumed run that crashed) loses to it
    shutil.copy(out / "checkpoint-8" / "trainer_state.json", out / "trainer_state.json")
    run = diagnose.load(out)
    assert run.n_steps == len({e["step"] for e in latest["log_history"]})
    assert any("behind" in w for w in run.warnings)

    # a damaged root file costs nothing the checkpoints still hold
    (out / "trainer_state.json").write_text('{"log_history": [')
    run = diagnose.load(out)
    assert run.n_steps == len({e["step"] for e in latest["log_history"]})
    assert any("not valid JSON" in w for w in run.warnings)

    # a Trainer output_dir called "checkpoints" is still walked into
    shutil.copytree(src, tmp_path / "proj" / "checkpoints")
    assert [Path(r.path).name for r in discover([tmp_path / "proj"]).runs] == ["checkpoints"]


def test_non_logs_are_skipped(tmp_path: Path) -> None:
    v = tmp_path / "proj" / "lightning_logs" / "version_0"
    shutil.copytree(FORMATS_DIR / "lightning_direct" / "direct" / "version_0", v)
    (v / "checkpoints").mkdir()
    (v / "checkpoints" / "epoch=1-step=8.ckpt").write_bytes(b"\x80\x02weights")
    other = tmp_path / "proj" / "outputs"
    (other / "plugins" / "profile" / "2024_01_01").mkdir(parents=True)
    (other / "plugins" / "profile" / "2024_01_01" / "host.trace.json.gz").write_bytes(b"\x1f\x8b")
    (other / "events.out.tfevents.1628697787.host.profile-empty").write_bytes(b"")
    (other / "loss_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (other / "model.safetensors").write_bytes(b"\x00" * 16)
    (other / "data.csv").write_text("text,label\nhello,1\nworld,0\n")  # a dataset, not a log
    (other / "notes.txt").write_text("epoch one went fine\n")
    (tmp_path / "proj" / ".cache" / "v").mkdir(parents=True)
    shutil.copy(v / "metrics.csv", tmp_path / "proj" / ".cache" / "v" / "metrics.csv")
    found = discover([tmp_path])
    assert found.errors == []
    assert [Path(r.path) for r in found.runs] == [v]


def test_unreadable_logs_are_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    shutil.copytree(FORMATS_DIR / "keras_csv", tmp_path / "a")
    shutil.copytree(FORMATS_DIR / "lightning_direct", tmp_path / "b")
    bad_hf = tmp_path / "c" / "out"
    bad_hf.mkdir(parents=True)
    (bad_hf / "trainer_state.json").write_text('{"log_history": [{"loss": 1.0, "step"')
    bad_db = tmp_path / "d" / "mlflow.db"
    bad_db.parent.mkdir()
    bad_db.write_bytes(b"this is not a database at all")
    found = discover([tmp_path])
    assert len(found.runs) == 2
    assert {Path(e.path) for e in found.errors} == {bad_hf / "trainer_state.json", bad_db}
    for e in found.errors:
        assert isinstance(e, ReadError) and e.reason
    with pytest.raises(ReadError):
        diagnose.load_all(tmp_path)  # the strict API raises the first problem


def test_a_folder_that_cannot_be_listed_is_reported_and_the_rest_still_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # permissions do not stop root from listing: refuse one folder the way the OS would
    shutil.copytree(FORMATS_DIR / "keras_csv", tmp_path / "a")
    locked = tmp_path / "b" / "locked"
    shutil.copytree(FORMATS_DIR / "lightning_direct", locked / "inside")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover([tmp_path])
    assert len(found.runs) == 1 and _under(found.runs[0].path, tmp_path / "a")
    assert [(Path(e.path), e.reason) for e in found.errors] == [
        (locked, "cannot list: Permission denied")]


def test_overlapping_roots_and_symlinks_do_not_double_count(tmp_path: Path) -> None:
    shutil.copytree(FORMATS_DIR / "lightning_direct", tmp_path / "x")
    os.symlink(tmp_path / "x", tmp_path / "link")
    found = discover([tmp_path, tmp_path / "x", tmp_path / "x" / "direct" / "version_0"])
    assert len(found.runs) == 1 and found.errors == []


def test_same_ids_in_different_folders_get_distinct_ids(tmp_path: Path) -> None:
    for proj in ("p1", "p2"):
        shutil.copytree(FORMATS_DIR / "lightning_direct", tmp_path / proj)
    ids = [r.id for r in discover([tmp_path]).runs]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all("direct/version_0" in i for i in ids)


def test_a_store_of_many_runs_needs_load_all() -> None:
    with pytest.raises(ReadError, match="load_all"):
        diagnose.load(FORMATS_DIR / "mlflow_sqlite" / "mlflow.db")
    assert len(diagnose.load_all(FORMATS_DIR / "mlflow_sqlite" / "mlflow.db")) == 2


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    found = discover([tmp_path, tmp_path / "nope"])
    assert found.runs == []
    assert [Path(e.path) for e in found.errors] == [tmp_path / "nope"]
    with pytest.raises(ReadError, match="no training log"):
        diagnose.load_all(tmp_path)


def test_on_run_callback_sees_every_run() -> None:
    seen = []
    found = discover([FORMATS_DIR / "hydra_sweep"], on_run=seen.append)
    assert seen == found.runs and len(seen) == 4


# -- the walk's shortcut -------------------------------------------------------------------------


def test_could_hold_never_rules_out_a_folder_its_format_claims() -> None:
    """A walk skips a format for a folder when ``could_hold`` says no: that must never hide
    a folder the format's ``detect`` claims (every folder of the format fixtures and the
    real logs is tried, whichever format it belongs to)."""
    from diagnose.readers import _module

    roots = [FORMATS_DIR, ROOT / "fixtures"] + ([REAL] if REAL.is_dir() else [])
    folders = {Path(d) for r in roots for d, _, _ in os.walk(r)}
    claimed = 0
    for d in sorted(folders):
        names = set(os.listdir(d))
        for fmt, modname in FORMATS:
            mod = _module(modname)
            could = getattr(mod, "could_hold", None)
            if could is None or not mod.detect(d):
                continue
            claimed += 1
            assert could(names), f"{fmt}.could_hold rules out {d}, which it claims"
    assert claimed >= 20  # the check saw real claims of several formats
