"""Write the fuzzing seed corpus with the real writers: TensorBoard's and W&B's own.

Seeds are small, valid files holding the odd-but-legal content a reader must survive
(empty tags, huge and negative steps, NaN/inf values, zero-length records, records
split across LevelDB blocks). The fuzzers and ``tests/test_fuzz_readers.py`` start from
them; every file is what the library wrote, never edited by hand.

Run: ``python tests/fuzz/make_corpus.py`` (needs ``tensorboard`` and ``wandb``; W&B
runs offline, nothing leaves the machine). Re-running replaces the seeds.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
T0 = 1_700_000_000.0


def tensorboard_seeds(out: Path) -> None:
    """Event files written by tensorboard's own writer: one per kind of odd content."""
    from tensorboard.compat.proto import (
        event_pb2,
        summary_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        types_pb2,
    )
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.summary.writer.record_writer import RecordWriter

    def scalar(tag: str, v: float) -> summary_pb2.Summary.Value:
        return summary_pb2.Summary.Value(tag=tag, simple_value=v)

    def tensor(tag: str, v: float, dtype: int) -> summary_pb2.Summary.Value:
        shape = tensor_shape_pb2.TensorShapeProto()
        t = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape)
        if dtype == types_pb2.DT_DOUBLE:
            t.double_val.append(v)
        else:
            t.float_val.append(v)
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
        return summary_pb2.Summary.Value(tag=tag, tensor=t, metadata=meta)

    cases = {
        "odd_steps": [(s, [scalar("loss", 1.0 / (i + 1))]) for i, s in enumerate(
            [0, -5, 2**63 - 1, 7, 7, -(2**63), 3])],
        "odd_values": [(i, [scalar("loss", v), scalar("", 0.5), tensor("acc", v, types_pb2.DT_DOUBLE)])
                       for i, v in enumerate([float("nan"), float("inf"), -float("inf"), 0.0,
                                              -0.0, 3.4e38, 1e-45])],
        "many_per_summary": [(i, [scalar(f"m{j}", i * 0.5 + j) for j in range(6)])
                             for i in range(5)],
    }
    for name, events in cases.items():
        d = Path(tempfile.mkdtemp())
        w = EventFileWriter(str(d), flush_secs=3600)
        for k, (step, values) in enumerate(events):
            w.add_event(event_pb2.Event(wall_time=T0 + k, step=step,
                                        summary=summary_pb2.Summary(value=values)))
        w.close()
        (f,) = d.iterdir()
        shutil.copy(f, out / f"{name}.tfevents")
        shutil.rmtree(d)
    # Zero-length and empty-Event records through the record framing itself.
    with open(out / "zero_length.tfevents", "wb") as f:
        rw = RecordWriter(f)
        rw.write(event_pb2.Event(wall_time=T0, file_version="brain.Event:2").SerializeToString())
        rw.write(b"")
        rw.write(event_pb2.Event().SerializeToString())
        rw.write(event_pb2.Event(step=1, wall_time=T0 + 1, summary=summary_pb2.Summary(
            value=[scalar("loss", 0.25)])).SerializeToString())
        rw.close()


def wandb_seeds(out: Path) -> None:
    """``run-*.wandb`` logs from real offline W&B runs."""
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_CONSOLE="off")
    import wandb

    def run(name: str, body) -> None:
        d = Path(tempfile.mkdtemp())
        r = wandb.init(project="fuzz", dir=str(d), config={"lr": 0.1, "batch_size": 8})
        body(r)
        r.finish()
        wandb.teardown()  # wait for wandb-core to write the rest of the log
        (f,) = glob.glob(str(d / "wandb" / "offline-run-*" / "run-*.wandb"))
        shutil.copy(f, out / f"run-{name}.wandb")
        shutil.rmtree(d)

    def basic(r) -> None:
        for s in range(8):
            r.log({"train/loss": 1.0 / (s + 1), "val_acc": s * 0.1}, step=s)

    def odd(r) -> None:
        r.log({"loss": float("nan"), "big": float("inf"), "small": -float("inf")}, step=0)
        r.log({"loss": 1.0, "nested": {"a": 2.0, "b": {"c": 3.0}}}, step=3)
        r.log({"loss": 0.5}, step=2**62)
        r.log({"text": "not a number", "loss": 0.25}, step=2**62 + 1)

    def long_record(r) -> None:
        # ~40 KiB of history in one record: split FIRST/MIDDLE/LAST across 32 KiB blocks.
        r.log({f"metric_{i:04d}": i * 0.001 for i in range(900)}, step=0)
        r.log({"metric_0000": 1.0}, step=1)

    run("basic", basic)
    run("odd", odd)
    run("long", long_record)


def main() -> None:
    for sub, make in (("tensorboard", tensorboard_seeds), ("wandb", wandb_seeds)):
        d = CORPUS / sub
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*"):
            if "fz-" not in old.name and not old.name.startswith("crash-"):
                old.unlink()  # inputs the fuzzer kept, and crash reproducers, stay
        make(d)
        print(sub, sorted(p.name for p in d.iterdir()), file=sys.stderr)


if __name__ == "__main__":
    main()
