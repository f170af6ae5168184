"""The README's "When things go wrong" table, row by row: what diagnose does and says.

Each test makes the situation with a real writer (the Recorder, TensorBoard's event
writer, Python's csv module as Keras and pandas use it), runs ``diagnose check`` (or
``sweep``) the way a user does, and asserts the behaviour and the words the table
quotes. A row of the table without a test here is a row that may be lying.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.record import Recorder

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def record(run_dir: Path, n: int = 60, val_every: int | None = 10, **kw) -> None:
    """A short healthy run: train loss falling, validation every ``val_every`` steps."""
    with Recorder(run_dir, flush_every=10, **kw) as rec:
        for s in range(n):
            rec.log(s, train_loss=2.0 / (s + 1) + 0.1)
            if val_every and s % val_every == 0:
                rec.log(s, val_loss=2.2 / (s + 1) + 0.12)


# -- no validation metric logged --------------------------------------------------------------


def test_no_validation_metric(tmp_path: Path) -> None:
    """check: the rules that need validation are skipped; sweep: says to log val/loss."""
    for lr in (0.1, 0.01):
        record(tmp_path / "sweep" / f"lr={lr}", val_every=None, params={"lr": lr})
    code, out = cli("check", str(tmp_path / "sweep"))
    # no finding, but not "All checks passed": the checks that need validation never ran
    assert code == 0 and "No findings in 2 runs" in out and "All checks passed" not in out
    assert "generalization_gap, late_overfitting (no val/loss)" in out.splitlines()[-1]
    report = diagnose.check([tmp_path / "sweep"])
    assert not [f for f in report.findings if f.rule in ("DG103", "DG104", "DG205")]
    _, out = cli("sweep", str(tmp_path / "sweep"))
    assert ("Log val/loss for every run, then compare again (logged: train/loss; --by picks "
            "another metric)") in out
    assert [ln.split()[-1] for ln in out.splitlines() if "Best setting" in ln] == ["none"]


# -- steps restart at 0 after a resume --------------------------------------------------------


def test_steps_restart_at_zero_after_a_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    record(run, n=30)
    with Recorder(run, resume=True) as rec:  # the resumed script counts from 0 again
        for s in range(30):
            rec.log(s, train_loss=1.0 / (s + 1))
    _, out = cli("check", str(run))
    assert "steps of 'train/loss' go backwards (29 -> 0); sorted by step (a resumed run?)" in out
    assert "repeated step(s)" in out and "kept the last value of each" in out
    steps, values = diagnose.load(run).arrays("train/loss")
    assert steps.tolist() == list(range(30))
    assert values.tolist() == [1.0 / (s + 1) for s in range(30)]  # the later write wins


def test_a_resume_that_moves_every_metric_back_is_said_once(tmp_path: Path) -> None:
    """One resume sends train and validation back together: one note names the first and counts
    the rest, instead of one note per metric."""
    run = tmp_path / "run"
    with Recorder(run) as rec:
        for s in range(40):
            rec.log(s, train_loss=1.0 / (s + 1), lr=0.1, **({"val_loss": 2.0 / (s + 1)}
                                                           if s % 10 == 9 else {}))
    with Recorder(run, resume=True) as rec:  # the resumed script counts from 20 again
        for s in range(20, 40):
            rec.log(s, train_loss=0.5 / (s + 1), lr=0.1, **({"val_loss": 1.0 / (s + 1)}
                                                          if s % 10 == 9 else {}))
    _, out = cli("check", str(run))
    back = [ln for ln in out.splitlines() if "go backwards" in ln]
    assert len(back) == 1, out
    assert "steps of 'train/loss' and 2 other metric(s) go backwards (39 -> 20)" in back[0]


# -- two runs in one folder -------------------------------------------------------------------


def test_two_runs_in_one_folder_the_recorder_refuses(tmp_path: Path) -> None:
    record(tmp_path / "run")
    with pytest.raises(FileExistsError, match="a run was already recorded here; pass "
                       "resume=True to append to it, overwrite=True to replace it"):
        Recorder(tmp_path / "run")


def test_two_runs_in_one_folder_a_second_open_writer_is_refused(tmp_path: Path) -> None:
    """While a Recorder is open (nothing flushed yet), a second one fails at construction;
    two processes: tests/adversarial/test_recorder_contention.py."""
    with Recorder(tmp_path / "run") as rec:
        rec.log(0, train_loss=1.0)
        with pytest.raises(FileExistsError, match=r"another Recorder is recording this run \("):
            Recorder(tmp_path / "run", resume=True)


def test_two_runs_in_one_tensorboard_folder_read_as_a_restart(tmp_path: Path) -> None:
    """Two SummaryWriter sessions into one logdir: one run, restarted; the later one wins."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    logdir = tmp_path / "tb"
    for k, (t0, scale) in enumerate(((1000.0, 1.0), (2000.0, 0.5))):
        w = EventFileWriter(str(logdir), filename_suffix=f".{k}")
        for s in range(20):
            v = summary_pb2.Summary.Value(tag="loss", simple_value=scale / (s + 1))
            w.add_event(event_pb2.Event(step=s, wall_time=t0 + s,
                                        summary=summary_pb2.Summary(value=[v])))
        w.close()
    _, out = cli("check", str(logdir))
    assert "go backwards" in out and "(a resumed run?)" in out
    assert "20 repeated step(s)" in out and "kept the last value of each" in out
    (run,) = diagnose.load_all(logdir)
    assert run.arrays("train/loss")[1].tolist() == [
        float(__import__("numpy").float32(0.5 / (s + 1))) for s in range(20)]


# -- metric logged per epoch but steps per batch -------------------------------------------------


def test_validation_per_epoch_beside_training_per_batch(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with Recorder(run, flush_every=100) as rec:
        for s in range(500):
            rec.log(s, train_loss=2.0 / (s + 1) + 0.1)
            if s % 100 == 99:
                rec.log(s // 100, val_loss=0.5 - s / 2000)  # epoch number used as the step
    _, out = cli("check", str(run))
    assert ("'val/loss' is logged at steps 0-4 but 'train/loss' up to step 499: 'val/loss' "
            "looks logged per epoch and 'train/loss' per batch") in out
    assert "log both against the same global step" in out
    healthy = tmp_path / "healthy"
    record(healthy, n=500, val_every=100)  # validation at its global steps: no such note
    assert "per epoch" not in cli("check", str(healthy))[1]


# -- a run still being written ---------------------------------------------------------------------


def test_a_run_still_being_written(tmp_path: Path) -> None:
    run = tmp_path / "run"
    rec = Recorder(run, flush_every=1)
    for s in range(20):
        rec.log(s, train_loss=2.0 / (s + 1), val_loss=2.1 / (s + 1))
    code, out = cli("check", str(run))
    assert code == 0 and "run: ok (in progress)" in out
    doc = json.loads(cli("check", str(run), "--format", "json")[1])
    assert doc["runs"][0]["in_progress"] is True
    with open(run / "metrics.jsonl", "a") as f:  # the writer is mid-line right now
        f.write('{"step": 20, "train/lo')
    code, out = cli("check", str(run))
    assert "metrics.jsonl:21: torn last line skipped (the writer was interrupted)" in out
    assert "in progress" in out
    assert diagnose.load(run).arrays("train/loss")[0].tolist() == list(range(20))
    rec.close()


# -- an empty or header-only log ------------------------------------------------------------------


def test_an_empty_or_header_only_log(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    with open(path, "w", newline="") as f:
        csv.DictWriter(f, fieldnames=["epoch", "loss", "val_loss"]).writeheader()
    code, out = cli("check", str(path))
    assert code == 0
    assert "no metric values in this log (empty, or a header only): nothing to check yet" in out
    lightning = tmp_path / "lightning_logs" / "version_0"
    lightning.mkdir(parents=True)
    (lightning / "metrics.csv").touch()  # CSVLogger creates the file before its first flush
    code, out = cli("check", str(lightning))
    assert code == 0 and "empty; the run has not flushed any rows yet" in out
    assert "in progress" in out


# -- NaN in the loss -------------------------------------------------------------------------------


def test_nan_in_the_loss(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with Recorder(run) as rec:
        for s in range(50):
            rec.log(s, train_loss=2.0 / (s + 1) if s < 30 else math.nan)
    code, out = cli("check", str(run))
    assert code == 1
    # NaN from step 30 to the end: the run died there (DG210), which says it instead of DG201
    assert ("DG210 died-in-nan (steps 30-49): train loss turned NaN/inf at step 30 and never "
            "came back: non-finite at each of its last 20 logged point(s)") in out
    assert "DG201" not in out
    scattered = tmp_path / "scattered"
    with Recorder(scattered) as rec:  # a NaN now and then, finite again after each
        for s in range(50):
            rec.log(s, train_loss=math.nan if s in (12, 31) else 2.0 / (s + 1))
    code, out = cli("check", str(scattered))
    assert code == 1 and ("DG201 nonfinite-values (steps 12-49): 2 non-finite value(s) (NaN or "
                          "inf), first in train/loss at step 12") in out and "DG210" not in out
    grew = tmp_path / "grew"
    with Recorder(grew) as rec:  # the loss climbs for a while, then overflows
        for s in range(50):
            rec.log(s, train_loss=1.0 / (s + 1) if s < 20 else (math.nan if s >= 35
                                                                else 0.05 * 3.0 ** (s - 20)))
    code, out = cli("check", str(grew))
    assert code == 1 and "DG102 loss-explosion" in out and "DG201" not in out


# -- unknown metric names ----------------------------------------------------------------------------


def test_unknown_metric_names(tmp_path: Path) -> None:
    """A flat loss under a name diagnose does not know: not judged, and said; mapped: judged."""
    run = tmp_path / "run"
    with Recorder(run) as rec:
        for s in range(50):
            rec.log(s, objective=0.78 - s * 1e-4)
    code, out = cli("check", str(run))
    assert code == 0 and "no loss or accuracy diagnose recognises" in out and "'objective'" in out
    assert '[tool.diagnose.metrics] "my_loss" = "train/loss"' in out
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.diagnose.metrics]\n"objective" = "train/loss"\n')
    code, out = cli("check", str(run), "--config", str(pyproject))
    assert code == 1 and "DG101 flat-loss" in out and "recognises" not in out  # now judged


# -- a CRC error ---------------------------------------------------------------------------------------


def test_a_crc_error(tmp_path: Path) -> None:
    (src,) = (ROOT / "fixtures" / "formats" / "tensorboard" / "simple").glob("events.out.*")
    path = tmp_path / "tb" / src.name
    path.parent.mkdir()
    data = bytearray(src.read_bytes())
    data[200] ^= 0x01  # one flipped bit inside a record's data
    path.write_bytes(bytes(data))
    with pytest.raises(diagnose.ReadError) as err:
        diagnose.load(path.parent)
    e = err.value
    assert e.path == str(path) and e.reason == "corrupt record data (CRC mismatch)"
    record_start = int(e.where.split()[1])
    assert record_start <= 200 < record_start + 12 + int.from_bytes(data[record_start:record_start + 8],
                                                                    "little") + 4
    code, out = cli("check", str(path.parent))
    assert code == 2 and f"{path}:byte {record_start}: corrupt record data (CRC mismatch)" in out
    code, out = cli("check", str(path.parent), "--skip-unreadable")
    assert code == 2 and "every input was unreadable" in out  # nothing was checked
    healthy = tmp_path / "healthy"
    record(healthy)
    code, out = cli("check", str(path.parent), str(healthy))
    assert code == 2 and "healthy: ok" in out  # the other input is still checked


# -- the disk fills up (or the folder goes away) while recording ---------------------------------


def test_the_run_folder_goes_away_while_recording(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = Recorder(run, flush_every=5)
        for s in range(20):
            rec.log(s, train_loss=1.0)
        shutil.rmtree(run)
        for s in range(20, 100):
            rec.log(s, train_loss=1.0)  # training goes on
        rec.close()
    msgs = [str(w.message) for w in caught]
    assert len(msgs) == 2  # the log, and run.json at close
    assert any("was deleted (or its folder was); records are dropped until it can be written "
               "again (warned once)" in m for m in msgs)
    assert rec.records_dropped == 80 and rec.records_flushed == 20
    assert not os.path.exists(run)


def test_the_disk_fills_up_while_recording(tmp_path: Path) -> None:
    """A file size limit stands in for a full disk (see test_hardening_recorder.py)."""
    from test_hardening_recorder import _fsize_child

    got = _fsize_child(tmp_path / "run", "lenient")
    assert len(got["warnings"]) == 1 and "could not write" in got["warnings"][0]
    assert got["warnings"][0].endswith("(warned once)")
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["dropped"]["records"] == len(got["dropped"]) > 0
    assert got["written"][-1] == 2999  # writing resumed once there was room again
