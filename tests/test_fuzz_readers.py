"""Fuzzing every reader: damaged and odd input gives a Run or a ReadError naming the file.

Seeds are real files written by the libraries themselves (``fixtures/formats``, the
Recorder's fixtures, ``tests/fuzz/corpus``). Hypothesis mutates them (truncation, byte
flips, inserted, repeated and deleted spans, format-specific odd lines) and reads the
result through ``diagnose.load_all``, as ``diagnose check`` does. The outcome must be
Runs, or a ``diagnose.ReadError`` whose path is the damaged file or a folder holding
it, never another exception (``load_all`` would wrap a stray one as "reader failed",
which counts as a failure here), never a hang (a per-example alarm) and never a memory
blow-up (peak RSS is checked). Odd-but-valid content written by the real writers
(TensorBoard's event writer, the Recorder's line format) must come back value for value.
Examples are derandomised and bounded so the file runs in CI in well under a minute.
"""

from __future__ import annotations

import contextlib
import math
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import diagnose
from diagnose import ReadError

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import _framing

ROOT = Path(__file__).resolve().parents[1]
FMT = ROOT / "fixtures" / "formats"
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
EXAMPLE_SECONDS = 20  # per example, on a loaded CI machine; a hang trips it
RSS_GROWTH_MB = 600  # peak memory a whole property may add (gigabyte allocations trip it)

FUZZ = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- seeds: a run layout and the file in it to damage -------------------------------------


@dataclass(frozen=True)
class Seed:
    """``files`` (dest -> source) make a run under a temp folder; ``target`` is damaged."""

    name: str
    files: dict[str, Path]
    target: str
    load: str = "."  # what is handed to load_all, relative to the temp folder
    odd: tuple[bytes, ...] = ()  # format-specific odd lines to splice in
    #: "tensorboard"/"wandb": mutate the record payloads, then frame them with valid
    #: checksums, so the damage reaches the protobuf decoding behind the checksums
    framed: str | None = None

    def available(self) -> bool:
        return all(p.exists() for p in self.files.values())


def _mlflow_run(metric: str = "loss") -> dict[str, Path]:
    exp = FMT / "mlflow_file" / "mlruns" / "559380345118135536"
    run = exp / "bc68d90c435549e7808fca1a5ace0990"
    return {"mlruns/1/meta.yaml": exp / "meta.yaml", "mlruns/1/r/meta.yaml": run / "meta.yaml",
            f"mlruns/1/r/metrics/{metric}": run / "metrics" / "loss",
            "mlruns/1/r/params/lr": run / "params" / "lr"}


TEXT_ODD = (b"", b"\x00\x00", b"\xff\xfe", b"nan,nan,nan", b"-5,1.0,2.0", b"1e400,1,1",
            b"99999999999999999999999,0.5,0.5", b"9223372036854775807,1,1", b",,,,,,",
            b"\"unterminated,1,2", b"step,step,step", b"inf,inf,inf")
JSON_ODD = (b"{}", b"[]", b"null", b'{"step": NaN, "loss": 1}', b'{"step": 1e400, "loss": 1}',
            b'{"step": 99999999999999999999999, "loss": 1}', b'{"step": -3, "loss": 1}',
            b'{"step": 9223372036854775807, "loss": Infinity}', b'{"step": "7", "loss": "x"}',
            b'{"step": true, "loss": 1}', b'{"step": 1, "loss": {"a": {"b": 1}}}',
            b'{"step": 1, "": 2}', b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
            b'{"step": 1, "loss": 1' + b"9" * 5000 + b"}")
YAML_ODD = (b"a: &a [*a, *a]", b"!!python/object/apply:os.system ['echo pwned']",
            b"x: !!python/name:os.system", b"k: [" * 200, b"- - - - - -", b"\t\tbad: indent",
            b"a: 'unterminated", b"? complex\n: key", b"&x a: *x", b"%YAML 9.9\n---")
TB_DIR = FMT / "tensorboard"
EVENT = "events.out.tfevents.1.fuzz"


def _writer_seeds(fmt: str) -> list[Path]:
    """The corpus files ``make_corpus.py`` wrote (not the inputs the fuzzer kept: ``*fz-*``)."""
    return sorted(p for p in (CORPUS / fmt).iterdir() if p.is_file() and "fz-" not in p.name)


def _seeds() -> list[Seed]:
    hr = ROOT / "fixtures" / "healthy-regression"
    lt = FMT / "lightning_trainer" / "lightning_logs" / "version_0"
    hydra = FMT / "hydra_sweep" / "multirun" / "lr=0.1,seed=1"
    out = [
        Seed("native-metrics", {"run/metrics.jsonl": hr / "metrics.jsonl",
                                "run/run.json": hr / "run.json"}, "run/metrics.jsonl",
             "run", JSON_ODD),
        Seed("native-runjson", {"run/metrics.jsonl": hr / "metrics.jsonl",
                                "run/run.json": hr / "run.json"}, "run/run.json", "run", JSON_ODD),
        Seed("lightning-csv", {"v0/metrics.csv": lt / "metrics.csv",
                               "v0/hparams.yaml": lt / "hparams.yaml"}, "v0/metrics.csv", "v0",
             TEXT_ODD),
        Seed("lightning-hparams", {"v0/metrics.csv": lt / "metrics.csv",
                                   "v0/hparams.yaml": lt / "hparams.yaml"}, "v0/hparams.yaml",
             "v0", YAML_ODD),
        Seed("hf-state", {"out/trainer_state.json":
                          FMT / "hf_state" / "run" / "checkpoint-4" / "trainer_state.json"},
             "out/trainer_state.json", "out", JSON_ODD),
        Seed("mlflow-metric", _mlflow_run(), "mlruns/1/r/metrics/loss", "mlruns",
             (b"1 2 3", b"x y z", b"1795766966231 nan 0", b"1 1.0 -5", b"1 1.0 1e400",
              b"1 1.0 99999999999999999999999", b"1 1.0", b"1 inf 9223372036854775807",
              b"1 1.0 nan", b"nan 1.0 1", b"1e400 1.0 1")),
        Seed("mlflow-meta", _mlflow_run(), "mlruns/1/r/meta.yaml", "mlruns", YAML_ODD),
        Seed("mlflow-sqlite", {"db/mlflow.db": FMT / "mlflow_sqlite" / "mlflow.db"},
             "db/mlflow.db", "db/mlflow.db"),
        Seed("keras-csv", {"k/training.log": FMT / "keras_csv" / "training.log"},
             "k/training.log", "k", TEXT_ODD),
        Seed("csv-wide", {"c/history.csv": FMT / "csv_wide" / "history.csv"}, "c/history.csv",
             "c", TEXT_ODD),
        Seed("csv-tidy", {"c/runs.csv": FMT / "csv_tidy" / "runs.csv"}, "c/runs.csv", "c",
             TEXT_ODD),
        Seed("jsonl-wide", {"j/history.jsonl": FMT / "jsonl_wide" / "history.jsonl"},
             "j/history.jsonl", "j", JSON_ODD),
        Seed("jsonl-tidy", {"j/runs.jsonl": FMT / "jsonl_tidy" / "runs.jsonl"}, "j/runs.jsonl",
             "j", JSON_ODD),
        Seed("hydra-config", {"h/history.csv": hydra / "history.csv",
                              "h/.hydra/config.yaml": hydra / ".hydra" / "config.yaml",
                              "h/.hydra/overrides.yaml": hydra / ".hydra" / "overrides.yaml"},
             "h/.hydra/config.yaml", "h", YAML_ODD),
    ]
    for case in ("simple", "tensor_encodings", "new_style"):
        (src,) = sorted((TB_DIR / case).glob("events.out.tfevents.*"))
        out.append(Seed(f"tensorboard-{case}", {f"tb/{EVENT}": src}, f"tb/{EVENT}", "tb"))
    for src in _writer_seeds("tensorboard"):
        out.append(Seed(f"tensorboard-{src.stem}", {f"tb/{EVENT}": src}, f"tb/{EVENT}", "tb"))
    for src in _writer_seeds("wandb"):
        out.append(Seed(f"wandb-{src.stem}", {f"wb/{src.name}": src}, f"wb/{src.name}", "wb"))
    (tb,) = sorted((TB_DIR / "tensor_encodings").glob("events.out.tfevents.*"))
    out.append(Seed("tensorboard-records", {f"tb/{EVENT}": tb}, f"tb/{EVENT}", "tb",
                    framed="tensorboard"))
    for src in _writer_seeds("wandb"):
        out.append(Seed(f"wandb-records-{src.stem}", {f"wb/{src.name}": src}, f"wb/{src.name}",
                        "wb", framed="wandb"))
    return out


SEEDS = _seeds()


# -- mutations -----------------------------------------------------------------------------


@st.composite
def mutation(draw: st.DrawFn, odd: tuple[bytes, ...]) -> list[tuple]:
    """1-4 edits, each as data (applied to the seed's bytes by :func:`apply`)."""
    kinds = ["truncate", "flip", "insert", "repeat", "delete"] + (["odd"] if odd else [])
    ops = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        at = draw(st.floats(0, 1))
        if kind == "flip":
            ops.append((kind, at, draw(st.integers(1, 255)), draw(st.integers(1, 8))))
        elif kind == "insert":
            ops.append((kind, at, draw(st.binary(min_size=1, max_size=32))))
        elif kind in ("repeat", "delete"):
            ops.append((kind, at, draw(st.integers(1, 200)), draw(st.integers(2, 4))))
        elif kind == "odd":
            ops.append((kind, at, draw(st.sampled_from(odd))))
        else:
            ops.append((kind, at))
    return ops


def apply(data: bytes, ops: list[tuple]) -> bytes:
    for op in ops:
        kind, at = op[0], op[1]
        i = min(int(at * len(data)), max(len(data) - 1, 0))
        if kind == "truncate":
            data = data[:i]
        elif kind == "flip" and data:
            mask, count = op[2], op[3]
            b = bytearray(data)
            for k in range(count):  # a few nearby bytes: length fields are several wide
                j = (i + k * 7) % len(b)
                b[j] ^= mask
            data = bytes(b)
        elif kind == "insert":
            data = data[:i] + op[2] + data[i:]
        elif kind == "repeat":
            data = data[:i] + data[i : i + op[2]] * op[3] + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + op[2]:]
        elif kind == "odd":  # a whole line, at a line boundary
            nl = data.rfind(b"\n", 0, i) + 1
            data = data[:nl] + op[2] + b"\n" + data[nl:]
    return data


# -- running a reader safely ---------------------------------------------------------------


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the body runs longer than ``seconds``."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"reader still running after {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def bounded_memory() -> Iterator[None]:
    before = _peak_mb()
    yield
    grew = _peak_mb() - before
    assert grew < RSS_GROWTH_MB, f"peak memory grew by {grew:.0f} MB while reading"


def read_outcome(root: Path, target: Path) -> list[diagnose.Run] | ReadError:
    """``load_all(root)``: Runs, or the ReadError, checked to name ``target`` or a folder of it."""
    try:
        with time_limit(EXAMPLE_SECONDS):
            runs = diagnose.load_all(root)
    except ReadError as e:
        named = Path(e.path)
        assert named == target or named in target.parents, f"error names {named}, not {target}"
        assert "reader failed" not in e.reason, f"unexpected exception inside a reader: {e}"
        assert e.reason.strip(), "empty reason"
        return e
    for run in runs:
        check_run(run)
    return runs


def check_run(run: diagnose.Run) -> None:
    """What every Run promises, however odd its file: the tidy dtypes and usable arrays."""
    df = run.metrics
    assert str(df["step"].dtype) == "int64" and str(df["value"].dtype) == "float64"
    for name in run.metric_names:
        steps, values = run.arrays(name)
        assert len(steps) == len(values)
        assert (steps[1:] > steps[:-1]).all(), f"{name}: steps not strictly increasing"


def materialise(seed: Seed, where: Path, data: bytes | None = None) -> tuple[Path, Path]:
    for dest, src in seed.files.items():
        p = where / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, p)
    target = where / seed.target
    if data is not None:
        target.write_bytes(data)
    return where / seed.load, target


# -- the properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_every_seed_reads_cleanly(seed: Seed, tmp_path: Path) -> None:
    """Unmutated seeds load: the properties below start from readable files."""
    assert seed.available(), f"committed seed files missing for {seed.name}"
    root, target = materialise(seed, tmp_path)
    runs = read_outcome(root, target)
    assert isinstance(runs, list) and runs


def records_of(seed: Seed) -> list[bytes]:
    """The record payloads of a binary seed, walked by the reader's own framing code."""
    from diagnose.readers import _tb_frame, wandb

    src = seed.files[seed.target]
    if seed.framed == "tensorboard":
        return _tb_frame.records(src)
    return [r for _, r in wandb._records(src, src.read_bytes())[0]]


def _property(seed: Seed, examples: int) -> Callable[[], None]:
    if seed.framed:
        frame = {"tensorboard": _framing.frame_tensorboard, "wandb": _framing.frame_wandb}[
            seed.framed]
        original = _framing.join_payloads(records_of(seed))
    else:
        original = seed.files[seed.target].read_bytes()

    @settings(FUZZ, max_examples=examples)
    @given(ops=mutation(seed.odd))
    def prop(ops: list[tuple]) -> None:
        data = apply(original, ops)
        if seed.framed:
            data = frame(_framing.payloads(data))
        with tempfile.TemporaryDirectory() as d:
            root, target = materialise(seed, Path(d), data)
            read_outcome(root, target)

    return prop


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_damaged_input_gives_runs_or_a_read_error_naming_the_file(seed: Seed) -> None:
    assert seed.available(), f"committed seed files missing for {seed.name}"
    if seed.framed == "tensorboard":
        pytest.importorskip("tensorboard")
    examples = 10 if seed.name == "mlflow-sqlite" else 25
    with bounded_memory():
        _property(seed, examples)()


@pytest.mark.parametrize("seed", [s for s in SEEDS if s.odd], ids=lambda s: s.name)
def test_every_odd_line_at_the_start_middle_and_end(seed: Seed, tmp_path: Path) -> None:
    """Each odd line of the seed's format, spliced in at three places (no sampling)."""
    assert seed.available(), f"committed seed files missing for {seed.name}"
    data = seed.files[seed.target].read_bytes()
    for k, line in enumerate(seed.odd):
        for at in (0.0, 0.5, 1.0):
            where = tmp_path / f"{k}-{at}"
            root, target = materialise(seed, where, apply(data, [("odd", at, line)]))
            with bounded_memory():
                read_outcome(root, target)


RUN_JSON_ODD = [b'{"params": [1, 2]}', b'{"params": "abc"}', b'{"identity": 5}',
                b'{"num_classes": "ten"}', b'{"num_classes": 1e400}', b'{"num_classes": -3}',
                b'{"status": ["running"]}', b'{"id": {"a": 1}}', b'{"env": null}', b"[]",
                b'"just a string"', b'{"results": {"best_val_metric": "NaN"}}',
                b'{"format": "diagnose-run", "version": 99}', b"\xef\xbb\xbf{}", b"{" * 100_000,
                b'\xff\xfe{"params": {}}']


@pytest.mark.parametrize("body", RUN_JSON_ODD, ids=lambda b: repr(b[:24]))
def test_odd_run_json(body: bytes, tmp_path: Path) -> None:
    hr = ROOT / "fixtures" / "healthy-regression"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copyfile(hr / "metrics.jsonl", run_dir / "metrics.jsonl")
    (run_dir / "run.json").write_bytes(body)
    read_outcome(run_dir, run_dir / "run.json")


SQL_ODD = ["UPDATE metrics SET step = 'abc' WHERE rowid = 1",
           "UPDATE metrics SET value = 'abc' WHERE rowid = 2",
           "UPDATE metrics SET value = x'00ff' WHERE rowid = 3",
           "UPDATE metrics SET timestamp = 'x' WHERE rowid = 4",
           "UPDATE metrics SET step = 1e300 WHERE rowid = 5",
           "UPDATE metrics SET step = 9223372036854775807 WHERE rowid = 6",
           "UPDATE metrics SET step = -5 WHERE rowid = 7",
           "UPDATE metrics SET key = '' WHERE rowid = 8",
           "UPDATE metrics SET is_nan = 'x' WHERE rowid = 9",
           "UPDATE runs SET start_time = 'x', end_time = x'00'",
           "UPDATE runs SET status = 12, lifecycle_stage = NULL",
           "UPDATE params SET value = x'ff'",
           "DROP TABLE experiments",
           "DROP TABLE params",
           "DROP TABLE metrics",
           "DELETE FROM runs"]


@pytest.mark.parametrize("sql", SQL_ODD)
def test_odd_values_in_an_mlflow_database(sql: str, tmp_path: Path) -> None:
    """SQLite does not enforce column types: a damaged or hand-edited store holds anything.
    Rows of the wrong type are skipped and reported; the rest of the store still loads."""
    import sqlite3

    db = tmp_path / "mlflow.db"
    shutil.copyfile(FMT / "mlflow_sqlite" / "mlflow.db", db)
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA ignore_check_constraints = ON")
        con.execute(sql)
    con.close()
    out = read_outcome(db, db)
    if "metrics SET" in sql and any(x in sql for x in ("step = 'abc'", "value = 'abc'", "value = x'", "timestamp = 'x'",
                              "step = 1e300")):
        assert isinstance(out, list)
        assert any("rowid" in w for r in out for w in r.warnings)


WANDB_JSON = st.sampled_from(["1", "-5", "0.25", "NaN", "Infinity", "-Infinity", "1e400", "3.7",
                              "99999999999999999999999", "null", '"text"', "[1, 2]", "{}", "",
                              "true", "[" * 3000 + "]" * 3000])
WANDB_KEYS = st.sampled_from(["loss", "", "_step", "_timestamp", "_runtime", "a/b", "ü", "x" * 300])


@settings(FUZZ, max_examples=60)
@given(rows=st.lists(st.tuples(st.lists(st.tuples(WANDB_KEYS, WANDB_JSON), max_size=5),
                               st.one_of(st.none(), st.integers(-(2**63), 2**64 - 1))),
                     max_size=12),
       exited=st.booleans())
def test_wandb_odd_history_records(rows: list, exited: bool) -> None:
    """History rows with odd keys, odd JSON values and odd steps, framed like W&B's writer
    frames them: a Run whose plain numeric values are all there, or a ReadError."""
    records = [_framing.wandb_history(items, step) for items, step in rows]
    records[len(records) // 2 : len(records) // 2] = [b""]  # a zero-length record
    if exited:
        records.append(_framing.wandb_exit())
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "run-odd.wandb"
        path.write_bytes(_framing.frame_wandb(records))
        out = read_outcome(path, path)
    assert isinstance(out, list) and out[0].in_progress is not exited


@pytest.mark.parametrize("step", ["Infinity", "-Infinity", "NaN", "1e30", "-1e400"])
def test_wandb_row_whose_step_is_no_integer_is_skipped_and_said(step: str, tmp_path: Path):
    path = tmp_path / "run-x.wandb"
    path.write_bytes(_framing.frame_wandb([
        _framing.wandb_history([("loss", "2.0")], 0),
        _framing.wandb_history([("_step", step), ("loss", "1.0")]),
        _framing.wandb_history([("loss", "0.5")], 2),
        _framing.wandb_exit()]))
    (run,) = read_outcome(path, path)
    assert run.arrays("train/loss")[0].tolist() == [0, 2]
    assert any("whose step is not a 64-bit integer skipped (first: byte" in w
               for w in run.warnings)


def test_wandb_config_value_nested_too_deep_is_kept_as_text(tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    path = tmp_path / "run-x.wandb"
    path.write_bytes(_framing.frame_wandb([
        _framing.wandb_config([("lr", "0.1"), ("deep", deep)]),
        _framing.wandb_history([("loss", "1.0")], 0), _framing.wandb_exit()]))
    (run,) = read_outcome(path, path)
    assert run.params["lr"] == 0.1 and run.params["deep"] == deep


def test_the_wandb_framing_helper_writes_what_wandb_writes() -> None:
    """The framing used above reproduces the real W&B logs of the corpus byte for byte."""
    from diagnose.readers import wandb

    for src in _writer_seeds("wandb"):
        data = src.read_bytes()
        assert _framing.frame_wandb([r for _, r in wandb._records(src, data)[0]]) == data


# -- odd but valid content, written by the real writers -----------------------------------------

STEPS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**63 - 1, -(2**63)]))
TAGS = st.sampled_from(["", "loss", "a/b", "ü ü", " ", "x" * 300, "val/acc"])


@settings(FUZZ, max_examples=30)
@given(events=st.lists(st.tuples(STEPS, TAGS, st.floats(width=32)), max_size=30),
       empties=st.integers(0, 3))
@example(events=[(1, "", 0.0), (-(2**63), "", 0.0)], empties=0)  # a step difference wraps in int64
def test_tensorboard_odd_events_come_back_value_for_value(events: list, empties: int) -> None:
    """Empty tags, extreme/negative/duplicate steps, NaN, zero-length records: all kept exactly."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / EVENT
        with open(path, "wb") as f:
            rw = RecordWriter(f)
            rw.write(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2")
                     .SerializeToString())
            for _ in range(empties):
                rw.write(b"")  # a zero-length record
            for k, (step, tag, v) in enumerate(events):
                value = summary_pb2.Summary.Value(tag=tag, simple_value=v)
                rw.write(event_pb2.Event(step=step, wall_time=2.0 + k, summary=summary_pb2.Summary(
                    value=[value])).SerializeToString())
        (run,) = read_outcome(path, path)
    want: dict[str, dict[int, float]] = {}
    for step, tag, v in events:
        want.setdefault(tag, {})[step] = v  # the last write of a step wins
    for tag in want:  # ... unless every write of a tag is at one step (``add_scalar`` with no
        # step): then the order of the writes is its axis
        writes = [(step, v) for step, t, v in events if t == tag]
        if len(writes) > 1 and len({step for step, _ in writes}) == 1:
            want[tag] = {i: v for i, (_, v) in enumerate(writes)}
    assert_series(run, want)


def assert_series(run: diagnose.Run, want: dict[str, dict[int, float]]) -> None:
    """``run`` holds exactly ``want`` (raw name -> step -> value), NaN matching NaN."""
    got = {}
    for name in run.metric_names:
        raw = next((r for r, c in run.name_map.items() if c == name), name)
        steps, values = run.arrays(name)
        got[raw] = dict(zip(steps.tolist(), values.tolist()))
    assert got.keys() == want.keys()
    for raw, series in want.items():
        assert got[raw].keys() == series.keys()
        for step, v in series.items():
            assert got[raw][step] == v or (math.isnan(v) and math.isnan(got[raw][step]))


NATIVE_STEPS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(2**63, 2**70),
                         st.sampled_from([0, -1, 2**63 - 1]))


@settings(FUZZ, max_examples=40)
@given(records=st.lists(st.tuples(NATIVE_STEPS, st.floats(),
                                  st.sampled_from(["loss", "a b", "ü", ""])), max_size=40))
def test_native_odd_records_come_back_value_for_value(records: list) -> None:
    """Lines as the Recorder formats them; a step outside int64 is skipped, with a warning."""
    from diagnose.readers import native

    with tempfile.TemporaryDirectory() as d:
        run_dir = Path(d) / "run"
        run_dir.mkdir()
        text = "".join(native.dumps_record(step, {name: v}) for step, v, name in records)
        (run_dir / "metrics.jsonl").write_text(text, encoding="utf-8")
        (run,) = read_outcome(run_dir, run_dir / "metrics.jsonl")
    want: dict[str, dict[int, float]] = {}
    skipped = 0
    for step, v, name in records:
        if -(2**63) <= step < 2**63:
            want.setdefault(name, {})[step] = v
        else:
            skipped += 1
    if skipped:
        assert any("metrics.jsonl" in w and "64-bit" in w for w in run.warnings)
    assert_series(run, want)


# -- enormous length prefixes must not allocate what they claim ---------------------------------


def _first_record_len_patched(data: bytes, length: int, crc: Callable[[bytes], int]) -> bytes:
    import struct

    head = struct.pack("<Q", length)
    return head + struct.pack("<I", crc(head)) + data[12:]


@pytest.mark.parametrize("length", [2**31, 2**40, 2**64 - 1])
def test_tensorboard_enormous_length_prefix_is_an_error_not_an_allocation(tmp_path, length):
    """A length with a *valid* CRC claiming terabytes: a torn tail or an error, found cheaply."""
    pytest.importorskip("tensorboard")
    import tracemalloc

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    (src,) = sorted((TB_DIR / "simple").glob("events.out.tfevents.*"))
    path = tmp_path / EVENT
    data = src.read_bytes()
    path.write_bytes(_first_record_len_patched(data, length, masked_crc32c))
    tracemalloc.start()
    try:
        out = read_outcome(path, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * len(data) + (8 << 20), f"peak {peak} bytes for a {len(data)}-byte file"
    if isinstance(out, list):  # believed as a torn tail: nothing after it is read
        assert out[0].in_progress


def test_wandb_largest_length_field_is_bounded(tmp_path):
    """W&B chunks carry a u16 length: the largest one is a checksum or header error, cheaply."""
    import struct
    import zlib

    src = CORPUS / "wandb" / "run-basic.wandb"
    data = bytearray(src.read_bytes())
    struct.pack_into("<IHB", data, 7, zlib.crc32(b"\x01"), 0xFFFF, 1)
    path = tmp_path / "run-x.wandb"
    path.write_bytes(bytes(data))
    out = read_outcome(path, path)
    assert isinstance(out, ReadError) and out.where == "byte 7"


# -- the atheris corpus replays cleanly --------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p for p in CORPUS.rglob("*") if p.is_file()),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fuzz_corpus_replays(path: Path, tmp_path: Path) -> None:
    """Every seed and every input the coverage-guided fuzzer kept (crash reproducers too)."""
    name = EVENT if path.parent.name == "tensorboard" else "run-corpus.wandb"
    target = tmp_path / name
    shutil.copyfile(path, target)
    read_outcome(target, target)
