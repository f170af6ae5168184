"""Benchmark: ``diagnose check`` over many runs and over very long runs.

Generates synthetic but realistic runs and times the command end to end (a fresh
``diagnose check`` process: import, discovery, reading, every rule, the report):

- N = 100, 1,000 and 10,000 runs of 1,000 steps, in the native format and as
  TensorBoard event files;
- one run of 1, 10 and 100 million steps (native), with its peak memory.

Curves are not invented: each run resamples the smoothed train/validation
loss, accuracy and learning-rate curves of a real fixture run
(``fixtures/healthy-*`` and ``fixtures/late-overfitting``) to the requested
length, with multiplicative noise of the size the fixture itself shows (robust
spread of its log residuals), a per-sweep scale, and a learning-rate sweep of
five settings x two seeds in which a larger rate learns faster. Native runs are
written as the Recorder writes them (``{"step", "wall_time", ..., "epoch"}``
lines); TensorBoard runs as the event records ``SummaryWriter.add_scalar``
writes (``--verify-tb`` checks that byte for byte against torch's writer).

Peak memory is the largest resident set of the check process or any of its
workers (``getrusage(RUSAGE_CHILDREN)`` of a wrapper process). The growth
exponent is the slope of log(time) against log(size).

    python bench/scale.py [--out DIR] [--sizes 100,1000,10000] [--long 1e6,1e7,1e8]
                          [--jobs 2] [--formats native,tensorboard] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _figures import commit, mmm  # bench/ is on the path: run as a script

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TEMPLATES = ("healthy-digits-cnn", "healthy-mlp-adam", "healthy-sgd-cosine", "healthy-regression",
             "late-overfitting")
METRICS = ("train/loss", "train/acc", "val/loss", "val/acc", "lr")
LRS = (0.3, 1.0, 3.0, 0.1, 10.0)  # multiples of the template's own learning rate
SEEDS = (1, 2)
PER_SWEEP = len(LRS) * len(SEEDS)
T0 = 1_790_000_000.0
PARTS = (("a", 100), ("b", 900), ("c", 9000))  # N=100: a; 1,000: a+b; 10,000: a+b+c


# ---------------------------------------------------------------------------------------
# curve shapes from the fixtures
# ---------------------------------------------------------------------------------------
@dataclass
class Curve:
    u: np.ndarray  # positions 0..1 along the run
    level: np.ndarray  # smoothed values there
    sigma: float  # noise: log-space for losses, additive for accuracies
    log: bool


@dataclass
class Template:
    name: str
    params: dict[str, Any]
    curves: dict[str, Curve]
    n_val: int
    train_time: float


def load_templates() -> list[Template]:
    """The fixture runs' smoothed curves and noise levels."""
    import diagnose
    from diagnose.features import smooth

    out = []
    for name in TEMPLATES:
        run = diagnose.load(FIXTURES / name)
        lo, hi = run.step_range
        curves = {}
        for m in METRICS:
            s, v = run.arrays(m)
            ok = np.isfinite(v)
            s, v = s[ok], v[ok]
            if len(v) < 2:
                continue
            log = m.endswith("loss") and bool((v > 0).all())
            level = smooth(v) if len(v) >= 5 and m != "lr" else v.astype(float)
            if log:
                resid = np.log(v) - np.log(np.maximum(level, 1e-12))
            else:
                resid = v - level
            mad = float(np.median(np.abs(resid - np.median(resid)))) * 1.4826
            curves[m] = Curve((s - lo) / max(1, hi - lo), level, 0.0 if m == "lr" else mad, log)
        n_val = len(run.arrays("val/loss")[0])
        out.append(Template(name, dict(run.params), curves, n_val,
                            float(run.results.get("train_time") or 1.0)))
    return out


def synth(t: Template, n_steps: int, rng: np.random.Generator, speed: float, scale: float,
          lr_mult: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One run's curves: the template resampled to ``n_steps``, time-warped, with noise."""
    steps = np.arange(n_steps, dtype=np.int64)
    n_val = max(2, min(n_steps, t.n_val))
    vsteps = np.unique(np.round(np.linspace(0, n_steps - 1, n_val)).astype(np.int64))
    out = {}
    for m, c in t.curves.items():
        st = vsteps if m.startswith("val/") else steps
        pos = np.clip((st / max(1, n_steps - 1)) * (1.0 if m == "lr" else speed), 0, 1)
        base = np.interp(pos, c.u, c.level)
        if m == "lr":
            vals = base * lr_mult
        elif c.log:
            vals = base * scale * np.exp(c.sigma * rng.standard_normal(len(st)))
        else:
            vals = np.clip(base + c.sigma * rng.standard_normal(len(st)), 0.0, 1.0)
        out[m] = (st, vals)
    return out


# ---------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------
def write_native(d: Path, curves: dict, params: dict, run_id: str, train_time: float,
                 epochs: int) -> None:
    """``metrics.jsonl`` + ``run.json`` as the Recorder writes them."""
    d.mkdir(parents=True, exist_ok=True)
    n = len(curves["train/loss"][0])
    per_step = [m for m in ("train/loss", "train/acc", "lr") if m in curves]
    cols = [curves[m][1].tolist() for m in per_step]
    val_cols = [(m, curves[m][1].tolist()) for m in ("val/loss", "val/acc") if m in curves]
    vals = {s: [(m, col[i]) for m, col in val_cols]
            for i, s in enumerate(curves["val/loss"][0].tolist())}
    keys = [', "%s": ' % m for m in per_step]
    lines = []
    put = lines.append
    ep_per_step = epochs / max(1, n)
    for i in range(n):
        parts = ['{"step": %d, "wall_time": %.3f' % (i, T0 + 0.01 * i)]
        for k, col in zip(keys, cols):
            parts.append(k)
            parts.append(repr(col[i]))
        extra = vals.get(i)
        if extra:
            for m, v in extra:
                parts.append(', "%s": %r' % (m, v))
        parts.append(', "epoch": %r}\n' % float(int(i * ep_per_step)))
        put("".join(parts))
    (d / "metrics.jsonl").write_text("".join(lines), encoding="utf-8")
    meta = {"format": "diagnose-run", "version": 1, "id": run_id, "status": "finished",
            "identity": {"experiment_id": run_id, "seed": params["seed"]},
            "params": params, "results": {"train_time": train_time}, "env": {}}
    (d / "run.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def tb_events(curves: dict, walls: dict | None = None) -> list[tuple[int, float, str, float]]:
    """(step, wall_time, tag, value) in the order a training loop logs them."""
    rows = []
    for m, (st, vals) in curves.items():
        w = walls[m] if walls else T0 + 0.01 * st
        rows += [(int(s), float(x), m, float(v)) for s, x, v in zip(st, w, vals)]
    rows.sort(key=lambda r: (r[0], METRICS.index(r[2]) if r[2] in METRICS else 99))
    return rows


def tb_bytes(events: list[tuple[int, float, str, float]], file_wall: float) -> bytes:
    """An event file: the version header then one ``simple_value`` event per scalar.

    Records are framed and checksummed column-wise (records of one length at once),
    so writing thousands of runs takes seconds, not the hours the writer would.
    """
    from diagnose.readers._crc32c import masked_crc32c, masked_crc32c_rows

    recs = [struct.pack("<Bd", 0x09, file_wall) + _ld(3, b"brain.Event:2")]
    for step, wall, tag, value in events:
        val = _ld(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
        body = struct.pack("<Bd", 0x09, wall)
        if step:  # proto3 leaves a zero step out, as the writer does
            body += b"\x10" + _varint(step)
        recs.append(body + _ld(5, _ld(1, val)))
    by_len: dict[int, list[int]] = {}
    for i, r in enumerate(recs):
        by_len.setdefault(len(r), []).append(i)
    crcs = [0] * len(recs)
    for length, idx in by_len.items():
        rows = np.frombuffer(b"".join(recs[i] for i in idx), np.uint8).reshape(len(idx), length)
        for i, c in zip(idx, masked_crc32c_rows(rows).tolist()):
            crcs[i] = c
    head = {length: struct.pack("<Q", length) for length in by_len}
    head_crc = {length: struct.pack("<I", masked_crc32c(h)) for length, h in head.items()}
    out = []
    for r, c in zip(recs, crcs):
        out += [head[len(r)], head_crc[len(r)], r, struct.pack("<I", c)]
    return b"".join(out)


def write_tensorboard(d: Path, curves: dict, params: dict) -> None:
    d.mkdir(parents=True, exist_ok=True)
    name = f"events.out.tfevents.{int(T0)}.bench.1.0"
    (d / name).write_bytes(tb_bytes(tb_events(curves), T0))
    (d / "hparams.yaml").write_text("".join(f"{k}: {v}\n" for k, v in params.items()),
                                    encoding="utf-8")


def verify_tb(tmp: Path) -> str:
    """Our event bytes equal torch's SummaryWriter's for the same scalars (needs torch)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return "not checked (torch not installed)"
    rng = np.random.default_rng(7)
    t = load_templates()[0]
    curves = synth(t, 60, rng, 1.0, 1.0, 1.0)
    events = tb_events(curves)
    d = tmp / "tb-verify"
    shutil.rmtree(d, ignore_errors=True)
    w = SummaryWriter(str(d), flush_secs=3600)
    for step, wall, tag, value in events:
        w.add_scalar(tag, value, step, walltime=wall)
    w.close()
    (f,) = list(d.glob("events.out.tfevents.*"))
    theirs = f.read_bytes()
    # their header record carries the file's creation time: compare from the second record
    n0 = struct.unpack("<Q", theirs[:8])[0] + 16
    ours = tb_bytes(events, T0)
    m0 = struct.unpack("<Q", ours[:8])[0] + 16
    if theirs[n0:] != ours[m0:]:
        raise SystemExit("TensorBoard writer check failed: our event records differ from "
                         "SummaryWriter's")
    return f"identical to SummaryWriter's records ({len(events)} scalars)"


# ---------------------------------------------------------------------------------------
# generating the sets
# ---------------------------------------------------------------------------------------
def _gen_part(args: tuple) -> int:
    fmt, root, first_sweep, n_runs, n_steps, seed = args
    templates = load_templates()
    rng = np.random.default_rng(seed)
    made = 0
    sweep = first_sweep
    while made < n_runs:
        t = templates[sweep % len(templates)]
        scale = float(np.exp(0.1 * rng.standard_normal()))
        for j, mult in enumerate(LRS):
            for seed_ in SEEDS:
                if made == n_runs:
                    break
                lr = float(f"{t.params.get('lr', 0.01) * mult:.3g}")
                speed = 0.6 + 0.25 * math.log10(mult * 10)  # a larger rate learns faster
                curves = synth(t, n_steps, rng, speed, scale, mult)
                params = {"lr": lr, "batch_size": t.params.get("batch_size", 64),
                          "optimizer": t.params.get("optimizer", "Adam"), "seed": seed_,
                          "epochs": t.params.get("epochs", 3)}
                run_id = f"{t.name}-s{sweep:05d}-lr{lr:g}-seed{seed_}"
                d = Path(root) / f"sweep-{sweep:05d}" / f"lr={lr:g}" / f"seed={seed_}"
                if fmt == "native":
                    write_native(d, curves, params, run_id, t.train_time * n_steps / 400,
                                 int(params["epochs"]))
                else:
                    write_tensorboard(d, curves, params)
                made += 1
        sweep += 1
    return made


def generate(out: Path, fmt: str, n_steps: int, jobs: int) -> list[Path]:
    """The three parts of the many-runs set (reused when already there)."""
    parts = []
    first_sweep = 0
    tasks = []
    for name, n in PARTS:
        d = out / f"{fmt}-{n_steps}" / f"part-{name}"
        parts.append(d)
        if not (d / ".complete").exists():
            shutil.rmtree(d, ignore_errors=True)
            per = math.ceil(n / jobs / PER_SWEEP) * PER_SWEEP
            k = 0
            while k < n:
                m = min(per, n - k)
                tasks.append((fmt, str(d), first_sweep + k // PER_SWEEP, m, n_steps,
                              hash((fmt, name, k)) % 2**32))
                k += m
        first_sweep += math.ceil(n / PER_SWEEP)
    if tasks:
        print(f"writing {fmt} runs ...", file=sys.stderr)
        with ProcessPoolExecutor(jobs) as ex:
            list(ex.map(_gen_part, tasks))
    for d in parts:
        d.mkdir(parents=True, exist_ok=True)
        (d / ".complete").touch()
    return parts


def _long_chunk(args: tuple) -> str:
    path, lo, hi, n_steps, seed = args
    t = load_templates()[-1]  # late-overfitting: the val curve turns up late
    rng = np.random.default_rng(seed)
    steps = np.arange(lo, hi)
    c = t.curves["train/loss"]
    u = steps / max(1, n_steps - 1)
    loss = np.interp(u, c.u, c.level) * np.exp(c.sigma * rng.standard_normal(len(steps)))
    v = t.curves["val/loss"]
    every = 1000
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for i, (s, x) in enumerate(zip(steps.tolist(), loss.tolist())):
            if s % every == 0:
                val = float(np.interp(s / max(1, n_steps - 1), v.u, v.level))
                buf.append('{"step": %d, "wall_time": %.3f, "train/loss": %r, "val/loss": %r}\n'
                           % (s, T0 + 0.001 * s, x, val))
            else:
                buf.append('{"step": %d, "wall_time": %.3f, "train/loss": %r}\n'
                           % (s, T0 + 0.001 * s, x))
            if len(buf) >= 100_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return path


def generate_long(out: Path, n_steps: int, jobs: int) -> Path:
    """One native run of ``n_steps`` steps: train loss every step, validation every 1,000."""
    d = out / f"long-{n_steps}"
    if (d / ".complete").exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    print(f"writing a {n_steps:,}-step run ...", file=sys.stderr)
    k = max(1, jobs) * 4
    bounds = np.linspace(0, n_steps, k + 1).astype(np.int64)
    tasks = [(str(d / f".part{i}"), int(lo), int(hi), n_steps, i)
             for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))]
    with ProcessPoolExecutor(jobs) as ex:
        parts = list(ex.map(_long_chunk, tasks))
    with open(d / "metrics.jsonl", "wb") as out_f:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out_f, 16 << 20)
            os.unlink(p)
    meta = {"format": "diagnose-run", "version": 1, "id": f"long-{n_steps}", "status": "finished",
            "params": {"lr": 0.003, "batch_size": 32, "seed": 1}, "results": {}, "env": {}}
    (d / "run.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
    (d / ".complete").touch()
    return d


# ---------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------
_WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
dt = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, dt, u.ru_maxrss, u.ru_utime + u.ru_stime)
"""


def measure(paths: list[Path], jobs: int, out_json: Path, extra: list[str] = (),
            repeat: int = 1, code: Path | None = None) -> dict:
    """Run ``diagnose check`` in a fresh process ``repeat`` times: seconds, CPU seconds and
    peak RSS (MB) of each, the number of runs and findings, and a digest of the findings.

    ``code``: the checkout whose ``diagnose`` runs (default: this one), so the findings of
    two versions can be compared on the same runs (``--baseline``).
    """
    cmd = [sys.executable, "-c", "from diagnose.cli import main; main()", "check", "-q",
           "--jobs", str(jobs), "--format",
           "json", "-o", str(out_json), "--fail-on", "never", *extra, *map(str, paths)]
    env = dict(os.environ, PYTHONPATH=str(code or ROOT))
    out: dict[str, Any] = {"seconds": [], "cpu": [], "peak_mb": [], "load": []}
    for _ in range(repeat):
        out["load"].append(os.getloadavg()[0])
        res = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True,
                             text=True, check=True, env=env)
        rc, seconds, rss_kb, cpu = res.stdout.split()
        if int(rc) not in (0, 1):
            raise SystemExit(f"diagnose check failed ({rc}): {' '.join(cmd)}")
        out["seconds"].append(float(seconds))
        out["cpu"].append(float(cpu))
        out["peak_mb"].append(int(rss_kb) / 1024)
    report = json.loads(out_json.read_text(encoding="utf-8"))
    out.update(runs=len(report.get("runs", [])), findings=len(report.get("findings", [])),
               digest=findings_digest(report))
    return out


def findings_digest(report: dict) -> str:
    """A short hash of the report's findings (rule, run, message, steps), order-free."""
    import hashlib

    keys = sorted(json.dumps([f.get("rule"), f.get("run"), f.get("runs"), f.get("message"),
                              f.get("steps")], sort_keys=True, default=str)
                  for f in report.get("findings", []))
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]



def exponent(sizes: list[float], seconds: list[float]) -> float:
    """Slope of log(seconds) against log(size): 1 is linear."""
    x, y = np.log(sizes), np.log(seconds)
    return float(np.polyfit(x, y, 1)[0])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        if m:
            cpu = m.group(1).strip()
    except OSError:
        pass
    return (f"{cpu}, nproc={os.cpu_count()}; Python {platform.python_version()}, numpy {np.__version__}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "diagnose-scale",
                    help="where the generated runs live (kept and reused)")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--long", default="1e6,1e7,1e8", help="steps of the single long runs")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs given to diagnose check")
    ap.add_argument("--formats", default="native,tensorboard")
    ap.add_argument("--repeat", type=int, default=3, help="checks per figure (min/median/max)")
    ap.add_argument("--baseline", type=Path,
                    help="another checkout (e.g. ../main): its findings on the same runs must be "
                         "identical to this one's (checked once per figure)")
    ap.add_argument("--results", type=Path, help="write the Scale section of this Markdown file")
    ap.add_argument("--verify-tb", action="store_true", help="compare our event bytes with torch's")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(float(x)) for x in args.sizes.split(",") if x]
    longs = [int(float(x)) for x in args.long.split(",") if x]
    gen_jobs = os.cpu_count() or 1
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = machine()
    tb_note = verify_tb(args.out) if args.verify_tb else None

    def compare(r: dict, paths: list[Path], jobs: int, name: str) -> None:
        if args.baseline is None:
            return
        b = measure(paths, jobs, args.out / f"baseline-{name}.json", code=args.baseline)
        r["baseline"] = b["digest"]
        if b["digest"] != r["digest"] or b["findings"] != r["findings"]:
            raise SystemExit(f"{name}: findings differ from {args.baseline} "
                             f"({r['findings']} vs {b['findings']})")

    rows: list[tuple[str, int, dict]] = []
    for fmt in [f for f in args.formats.split(",") if f]:
        parts = generate(args.out, fmt, args.steps, gen_jobs)
        for n in sizes:
            k = next(i for i, (_, c) in enumerate(PARTS) if sum(x for _, x in PARTS[:i + 1]) >= n)
            r = measure(parts[:k + 1], args.jobs, args.out / f"report-{fmt}-{n}.json",
                        repeat=args.repeat)
            if r["runs"] != n:
                raise SystemExit(f"{fmt} N={n}: the report has {r['runs']} runs")
            compare(r, parts[:k + 1], args.jobs, f"{fmt}-{n}")
            rows.append((fmt, n, r))
            print(f"{fmt:12} N={n:>6,}  {mmm(r['seconds'])} s  {mmm(r['peak_mb'], '{:.0f}')} MB  "
                  f"{r['findings']:,} findings {r['digest']}", file=sys.stderr)
    long_rows: list[tuple[int, dict]] = []
    for n in longs:
        d = generate_long(args.out, n, gen_jobs)
        r = measure([d], 1, args.out / f"report-long-{n}.json", repeat=args.repeat)
        compare(r, [d], 1, f"long-{n}")
        size = (d / "metrics.jsonl").stat().st_size
        r["file_mb"] = size / 1e6
        long_rows.append((n, r))
        print(f"long {n:>12,} steps  {mmm(r['seconds'])} s  {mmm(r['peak_mb'], '{:.0f}')} MB "
              f"{r['findings']:,} findings {r['digest']}", file=sys.stderr)

    text = section(started, where, args, rows, long_rows, tb_note)
    print(text)
    if args.results:
        write_section(args.results, text)
    return 0


def section(date: str, where: str, args: Any, rows: list, long_rows: list, tb_note: str | None
            ) -> str:
    lines = ["## Scale", "",
             f"`python bench/scale.py` on {date}, commit {commit()}; {where}. **Shared machine**: "
             "2 cores used by several other agents' jobs at the same time (the load average at "
             f"the start of each check is given). `diagnose check -q --jobs {args.jobs} "
             f"--format json` in a fresh process each time (import, discovery, reading, every rule, "
             f"the report); peak memory is the largest resident set of the process or a worker. "
             f"Each figure: min / median / max over {args.repeat} checks. \"findings\" is a hash "
             "of every finding (rule, run, message, steps)"
             + (f"; the same check run with the code of `{args.baseline}` gave the same hash "
                "(identical findings)" if args.baseline else "") + ".",
             ""]
    if rows:
        lines += [f"**Many runs** of {args.steps:,} steps (train loss/accuracy and learning rate "
                  f"every step, validation {load_templates()[0].n_val}-ish times), "
                  f"sweeps of {len(LRS)} learning rates x {len(SEEDS)} seeds:", "",
                  "| format | runs | seconds | CPU seconds | peak MB | load | findings |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for fmt, n, r in rows:
            lines.append(f"| {fmt} | {n:,} | {mmm(r['seconds'])} | {mmm(r['cpu'])} | "
                         f"{mmm(r['peak_mb'], '{:.0f}')} | {mmm(r['load'], '{:.1f}')} | "
                         f"{r['findings']:,} `{r['digest']}` |")
        lines.append("")
        for fmt in dict.fromkeys(f for f, _, _ in rows):
            pts = [(n, min(r["seconds"])) for f, n, r in rows if f == fmt]
            if len(pts) >= 2:
                lines.append(f"- {fmt}: time grows as N^{exponent(*zip(*pts)):.2f} "
                             f"(fit over N = {', '.join(f'{n:,}' for n, _ in pts)}, fastest check).")
        lines.append("")
    if long_rows:
        lines += ["**One long run** (native; train loss every step, validation every 1,000 steps; "
                  "`--jobs 1`):", "",
                  "| steps | file MB | seconds | CPU seconds | peak MB | bytes per step (peak) "
                  "| load | findings |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, r in long_rows:
            lines.append(f"| {n:,} | {r['file_mb']:,.0f} | {mmm(r['seconds'])} | {mmm(r['cpu'])} | "
                         f"{mmm(r['peak_mb'], '{:,.0f}')} | "
                         f"{mmm([m * 2**20 / n for m in r['peak_mb']], '{:.0f}')} | "
                         f"{mmm(r['load'], '{:.1f}')} | {r['findings']:,} `{r['digest']}` |")
        if len(long_rows) >= 2:
            pts = [(n, min(r["seconds"])) for n, r in long_rows]
            mem = [(n, statistics.median(r["peak_mb"])) for n, r in long_rows]
            slope = (mem[-1][1] - mem[0][1]) * 2**20 / (mem[-1][0] - mem[0][0])
            lines += ["", f"- time grows as steps^{exponent(*zip(*pts)):.2f} (fastest check); "
                          f"peak memory grows by {slope:.0f} bytes per added step (medians, "
                          f"{mem[0][0]:,} to {mem[-1][0]:,} steps)."]
        lines.append("")
    if tb_note:
        lines += [f"TensorBoard files: {tb_note}.", ""]
    return "\n".join(lines)




def write_section(path: Path, text: str) -> None:
    """Replace (or append) the ``## Scale`` section, leaving the others as they are."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    m = re.search(r"^## Scale\n.*?(?=^## |\Z)", old, flags=re.S | re.M)
    new = old[:m.start()] + text.rstrip() + "\n\n" + old[m.end():] if m else \
        old.rstrip() + "\n\n" + text.rstrip() + "\n"
    path.write_text(new.rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
