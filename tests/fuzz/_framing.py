"""Writing TensorBoard and W&B record streams, independently of diagnose's readers.

Used by the atheris harness (to fuzz what lies behind valid checksums) and by
``tests/test_fuzz_readers.py`` (odd-but-valid W&B history records). The TensorBoard
checksum is tensorboard's own ``masked_crc32c``; W&B's framing follows the LevelDB
log format it uses (7-byte chunk headers, zlib CRC-32 of type byte and data, 32 KiB
blocks, zero padding) and reproduces real ``run-*.wandb`` files byte for byte (checked
in the tests from the corpus). The protobuf encoder is the wire format, nothing more.
"""

from __future__ import annotations

import struct
import zlib

WANDB_HEADER = struct.pack("<4sHB", b":W&B", 0xBEE1, 0)
BLOCK = 32768


def payloads(data: bytes) -> list[bytes]:
    """``u32 length + bytes``, repeated; a short tail is one last payload."""
    out, off = [], 0
    while off < len(data):
        if off + 4 > len(data):
            out.append(data[off:])
            break
        (n,) = struct.unpack_from("<I", data, off)
        out.append(data[off + 4 : off + 4 + n])
        off += 4 + n
    return out


def join_payloads(records: list[bytes]) -> bytes:
    """Inverse of :func:`payloads`."""
    return b"".join(struct.pack("<I", len(r)) + r for r in records)


def frame_tensorboard(records: list[bytes]) -> bytes:
    """TFRecord framing: u64 length, masked CRC32C of it, data, masked CRC32C of the data."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    parts = []
    for r in records:
        head = struct.pack("<Q", len(r))
        parts += [head, struct.pack("<I", masked_crc32c(head)), r,
                  struct.pack("<I", masked_crc32c(r))]
    return b"".join(parts)


def frame_wandb(records: list[bytes]) -> bytes:
    """The W&B transaction log: file header, then LevelDB log chunks in 32 KiB blocks."""
    out = bytearray(WANDB_HEADER)
    for r in records:
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\0" * left
                continue
            chunk, r = r[: left - 7], r[left - 7 :]
            kind = (1 if not r else 2) if first else (4 if not r else 3)
            crc = zlib.crc32(chunk, zlib.crc32(bytes([kind])))
            out += struct.pack("<IHB", crc, len(chunk), kind) + chunk
            first = False
            if not r:
                break
    return bytes(out)


# -- protobuf wire format ---------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are ten-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(number: int, data: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number: int, n: int) -> bytes:
    return varint(number << 3) + varint(n)


def wandb_history(items: list[tuple[str, str]], step: int | None = None) -> bytes:
    """A ``Record`` holding ``history`` (2): items ``(key, value_json)``, optional step num."""
    body = b"".join(field_bytes(1, field_bytes(1, k.encode()) + field_bytes(16, v.encode()))
                    for k, v in items)
    if step is not None:
        body += field_bytes(2, field_varint(1, step))
    return field_bytes(2, body)


def wandb_config(items: list[tuple[str, str]]) -> bytes:
    """A ``Record`` holding ``config`` (5): ``ConfigItem`` updates ``(key, value_json)``."""
    body = b"".join(field_bytes(1, field_bytes(1, k.encode()) + field_bytes(16, v.encode()))
                    for k, v in items)
    return field_bytes(5, body)


def wandb_exit() -> bytes:
    """A ``Record`` holding ``exit`` (18) with exit_code 0: the run finished."""
    return field_bytes(18, field_varint(1, 0))
