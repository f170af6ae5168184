"""TensorBoard reader: fixtures written by SummaryWriter, real logs, corruption, CRC32C."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose._errors import ReadError
from diagnose.readers import _crc32c, _protobuf as pb, _tb_decode, _tb_frame, _tb_scalars
from diagnose.readers import tensorboard as tb
from _real_logs import REAL_LOGS

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures" / "formats" / "tensorboard"
REAL = REAL_LOGS
CASES = sorted(p.name for p in FIX.iterdir() if (p / "expected.json").is_file()) if FIX.is_dir() \
    else []


def real(rel: str) -> Path:
    p = REAL / rel
    if not p.exists():
        pytest.skip(f"real logs not available: {p}")
    return p


def event_file(d: Path) -> Path:
    (f,) = sorted(d.glob("events.out.tfevents.*"))
    return f


def records(data: bytes) -> list[tuple[int, int]]:
    """(offset, total size) of each complete TFRecord, walked independently of the reader."""
    out, off = [], 0
    while off + 12 <= len(data):
        (n,) = struct.unpack_from("<Q", data, off)
        if off + n + 16 > len(data):
            break
        out.append((off, n + 16))
        off += n + 16
    return out


# -- values equal what the writer was given --------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_fixture_values_equal_writer_values(case: str) -> None:
    d = FIX / case
    expected = json.loads((d / "expected.json").read_text())
    run = diagnose.load(d)
    assert run.format == "tensorboard"
    assert run.path == str(d)
    assert run.metric_names == sorted(expected["metrics"])
    assert run.in_progress is expected["in_progress"]
    for metric, e in expected["metrics"].items():
        steps, values = run.arrays(metric)
        order = np.argsort(e["steps"], kind="stable")
        want = np.asarray(e["values"], dtype=np.float64).astype(e["precision"]).astype(np.float64)
        assert steps.tolist() == np.asarray(e["steps"])[order].tolist(), metric
        # exact: float64 sources round-trip exactly, float32/16 as the writer stored them
        assert np.array_equal(values, want[order], equal_nan=True), metric


def test_double_precision_is_bit_exact_float64() -> None:
    expected = json.loads((FIX / "double" / "expected.json").read_text())["metrics"]
    run = diagnose.load(FIX / "double")
    _, values = run.arrays("train/loss")
    want = np.asarray(expected["train/loss"]["values"], dtype=np.float64)
    assert values.tobytes() == want.tobytes()
    assert not np.array_equal(want.astype(np.float32).astype(np.float64), want)  # truly f64


def test_restart_later_wall_time_wins_and_is_reported() -> None:
    run = diagnose.load(FIX / "restart")
    assert len(list((FIX / "restart").glob("events.out.tfevents.*"))) == 2
    assert any("repeated step" in w for w in run.warnings)


def test_renames_recorded_and_add_scalars_folders_named() -> None:
    run = diagnose.load(FIX / "add_scalars")
    assert run.name_map == {"loss/train": "train/loss", "loss/val": "val/loss"}
    keras = diagnose.load(FIX / "keras_layout")
    assert keras.name_map["validation/epoch_loss"] == "val/loss"
    assert keras.name_map["train/epoch_accuracy"] == "train/acc"


def test_header_only_is_an_empty_run_not_an_error() -> None:
    run = diagnose.load(FIX / "header_only")
    assert len(run.metrics) == 0 and run.n_steps == 0
    assert not run.in_progress


def test_single_event_file_in_split_folder_takes_folder_as_split() -> None:
    f = event_file(FIX / "keras_layout" / "validation")
    run = diagnose.load(f)
    assert run.metric_names == ["val/acc", "val/loss"]


# -- real logs written by other people's projects ------------------------------------------


def _event_accumulator_counts(d: Path) -> dict[str, int]:
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea_mod.EventAccumulator(str(d), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: len(acc.Scalars(t)) for t in acc.Tags()["scalars"]}


def test_real_lightning_dlgn_counts_and_params() -> None:
    d = real("lightning-tb-dlgn/lightning_logs/version_53")
    run = diagnose.load(d)
    steps = {m: len(run.arrays(m)[0]) for m in run.metric_names}
    # README: 2,190 train_loss steps, 12 evals of val_loss / val_acc
    assert steps["train/loss"] == 2190
    assert steps["val/loss"] == 12 and steps["val/acc"] == 12
    assert "hp_metric" not in run.metric_names  # Lightning's -1 placeholder is not a metric
    assert "epoch" not in run.metric_names and "epoch" in run.metrics.columns
    epochs = run.metrics.loc[run.metrics["metric"] == "val/loss", "epoch"].to_numpy()
    assert np.array_equal(epochs, np.arange(12.0))  # one validation per epoch
    assert run.params["lr"] == 0.001 and run.params["num_layers"] == 3


def test_real_lightning_values_equal_event_accumulator() -> None:
    d = real("lightning-tb-lstm/lightning_logs/version_0")
    run = diagnose.load(d)
    assert len(run.arrays("train/loss")[0]) == 7691
    assert len(run.arrays("val/loss")[0]) == 29
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea_mod.EventAccumulator(str(d), size_guidance={"scalars": 0})
    acc.Reload()
    for tag, metric in (("train_loss", "train/loss"), ("val_loss", "val/loss")):
        ev = acc.Scalars(tag)
        steps, values = run.arrays(metric)
        assert steps.tolist() == [e.step for e in ev]
        assert values.tolist() == [e.value for e in ev]


def test_real_header_only_file() -> None:
    d = real("lightning-tb-dlgn/lightning_logs/version_2")
    assert event_file(d).stat().st_size == 88
    run = diagnose.load(d)
    assert len(run.metrics) == 0


def test_real_keras_folder_split_and_profile_empty_skipped() -> None:
    d = real("mlflow-keras-swahili/mlruns/1/ed05f9cd599442fe9a0c9222184710b8/artifacts/"
             "tensorboard_logs")
    assert list((d / "train").glob("*.profile-empty"))
    run = diagnose.load(d)
    assert run.metric_names == ["train/loss"]
    assert run.name_map == {"train/epoch_loss": "train/loss"}
    counts = _event_accumulator_counts(d / "train")
    assert len(run.arrays("train/loss")[0]) == counts["epoch_loss"]


def test_hparams_plugin_gives_params_without_hparams_yaml(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    d = real("lightning-tb-lstm/lightning_logs/version_0")
    src = event_file(d)
    (tmp_path / src.name).write_bytes(src.read_bytes())
    run = diagnose.load(tmp_path)
    assert run.params == yaml.safe_load((d / "hparams.yaml").read_text())


def test_unrelated_subfolder_is_a_run_of_its_own(tmp_path: Path) -> None:
    for sub in ("", "other_experiment"):
        src = event_file(FIX / ("simple" if not sub else "new_style"))
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / src.name).write_bytes(src.read_bytes())
    runs = {r.id: r for r in diagnose.load_all(tmp_path)}
    assert sorted(runs) == sorted([tmp_path.name, "other_experiment"])
    assert runs["other_experiment"].metric_names == ["train/loss", "val/loss"]
    assert runs[tmp_path.name].metric_names == ["train/acc", "train/loss"]


def test_lightning_logs_parent_is_walked_not_claimed() -> None:
    parent = real("lightning-tb-dlgn/lightning_logs")
    assert not tb.detect(parent)
    runs = diagnose.load_all(parent)
    assert sorted(r.id for r in runs) == ["version_2", "version_53"]


# -- corruption ------------------------------------------------------------------------------


def _framing(monkeypatch, how: str) -> None:
    """Read small files as large ones are read: framed in bulk after two walked records,
    every group of records in the common layout decoded on the fast road, and (windows)
    in windows of a few records, so that records cross window ends."""
    if how == "walk":
        return
    monkeypatch.setattr(_tb_frame, "_WALK_FIRST", 2)
    monkeypatch.setattr(_tb_scalars, "_MIN_GROUP", 1)
    if how == "windows":
        monkeypatch.setattr(_tb_frame, "WINDOW", 150)
        monkeypatch.setattr(_tb_frame, "_LOOKAHEAD", 16)


@pytest.fixture(params=["walk", "bulk", "windows"])
def small_file(request, tmp_path: Path, monkeypatch) -> tuple[Path, bytes, str]:
    """A small event file, framed record by record, in bulk (as for a million scalars),
    or in small windows."""
    _framing(monkeypatch, request.param)
    src = event_file(FIX / "keras_layout" / "train")
    return tmp_path / src.name, src.read_bytes(), request.param


def _all_cases() -> list[tuple[Path, object]]:
    return [(d, diagnose.load(d).metrics) for d in (FIX / c for c in CASES)]


@pytest.mark.parametrize("how", ["bulk", "windows"])
def test_bulk_framing_and_fast_decoding_equal_walking(monkeypatch, how: str) -> None:
    monkeypatch.setattr(_tb_scalars, "_MIN_GROUP", 1 << 40)  # the general decoder only
    walked = _all_cases()
    monkeypatch.undo()
    _framing(monkeypatch, how)
    framed: list = []
    by_layout: dict[str, int] = {}
    bulk, add = _tb_frame._bulk, _tb_scalars._Fast.add

    def counting(fast, *a) -> None:
        before = int(fast.done.sum())
        add(fast, *a)
        by_layout[d.name] = by_layout.get(d.name, 0) + int(fast.done.sum()) - before

    monkeypatch.setattr(_tb_frame, "_bulk", lambda *a: framed.append(bulk(*a)) or framed[-1])
    monkeypatch.setattr(_tb_scalars._Fast, "add", counting)
    for d, want in walked:
        got = diagnose.load(d).metrics
        assert got.equals(want), d
    assert sum(f is not None for f in framed) >= len(walked) - 1  # header-only: nothing to do
    # simple_value (add_scalar), one-element f4 and f8 tensors (new_style, double) by layout
    for case in ("simple", "keras_layout", "new_style", "double"):
        assert by_layout[case] >= 40, (case, by_layout)


def _big_record_file(f: Path) -> None:
    """Scalars around one record longer than the bulk CRC handles (a 70 KB text)."""
    rw = pytest.importorskip("tensorboard.summary.writer.record_writer")
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    with open(f, "wb") as fh:
        w = rw.RecordWriter(fh)
        for i in range(60):
            v = summary_pb2.Summary.Value(tag="loss", simple_value=1.0 / (i + 1))
            w.write(event_pb2.Event(wall_time=1e9 + i, step=i,
                                    summary=summary_pb2.Summary(value=[v])).SerializeToString())
            if i == 30:
                text = tensor_pb2.TensorProto(dtype=7, string_val=[b"x" * 70_000])
                v = summary_pb2.Summary.Value(tag="notes", tensor=text)
                w.write(event_pb2.Event(wall_time=1e9 + i, step=i,
                                        summary=summary_pb2.Summary(value=[v])).SerializeToString())
        w.close()


def test_pure_crc_path_equals_c_package(monkeypatch, tmp_path: Path) -> None:
    """Without the C CRC32C package every checksum is numpy's: same scalars, same errors."""
    _framing(monkeypatch, "windows")
    big = tmp_path / "big" / "events.out.tfevents.1.host"
    big.parent.mkdir()
    _big_record_file(big)
    f = tmp_path / "events.out.tfevents.2.host"
    data = event_file(FIX / "simple").read_bytes()

    def outcomes() -> list[object]:
        out: list[object] = [diagnose.load(d).metrics for d in (FIX / c for c in CASES)]
        out.append(diagnose.load(big.parent).metrics)
        for i in range(0, len(data), 23):
            bad = bytearray(data)
            bad[i] ^= 0x01
            f.write_bytes(bytes(bad))
            with pytest.raises(ReadError) as ei:
                tb.read_event_file(f)
            out.append(str(ei.value))
        return out

    with_c = outcomes()
    assert len(with_c[len(CASES)]) == 60
    monkeypatch.setattr(_crc32c, "_C", None)
    for want, got in zip(with_c, outcomes(), strict=True):
        assert got == want if isinstance(want, str) else got.equals(want)


def test_truncated_at_every_byte_is_a_run_prefix_or_read_error(small_file) -> None:
    f, data, how = small_file
    f.write_bytes(data)
    full = tb.read_event_file(f)
    ends = {off + size for off, size in records(data)}
    for cut in range(0, len(data), 1 if how == "walk" else 3):  # others: every third
        f.write_bytes(data[:cut])
        try:
            got = tb.read_event_file(f)
        except ReadError as e:  # allowed, but must name the file
            assert str(f) in str(e)
            continue
        n = len(got.value)
        assert np.array_equal(got.value, full.value[:n]) and np.array_equal(got.step, full.step[:n])
        assert got.torn is (cut not in ends and cut > 0), cut


def test_every_flipped_byte_is_a_read_error_naming_the_record(small_file) -> None:
    f, data, _ = small_file
    spans = records(data)
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x20
        f.write_bytes(bytes(bad))
        with pytest.raises(ReadError) as ei:
            tb.read_event_file(f)
        (start,) = [o for o, n in spans if o <= i < o + n]
        assert ei.value.where == f"byte {start}", (i, ei.value)
        assert ei.value.path == str(f)


def test_empty_file_is_an_empty_run(tmp_path: Path) -> None:
    f = tmp_path / "events.out.tfevents.0.host"
    f.write_bytes(b"")
    run = diagnose.load(tmp_path)
    assert len(run.metrics) == 0
    assert any("0 bytes" in w for w in run.warnings)


@pytest.mark.parametrize("valid_crc", [True, False])
def test_enormous_length_prefix_does_not_allocate(tmp_path: Path, valid_crc: bool) -> None:
    data = event_file(FIX / "simple").read_bytes()
    length = struct.pack("<Q", 1 << 62)
    crc = _crc32c.masked_crc32c(length) if valid_crc else 12345
    f = tmp_path / "events.out.tfevents.1.host"
    f.write_bytes(data + length + struct.pack("<I", crc) + b"\0" * 64)
    tracemalloc.start()
    try:
        if valid_crc:  # a believable header whose record is not all there: a torn tail
            got = tb.read_event_file(f)
            assert got.torn and len(got.value) == 2 * 40
        else:
            with pytest.raises(ReadError, match="CRC") as ei:
                tb.read_event_file(f)
            assert ei.value.where == f"byte {len(data)}"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * len(data) + 10_000_000


def test_directory_with_no_logs(tmp_path: Path) -> None:
    (tmp_path / "events.out.tfevents.1.host.profile-empty").write_bytes(b"x" * 40)
    assert not tb.detect(tmp_path)
    with pytest.raises(ReadError):
        diagnose.load(tmp_path)


def _one_scalar_events(f: Path, seed: int) -> None:
    """Events of one scalar each in every encoding a writer may pick, with steps and wall
    times that change the varint length or vanish (0 is not written), tags that share a
    length, and look-alikes that are no scalar (a string tensor, a two-element tensor)."""
    rw = pytest.importorskip("tensorboard.summary.writer.record_writer")
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    rng = np.random.default_rng(seed)
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    other = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    one = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)])

    def value(tag: str, x: float, kind: int) -> summary_pb2.Summary.Value:
        t = tensor_pb2.TensorProto
        return [
            lambda: summary_pb2.Summary.Value(tag=tag, simple_value=x),
            lambda: summary_pb2.Summary.Value(tag=tag, metadata=meta,
                                              tensor=t(dtype=1, float_val=[x])),
            lambda: summary_pb2.Summary.Value(tag=tag, tensor=t(dtype=2, double_val=[x])),
            lambda: summary_pb2.Summary.Value(tag=tag, tensor=t(
                dtype=1, tensor_shape=one, tensor_content=np.float32(x).tobytes())),
            lambda: summary_pb2.Summary.Value(tag=tag, tensor=t(
                dtype=19, tensor_content=np.float16(x).tobytes())),
            lambda: summary_pb2.Summary.Value(tag=tag, metadata=other,
                                              tensor=t(dtype=1, float_val=[x])),
            lambda: summary_pb2.Summary.Value(tag=tag, tensor=t(dtype=1, float_val=[x, x])),
            lambda: summary_pb2.Summary.Value(tag=tag, tensor=t(dtype=7, string_val=[b"abcd"])),
        ][kind]()

    with open(f, "wb") as fh:
        w = rw.RecordWriter(fh)
        for i in range(3000):
            step = int(rng.choice([0, i, i * 1000, -i, 2**40 + i]))
            wall = float(rng.choice([0.0, 1.7e9 + i / 7]))
            tag = ["loss", "accu", "lr", "a/b/c"][int(rng.integers(0, 4))]
            kind = int(rng.integers(0, 8)) if i % 3 else 0
            x = float(rng.standard_normal() * 10.0 ** rng.integers(-3, 3))
            w.write(event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(
                value=[value(tag, x, kind)])).SerializeToString())
        w.close()


@pytest.mark.parametrize("seed", [0, 1])
def test_layout_reading_equals_the_general_decoder(tmp_path: Path, monkeypatch, seed) -> None:
    f = tmp_path / "events.out.tfevents.4.host"
    _one_scalar_events(f, seed)
    monkeypatch.setattr(_tb_scalars, "_MIN_GROUP", 1 << 40)
    want = tb.read_event_file(f)
    add, by_layout = _tb_scalars._Fast.add, []

    def counting(fast, *a) -> None:
        before = int(fast.done.sum())
        add(fast, *a)
        by_layout.append(int(fast.done.sum()) - before)

    monkeypatch.setattr(_tb_scalars._Fast, "add", counting)
    for how in ("bulk", "windows"):
        _framing(monkeypatch, how)
        by_layout.clear()
        got = tb.read_event_file(f)
        assert [got.tags[c] for c in got.tag] == [want.tags[c] for c in want.tag]
        for col in ("step", "wall_time", "value"):
            assert getattr(got, col).tobytes() == getattr(want, col).tobytes(), (how, col)
        if how == "bulk":  # every scalar encoding but the look-alikes goes by layout
            assert sum(by_layout) > 0.4 * len(want.value), sum(by_layout)
    assert len(want.value) > 2000


def test_tensorboard_writer_records_round_trip(tmp_path: Path) -> None:
    """Random events through tensorboard's own RecordWriter; every scalar comes back."""
    rw = pytest.importorskip("tensorboard.summary.writer.record_writer")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    rng = np.random.default_rng(7)
    f = tmp_path / "events.out.tfevents.2.host"
    want: dict[str, list[tuple[int, float]]] = {}
    with open(f, "wb") as fh:
        w = rw.RecordWriter(fh)
        w.write(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString())
        for i in range(500):
            step = int(rng.integers(-5, 2**40))
            values = []
            for k in range(int(rng.integers(1, 4))):  # several values in one Summary
                tag = f"m{int(rng.integers(0, 6))}_" + "x" * int(rng.integers(0, 200))
                v = float(np.float32(rng.standard_normal() * 10.0 ** rng.integers(-30, 30)))
                values.append(summary_pb2.Summary.Value(tag=tag, simple_value=v))
                want.setdefault(tag, []).append((step, v))
            ev = event_pb2.Event(wall_time=float(i), step=step,
                                 summary=summary_pb2.Summary(value=values))
            w.write(ev.SerializeToString())
        w.close()
    got = tb.read_event_file(f)
    for code, tag in enumerate(got.tags):
        sel = got.tag == code
        assert list(zip(got.step[sel].tolist(), got.value[sel].tolist())) == want[tag]
    assert sorted(got.tags) == sorted(want)


def test_odd_values_are_skipped_not_fatal(tmp_path: Path) -> None:
    """Empty tensors, string tensors, values without a tag: no scalar, no crash."""
    rw = pytest.importorskip("tensorboard.summary.writer.record_writer")
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    f = tmp_path / "events.out.tfevents.3.host"
    values = [
        summary_pb2.Summary.Value(tag="empty", tensor=tensor_pb2.TensorProto()),
        summary_pb2.Summary.Value(tag="text", tensor=tensor_pb2.TensorProto(
            dtype=7, string_val=[b"hello"])),
        summary_pb2.Summary.Value(simple_value=3.5),
        summary_pb2.Summary.Value(tag="nan", simple_value=float("nan")),
    ]
    with open(f, "wb") as fh:
        w = rw.RecordWriter(fh)
        w.write(event_pb2.Event(step=4, summary=summary_pb2.Summary(value=values))
                .SerializeToString())
        w.write(event_pb2.Event().SerializeToString())  # an all-default (empty) record
        w.close()
    got = tb.read_event_file(f)
    assert sorted(got.tags) == ["", "nan"]
    assert got.step.tolist() == [4, 4]
    assert np.isnan(got.value[got.tag == got.tags.index("nan")]).all()


def test_tag_decoding_survives_a_hash_collision() -> None:
    c = 0x9E3779B97F4A7C15
    w0, w1, w0b = 0x1111, 0x2222, 0x3333
    w1b = ((w0b * c) ^ (w0 * c) ^ w1) & (2**64 - 1)  # same hash, different bytes
    raw = struct.pack("<4Q", w0, w1, w0b, w1b) + bytes(pb.PAD)
    buf = np.frombuffer(raw, dtype=np.uint8)
    codes, names = _tb_decode.strings(buf, np.array([0, 16, 0]), np.array([16, 16, 16]))
    assert codes[0] == codes[2] != codes[1]
    assert sorted(names) == sorted({raw[0:16].decode("utf-8", "replace"),
                                    raw[16:32].decode("utf-8", "replace")})


# -- CRC32C ------------------------------------------------------------------------------------

RFC3720 = [
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


@pytest.mark.parametrize("data,want", RFC3720)
def test_crc32c_known_vectors(data: bytes, want: int) -> None:
    assert _crc32c._crc32c_py(data) == want
    assert _crc32c.crc32c(data) == want
    assert int(_crc32c.crc32c_rows(np.frombuffer(data, np.uint8)[None, :])[0]) == want


def test_crc32c_rows_and_long_buffers_agree_with_bytewise() -> None:
    rng = np.random.default_rng(3)
    for length in (0, 1, 3, 4, 5, 17, 64, 131):
        rows = rng.integers(0, 256, (50, length), dtype=np.uint8)
        got = _crc32c.crc32c_rows(rows).tolist()
        assert got == [_crc32c._crc32c_py(r.tobytes()) for r in rows]
    for n in (4096, 10_000, 70_001):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        assert _crc32c._crc32c_long(data) == _crc32c._crc32c_py(data.tobytes())


def test_masked_crc_matches_tensorboard() -> None:
    stub = pytest.importorskip("tensorboard.compat.tensorflow_stub.pywrap_tensorflow")
    for data in (b"", b"abc", bytes(range(200))):
        assert _crc32c.masked_crc32c(data) == stub.masked_crc32c(data)


def test_crc32c_matches_c_package_if_installed() -> None:
    c = pytest.importorskip("crc32c")
    data = os.urandom(5000)
    assert _crc32c._crc32c_py(data) == c.crc32c(data)
    assert _crc32c._crc32c_long(np.frombuffer(data, np.uint8)) == c.crc32c(data)


def test_protobuf_scan_rejects_field_past_end() -> None:
    buf = np.frombuffer(b"\x0a\x05ab" + bytes(pb.PAD), dtype=np.uint8)
    with pytest.raises(pb.DecodeError):
        pb.scan(buf, np.array([0]), np.array([4]))
    with pytest.raises(pb.DecodeError):
        list(pb.fields(b"\x0a\x05ab"))


# -- loading stays light ---------------------------------------------------------------------


def test_loading_never_imports_torch_or_tensorboard() -> None:
    code = (
        "import sys, diagnose\n"
        f"diagnose.load({str(FIX / 'tensor_encodings')!r})\n"
        f"diagnose.load_all({str(FIX)!r})\n"
        "bad = [m for m in ('torch', 'tensorboard', 'tensorflow', 'wandb') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
