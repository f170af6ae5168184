"""TFRecord framing of TensorBoard event files, one window of the file at a time.

A record is a u64 length, the masked CRC32C of those 8 bytes, the data, and the
masked CRC32C of the data. The file is read in windows of :data:`WINDOW` bytes
(plus a little look-ahead, so that the last record of a window is usually whole),
never all at once: the records that start in a window are framed, their length
CRCs checked, and the window handed on with the bytes they need. Memory is the
window, not the file.

Inside a window the chain of lengths is followed in Python for the first
:data:`_WALK_FIRST` records, then found in bulk: every Event a writer emits
starts with its wall time (field 1, key byte ``0x09``), so the candidates are the
offsets 12 bytes before such a byte whose 8 bytes read as a plausible length with
a matching length CRC; if they chain from where the walk stopped they *are* the
records. Anything else (a record that starts differently, a false candidate,
damage) ends the bulk run and the walk takes over, so the result is always what
walking gives.

A length running past the end of the file is only believed (a torn tail, the
writer still writing) if its own CRC holds and no valid record follows it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._errors import ReadError
from ._crc32c import masked_crc32c, masked_crc32c_rows
from ._protobuf import PAD
from ._safe_open import open_regular

__all__ = ["FOOTER", "HEADER", "WINDOW", "Source", "Window", "records", "stored_data_crcs",
           "windows"]

HEADER = 12  # u64 length + u32 masked crc
FOOTER = 4  # u32 masked crc of the data
#: Records starting in one window of the file are framed, checked and decoded together.
WINDOW = 1 << 22
#: Bytes read past a window, so that a record starting near its end is usually whole.
_LOOKAHEAD = 1 << 16
#: Records walked in Python (per window) before the bulk framing is tried.
_WALK_FIRST = 1024
#: How far past a "torn tail" to look for a valid record (a lying length hides the rest).
_RESYNC_BYTES = 1 << 20
_EVENT_KEY = 0x09  # Event.wall_time, fixed64: the first byte of every writer's Event
_BULK_MAX_LEN = 1 << 16  # bulk candidates: lengths below this (the table below)
_LEN = struct.Struct("<Q")
_LEN_CRC: np.ndarray | None = None


def _length_crcs() -> np.ndarray:
    """Masked CRC32C of the 8-byte length field for every length below _BULK_MAX_LEN."""
    global _LEN_CRC
    if _LEN_CRC is None:
        lengths = np.arange(_BULK_MAX_LEN, dtype="<u8").view(np.uint8).reshape(-1, 8)
        _LEN_CRC = masked_crc32c_rows(lengths)
    return _LEN_CRC


def _u64(buf: np.ndarray) -> np.ndarray:
    """A little-endian u64 at every byte offset of ``buf`` (an unaligned, strided view)."""
    return np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))


def _u32(buf: np.ndarray) -> np.ndarray:
    """A little-endian u32 at every byte offset of ``buf``."""
    return np.ndarray((len(buf) - 3,), dtype="<u4", buffer=buf, strides=(1,))


class Source:
    """An open event file, read in pieces; ``torn`` is set once framing meets a torn tail."""

    def __init__(self, path: Path, f: BinaryIO) -> None:
        self.path = path
        self.f = f
        self.size = f.seek(0, 2)  # the size when opened: a file still growing reads that much
        self.torn: int | None = None
        self._spare: np.ndarray | None = None

    def read(self, start: int, n: int, reuse: bool = False) -> np.ndarray:
        """Bytes ``[start, start + n)`` (cut at the end of the file) and PAD zero bytes.

        ``reuse``: into the buffer of the previous reused read (the caller is done with it).
        """
        n = max(0, min(n, self.size - start))
        buf = self._spare if reuse else None
        if buf is None or len(buf) < n + PAD:
            buf = np.empty(n + PAD, dtype=np.uint8)
            if reuse:
                self._spare = buf
        view = memoryview(buf)[:n]
        self.f.seek(start)
        got = 0
        while got < n:
            k = self.f.readinto(view[got:])
            if not k:
                break
            got += k
        if got < n:  # the file shrank while we read: it ends here
            self.size = start + got
        buf[got : got + PAD] = 0
        return buf[: got + PAD]


@dataclass
class Window:
    """Records framed in one window: ``buf`` holds the file from byte ``base`` on (and
    PAD zeros), ``offs`` are the record starts in ``buf``, ``lengths`` their data
    lengths; every record is whole in ``buf`` and its length CRC checked."""

    buf: np.ndarray
    base: int
    offs: np.ndarray
    lengths: np.ndarray


def windows(src: Source) -> Iterator[Window]:
    """Frame the file window by window. Raises ReadError (file, byte) on a corrupt
    length or a length that lies; a torn tail ends the file and sets ``src.torn``."""
    base = 0
    while base < src.size:
        buf = src.read(base, WINDOW + _LOOKAHEAD, reuse=True)
        remaining = src.size - base  # file bytes from buf[0] on
        avail = len(buf) - PAD
        limit = avail if remaining <= WINDOW + _LOOKAHEAD else WINDOW
        offs, end, torn = _frame(buf, limit, remaining)
        lengths = _u64(buf)[offs].astype(np.int64)
        _check_lengths(src.path, buf, base, offs, lengths)
        if torn is not None:
            _check_torn(src, base + torn)
        if end > avail:  # the last record runs past what was read: read the window again
            buf = src.read(base, end, reuse=True)
        if len(offs):
            yield Window(buf, base, offs, lengths)
        if torn is not None:
            src.torn = base + torn
            return
        base += end


def _frame(buf: np.ndarray, limit: int, remaining: int) -> tuple[np.ndarray, int, int | None]:
    """Offsets of the records starting before ``limit``, where the next one starts, and
    the offset of a torn tail (a record or header running past ``remaining``)."""
    parts: list[np.ndarray] = []
    got, off, torn = _walk(buf, 0, limit, remaining, _WALK_FIRST)
    parts.append(np.asarray(got, dtype=np.int64))
    if torn is None and off < limit:
        bulk = _bulk(buf, off, limit, remaining)
        if bulk is not None:
            parts.append(bulk[0])
            off = bulk[1]
        if off < limit:  # the bulk run stopped early (or never started): walk the rest
            got, off, torn = _walk(buf, off, limit, remaining, None)
            parts.append(np.asarray(got, dtype=np.int64))
    return np.concatenate(parts), off, torn


def _walk(
    buf: np.ndarray, off: int, limit: int, remaining: int, max_records: int | None
) -> tuple[list[int], int, int | None]:
    """Follow the length chain from ``off`` while records start before ``limit``:
    (offsets, where it stopped, torn tail or None)."""
    mv = memoryview(buf)
    unpack = _LEN.unpack_from
    offsets: list[int] = []
    append = offsets.append
    while off < limit and (max_records is None or len(offsets) < max_records):
        if off + HEADER > remaining:
            return offsets, off, off
        nxt = off + unpack(mv, off)[0] + HEADER + FOOTER
        if nxt > remaining:
            return offsets, off, off
        append(off)
        off = nxt
    return offsets, off, None


def _bulk(buf: np.ndarray, start: int, limit: int, remaining: int) -> tuple[np.ndarray, int] | None:
    """The chain from ``start`` found without a Python loop, as far as it verifiably
    goes: (offsets, where the next record starts), or None."""
    q = np.flatnonzero(buf[start + HEADER : limit + HEADER] == _EVENT_KEY) + start
    n = _u64(buf)[q]
    plausible = (n > 0) & (n < _BULK_MAX_LEN)
    q, n = q[plausible], n[plausible].astype(np.int64)
    ok = _length_crcs()[n] == _u32(buf)[q + 8]
    q, n = q[ok], n[ok]
    if not len(q) or q[0] != start:
        return None
    nxt = q + n + (HEADER + FOOTER)
    brk = np.flatnonzero(nxt[:-1] != q[1:])
    k = int(brk[0]) + 1 if len(brk) else len(q)  # records 0..k-1 chain from start
    if nxt[k - 1] > remaining:  # the last runs past the file: the walk decides (torn tail)
        k -= 1
    if not k:
        return None
    return q[:k], int(nxt[k - 1])


def _check_lengths(path: Path, buf: np.ndarray, base: int, offs: np.ndarray,
                   lengths: np.ndarray) -> None:
    """Every record's length CRC; the first mismatch is a ReadError."""
    if not len(offs):
        return
    stored = _u32(buf)[offs + 8]
    small = lengths < _BULK_MAX_LEN
    computed = np.empty(len(offs), dtype=np.uint32)
    computed[small] = _length_crcs()[lengths[small]]
    big = np.flatnonzero(~small)
    if len(big):
        computed[big] = masked_crc32c_rows(_u64(buf)[offs[big]].astype("<u8")
                                           .view(np.uint8).reshape(-1, 8))
    bad = computed != stored
    if bad.any():
        at = base + int(offs[np.argmax(bad)])
        raise ReadError(path, "corrupt record length (CRC mismatch)", f"byte {at}")


def _check_torn(src: Source, torn: int) -> None:
    """A tail that runs past the end: its length CRC must hold and no record follow."""
    if torn + HEADER > src.size:
        return
    head = src.read(torn, HEADER)
    if masked_crc32c(head[:8].tobytes()) != int(_u32(head)[8]):
        raise ReadError(src.path, "corrupt record length (CRC mismatch)", f"byte {torn}")
    nxt = _next_record(src, torn + 1)
    if nxt is not None:  # not a tail at all: a length that lies, with records after it
        claimed = int(_u64(head)[0])
        raise ReadError(src.path, f"record length {claimed} runs past the end of the file, "
                        f"yet a valid record follows at byte {nxt}: a corrupt or forged "
                        "length (not a torn tail); the records after it were not read",
                        f"byte {torn}")


def _next_record(src: Source, start: int) -> int | None:
    """The first offset in ``[start, start + _RESYNC_BYTES)`` where a whole record with
    both CRCs valid starts, else None. A true torn tail holds none (2^-64 by chance)."""
    end = min(src.size - HEADER - FOOTER, start + _RESYNC_BYTES)
    if end < start:
        return None
    buf = src.read(start, end - start + HEADER)
    n = end - start + 1
    lengths = _u64(buf)[:n].astype("<u8")
    ok = masked_crc32c_rows(lengths.view(np.uint8).reshape(-1, 8)) == _u32(buf)[8 : 8 + n]
    for i in np.flatnonzero(ok).tolist():
        off = start + i
        length = int(lengths[i])
        if off + HEADER + length + FOOTER > src.size:
            continue
        rec = src.read(off + HEADER, length + FOOTER)
        if masked_crc32c(memoryview(rec)[:length]) == int(_u32(rec)[length]):
            return off
    return None


def records(path: Path) -> list[bytes]:
    """The data of every whole record, framed and length-checked as the reader does
    (tests and fuzzing; data CRCs are not checked here)."""
    out = []
    with open_regular(path) as f:
        for w in windows(Source(Path(path), f)):
            out += [bytes(w.buf[o + HEADER : o + HEADER + n])
                    for o, n in zip(w.offs.tolist(), w.lengths.tolist())]
    return out


def stored_data_crcs(w: Window) -> np.ndarray:
    """The masked data CRC each record of a window carries."""
    return _u32(w.buf)[w.offs + HEADER + w.lengths]

