"""The Recorder: round-trip exactness, no device sync in log(), watching, run.json capture."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diagnose
from diagnose.record import Recorder

torch = pytest.importorskip("torch")


def bits(x: float) -> int:
    """The float's bit pattern (NaNs all compare as one pattern)."""
    return -1 if math.isnan(x) else struct.unpack("<q", struct.pack("<d", x))[0]


def lines(run_dir: Path) -> list[dict]:
    return [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]


# -- round trip --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30))
def test_round_trip_is_bit_exact_including_nan_and_inf(tmp_path_factory, values):
    run_dir = tmp_path_factory.mktemp("rt") / "run"
    with Recorder(run_dir, flush_every=7) as rec:
        for step, v in enumerate(values):
            rec.log(step, train_loss=v)
    steps, got = diagnose.load(run_dir).arrays("train/loss")
    assert steps.tolist() == list(range(len(values)))
    assert [bits(v) for v in got.tolist()] == [bits(v) for v in values]


def test_round_trip_tensors_of_every_float_dtype_and_numbers(tmp_path):
    torch.manual_seed(0)
    logged: dict[str, list[float]] = {}
    with Recorder(tmp_path / "run", flush_every=16) as rec:
        for step in range(50):
            vals = {
                "f32": torch.randn(()),
                "f64": torch.randn((), dtype=torch.float64) * 1e300,
                "bf16": torch.randn(()).to(torch.bfloat16),
                "f16": torch.randn(()).to(torch.float16),
                "count": torch.randint(0, 1000, ()),
                "py": step / 7,
                "np": np.float32(step) / np.float32(3),
            }
            if step == 10:
                vals["f32"] = torch.tensor(float("nan"))
                vals["f64"] = torch.tensor(float("-inf"), dtype=torch.float64)
            rec.log(step, vals)
            for k, v in vals.items():
                want = v.item() if isinstance(v, torch.Tensor) else float(v)
                logged.setdefault(k, []).append(want)
    run = diagnose.load(tmp_path / "run")
    for name, want in logged.items():
        _, got = run.arrays(name)
        assert [bits(v) for v in got.tolist()] == [bits(v) for v in want], name


def _value(kind: str, x: float):
    """(value to log, float the log must hold or None when the value is dropped)."""
    if kind == "float":
        return x, x
    if kind == "int":
        return int(x * 1000), float(int(x * 1000))
    if kind == "huge-int":
        return 10**400, math.inf
    if kind == "f32":
        t = torch.tensor(x, dtype=torch.float32)
        return t, t.item()
    if kind == "grad":
        t = torch.tensor(x, dtype=torch.float32, requires_grad=True) * 1.0
        return t, t.item()
    if kind == "int-tensor":
        return torch.tensor(int(x)), float(int(x))
    if kind == "np":
        return np.float32(x), float(np.float32(x))
    return None, None  # "none": a None the user passed is not a number


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.lists(st.tuples(
    st.sampled_from(["a", "b", "val_loss", "val_acc", "x%d"]),
    st.sampled_from(["float", "int", "huge-int", "f32", "grad", "int-tensor", "np", "none"]),
    st.floats(-1e6, 1e6) | st.sampled_from([math.nan, math.inf, -math.inf])), max_size=4),
    min_size=1, max_size=25), flush_every=st.integers(1, 9))
def test_mixed_records_come_back_as_logged(tmp_path_factory, records, flush_every):
    """Floats, ints, tensors with and without grad, NaN/inf, None in one record: the
    batched writer and the value-by-value one (NaN, huge ints) must both keep each value."""
    run_dir = tmp_path_factory.mktemp("mixed") / "run"
    want: dict[str, dict[int, float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with Recorder(run_dir, flush_every=flush_every) as rec:
            for step, fields in enumerate(records):
                values, expect = {}, {}
                for name, kind, x in fields:
                    if kind in ("int", "int-tensor") and not math.isfinite(x):
                        kind = "float"
                    values[name], expect[name] = _value(kind, x)
                rec.log(step, values)
                for name, v in expect.items():
                    if v is not None:
                        want.setdefault(diagnose.run.canonical_name(name), {})[step] = v
    run = diagnose.load(run_dir)
    assert sorted(run.metric_names) == sorted(want)
    for name, by_step in want.items():
        steps, got = run.arrays(name)
        assert steps.tolist() == sorted(by_step)
        assert [bits(v) for v in got.tolist()] == [bits(by_step[s]) for s in sorted(by_step)]
    finite_val = [v for v in want.get("val/loss", {}).values() if math.isfinite(v)]
    if finite_val:
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["results"]["best_val_metric"] == min(finite_val)


class _Queued(torch.Tensor):
    """A tensor subclass: it takes log()'s general path, which queues tensors for the flush."""


@pytest.mark.parametrize("queued", [False, True])
def test_both_writers_produce_the_same_lines(tmp_path, queued):
    """The one-format-call writer and the value-by-value writer agree line for line,
    with CPU tensors read in log() and with tensors queued for the flush (as on a GPU)."""
    rec = Recorder(tmp_path / "run", flush_every=10**6, flush_secs=1e9)
    wrap = (lambda t: t.as_subclass(_Queued)) if queued else (lambda t: t)
    w = torch.tensor(2.0, requires_grad=True)
    for step in range(40):
        values = {"train_loss": wrap(w * (1.0 / (step + 1))), "lr": 0.1, "count": step}
        if step % 7 == 0:
            values.update(val_loss=wrap(torch.tensor(step / 3)), val_acc=0.5 + step / 100)
        rec.log(step, values)
    buf = rec._buf
    steps, walls, pending = buf[0::3], buf[1::3], buf[2::3]
    assert (len(rec._tensors) > 2) is queued  # the first record's tensors are always queued
    converted = rec._convert() if rec._tensors else None
    fast = rec._format_fast(steps, walls, [dict(v) for v in pending],
                            None if converted is None else list(converted))
    each = rec._format_each(steps, walls, pending, converted)
    rec._buf = []
    rec.close()
    assert fast is not None
    a = [json.loads(s) for s in fast.splitlines()]
    b = [json.loads(s) for s in each.splitlines()]
    assert len(a) == len(b) == 40
    for x, y in zip(a, b):
        assert abs(x.pop("wall_time") - y.pop("wall_time")) <= 0.0011
        assert x == y and list(x) == list(y)


@pytest.mark.parametrize("val_names", [2, 3])
def test_a_block_mostly_of_one_shape_keeps_every_record_in_its_place(tmp_path, val_names):
    """Most records hold the same names: they are spelled as one block, the others (first,
    consecutive, last) by templates and put back between them, as the value-by-value
    writer writes them. The block is found by the number of names (then the same names in
    another order are the same shape), or by the names in order when other records have
    as many names."""
    rec = Recorder(tmp_path / "run", flush_every=10**6, flush_secs=1e9)
    odd = (0, 1, 17, 18, 19, 40, 59)
    extra = {"val_f1": 0.5} if val_names == 3 else {}
    for step in range(60):
        if step in odd:
            rec.log(step, val_loss=1.0 / (step + 2), val_acc=step / 100, **extra)
        elif step == 30:
            rec.log(step, {"train_loss": 0.5, "lr": 0.25})
        else:
            rec.log(step, lr=0.1, train_loss=1.0 / (step + 1))
    buf = rec._buf
    steps, walls, pending = buf[0::3], buf[1::3], buf[2::3]
    by_templates = []
    templates = rec._format_templates

    def spy(steps, *args):
        by_templates.append(list(steps))
        return templates(steps, *args)

    rec._format_templates = spy
    fast = rec._format_fast(steps, walls, pending, None)
    each = rec._format_each(steps, walls, pending, None)
    rec._buf = []
    rec.close()
    # the other records went through the block writer
    assert by_templates == [list(odd) if val_names == 3 else sorted([*odd, 30])]
    a = [json.loads(s) for s in fast.splitlines()]
    b = [json.loads(s) for s in each.splitlines()]
    assert [x["step"] for x in a] == list(range(60))
    assert a == b
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["results"]["best_val_metric"] == min(1.0 / (s + 2) for s in odd)


def test_names_are_canonicalised_in_the_file(tmp_path):
    with Recorder(tmp_path / "run") as rec:
        rec.log(0, train_loss=1.0, val_acc=0.5)
        rec.log(1, {"val_loss": 2.0, "my metric": 3.0})
    recs = lines(tmp_path / "run")
    assert set(recs[0]) == {"step", "wall_time", "train/loss", "val/acc"}
    assert set(recs[1]) == {"step", "wall_time", "val/loss", "my metric"}
    assert diagnose.load(tmp_path / "run").name_map == {}


def test_flush_every_n_records_and_every_t_seconds(tmp_path):
    rec = Recorder(tmp_path / "a", flush_every=10, flush_secs=1e9)
    for step in range(25):
        rec.log(step, train_loss=float(step))
    assert len(lines(tmp_path / "a")) == 20 and rec.records_flushed == 20
    rec.close()
    assert len(lines(tmp_path / "a")) == 25

    rec = Recorder(tmp_path / "b", flush_every=10**6, flush_secs=0.0)
    rec.log(0, train_loss=1.0)
    assert len(lines(tmp_path / "b")) == 1
    rec.close()


def test_existing_log_is_refused_unless_resume_or_overwrite(tmp_path):
    with Recorder(tmp_path / "run", params={"lr": 0.1, "epochs": 1}) as rec:
        rec.log(0, train_loss=1.0)
    with pytest.raises(FileExistsError, match="resume=True"):
        Recorder(tmp_path / "run")
    with Recorder(tmp_path / "run", resume=True, params={"epochs": 2}) as rec:
        rec.log(1, train_loss=0.5)
    resumed = diagnose.load(tmp_path / "run")
    assert resumed.arrays("train/loss")[1].tolist() == [1.0, 0.5]
    assert resumed.params == {"lr": 0.1, "epochs": 2}  # the earlier params are kept
    with Recorder(tmp_path / "run", overwrite=True) as rec:
        rec.log(0, train_loss=9.0)
    assert diagnose.load(tmp_path / "run").arrays("train/loss")[1].tolist() == [9.0]


# -- no synchronisation in log() -----------------------------------------------------------

_CONVERSIONS = {"item", "__float__", "__int__", "__index__", "__bool__", "cpu", "tolist",
                "numpy", "to", "__array__", "__format__", "__repr__"}


class CountingTensor(torch.Tensor):
    """A tensor that counts every call that would copy its value to the host."""

    calls: ClassVar[list[str]] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name in _CONVERSIONS:
            cls.calls.append(name)
        return super().__torch_function__(func, types, args, kwargs or {})


def counting(x: float) -> torch.Tensor:
    return torch.tensor(x).as_subclass(CountingTensor)


def test_log_never_converts_a_tensor_and_flush_converts_in_one_batch(tmp_path):
    CountingTensor.calls.clear()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=torch.tensor(0.1), momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    rec = Recorder(tmp_path / "run", flush_every=10**6, flush_secs=1e9)
    rec.watch(opt).watch(model)
    sent = []
    x = torch.randn(8, 3)
    for step in range(20):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        v = counting(step * 0.25)
        acc = counting(0.5).requires_grad_()
        rec.log(step, train_loss=v, val_loss=counting(-step * 1.0), acc=acc)
        sent.append(step * 0.25)
    assert CountingTensor.calls == [], "log() converted a tensor to a host value"
    rec.flush()
    # One batched transfer for every pending tensor, none per value.
    assert CountingTensor.calls.count("tolist") == 1
    assert not {"item", "__float__", "cpu"} & set(CountingTensor.calls)
    rec.close()
    assert diagnose.load(tmp_path / "run").arrays("train/loss")[1].tolist() == sent


# -- watching ------------------------------------------------------------------------------


def test_watch_optimizer_records_the_schedule_and_changes_of_momentum(tmp_path):
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
    seen_lr = []
    with Recorder(tmp_path / "run", params={"batch_size": 8}) as rec:
        rec.watch(opt)
        for step in range(30):
            seen_lr.append(opt.param_groups[0]["lr"])
            rec.log(step, train_loss=1.0 / (step + 1))
            rec.log(step, val_loss=2.0)  # same step: lr not recorded twice
            opt.step()
            sched.step()
            if step == 20:
                opt.param_groups[0]["momentum"] = 0.5
    run = diagnose.load(tmp_path / "run")
    steps, lr = run.arrays("lr")
    assert steps.tolist() == list(range(30)) and lr.tolist() == seen_lr
    assert run.arrays("momentum")[0].tolist() == [0, 21]
    assert run.arrays("momentum")[1].tolist() == [0.9, 0.5]
    assert run.params == {"batch_size": 8, "optimizer": "SGD", "lr": 0.5,
                          "weight_decay": 1e-4, "momentum": 0.9}


def test_watch_model_records_the_global_grad_norm_after_backward(tmp_path):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    want = []
    with Recorder(tmp_path / "run") as rec:
        rec.watch(model)
        for step in range(10):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            want.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())
            opt.step()
            rec.log(step, train_loss=loss.detach())
        rec.log_grad_norm(model, 10)
    steps, got = diagnose.load(tmp_path / "run").arrays("grad_norm")
    assert steps.tolist() == list(range(11))
    np.testing.assert_allclose(got, want + [want[-1]], rtol=1e-6)


# -- run.json ------------------------------------------------------------------------------


def test_run_json_captures_identity_environment_and_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git work tree
    torch.manual_seed(1234)
    with Recorder(tmp_path / "run", params={"lr": 0.1}, identity={"data_version": "v1"},
                  num_classes=3) as rec:
        for step in range(5):
            val_loss = [3.0, 2.0, 2.5, 2.7, 2.9][step]
            rec.log(step, train_loss=torch.tensor(1.0 - step / 10), val_loss=val_loss)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["format"] == "diagnose-run" and meta["status"] == "finished"
    assert meta["identity"] == {"data_version": "v1", "seed": 1234}
    assert meta["env"]["torch"] == torch.__version__ and meta["env"]["device"] == "cpu"
    assert {"hostname", "start_time", "end_time", "peak_rss_mb"} <= set(meta["env"])
    assert meta["results"]["best_val_metric"] == 2.0 and meta["results"]["best_step"] == 1
    assert meta["results"]["train_time"] >= 0
    run = diagnose.load(tmp_path / "run")
    assert run.num_classes == 3 and not run.in_progress


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_code_version_is_the_commit_with_a_dirty_flag(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo)
    Recorder(tmp_path / "clean").close()
    (repo / "train.py").write_text("print(2)\n")
    Recorder(tmp_path / "dirty").close()
    assert diagnose.load(tmp_path / "clean").identity["code_version"] == sha
    assert diagnose.load(tmp_path / "dirty").identity["code_version"] == sha + "-dirty"


def test_an_exception_in_the_with_block_marks_the_run_failed_and_keeps_its_records(tmp_path):
    with pytest.raises(RuntimeError):
        with Recorder(tmp_path / "run") as rec:
            rec.log(0, train_loss=1.0)
            raise RuntimeError("out of memory")
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["status"] == "failed" and "out of memory" in meta["error"]
    assert diagnose.load(tmp_path / "run").arrays("train/loss")[1].tolist() == [1.0]


# -- bad values never stop training ----------------------------------------------------------


def test_bad_values_are_dropped_with_one_warning_per_kind_and_raise_when_strict(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Recorder(tmp_path / "run") as rec:
            for step in range(3):
                rec.log(step, train_loss=1.0, note="text", vec=torch.ones(3))
    assert len(caught) == 2 and all(str(tmp_path / "run") in str(w.message) for w in caught)
    assert diagnose.load(tmp_path / "run").metric_names == ["train/loss"]
    with Recorder(tmp_path / "strict", strict=True) as rec:
        with pytest.raises(ValueError, match="not a number"):
            rec.log(0, note="text")


def test_other_ranks_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with Recorder(tmp_path / "run") as rec:
        rec.log(0, train_loss=1.0)
        assert rec.should_stop is False
    assert not (tmp_path / "run").exists()
    with Recorder(tmp_path / "all", rank_zero_only=False) as rec:
        rec.log(0, train_loss=1.0)
    assert diagnose.load(tmp_path / "all").arrays("train/loss")[1].tolist() == [1.0]


def test_importing_the_recorder_does_not_import_torch():
    code = "import sys, diagnose.record, diagnose; diagnose.Recorder; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(importlib.util.find_spec("orjson") is None, reason="orjson (the fast extra) absent")
def test_orjson_and_repr_spell_the_same_numbers(tmp_path, monkeypatch):
    """The optional orjson path writes numbers every JSON reader reads back as repr's."""
    from diagnose.record import _format

    rng = np.random.default_rng(5)
    vals = [*(rng.standard_normal(500) * 10.0 ** rng.integers(-30, 30, 500)).tolist(),
            0.0, -0.0, 1e-5, 1e16, 5e-324, 1.7976931348623157e308, 3, -7, 2**62]
    fast = _format.value_blob(vals).split(b",")
    pure = _format.value_blob(vals, fast=False).split(b",")
    assert pure == [repr(v).encode() for v in vals]
    assert [json.loads(t) for t in fast] == [json.loads(t) for t in pure]
    assert [type(json.loads(t)) for t in fast] == [type(v) for v in vals]
    assert _format.value_blob([2**70]) is None  # beyond orjson's ints: the slow path writes it
    assert _format.value_blob([10**400], fast=False) is None  # beyond floats, without orjson
    runs = {}
    for name, orjson_fn in (("fast", _format._ORJSON), ("pure", False)):
        monkeypatch.setattr(_format, "_ORJSON", orjson_fn)
        with Recorder(tmp_path / name) as rec:
            for step, v in enumerate(vals):
                rec.log(step, train_loss=v, val_acc=torch.tensor(v, dtype=torch.float64))
        runs[name] = diagnose.load(tmp_path / name)
    for metric in ("train/loss", "val/acc"):
        (s1, v1), (s2, v2) = runs["fast"].arrays(metric), runs["pure"].arrays(metric)
        assert s1.tolist() == s2.tolist() == list(range(len(vals)))
        assert v1.tobytes() == v2.tobytes()


def test_wall_texts_match_the_value_by_value_writer(tmp_path):
    from diagnose.record._format import wall_texts

    rng = np.random.default_rng(2)
    walls = sorted((1.7e9 + rng.random(300) * 10).tolist()) + [1.7e9 + 0.0005, 1.7e9 + 0.0015]
    rec = Recorder(tmp_path / "run", flush_every=10**6, flush_secs=1e9)
    each = rec._format_each(list(range(len(walls))), walls, [{} for _ in walls], None)
    rec.close()
    assert [json.loads(line)["wall_time"] for line in each.splitlines()] == [
        float(t) for t in wall_texts(walls)]


def test_a_cpu_tensor_is_recorded_as_it_was_when_logged(tmp_path):
    """CPU tensors are read in log(): a running total updated in place keeps each value."""
    acc = torch.zeros(())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "modified in place" warning either
        with Recorder(tmp_path / "run") as rec:
            for step in range(5):
                acc += 1.0
                rec.log(step, train_loss=acc, count=torch.tensor(step), flag=torch.tensor(True))
    run = diagnose.load(tmp_path / "run")
    assert run.arrays("train/loss")[1].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert run.arrays("count")[1].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert run.arrays("flag")[1].tolist() == [1.0] * 5
