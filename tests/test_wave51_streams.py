"""build-nanogpt's ``log/log.txt`` (Karpathy's GPT-2 reproduction, forked and committed widely):
one ``{step} {stream} {value}`` line per value, ``0 val 10.9522``, ``0 hella 0.2487``, ``0 train
10.955010``. A public one (w66a, labelled healthy from its plot) was "not read: no line names a
loss or accuracy beside its value", so a broken nanoGPT run would not be checked at all.

Values are checked against the raw file with a parser written here, not through the readers.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import diagnose
from diagnose.cli import main

LOG = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w66a-bngpt-nowarmup"
       / "log_no_warmup" / "log.txt")


def _streams(text: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for line in text.splitlines():
        step, name, value = line.split()
        out.setdefault(name, []).append((int(step), float(value)))
    return out


def test_the_train_and_val_streams_are_the_two_losses() -> None:
    raw = _streams(LOG.read_text(encoding="utf-8"))
    run = diagnose.load(LOG.parent)
    for stream, metric in (("train", "train/loss"), ("val", "val/loss")):
        s = run.series(metric)
        assert list(zip(s.index.tolist(), s.values.tolist())) == raw[stream], metric
    assert run.series("hella").values.tolist() == [v for _, v in raw["hella"]]


def test_the_public_healthy_run_passes() -> None:
    result = CliRunner().invoke(main, ["check", str(LOG.parent)])
    assert result.exit_code == 0, result.output
    assert "not read" not in result.output


def test_a_diverging_nanogpt_log_is_an_explosion(tmp_path: Path) -> None:
    """The public log's own first 400 lines with the train stream blown up from step 60 on
    (times 3 per step, as a too-high learning rate does), in the same line format."""
    lines = LOG.read_text(encoding="utf-8").splitlines()[:400]
    out = []
    for line in lines:
        step, name, value = line.split()
        v = float(value)
        if name == "train" and int(step) >= 60:
            v *= 3.0 ** min(int(step) - 59, 8)
        out.append(f"{step} {name} {v:.6f}")
    (tmp_path / "log.txt").write_text("\n".join(out) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert '"pattern": "explosion"' in result.output


def test_a_line_of_prose_keeps_the_log_out_of_this_shape(tmp_path: Path) -> None:
    """Only a file every line of which is ``step stream value`` reads this way: a word beside
    a number is no metric name elsewhere."""
    text = "\n".join(LOG.read_text(encoding="utf-8").splitlines()[:50])
    (tmp_path / "log.txt").write_text("starting the run on 8 GPUs\n" + text + "\n", encoding="utf-8")
    try:
        runs = diagnose.load_all(tmp_path)
    except diagnose.ReadError:
        runs = []
    assert all("train/loss" not in r.metric_names for r in runs)
