"""fairseq's training log (``fairseq-train``, the toolkit most sequence-to-sequence work trains
with) was read as one curve: its ``valid`` lines (``epoch 003 | valid on 'valid' subset | loss
4.37 | ...``) and its epoch summaries (``train | epoch 003 | loss 3.2 | ...``) went into the
train loss beside the ``train_inner`` records, numbered in file order, so a rising validation
loss showed up as noise on the train curve and no overfitting could be told.

The logs here are written line for line in the three shapes fairseq prints (the ``logging``
prefix of fairseq >= 0.10, the bare bars of older releases, ``--log-format json``); the
expected curves are the numbers written, never what a reader returned.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import diagnose
from diagnose.readers import textlog

UPDATES_PER_EPOCH = 300
LOG_INTERVAL = 100
EPOCHS = 12


def _curves() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(num_updates, loss) of the train_inner windows and of the validations: the train loss
    falls all the way, the validation loss turns up after epoch 5."""
    inner = [(u, round(2.0 + 7.0 * math.exp(-u / 900), 3))
             for u in range(LOG_INTERVAL, EPOCHS * UPDATES_PER_EPOCH + 1, LOG_INTERVAL)]
    valid = [(e * UPDATES_PER_EPOCH,
              round(3.0 + 6.0 * math.exp(-e / 1.5) + 0.08 * max(e - 5, 0) ** 1.5, 3))
             for e in range(1, EPOCHS + 1)]
    return inner, valid


def _write(path: Path, style: str) -> None:
    inner, valid = _curves()
    lines = ["fairseq plugins loaded...",
             "2023-06-13 17:29:41 | INFO | fairseq_cli.train | task: TranslationTask"]
    for e in range(1, EPOCHS + 1):
        for u, loss in inner:
            if (u - 1) // UPDATES_PER_EPOCH + 1 != e:
                continue
            i = u - (e - 1) * UPDATES_PER_EPOCH
            if style == "json":
                stats = {"epoch": e, "update": round(e - 1 + i / UPDATES_PER_EPOCH, 3),
                         "loss": f"{loss}", "nll_loss": f"{loss - 0.4:.3f}", "wps": "13210",
                         "num_updates": f"{u}", "lr": "0.0005", "gnorm": "0.91"}
                lines.append(f"2023-06-13 17:31:54 | INFO | train_inner | {json.dumps(stats)}")
                continue
            pairs = (f"loss={loss}, nll_loss={loss - 0.4:.3f}, ppl={2 ** (loss - 0.4):.2f}, "
                     f"wps=13210, ups=2.18, wpb=6071.4, bsz=214.1, num_updates={u}, "
                     f"lr=0.0005, gnorm=0.91, clip=0, loss_scale=128, train_wall=46, wall=60")
            head = "2023-06-13 17:31:54 | INFO | train_inner | " if style == "logging" else "| "
            lines.append(f"{head}epoch {e:03d}:    {i} / {UPDATES_PER_EPOCH} {pairs}")
        u, v = valid[e - 1]
        mean = float(np.mean([x for s, x in inner if (s - 1) // UPDATES_PER_EPOCH + 1 == e]))
        if style == "json":
            lines.append("2023-06-13 17:32:41 | INFO | valid | " + json.dumps(
                {"epoch": e, "valid_loss": f"{v}", "valid_nll_loss": f"{v - 0.4:.3f}",
                 "valid_num_updates": f"{u}", "valid_best_loss": "3.1"}))
            lines.append("2023-06-13 17:32:53 | INFO | train | " + json.dumps(
                {"epoch": e, "train_loss": f"{mean:.3f}", "train_num_updates": f"{u}"}))
            continue
        vcells = (f"loss {v} | nll_loss {v - 0.4:.3f} | ppl {2 ** (v - 0.4):.2f} | bleu 21.3 | "
                  f"wps 88225 | wpb 2117.3 | bsz 66.3 | num_updates {u} | best_loss 3.1")
        tcells = (f"loss {mean:.3f} | nll_loss {mean - 0.4:.3f} | ppl 8.9 | wps 13000 | "
                  f"num_updates {u} | lr 0.0005 | gnorm 0.9 | train_wall 140 | wall 150")
        if style == "logging":
            lines.append('2023-06-13 17:32:38 | INFO | fairseq_cli.train | begin validation on '
                         '"valid" subset')
            lines.append(f"2023-06-13 17:32:41 | INFO | valid | epoch {e:03d} | valid on "
                         f"'valid' subset | {vcells}")
            lines.append(f"2023-06-13 17:32:53 | INFO | train | epoch {e:03d} | {tcells}")
        else:
            lines.append(f"| epoch {e:03d} | {tcells}")
            lines.append(f"| epoch {e:03d} | valid on 'valid' subset | {vcells}")
            lines.append(f"| saved checkpoint checkpoints/checkpoint{e}.pt (epoch {e} @ {u} "
                         "updates) (writing took 2.9 seconds)")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _check(run, name: str, expected: list[tuple[int, float]]) -> None:
    steps, values = run.arrays(name)
    assert steps.tolist() == [s for s, _ in expected], name
    assert np.allclose(values, [v for _, v in expected], atol=1e-3), name


def test_each_fairseq_shape_gives_the_train_inner_curve_and_the_validations(tmp_path: Path) -> None:
    inner, valid = _curves()
    for style in ("logging", "bare", "json"):
        log = tmp_path / style / "train.log"
        log.parent.mkdir()
        _write(log, style)
        runs = diagnose.load_all(log.parent)
        assert len(runs) == 1, (style, [r.id for r in runs])
        run = runs[0]
        _check(run, "train/loss", inner)  # the epoch summaries are not on it
        _check(run, "val/loss", valid)
        assert any("epoch summaries" in w for w in run.warnings), (style, run.warnings)
        assert "wps" not in run.metrics and "val_best_loss" not in run.metrics, style


def test_a_validation_loss_that_turns_up_is_told_as_overfitting(tmp_path: Path) -> None:
    """Read as one curve, the rise was noise on the train loss; read by split it is DG104."""
    _, valid = _curves()
    best = min(range(len(valid)), key=lambda k: valid[k][1])
    assert 0 < best < len(valid) - 3 and valid[-1][1] > valid[best][1] * 1.1  # what is tested
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    _write(log, "logging")
    report = diagnose.check(log.parent)
    assert "DG104" in {f.rule for f in report.findings}, [f.rule for f in report.findings]


def test_epoch_summaries_are_the_train_curve_when_no_train_inner_line_was_printed(
        tmp_path: Path) -> None:
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    _write(log, "logging")
    kept = [ln for ln in log.read_text(encoding="utf-8").splitlines() if "train_inner" not in ln]
    log.write_text("\n".join(kept) + "\n", encoding="utf-8")
    summaries = [(int(ln.split("num_updates ")[1].split()[0]),
                  float(ln.split("| loss ")[1].split()[0]))
                 for ln in kept if "| train | epoch" in ln]
    run = diagnose.load(log.parent)
    _check(run, "train/loss", summaries)
    assert run.arrays("val/loss")[0].size == EPOCHS


def test_lines_that_only_look_like_fairseq_are_left_to_the_other_shapes() -> None:
    """A loop's own ``epoch 3 | loss 0.41 | val_loss 0.52`` has no ``train_inner`` or ``valid
    on`` record: the generic print-line reading keeps it."""
    text = "".join(f"epoch {e} | loss {1 / e:.3f} | val_loss {1.2 / e:.3f}\n" for e in range(1, 8))
    parsed = textlog.parse(text)
    assert parsed.shape == "plain" and len(parsed.records) == 7
