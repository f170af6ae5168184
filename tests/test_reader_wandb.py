"""W&B reader: the real ``run-*.wandb`` log, corruption, and the UI's CSV export."""

from __future__ import annotations

import csv
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose._errors import ReadError
from diagnose.readers import wandb
from _real_logs import REAL_LOGS

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = REAL_LOGS / "wandb-vqvae" / "wandb" / \
    "run-20250315_162642-u87hyuws"
BLOCK = 32768


@pytest.fixture(scope="module")
def run_dir() -> Path:
    if not RUN_DIR.exists():
        pytest.skip(f"real logs not available: {RUN_DIR}")
    return RUN_DIR


@pytest.fixture(scope="module")
def log_bytes(run_dir: Path) -> bytes:
    return (run_dir / "run-u87hyuws.wandb").read_bytes()


def record_spans(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each complete LevelDB-log chunk, walked independently of the reader."""
    out, off = [], 7
    while off < len(data):
        left = BLOCK - off % BLOCK
        if left < 7:
            off += left
            continue
        if off + 7 > len(data):
            break
        (n,) = struct.unpack_from("<H", data, off + 4)
        if off + 7 + n > len(data):
            break
        out.append((off, 7 + n))
        off += 7 + n
    return out


# -- the real run ------------------------------------------------------------------------------


def test_real_run_history(run_dir: Path) -> None:
    (run,) = diagnose.load_all(run_dir)
    assert run.format == "wandb" and run.id == "u87hyuws"
    summary = json.loads((run_dir / "files" / "wandb-summary.json").read_text())
    logged = sorted(k for k in summary if not k.startswith("_"))
    assert sorted(run.name_map.get(k, k) for k in logged) == run.metric_names
    assert run.name_map == {"train_loss": "train/loss"}
    steps = {m: run.arrays(m)[0] for m in run.metric_names}
    n = len(steps["train/loss"])
    assert n > 2000
    for s in steps.values():
        assert s.tolist() == list(range(n))  # one history row per step, none lost
    # The log is cut inside its last record (a FIRST chunk without its LAST): the run
    # went on to the summary's _step, which this file never reached.
    assert n - 1 < summary["_step"]
    assert run.in_progress and any("torn" in w for w in run.warnings)


def test_real_run_values_satisfy_the_models_loss_identity(run_dir: Path) -> None:
    """VQ-VAE: loss = reconstruction + quantized + beta * commitment, beta from config."""
    run = diagnose.load(run_dir)
    beta = run.params["beta"]
    total = run.arrays("train/loss")[1]
    parts = (run.arrays("train_reconstruction_loss")[1] + run.arrays("train_quantized_loss")[1]
             + beta * run.arrays("train_commitment_loss")[1])
    assert np.isfinite(total).all()
    np.testing.assert_allclose(total, parts, rtol=2e-6)


def test_real_run_params_equal_config_yaml(run_dir: Path) -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((run_dir / "files" / "config.yaml").read_text())
    want = {k: v["value"] for k, v in config.items() if not k.startswith("_")}
    run = diagnose.load(run_dir)
    assert {k: run.params[k] for k in want} == want
    meta = json.loads((run_dir / "files" / "wandb-metadata.json").read_text())
    assert run.identity["code_version"] == meta["git"]["commit"]


def test_real_run_wall_time_increases(run_dir: Path) -> None:
    run = diagnose.load(run_dir)
    df = run.metrics[run.metrics["metric"] == "train/loss"]
    assert (np.diff(df["wall_time"].to_numpy()) >= 0).all()


# -- corruption ---------------------------------------------------------------------------------


def test_truncated_at_every_byte_is_a_run_or_read_error(tmp_path: Path, log_bytes: bytes) -> None:
    f = tmp_path / "run-x.wandb"
    cuts = list(range(0, 3000)) + list(range(BLOCK - 40, BLOCK + 400))
    done = 0
    for cut in cuts:  # the framing, at every offset
        try:
            recs, torn = wandb._records(f, log_bytes[:cut])
        except ReadError as e:
            assert str(f) in str(e)
            continue
        assert len(recs) >= done  # a longer prefix never yields fewer records
        assert torn is None or torn <= cut
        done = len(recs)
    assert done > 10
    rows = 0
    for cut in cuts[::40]:  # whole runs, at a sample of them
        f.write_bytes(log_bytes[:cut])
        (run,) = wandb.read(f)
        assert isinstance(run, diagnose.Run) and len(run.metrics) >= rows
        rows = len(run.metrics)
    assert rows > 0


def test_flipped_byte_is_a_read_error_with_offset(tmp_path: Path, log_bytes: bytes) -> None:
    spans = record_spans(log_bytes[:BLOCK * 2])
    body = log_bytes[: spans[-2][0] + spans[-2][1]]  # ends cleanly after a complete chunk
    rng = np.random.default_rng(0)
    last_start = spans[-2][0]
    positions = list(range(0, 7)) + rng.integers(7, last_start, 300).tolist()
    f = tmp_path / "run-x.wandb"
    for i in positions:
        bad = bytearray(body)
        bad[i] ^= 0x10
        f.write_bytes(bytes(bad))
        with pytest.raises(ReadError) as ei:
            wandb.read(f)
        assert ei.value.where and ei.value.where.startswith("byte "), i
        at = int(ei.value.where.split()[1])
        assert at <= i, (i, at)  # reported at or before the damage, never after


def test_empty_and_foreign_files(tmp_path: Path) -> None:
    f = tmp_path / "run-x.wandb"
    f.write_bytes(b"")
    (run,) = wandb.read(f)
    assert len(run.metrics) == 0
    f.write_bytes(b"PK\x03\x04 not a wandb log at all")
    with pytest.raises(ReadError, match="not a W&B run log"):
        wandb.read(f)


def test_directory_without_a_log(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    assert not wandb.detect(tmp_path)


# -- the CSV export ---------------------------------------------------------------------------

EXPORT_RUNS = {
    "lively-sun-12": [2.31, 1.75, math.nan, 0.92],
    "misty-wave-13": [2.4, 2.0, 1.5, None],
}


def write_export(path: Path) -> None:
    """The layout the W&B chart 'Download CSV' button produces (Step, then per run the
    value, __MIN and __MAX columns), with these test values."""
    header = ["Step"]
    for name in EXPORT_RUNS:
        header += [f"{name} - train/loss", f"{name} - train/loss__MIN",
                   f"{name} - train/loss__MAX"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        for i in range(4):
            row: list[object] = [i * 50]
            for values in EXPORT_RUNS.values():
                v = values[i]
                cell = "" if v is None else ("NaN" if v != v else repr(v))
                row += [cell, cell, cell]
            w.writerow(row)


def test_csv_export_reads_one_run_per_name(tmp_path: Path) -> None:
    p = tmp_path / "wandb_export_2025-03-15.csv"
    write_export(p)
    assert wandb.detect(p)
    runs = {r.id: r for r in diagnose.load_all(p)}
    assert sorted(runs) == sorted(EXPORT_RUNS)
    for name, values in EXPORT_RUNS.items():
        run = runs[name]
        assert run.format == "wandb-csv"
        steps, got = run.arrays("train/loss")
        kept = [(i * 50, v) for i, v in enumerate(values) if v is not None]
        assert steps.tolist() == [s for s, _ in kept]
        assert np.array_equal(got, np.array([v for _, v in kept]), equal_nan=True)


@pytest.mark.parametrize("header", [
    "step,train/loss,val/loss",
    "epoch,loss,val_loss,accuracy",
    "run,step,metric,value",
])
def test_csv_detect_is_strict(tmp_path: Path, header: str) -> None:
    p = tmp_path / "metrics.csv"
    p.write_text(header + "\n0,1,2,3\n")
    assert not wandb.detect(p)


# -- fixtures written by the real wandb library (fixtures/_formats_wandb.py) --------------------
WANDB_FIXTURES = sorted((ROOT / "fixtures" / "formats" / "wandb").glob("*/expected.json"))


def test_the_wandb_fixtures_are_there() -> None:
    # committed files: a missing one is a failure, not a skip
    assert {p.parent.name for p in WANDB_FIXTURES} >= {"explicit_steps", "implicit_steps"}


@pytest.mark.parametrize("expected", WANDB_FIXTURES, ids=lambda p: p.parent.name)
def test_reads_back_what_was_handed_to_wandb(expected: Path) -> None:
    exp = json.loads(expected.read_text())
    (run,) = diagnose.load_all(expected.parent)
    assert run.format == "wandb"
    assert run.params == exp["params"]
    assert sorted(run.metric_names) == sorted(exp["metrics"])
    for name, m in exp["metrics"].items():
        steps, values = run.arrays(name)
        assert steps.tolist() == m["steps"], name
        np.testing.assert_array_equal(values, np.array(m["values"], dtype=float), err_msg=name)
