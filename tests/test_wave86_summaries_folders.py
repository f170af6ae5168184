"""TF 1 templates (Stanford CS230's, many forks) write a run's training events to
``train_summaries/`` and its evaluation events to ``eval_summaries/``, each with plain ``loss`` and
``accuracy`` tags. The two folders were read as two runs, the evaluation one with its loss taken
as a training loss: an overfitting run came out as a training-loss explosion, and the gap and the
late rise went unchecked. A folder whose name wraps a split word (``eval_summaries``, ``tb_val``,
``val_logs``) is that split of its parent's run."""

from __future__ import annotations

from pathlib import Path

import pytest

import diagnose

pytest.importorskip("tensorboard")


def _write(folder: Path, points: list[tuple[int, float, float]]) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    w = EventFileWriter(str(folder))
    for step, loss, acc in points:
        vals = [summary_pb2.Summary.Value(tag="loss", simple_value=loss),
                summary_pb2.Summary.Value(tag="accuracy", simple_value=acc)]
        w.add_event(event_pb2.Event(step=step, wall_time=1000.0 + step,
                                    summary=summary_pb2.Summary(value=vals)))
    w.close()


def _overfitting_run(run: Path, train: str, evaluation: str) -> None:
    """Train loss falls all along; evaluation loss is best at epoch 4 and then climbs past its
    start (the shape of the public CS230 LSTM runs)."""
    _write(run / train, [(s, 0.7 * 0.97 ** s, min(0.99, 0.5 + 0.005 * s)) for s in range(0, 100)])
    evals = [0.69, 0.68, 0.67, 0.66, 0.65, 0.8, 1.0, 1.3, 1.6, 1.9, 2.1]
    _write(run / evaluation, [(10 * (i + 1), v, 0.6) for i, v in enumerate(evals)])


@pytest.mark.parametrize(("train", "evaluation"), [
    ("train_summaries", "eval_summaries"), ("tb_train", "tb_val"), ("train_logs", "val_logs")])
def test_split_folders_named_around_the_split_are_one_run(
        tmp_path: Path, train: str, evaluation: str) -> None:
    run = tmp_path / "lstm"
    _overfitting_run(run, train, evaluation)
    (got,) = diagnose.load_all(run)
    assert got.id == "lstm"
    assert {"train/loss", "val/loss", "train/acc", "val/acc"} <= set(got.metric_names)
    assert got.arrays("val/loss")[1].tolist()[-1] == pytest.approx(2.1)
    rules = {f.rule for f in diagnose.check([str(run)]).findings}
    assert "DG104" in rules and "DG102" not in rules


def test_a_folder_that_merely_ends_in_logs_is_still_its_own_run(tmp_path: Path) -> None:
    """``cls_logs/`` (no split word) keeps being a run of its own under its parent."""
    _write(tmp_path / "exp" / "cls_logs", [(s, 1.0 / (s + 1), 0.5) for s in range(20)])
    (got,) = diagnose.load_all(tmp_path / "exp")
    assert got.id == "cls_logs" and "loss" in " ".join(got.metric_names)
