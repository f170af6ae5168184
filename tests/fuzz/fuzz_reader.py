#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris) of the binary record readers: TensorBoard and W&B.

    python tests/fuzz/fuzz_reader.py tensorboard WORK_CORPUS SEED_DIR... -max_total_time=300
    python tests/fuzz/fuzz_reader.py wandb WORK_CORPUS SEED_DIR... -max_total_time=300
    python tests/fuzz/fuzz_reader.py tensorboard-records WORK_CORPUS RECORD_SEEDS... ...
    python tests/fuzz/fuzz_reader.py unframe tensorboard|wandb SRC_DIR OUT_DIR

Each input is written as a log file of that format and read through
``diagnose.load_all`` (detection, framing, checksums, protobuf decoding, run building).
Random bytes rarely pass the record checksums, so the ``-records`` targets take a list
of record payloads instead (``u32 length + bytes``, repeated) and frame them with valid
checksums (TensorBoard's own ``masked_crc32c``; zlib's CRC-32 and 32 KiB blocks for W&B):
the fuzzer then works on the protobuf decoding behind the checksums. ``unframe`` turns
real log files into such payload lists, as seeds.
A ``diagnose.ReadError`` that names the file is the correct answer to bad input;
anything else is a finding. Findings do not stop the run: each distinct one (by
exception type and the innermost diagnose frame) is saved once under
``$FUZZ_OUT/crashes/`` (input and traceback), so one run reports every bug it hit.
Hangs and memory blow-ups are libFuzzer's ``-timeout`` and ``-rss_limit_mb``.
Not part of the test suite (atheris is not a dependency): see README.md here.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import tempfile
import traceback
from pathlib import Path

import atheris
from _framing import frame_tensorboard, frame_wandb, payloads

with atheris.instrument_imports(include=["diagnose"]):
    import diagnose
    from diagnose.readers import tensorboard, wandb  # noqa: F401  (instrumented)

NAMES = {"tensorboard": "events.out.tfevents.fuzz", "wandb": "run-fuzz.wandb"}
TARGETS = ("tensorboard", "wandb", "tensorboard-records", "wandb-records")
def unframe(fmt: str, src: Path, dst: Path) -> None:
    """Seeds for the ``-records`` targets: the record payloads of real log files."""
    from diagnose.readers import tensorboard as tb
    from diagnose.readers import wandb as wb

    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(p for p in src.iterdir() if p.is_file()):
        data = f.read_bytes()
        if fmt == "tensorboard":
            buf = tb._load(f)
            offs, lengths, _ = tb._frame(f, buf)
            recs = [bytes(buf[o + 12 : o + 12 + n]) for o, n in zip(offs, lengths)]
        else:
            recs = [r for _, r in wb._records(f, data)[0]]
        (dst / f.name).write_bytes(b"".join(struct.pack("<I", len(r)) + r for r in recs))
OUT = Path(os.environ.get("FUZZ_OUT", "fuzz-out"))
SEEN: set[str] = set()


def _signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "diagnose" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def main() -> None:
    if sys.argv[1] == "unframe":
        unframe(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    if sys.argv[1] in TARGETS:  # kept in the environment for libFuzzer's child runs (-merge)
        os.environ["FUZZ_TARGET"] = sys.argv.pop(1)
    fmt, _, records = os.environ["FUZZ_TARGET"].partition("-")
    frame = {"tensorboard": frame_tensorboard, "wandb": frame_wandb}[fmt] if records else None
    work = Path(tempfile.mkdtemp(prefix="fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                                 else None))
    target = work / NAMES[fmt]
    (OUT / "crashes").mkdir(parents=True, exist_ok=True)

    def one_input(data: bytes) -> None:
        target.write_bytes(frame(payloads(data)) if frame else data)
        try:
            diagnose.load_all(target)
        except diagnose.ReadError as e:
            if str(target) not in str(e):
                _record(data, AssertionError(f"ReadError does not name the file: {e}"))
        except Exception as e:  # noqa: BLE001 - every other exception is a finding
            _record(data, e)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def _record(data: bytes, exc: BaseException) -> None:
    sig = _signature(exc)
    if sig in SEEN:
        return
    SEEN.add(sig)
    h = hashlib.sha1(data).hexdigest()[:12]
    (OUT / "crashes" / f"crash-{h}").write_bytes(data)  # the fuzzer's input, as given
    text = f"{sig}\n\n" + "".join(traceback.format_exception(exc))
    (OUT / "crashes" / f"crash-{h}.txt").write_text(text)
    print(f"\n=== finding: {sig} (crash-{h})", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
