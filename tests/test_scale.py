"""Scale: the numpy reader equals the JSON one, findings do not depend on where the
work ran (this process, a process pool, threads, Dask, fsspec URLs), progress, and
runs that come back without their curves."""

from __future__ import annotations

import io
import json
import math
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import diagnose
from diagnose._progress import Progress
from diagnose.cli import main
from diagnose.config import Config
from diagnose.pipeline import check
from diagnose.readers import _native_fast, native
from diagnose.report import render
from diagnose.run import MetricsDropped, Thousandths

FIX = Path(__file__).resolve().parent.parent / "fixtures"
SINGLE = ["healthy-mlp-adam", "late-overfitting", "explosion", "spikes-recover", "flat-loss",
          "generalization-gap"]
GROUPS = ["seeds-high-variance", "seeds-low-variance", "chapter-sweep"]


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """Fixture runs (real training logs), two of them twice under another folder (same ids)."""
    root = tmp_path_factory.mktemp("many")
    for name in SINGLE + GROUPS:
        shutil.copytree(FIX / name, root / name)
    for name in ("healthy-mlp-adam", "explosion"):
        shutil.copytree(FIX / name, root / "again" / name)
    return root


def as_json(report) -> str:
    return render(report, "json")


# ---------------------------------------------------------------------------------------
# the numpy reader gives what json.loads gives, or gives up
# ---------------------------------------------------------------------------------------
def _number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return repr(rng.random() * 10 ** rng.randint(-30, 30))
    if r < 0.4:
        return repr(-rng.random() * 10 ** rng.randint(-8, 8))
    if r < 0.5:
        return str(rng.randint(-10**20, 10**20))
    if r < 0.6:
        return rng.choice(["0", "-0", "0.0", "-0.0", "1e5", "1E5", "1e+05", "1e-05", "-1.5e-300",
                           "5e-324", "1.7976931348623157e308", "1e400",
                           "123456789012345678901234567890", "0.000012345678901234567",
                           "9007199254740993", "1.0000000000000002", "2.2250738585072014e-308"])
    if r < 0.7:
        return "%.3f" % (1.7e9 + rng.random())
    return repr(float(np.float32(rng.random() * 3)))


def test_numpy_lines_equal_json_loads() -> None:
    rng = random.Random(5)
    keys = ["train/loss", "val/loss", "lr", "wall_time", "epoch", "a", "é/x", "k" * 20, "x y"]
    for _ in range(150):
        lines, step = [], 0
        for _ in range(rng.randint(1, 40)):
            step += rng.randint(0, 3)
            body = ", ".join(f'"{k}": {_number(rng)}' for k in rng.sample(keys, rng.randint(0, 4)))
            lines.append('{"step": %d%s}' % (step, ", " + body if body else ""))
        got = _native_fast.parse_block(("\n".join(lines) + "\n").encode())
        assert got is not None
        recs = [json.loads(line) for line in lines]
        assert got.step.tolist() == [r["step"] for r in recs]
        assert set(got.fields) == {k for r in recs for k in r} - {"step"}
        for k, (rows, vals) in got.fields.items():
            want_rows = [i for i, r in enumerate(recs) if k in r]
            assert rows.tolist() == want_rows
            want = [float(recs[i][k]) for i in want_rows]
            # bit for bit, the sign of zero included
            assert [struct_bits(x) for x in vals.tolist()] == [struct_bits(x) for x in want]


def struct_bits(x: float) -> bytes:
    return np.float64(x).tobytes()


@pytest.mark.parametrize("line", [
    b'{"step": 1, "a": 01}', b'{"step": 1, "a": 1.}', b'{"step": 1, "a": .5}',
    b'{"step": 1, "a": +1}', b'{"step": 1, "a": NaN}', b'{"step": 1, "a": "NaN"}',
    b'{"step": 1.0, "a": 1}', b'{"step": 1,"a": 1}', b'{"step": 1, "a": 1e}',
    b'{"step": 1, "a": -}', b'{"step": 1, "a": 1, "a": 2}', b'{"step": 1, "a": true}',
    b'{"step": 1, "a\\"b": 1}', b'{"a": 1, "step": 1}', b'{"step": 1, "a": 1} ',
    b'{"step": 1, "a": 1-2}', b'{"step": 1, "": 1}', b'{"step": 1, "a": 1, "step": 2}',
    b'{"step": 1, "a": 1e+-5}', b'{"step": 1, "a":\t1}',
])
def test_numpy_lines_give_up_on_anything_unusual(line: bytes) -> None:
    good = b'{"step": 0, "a": 0.5}\n'
    assert _native_fast.parse_block(good) is not None
    assert _native_fast.parse_block(good + line + b"\n") is None


def _write(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.jsonl").write_text(text, encoding="utf-8")
    (path / "run.json").write_text('{"format": "diagnose-run", "version": 1, "params": {}}\n')
    return path


def _body(n: int) -> str:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        extra = ', "val/loss": %r' % float(rng.random()) if i % 50 == 0 else ""
        out.append('{"step": %d, "wall_time": %.3f, "loss": %r, "lr": %r%s}\n'
                   % (i, 1.7e9 + i / 100, float(rng.random() * 2), 0.1, extra))
    return "".join(out)


def _line_by_line(path: Path, monkeypatch) -> diagnose.Run:
    with monkeypatch.context() as m:
        m.setattr(native, "_read_metrics_columns", lambda *a: None)
        m.setattr(native, "_read_metrics_fast", lambda *a: False)
        return native.read(path)[0]


CASES = {
    "clean": lambda b: b,
    "torn-tail": lambda b: b[: len(b) - 20],
    "unterminated-but-whole": lambda b: b[:-1],
    "corrupt-middle": lambda b: b.replace('{"step": 7,', 'garbage\n{"step": 7,', 1),
    "repeated-step": lambda b: b.replace('{"step": 9,', '{"step": 8,', 1),
    "two-spellings": lambda b: b.replace('"loss"', '"train_loss"', 3),
    "nan-strings": lambda b: b.replace('"lr": 0.1}', '"lr": "NaN"}', 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_reader_path_gives_the_same_run(case: str, tmp_path: Path, monkeypatch) -> None:
    d = _write(tmp_path / case, CASES[case](_body(3000)))
    monkeypatch.setattr(native, "COLUMNS_MIN_BYTES", 0)
    slow = _line_by_line(d, monkeypatch)
    fast = native.read(d)[0]
    monkeypatch.setattr(native, "COLUMNS_MIN_BYTES", 1 << 40)  # the one-loads path
    mid = native.read(d)[0]  # by orjson when installed
    monkeypatch.setattr(native, "_ORJSON_LOADS", False)
    plain = native.read(d)[0]  # by json.loads
    for got in (fast, mid, plain):
        assert got.metric_names == slow.metric_names
        for m in slow.metric_names:
            (sa, va), (sb, vb) = got.arrays(m), slow.arrays(m)
            assert np.array_equal(sa, sb) and np.array_equal(va, vb, equal_nan=True)
        assert (got.name_map, got.warnings, got.in_progress, got.n_steps) == \
            (slow.name_map, slow.warnings, slow.in_progress, slow.n_steps)
        a = got.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
        b = slow.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
        assert a.equals(b)


def test_long_file_is_read_in_blocks_by_threads(tmp_path: Path) -> None:
    d = _write(tmp_path / "long", _body(20000))
    with open(d / "metrics.jsonl", "rb") as f:
        blocks, tail = _native_fast.read_file(f, block_bytes=64 << 10, threads=2)
    assert len(blocks) > 10 and tail == b""
    assert sum(b.n_lines for b in blocks) == 20000
    steps = np.concatenate([b.step for b in blocks])
    assert np.array_equal(steps, np.arange(20000))


def test_scipy_median_filter_gives_the_numpy_medians() -> None:
    pytest.importorskip("scipy")
    from diagnose import features

    rng = np.random.default_rng(11)
    saved = dict(features._FILTER)
    try:
        for n in (3, 4, 25, 101, 1000):
            for w in (3, 5, 21, 51):
                if w > n:
                    continue
                v = rng.integers(0, 4, n).astype(float) if n % 2 else rng.standard_normal(n)
                features._FILTER.clear()
                features._FILTER.update(work=0, fn=None, scipy=True)  # numpy only
                plain = features.rolling_median(v, w)
                features._FILTER.update(work=10**9, fn=None)
                features._FILTER.pop("scipy")
                fast = features.rolling_median(v, w)
                assert features._FILTER["fn"] is not None
                assert np.array_equal(plain, fast)
    finally:
        features._FILTER.clear()
        features._FILTER.update(saved)


# ---------------------------------------------------------------------------------------
# findings do not depend on where the work ran
# ---------------------------------------------------------------------------------------
def test_findings_identical_in_process_pool_and_threads(many: Path) -> None:
    base = check([many])
    assert len(base.runs) == 19 and base.findings
    assert len({r.id for r in base.runs}) == len(base.runs)  # the copies were renamed
    pooled = check([many], jobs=2)
    with ThreadPoolExecutor(3) as ex:
        threaded = check([many], executor=ex)
    assert as_json(pooled) == as_json(base) == as_json(threaded)
    assert not any(r.has_metrics for r in pooled.runs)
    assert all(r.has_metrics for r in base.runs)


def test_selecting_by_a_training_metric_needs_no_curves(many: Path) -> None:
    base = check([many], by="train/loss")
    pooled = check([many], jobs=2, by="train/loss")
    assert as_json(pooled) == as_json(base)
    assert any(f.rule == "DG306" for f in base.findings)  # its evidence needs the summaries


def test_per_run_ignores_follow_the_renamed_id(many: Path) -> None:
    cfg = Config(per_run_ignores={"again/*": ["DG102", "DG201"]})
    base = check([many], config=cfg)
    assert [f for f in base.findings if f.run == "explosion" and f.rule == "DG102"]
    assert not [f for f in base.findings if f.run and f.run.startswith("again/")
                and f.rule in ("DG102", "DG201")]
    assert as_json(check([many], config=cfg, jobs=2)) == as_json(base)


def test_cli_jobs_give_the_same_report(many: Path) -> None:
    out = {}
    for jobs in ("1", "2"):
        r = CliRunner().invoke(main, ["check", str(many), "--jobs", jobs, "--format", "json",
                                      "--fail-on", "never"], catch_exceptions=False)
        assert r.exit_code == 0
        out[jobs] = r.stdout
    assert out["1"] == out["2"]
    assert "diagnose [" not in r.stderr  # no progress bar when stderr is not a terminal


def test_runs_from_workers_keep_what_reports_need(many: Path) -> None:
    full = {r.id: r for r in check([many]).runs}
    for light in check([many], jobs=2).runs:
        r = full[light.id]
        assert (light.metric_names, light.n_steps, light.step_range, light.params, light.path) \
            == (r.metric_names, r.n_steps, r.step_range, r.params, r.path)
        assert light.has("train/loss") == r.has("train/loss")
        with pytest.raises(MetricsDropped, match="diagnose.load"):
            light.arrays("train/loss")


def test_file_urls_read_through_fsspec(many: Path) -> None:
    pytest.importorskip("fsspec")
    local = check([many / "seeds-high-variance"])
    url = (many / "seeds-high-variance").as_uri()
    for jobs in (None, 2):
        remote = check([url], jobs=jobs)
        assert [r.path for r in remote.runs] == [url + "/" + Path(r.path).name for r in local.runs]
        assert [f.to_dict() for f in remote.findings] == [f.to_dict() for f in local.findings]
    missing = check([url + "-nope"])
    assert missing.errors and "no such file" in missing.errors[0]


def test_dask_local_cluster_gives_the_same_findings(many: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="Dask is an optional extra")
    base = as_json(check([many]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            assert as_json(check([many], executor=client)) == base
        r = CliRunner().invoke(main, ["check", str(many), "--dask", cluster.scheduler_address,
                                      "--format", "json", "--fail-on", "never"],
                               catch_exceptions=False)
    assert r.exit_code == 0 and r.stdout == base


def test_dask_flag_without_a_scheduler_is_a_usage_error(many: Path) -> None:
    pytest.importorskip("distributed")
    r = CliRunner().invoke(main, ["check", str(many), "--dask", "no-port-here"])
    assert r.exit_code == 2 and "--dask no-port-here: cannot reach the scheduler" in r.stderr


# ---------------------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------------------
def test_progress_bar_on_a_terminal_only() -> None:
    quiet = io.StringIO()  # not a terminal
    p = Progress(stream=quiet, delay=0, interval=0)
    p.start()
    p.found(10)
    p.advance(3, 3)
    p.close()
    assert quiet.getvalue() == ""

    tty = io.StringIO()
    p = Progress(stream=tty, enabled=True, delay=0, interval=0)
    p.start()
    p.found(10)
    p.walked()
    p.advance(4, 5)
    drawn = tty.getvalue().split("\r")[-1]  # the line as it stands now
    assert "4/10 read" in drawn and "5 runs analysed" in drawn and "/s" in drawn
    assert "ETA" in drawn and "ETA ?" not in drawn
    assert "walking" in tty.getvalue()  # before the walk ended, no total and no ETA
    p.close()
    assert tty.getvalue().endswith("\r")


def test_progress_counts_what_check_did(many: Path) -> None:
    seen = []

    class Spy(Progress):
        def advance(self, read: int, analysed: int) -> None:
            super().advance(read, analysed)
            seen.append((self.read, self.analysed, self.total, self.final))

    report = check([many], jobs=2, progress=Spy(enabled=False))
    read, analysed, total, final = seen[-1]
    assert final and read == total and analysed == len(report.runs)
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)


def test_unreadable_inputs_reported_in_walk_order(tmp_path: Path, many: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metrics.jsonl").write_text('{"step": 0, "train/loss": 1.0}\n')
    (bad / "run.json").write_text("{not json")
    inputs = [many / "explosion", tmp_path / "missing", bad]
    a = check(inputs)
    assert len(a.errors) == 2 and "missing" in a.errors[0] and "run.json" in a.errors[1]
    assert check(inputs, jobs=2).errors == a.errors


def test_nan_everywhere_still_checked(tmp_path: Path) -> None:
    rows = [{"step": i, "train/loss": (math.nan if i > 5 else 2.0 - i / 10)} for i in range(40)]
    text = "".join(native.dumps_record(r["step"], {"train/loss": r["train/loss"]}) for r in rows)
    d = _write(tmp_path / "nan", text)
    a, b = check([d]), check([d, d], jobs=2)
    assert any(f.rule in ("DG201", "DG210") for f in a.findings)
    assert [f.to_dict() for f in b.findings] == [f.to_dict() for f in a.findings]


def test_rolling_median_of_a_very_long_run_does_not_recurse_forever() -> None:
    from diagnose.features import rolling_median

    v = np.random.default_rng(2).random(900_000)
    got = rolling_median(v, 9)  # blocks of one point: the level is an exact median of 5
    assert got.shape == v.shape and np.isfinite(got).all()
    assert abs(float(np.median(got)) - 0.5) < 0.05


@pytest.mark.parametrize("sub_bytes", [1500, 1 << 20])
def test_column_reader_over_many_blocks_gives_the_line_readers_run(
        sub_bytes: int, tmp_path: Path, monkeypatch) -> None:
    """Blocks compacted as parsed (rows dropped for keys on every line of a block) and joined
    piece by piece: keys on every line, on some lines, and in some blocks only."""
    lines = _body(3000).splitlines(keepends=True)
    for i in range(0, 3000, 7):  # wall_time missing here and there
        lines[i] = re.sub(r', "wall_time": [0-9.]+', "", lines[i])
    for i in range(0, 3000, 100):  # an epoch now and then
        lines[i] = lines[i].replace("}\n", ', "epoch": %d}\n' % (i // 100))
    for i in range(2000, 2200):  # a metric in a few blocks only
        lines[i] = lines[i].replace("}\n", ', "grad_norm": %r}\n' % (i / 7))
    d = _write(tmp_path / "run", "".join(lines))
    monkeypatch.setattr(native, "COLUMNS_MIN_BYTES", 0)
    monkeypatch.setattr(_native_fast, "SUB_BYTES", sub_bytes)
    slow = _line_by_line(d, monkeypatch)
    got = native.read(d)[0]
    assert got.metric_names == slow.metric_names and "grad_norm" in got.metric_names
    for m in slow.metric_names:
        (sa, va), (sb, vb) = got.arrays(m), slow.arrays(m)
        assert np.array_equal(sa, sb) and np.array_equal(va, vb, equal_nan=True)
    a = got.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
    b = slow.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
    assert a.equals(b)


@pytest.mark.parametrize("kind", ["days-apart", "microseconds", "negative-zero-epoch"])
def test_packed_wall_times_come_back_exactly_or_are_not_packed(
        kind: str, tmp_path: Path, monkeypatch) -> None:
    """Wall times and epochs are kept as 32-bit thousandths when that is exact: a jump of
    thirty days between blocks (offsets past 32 bits), times to the microsecond in one block,
    an epoch of -0.0: the column reader's table equals the line reader's all the same."""
    lines = _body(3000).splitlines(keepends=True)
    for i in range(1500, 3000):
        if kind == "days-apart":
            lines[i] = re.sub(r'"wall_time": [0-9.]+', '"wall_time": %.3f' % (1.7e9 + 30 * 86400 + i),
                              lines[i])
        elif kind == "microseconds" and i < 1600:
            lines[i] = re.sub(r'"wall_time": [0-9.]+', '"wall_time": %.6f' % (1.7e9 + i / 7), lines[i])
        elif kind == "negative-zero-epoch":
            lines[i] = lines[i].replace("}\n", ', "epoch": %s}\n' % ("-0.0" if i == 2000 else "1.5"))
    d = _write(tmp_path / kind, "".join(lines))
    monkeypatch.setattr(native, "COLUMNS_MIN_BYTES", 0)
    monkeypatch.setattr(_native_fast, "SUB_BYTES", 20_000)
    slow = _line_by_line(d, monkeypatch)
    got = native.read(d)[0]
    a = got.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
    b = slow.metrics.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)
    assert a.equals(b)
    assert np.array_equal(np.signbit(a["epoch"].to_numpy()), np.signbit(b["epoch"].to_numpy()))


def test_recorder_wall_times_stay_packed(tmp_path: Path, monkeypatch) -> None:
    """The Recorder's millisecond wall times take 4 bytes a line in the run's columns."""
    d = _write(tmp_path / "run", _body(3000))
    monkeypatch.setattr(native, "COLUMNS_MIN_BYTES", 0)
    monkeypatch.setattr(_native_fast, "SUB_BYTES", 20_000)
    cols = native.read(d)[0].__dict__["_cols"]
    packed = cols.wall_time["train/loss"]
    assert isinstance(packed, Thousandths) and packed.offsets.dtype == np.int32
    assert np.array_equal(packed.array(), [float("%.3f" % (1.7e9 + i / 100)) for i in range(3000)])


def test_thousandths_refuse_what_they_cannot_give_back() -> None:
    for bad in ([0.1234], [math.nan], [1e300], [0.0, 3e6], [1.0, -0.0]):
        assert Thousandths.pack(np.array(bad)) is None
    v = np.array([0.0, 1.5, -2.25, 1.7e9 + 0.001])
    assert Thousandths.pack(v) is None  # 1.7e12 thousandths from 0: past 32 bits
    w = 1.7e9 + np.arange(1000) / 1000
    assert np.array_equal(Thousandths.pack(w).array(), w)


# ---------------------------------------------------------------------------------------
# the long-run helpers give what the whole-array formulas give
# ---------------------------------------------------------------------------------------
def test_smoothing_in_one_buffer_equals_pad_cumsum_and_difference() -> None:
    from diagnose.features import _series

    rng = np.random.default_rng(5)
    for n in (3, 4, 5, 7, 40, 61, 1000, 9000, 20000, 3 * _series.CHUNK + 7):
        for fraction in (0.05, 0.5, 1.0):
            v = np.exp(rng.standard_normal(n)) * np.linspace(3, 1, n)
            w = _series.window(n, fraction)
            if w < 3:
                continue
            half = w // 2
            c = np.cumsum(np.pad(_series.rolling_median(v, w), (half + 1, half), mode="reflect"))
            assert np.array_equal(_series.smooth(v, fraction), (c[w:] - c[:-w]) / w), (n, fraction)


def test_median_of_a_long_series_equals_numpy() -> None:
    from diagnose.features import _series

    rng = np.random.default_rng(6)
    n = 4 * _series.CHUNK + 1
    for v in (np.exp(rng.standard_normal(n)), np.round(rng.standard_normal(n + 1), 1),
              np.sort(rng.standard_normal(n))[::-1].copy(), np.full(n + 1, 0.25),
              np.linspace(3, 1, n) + 0.01 * rng.standard_normal(n)):
        assert _series.median(v) == float(np.median(v))


def test_value_at_and_gaps_equal_the_whole_array_formulas() -> None:
    from diagnose.features import _series

    rng = np.random.default_rng(7)
    for n in (10, 1000, _series.CHUNK + 3):
        steps = np.sort(rng.choice(3 * n, n, replace=False)).astype(np.int64)
        vals = rng.standard_normal(n)
        for at in (steps[rng.integers(0, n, 30)], rng.integers(-5, 3 * n + 5, 30),
                   np.concatenate([rng.uniform(-5, 3 * n + 5, 30), [np.nan, np.inf, -np.inf]])):
            want = np.interp(at.astype(float), steps.astype(float), vals)
            assert np.array_equal(_series.value_at(steps, vals, at), want, equal_nan=True)
        for s in (steps, np.arange(n, dtype=np.int64), np.repeat(steps[: n // 2], 2)):
            gaps = np.diff(s)
            assert _series.median_gap_above_one(s) == bool(len(gaps) and np.median(gaps) > 1)
