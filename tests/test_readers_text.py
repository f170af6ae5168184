"""Text-format readers (Lightning CSV, HF trainer_state, MLflow, Keras/generic CSV and JSONL).

Fixtures were written by the real libraries (``fixtures/make_format_fixtures.py``);
each ``expected.json`` holds what the script handed to the writer, so every value
read back is compared with the writer's input, bit for bit.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import diagnose
from diagnose import ReadError, Run
from diagnose.readers import _params, _yaml, csv_generic, hf, lightning_csv, mlflow
from _real_logs import REAL_LOGS

ROOT = Path(__file__).resolve().parent.parent
FORMATS_DIR = ROOT / "fixtures" / "formats"
REAL = REAL_LOGS
MY_FORMATS = {"lightning", "hf", "mlflow", "csv", "keras", "jsonl", "mmengine", "textlog"}


def _cases() -> list[Path]:
    out = []
    for exp in sorted(FORMATS_DIR.glob("*/expected.json")):
        runs = json.loads(exp.read_text()).get("runs", [])
        if runs and all(r["format"] in MY_FORMATS for r in runs):
            out.append(exp.parent)
    return out


CASES = _cases()


def _expected(case: Path) -> list[dict[str, Any]]:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))["runs"]


def _find(runs: list[Run], case: Path, match: dict[str, str]) -> Run:
    hits = [
        r for r in runs
        if ("run_id" not in match or r.identity.get("run_id") == match["run_id"])
        and ("path" not in match or Path(r.path) == case / match["path"])
        and ("id" not in match or r.id == match["id"])
    ]
    assert len(hits) == 1, f"{match} matched {[(r.id, r.path) for r in hits]}"
    return hits[0]


def _last_per_step(steps: list[int], values: list[float], epochs: list[Any]
                   ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """The writer's points with a repeated step keeping its last value, sorted by step."""
    last: dict[int, tuple[float, Any]] = {}
    for s, v, e in zip(steps, values, epochs):
        last[s] = (v, e)
    order = sorted(last)
    return (np.array(order, dtype=np.int64), np.array([last[s][0] for s in order]),
            [last[s][1] for s in order])


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as float64 bit patterns; any NaN equals any NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    keep = ~np.isnan(a)
    return np.array_equal(a[keep].view(np.int64), b[keep].view(np.int64))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_reads_back_what_the_writer_was_given(case: Path) -> None:
    expected = _expected(case)
    runs = diagnose.load_all(case)
    assert len(runs) == len(expected), [r.id for r in runs]
    for exp in expected:
        run = _find(runs, case, exp["match"])
        assert run.format == exp["format"]
        assert run.in_progress == exp["in_progress"]
        for k, v in exp["params"].items():
            assert run.params.get(k) == v, (k, run.params)
        for k, v in exp.get("results", {}).items():
            assert run.results.get(k) == v
        names = set()
        for raw, m in exp["metrics"].items():
            name = run.name_map.get(raw, raw)
            names.add(name)
            steps, values, epochs = _last_per_step(m["steps"], m["values"], m["epochs"])
            got_steps, got_values = run.arrays(name)
            assert np.array_equal(got_steps, steps), (raw, name, got_steps, steps)
            assert _same_bits(got_values, values), (raw, name, got_values, values)
            if any(e is not None for e in epochs):
                rows = run.metrics[run.metrics["metric"] == name].sort_values("step")
                known = [i for i, e in enumerate(epochs) if e is not None]
                assert np.array_equal(rows["epoch"].to_numpy()[known],
                                      np.array([epochs[i] for i in known], dtype=float))
        assert set(run.metric_names) == names, (set(run.metric_names) ^ names)
        assert set(run.name_map) <= set(exp["metrics"])


def test_every_fixture_case_is_checked() -> None:
    names = {c.name for c in CASES}
    assert {"lightning_trainer", "lightning_direct", "hf_trainer", "hf_eval_sets", "hf_state", "mlflow_file",
            "mlflow_sqlite", "keras_csv", "csv_tidy", "csv_wide", "jsonl_tidy", "jsonl_wide",
            "hydra_sweep", "fastai_csv", "timm_summary", "mmengine_runner", "mmengine_iters",
            "split_tables"} <= names


# -- names, per format -------------------------------------------------------------------


def test_lightning_step_series_gets_the_name_epoch_means_keep_theirs() -> None:
    run = diagnose.load(FORMATS_DIR / "lightning_trainer" / "lightning_logs" / "version_0")
    assert run.name_map["train_loss_step"] == "train/loss"
    assert "train_loss_epoch" not in run.name_map
    assert run.name_map["lr-SGD"] == "lr"
    assert any("train_loss_epoch" in w for w in run.warnings)
    # LearningRateMonitor rows carry no epoch; they take their step's epoch from the other rows
    lr = run.metrics[run.metrics["metric"] == "lr"]
    assert not lr["epoch"].isna().any()


def test_hf_eval_sets_become_splits_and_summary_is_not_a_curve() -> None:
    run = diagnose.load(FORMATS_DIR / "hf_trainer" / "hf_out")
    assert run.name_map["eval_validation_loss"] == "val/loss"
    assert run.name_map["eval_test_loss"] == "test/loss"
    assert run.name_map["eval_test_accuracy"] == "test/acc"
    assert run.name_map["loss"] == "train/loss"
    assert run.name_map["learning_rate"] == "lr"
    state = json.loads((FORMATS_DIR / "hf_trainer" / "hf_out" / "trainer_state.json").read_text())
    summary = [e for e in state["log_history"] if "train_runtime" in e]
    assert len(summary) == 1
    assert run.results["train_time"] == summary[0]["train_runtime"]
    assert "train_loss" not in run.name_map  # the summary's average is not a point


def test_hf_reads_nan_and_infinity_tokens() -> None:
    text = (FORMATS_DIR / "hf_state" / "run" / "checkpoint-4" / "trainer_state.json").read_text()
    assert "NaN" in text and "Infinity" in text
    run = diagnose.load(FORMATS_DIR / "hf_state" / "run")
    assert math.isnan(run.series("train/loss")[2]) and run.series("grad_norm")[2] == math.inf


def test_fastai_metrics_are_validation_metrics() -> None:
    """fastai computes every metric of its history on the validation set: a bare ``accuracy``
    beside ``train_loss``/``valid_loss`` is the validation accuracy (a Keras log's is the train's)."""
    run = diagnose.load(FORMATS_DIR / "fastai_csv")
    assert run.name_map["accuracy"] == "val/acc" and not run.has("train/acc")
    assert any("'accuracy' read as 'val/acc'" in w for w in run.warnings)
    keras = diagnose.load(FORMATS_DIR / "keras_csv")
    assert keras.name_map["accuracy"] == "train/acc"
    mine = diagnose.load(FORMATS_DIR / "fastai_csv", aliases={"accuracy": "train/acc"})
    assert mine.name_map["accuracy"] == "train/acc"  # the user's aliases win


def test_timm_top1_is_the_validation_accuracy_in_percent() -> None:
    run = diagnose.load(FORMATS_DIR / "timm_summary")
    assert run.name_map["eval_top1"] == "val/acc"
    assert run.name_map["eval_loss"] == "val/loss" and run.name_map["train_loss"] == "train/loss"
    assert any("val/acc logged in percent" in w for w in run.warnings)


def test_user_aliases_rename_and_are_recorded() -> None:
    run = diagnose.load(FORMATS_DIR / "keras_csv", aliases={"accuracy": "train/top1"})
    assert run.name_map["accuracy"] == "train/top1"
    assert run.has("train/top1") and not run.has("train/acc")


def test_two_raw_names_never_merge_into_one_series(tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_text("step,val_loss,val/loss\n1,0.5,0.7\n2,0.4,\n")
    run = diagnose.load(f)
    assert run.arrays("val/loss")[1].tolist() == [0.7]  # the canonical spelling wins
    assert run.arrays("val_loss")[1].tolist() == [0.5, 0.4]


# -- MLflow specifics ---------------------------------------------------------------------


def test_mlflow_sqlite_stores_nan_and_inf_as_documented() -> None:
    db = FORMATS_DIR / "mlflow_sqlite" / "mlflow.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT value, is_nan FROM metrics WHERE key='train/loss'").fetchall()
    con.close()
    assert (0.0, 1) in rows and (sys.float_info.max, 0) in rows and (-sys.float_info.max, 0) in rows
    run = next(r for r in diagnose.load_all(db) if r.has("train/loss") and r.n_steps > 3)
    v = run.arrays("train/loss")[1]
    assert np.isnan(v).sum() == 1 and (v == math.inf).sum() == 1 and (v == -math.inf).sum() == 1


def test_mlflow_deleted_run_is_skipped() -> None:
    ids = {r.identity.get("run_name") for r in diagnose.load_all(FORMATS_DIR / "mlflow_file")}
    assert "deleted" not in ids and len(ids) == 2


def test_mlflow_file_store_line_variants(tmp_path: Path) -> None:
    """MLflow 1 wrote ``timestamp value`` (step 0); 2.11+ may add dataset name and digest."""
    rd = tmp_path / "mlruns" / "5" / "abc"
    (rd / "metrics" / "eval").mkdir(parents=True)
    (tmp_path / "mlruns" / "5" / "meta.yaml").write_text("experiment_id: '5'\nname: e\n")
    (rd / "meta.yaml").write_text("run_id: abc\nexperiment_id: '5'\nstatus: 1\nend_time: null\n")
    (rd / "metrics" / "loss").write_text("1000 0.5\n")
    (rd / "metrics" / "eval" / "acc").write_text("1000 0.25 3 valset 1a2b\n1001 nan 4 valset 1a2b\n"
                                                 "1002 0.5 5 valset 1a2")
    run = diagnose.load(tmp_path / "mlruns")
    assert run.arrays("train/loss")[0].tolist() == [0]
    steps, values = run.arrays(run.name_map.get("eval/acc", "eval/acc"))
    assert steps.tolist() == [3, 4] and values[0] == 0.25 and math.isnan(values[1])
    assert run.in_progress  # status RUNNING, and a torn last line
    assert any("no newline" in w for w in run.warnings)


def test_a_loss_logged_per_split_under_its_own_name_is_read(tmp_path: Path) -> None:
    """torch-points3d (and ``add_scalars``) log ``loss_seg/train``, ``loss_seg/val``: no name
    diagnose mapped, so the run was checked for nothing but accuracy."""
    rd = tmp_path / "mlruns" / "1" / "r1"
    (rd / "metrics" / "loss_seg").mkdir(parents=True)
    (rd / "metrics" / "acc").mkdir(parents=True)
    (tmp_path / "mlruns" / "1" / "meta.yaml").write_text("experiment_id: '1'\nname: e\n")
    (rd / "meta.yaml").write_text("run_id: r1\nexperiment_id: '1'\nstatus: 3\nend_time: 1\n")
    train = [1.9 * 0.9 ** i for i in range(20)]
    val = [1.2 + 0.01 * i for i in range(20)]
    for split, vals in (("train", train), ("val", val), ("test", val)):
        (rd / "metrics" / "loss_seg" / split).write_text(
            "".join(f"{1000 + i} {v!r} {i}\n" for i, v in enumerate(vals)))
    (rd / "metrics" / "acc" / "train").write_text("".join(f"{1000 + i} 0.5 {i}\n" for i in range(20)))
    run = diagnose.load(tmp_path / "mlruns")
    assert run.arrays("train/loss")[1].tolist() == train
    assert run.arrays("val/loss")[1].tolist() == val
    assert "loss_seg/test" in run.metric_names  # a test split is not the validation one here
    assert any("per split under 'loss_seg'/" in w for w in run.warnings)


def test_two_losses_logged_per_split_are_ambiguous(tmp_path: Path) -> None:
    rd = tmp_path / "mlruns" / "1" / "r1"
    for head in ("loss_seg", "loss_reg"):
        (rd / "metrics" / head).mkdir(parents=True)
        (rd / "metrics" / head / "train").write_text("".join(f"{1000 + i} 1.0 {i}\n" for i in range(5)))
    (tmp_path / "mlruns" / "1" / "meta.yaml").write_text("experiment_id: '1'\nname: e\n")
    (rd / "meta.yaml").write_text("run_id: r1\nexperiment_id: '1'\nstatus: 3\nend_time: 1\n")
    assert "train/loss" not in diagnose.load(tmp_path / "mlruns").metric_names


# -- real logs written by other people's projects --------------------------------------------

REAL_MLFLOW = REAL / "mlflow-keras-swahili" / "mlruns"


@pytest.mark.skipif(not REAL_MLFLOW.is_dir(), reason=f"real logs not present at {REAL_MLFLOW}")
def test_real_mlflow_keras_autolog_store() -> None:
    runs = diagnose.load_all(REAL_MLFLOW)
    assert len(runs) == 1
    run = runs[0]
    rd = REAL_MLFLOW / "1" / "ed05f9cd599442fe9a0c9222184710b8"
    lines = (rd / "metrics" / "loss").read_text().split()
    want_steps = [int(s) for s in lines[2::3]]
    want_values = [float(v) for v in lines[1::3]]
    steps, values = run.arrays("train/loss")
    assert len(steps) == 10 and steps.tolist() == want_steps
    assert _same_bits(values, np.array(want_values))
    assert run.name_map == {"loss": "train/loss"}
    for f in (rd / "params").iterdir():
        raw = f.read_text()
        assert str(run.params[f.name]) == raw or run.params[f.name] == float(raw), f.name
    assert run.params["epochs"] == 10 and run.params["opt_nesterov"] is True
    assert run.params["batch_size"] is None
    assert run.identity["mlflow_experiment"] == "Speech model simple rnn"
    assert run.results["train_time"] == (1628697851678 - 1628697775478) / 1000
    assert not run.in_progress


# -- corruption ------------------------------------------------------------------------------

#: (case, file inside it, reader module, path to hand the reader, strict line writer?)
SMALL_FILES = [
    ("lightning_direct", "direct/version_0/metrics.csv", lightning_csv, "direct/version_0", True),
    ("keras_csv", "training.log", csv_generic, "training.log", True),
    ("csv_wide", "history.csv", csv_generic, "history.csv", False),
    ("csv_tidy", "runs.csv", csv_generic, "runs.csv", False),
    ("jsonl_wide", "history.jsonl", csv_generic, "history.jsonl", True),
    ("jsonl_tidy", "runs.jsonl", csv_generic, "runs.jsonl", True),
    ("hf_state", "run/checkpoint-2/trainer_state.json", hf, "run/checkpoint-2", False),
]


def _mlflow_small() -> tuple[str, str, Any, str, bool]:
    base = FORMATS_DIR / "mlflow_file"
    f = next(p for p in base.glob("mlruns/*/*/metrics/train/loss"))
    return ("mlflow_file", f.relative_to(base).as_posix(), mlflow,
            f.parent.parent.parent.relative_to(base).as_posix(), True)


SMALL_FILES.append(_mlflow_small())


_each_small_file = pytest.mark.parametrize(
    "case,rel,reader,target,strict", SMALL_FILES,
    ids=[f"{c}:{Path(f).name}" for c, f, *_ in SMALL_FILES],
)


def _points(runs: list[Run]) -> set[tuple[str, str, int, int]]:
    out = set()
    for r in runs:
        for m, s, v in zip(r.metrics["metric"], r.metrics["step"], r.metrics["value"]):
            out.add((r.id, m, int(s), int(np.float64(v).view(np.int64))))
    return out


def _check_runs(runs: Any) -> None:
    assert isinstance(runs, list) and all(isinstance(r, Run) for r in runs)
    for r in runs:
        assert str(r.metrics["step"].dtype) == "int64"
        assert str(r.metrics["value"].dtype) == "float64"


#: One small file per reader and shape is enough for every-byte truncation.
TRUNCATED = [c for c in SMALL_FILES if c[0] != "jsonl_tidy"]


@pytest.mark.parametrize("case,rel,reader,target,strict", TRUNCATED,
                         ids=[f"{c}:{Path(f).name}" for c, f, *_ in TRUNCATED])
def test_truncated_at_every_byte(tmp_path: Path, case: str, rel: str, reader: Any, target: str,
                                 strict: bool) -> None:
    """Every prefix reads as runs or fails with ReadError; a complete line is never lost.

    For writers that end every line (strict), what a prefix yields is a subset of the
    full file's points and grows with the prefix.
    """
    d = tmp_path / case
    shutil.copytree(FORMATS_DIR / case, d)
    f = d / rel
    data = f.read_bytes()
    full = _points(reader.read(d / target, None))
    assert full
    before = 0
    outcomes = set()
    for k in range(len(data) + 1):
        f.write_bytes(data[:k])
        try:
            runs = reader.read(d / target, None)
        except ReadError as e:
            assert e.path and e.reason
            outcomes.add("error")
            continue
        _check_runs(runs)
        outcomes.add("runs")
        if strict:
            got = _points(runs)
            assert got <= full, (k, got - full)
            assert len(got) >= before, k
            before = len(got)
    assert _points(reader.read(d / target, None)) == full
    assert "runs" in outcomes


@_each_small_file
def test_one_flipped_byte(tmp_path: Path, case: str, rel: str, reader: Any, target: str,
                          strict: bool) -> None:
    d = tmp_path / case
    shutil.copytree(FORMATS_DIR / case, d)
    f = d / rel
    data = f.read_bytes()
    for k in range(0, len(data), max(1, len(data) // 100)):
        f.write_bytes(data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:])
        try:
            _check_runs(reader.read(d / target, None))
        except ReadError as e:
            assert e.path and e.reason


@_each_small_file
def test_empty_file(tmp_path: Path, case: str, rel: str, reader: Any, target: str,
                    strict: bool) -> None:
    d = tmp_path / case
    shutil.copytree(FORMATS_DIR / case, d)
    (d / rel).write_bytes(b"")
    try:
        runs = reader.read(d / target, None)
    except ReadError as e:
        assert str(d / rel) in str(e) or str(d / target) in str(e)
        return
    _check_runs(runs)


def test_sqlite_truncated_and_flipped(tmp_path: Path) -> None:
    """A damaged SQLite store: runs or ReadError (pages sampled: the file is ~1 MB)."""
    data = (FORMATS_DIR / "mlflow_sqlite" / "mlflow.db").read_bytes()
    f = tmp_path / "mlflow.db"
    offsets = sorted({0, 1, 15, 16, 100, len(data) - 1, *range(4096, len(data), 4096 * 23)})
    for k in offsets:
        for damaged in (data[:k], data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:]):
            f.write_bytes(damaged)
            try:
                _check_runs(mlflow.read(f, None))
            except ReadError as e:
                assert e.path == str(f)


def test_empty_inputs_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReadError, match="no training log"):
        diagnose.load_all(tmp_path / "empty")
    for reader in (lightning_csv, hf, mlflow, csv_generic):
        with pytest.raises(ReadError):
            reader.read(tmp_path / "empty", None)
    (tmp_path / "mlflow.db").write_bytes(b"")
    with pytest.raises(ReadError, match="SQLite"):
        diagnose.load_all(tmp_path / "mlflow.db")


def test_zero_byte_metrics_csv_is_an_empty_run_in_progress(tmp_path: Path) -> None:
    v = tmp_path / "lightning_logs" / "version_0"
    v.mkdir(parents=True)
    (v / "metrics.csv").write_bytes(b"")
    run = diagnose.load(tmp_path)
    assert run.format == "lightning" and run.in_progress and len(run.metrics) == 0
    assert any("empty" in w for w in run.warnings)


def test_torn_lightning_row_is_dropped_and_marks_in_progress(tmp_path: Path) -> None:
    src = FORMATS_DIR / "lightning_direct" / "direct" / "version_0"
    shutil.copytree(src, tmp_path / "v")
    data = (src / "metrics.csv").read_bytes()
    (tmp_path / "v" / "metrics.csv").write_bytes(data[:-3])  # "...,0.5\r\n" -> "...,0"
    run = diagnose.load(tmp_path / "v")
    assert run.in_progress and any("torn" in w for w in run.warnings)
    assert run.arrays("val/acc")[1].tolist() == [-math.inf]  # 0.5 was cut, not misread as 0


# -- helpers: YAML and params -----------------------------------------------------------------


#: The YAML files readers open (Hydra's own hydra.yaml / multirun.yaml are not among them).
_READ_YAML = {"hparams.yaml", "meta.yaml", "config.yaml", "overrides.yaml"}


def _yaml_files() -> list[Path]:
    files = sorted(FORMATS_DIR.glob("**/*.yaml"))
    if REAL.is_dir():
        files += sorted(REAL.glob("**/*.yaml"))
    return [f for f in files if f.name in _READ_YAML]


def test_fallback_yaml_parser_agrees_with_pyyaml() -> None:
    """The no-dependency parser reads every YAML file we have as PyYAML's safe loader does."""
    yaml = pytest.importorskip("yaml")
    files = _yaml_files()
    assert len(files) > 10
    for f in files:
        text = f.read_text(encoding="utf-8")
        try:
            want = yaml.safe_load(text)
        except yaml.YAMLError:
            want = _yaml.load(text)  # python tags: both must give the tags' text
        assert _yaml._parse(text) == want, f


def test_yaml_python_tags_never_build_objects() -> None:
    text = "crit: !!python/object:os.system\n  x: 1\nlr: 0.1\nopt: !!python/name:os.remove ''\n"
    for parse in (_yaml.load, _yaml._parse):
        got = parse(text)
        assert got == {"crit": "!!python/object:os.system", "lr": 0.1,
                       "opt": "!!python/name:os.remove"}


def test_params_from_folder_names_fill_what_the_format_lacks(tmp_path: Path) -> None:
    d = tmp_path / "sweep" / "lr=0.3" / "seed=5"
    d.mkdir(parents=True)
    shutil.copy(FORMATS_DIR / "csv_wide" / "history.csv", d)
    run = diagnose.load(d / "history.csv")
    assert run.params == {"lr": 0.3, "seed": 5}
    v = tmp_path / "lr=0.5,optimizer=sgd" / "direct" / "version_0"
    shutil.copytree(FORMATS_DIR / "lightning_direct" / "direct" / "version_0", v)
    run = diagnose.load(v)
    assert run.params["lr"] == 0.01  # hparams.yaml wins over the folder name
    assert run.params["optimizer"] == "adam" and run.params["seed"] == 7


def test_hydra_overrides_win_over_config(tmp_path: Path) -> None:
    job = tmp_path / "job"
    shutil.copytree(FORMATS_DIR / "hydra_sweep" / "multirun" / "lr=0.1,seed=1", job)
    (job / ".hydra" / "overrides.yaml").write_text("- lr=0.7\n- +extra.depth=3\n")
    run = diagnose.load(job / "history.csv")
    assert run.params["lr"] == 0.7 and run.params["extra.depth"] == 3
    assert run.params["seed"] == 1 and run.params["optimizer"] == "sgd"


def test_parse_value() -> None:
    cases = {"10": 10, "0.002": 0.002, "1e-06": 1e-06, "True": True, "false": False,
             "None": None, "SGD": "SGD", "-3": -3, "1.0.0": "1.0.0"}
    for text, want in cases.items():
        assert _params.parse_value(text) == want and type(_params.parse_value(text)) is type(want)


# -- no heavyweight imports ----------------------------------------------------------------------


def test_reading_never_imports_heavy_libraries() -> None:
    code = (
        "import sys, diagnose\n"
        f"d = diagnose.discover([{str(FORMATS_DIR)!r}, {str(REAL)!r}])\n"
        "assert d.runs\n"
        "heavy = [m for m in ('torch', 'tensorboard', 'lightning', 'pytorch_lightning', "
        "'transformers', 'mlflow', 'wandb', 'keras', 'hydra', 'omegaconf', 'tensorflow') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_keras_history_csv_without_an_epoch_column_is_one_run_of_epochs() -> None:
    """A public Keras log written as ``pd.DataFrame(history.history).to_csv(index=False)``:
    header ``accuracy,loss,val_accuracy,val_loss``, no epoch column (was read as no run)."""
    path = ROOT / "bench" / "real-runs" / "drowsiness-cnn" / "training_log.csv"
    lines = path.read_text().splitlines()
    assert "epoch" not in lines[0].lower().split(",")
    runs = diagnose.load_all(path.parent)
    assert len(runs) == 1
    steps, vals = runs[0].arrays("val/loss")
    assert steps.tolist() == list(range(len(lines) - 1))
    col = lines[0].split(",").index("val_loss")
    assert vals.tolist() == [float(line.split(",")[col]) for line in lines[1:]]


def test_runs_appended_to_one_keras_log_are_read_apart_and_said_where() -> None:
    case = FORMATS_DIR / "keras_csv_append"
    lines = (case / "training.log").read_text(encoding="utf-8").splitlines()
    epochs = [int(line.split(",")[0]) for line in lines[1:]]
    restart = next(i for i in range(1, len(epochs)) if epochs[i] <= epochs[0] < epochs[i - 1])
    runs = diagnose.load_all(case)
    assert sorted(r.id for r in runs) == ["keras_csv_append#1", "keras_csv_append#2"]
    notes = [w for r in runs for w in r.warnings if "starts again" in w]
    assert len(notes) == 1 and f"training.log:{restart + 2}:" in notes[0], notes
    # the resume (initial_epoch=3) is no new run: its rows replace epochs 3-5 of the second
    second = next(r for r in runs if r.id.endswith("#2"))
    _, loss = second.arrays("train/loss")
    assert len(loss) == 6 and loss[-1] == float(lines[-1].split(",")[2])


def test_mlflow_runs_all_marked_deleted_are_read_with_a_note(tmp_path: Path) -> None:
    # an experiment whose only run was deleted in the MLflow UI (its files stay on disk, as in
    # a public repository's committed mlruns/): skipping it left "no training log found here"
    store = tmp_path / "mlruns"
    shutil.copytree(FORMATS_DIR / "mlflow_file", store)
    runs_meta = [m for m in store.rglob("meta.yaml") if "run_id:" in m.read_text()]
    live = [m.parent for m in runs_meta if "lifecycle_stage: deleted" not in m.read_text()]
    assert live and len(live) < len(runs_meta)
    for rd in live:
        shutil.rmtree(rd)
    runs = diagnose.load_all(store)
    assert [r.identity.get("run_name") for r in runs] == ["deleted"]
    assert any("marked deleted" in w for w in runs[0].warnings)
    assert runs[0].n_steps > 0
