"""CRC32C (Castagnoli), the checksum TFRecord framing uses, without a C extension.

TensorBoard files hold one CRC per record, so a million scalars mean a million
checksums: computing them one at a time in Python would dominate reading. Here
many records of the same length are checksummed at once, column by column over an
``(n_records, length)`` matrix, four bytes per numpy step with two 64 Ki-entry
tables. The ``crc32c`` or ``google_crc32c`` C packages are used for single buffers
when importable; they are never required.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "crc32c", "crc32c_rows", "crc32c_rows_alike", "crc32c_spans", "masked", "masked_crc32c", "masked_crc32c_rows",
]

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    return t


_T8 = _byte_table()
_T8_LIST = _T8.tolist()


def _advance_bytes(x: np.ndarray, nbytes: int) -> np.ndarray:
    """Feed ``nbytes`` zero bytes through the CRC register ``x`` (vectorised)."""
    for _ in range(nbytes):
        x = _T8[x & 0xFF] ^ (x >> 8)
    return x


# A 32-bit register after xoring in one 4-byte word is a GF(2)-linear function of the
# word, so it splits into a low-half table and a high-half table.
_I16 = np.arange(1 << 16, dtype=np.uint32)
_TLO = _advance_bytes(_I16, 4)
_THI = _advance_bytes(_I16 << 16, 4)
del _I16


def _crc32c_py(data: bytes, crc: int = 0) -> int:
    c = crc ^ 0xFFFFFFFF
    t = _T8_LIST
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _c_impl():
    try:
        import crc32c as _m  # type: ignore[import-not-found]

        return lambda data: _m.crc32c(data)
    except ImportError:
        pass
    try:
        import google_crc32c as _g  # type: ignore[import-not-found]

        return lambda data: _g.value(bytes(data))
    except ImportError:
        return None


_C = _c_impl()


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC32C of one buffer (the C package when importable)."""
    if _C is not None:
        return int(_C(data))
    if len(data) < 4 * _CHUNK:
        return _crc32c_py(bytes(data))
    return _crc32c_long(np.frombuffer(data, dtype=np.uint8))


def crc32c_rows(rows: np.ndarray) -> np.ndarray:
    """CRC32C of every row of an ``(n, L)`` uint8 matrix, as uint32."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    start = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    return _register_rows(rows, start) ^ np.uint32(0xFFFFFFFF)


def _register_rows(rows: np.ndarray, crc: np.ndarray) -> np.ndarray:
    """The raw CRC register after feeding each row, from start values ``crc``.

    Few long rows would mean many numpy steps on tiny arrays, so long rows are cut
    into chunks that become rows themselves, then chained per row (see _advance).
    """
    n, length = rows.shape
    if length >= 4 * _ROW_CHUNK and length * 64 > n * _ROW_CHUNK * _ROW_CHUNK:
        head = length % _ROW_CHUNK
        crc = _register_columns(rows[:, :head], crc)
        k = length // _ROW_CHUNK
        chunks = np.ascontiguousarray(rows[:, head:]).reshape(n * k, _ROW_CHUNK)
        regs = _register_columns(chunks, np.zeros(n * k, dtype=np.uint32)).reshape(n, k)
        a0, a1, a2, a3 = _advance_tables(_ROW_CHUNK)[0]
        for j in range(k):
            crc = a0[crc & 0xFF] ^ a1[(crc >> 8) & 0xFF] ^ a2[(crc >> 16) & 0xFF] ^ a3[crc >> 24]
            crc ^= regs[:, j]
        return crc
    return _register_columns(rows, crc)


def _register_columns(rows: np.ndarray, crc: np.ndarray) -> np.ndarray:
    """Column by column: four bytes per step with two 64 Ki-entry tables."""
    length = rows.shape[1]
    nwords = length // 4
    if nwords:
        # Transposed once, so that each step reads one contiguous column of words.
        words = np.ascontiguousarray(np.ascontiguousarray(rows[:, : nwords * 4]).view("<u4").T)
        for k in range(nwords):
            crc = crc ^ words[k]
            crc = _TLO[crc & 0xFFFF] ^ _THI[crc >> 16]
    for k in range(nwords * 4, length):
        crc = _T8[(crc ^ rows[:, k]) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c_rows_alike(rows: np.ndarray, vary: np.ndarray | None = None) -> np.ndarray:
    """CRC32C of every row of an ``(n, L)`` uint8 matrix whose rows mostly agree
    (records of one layout: the same tag and field keys, other numbers).

    For messages of one length the CRC is affine, ``crc(x) = crc(r) ^ lin(x ^ r)``, and
    ``lin`` is a sum of one table entry per byte: bytes equal to the first row's add
    nothing, so only the columns where some row differs cost a lookup (in a 256-entry
    table). Rows that differ almost everywhere go to :func:`crc32c_rows`. ``vary``: the
    columns where some row differs from the first, if the caller knows them.
    """
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    n, length = rows.shape
    if n < 2 or not length:
        return crc32c_rows(rows)
    ref = rows[0]
    if vary is None:
        vary = np.flatnonzero((rows != ref).any(axis=0))
    if 2 * len(vary) > length:
        return crc32c_rows(rows)
    out = np.full(n, crc32c_rows(rows[:1])[0], dtype=np.uint32)
    after = _after_zeros(length - 1)
    for j in vary.tolist():
        out ^= after[length - 1 - j][rows[:, j] ^ ref[j]]
    return out


_AFTER = _T8[None, :]  # row m: the register (from zero) after byte b then m zero bytes


def _after_zeros(m: int) -> np.ndarray:
    """Rows 0..m of the table above, grown on demand."""
    global _AFTER
    if m >= len(_AFTER):
        grown = [_AFTER]
        last = _AFTER[-1]
        for _ in range(len(_AFTER), max(m + 1, 2 * len(_AFTER))):
            last = _T8[last & 0xFF] ^ (last >> 8)
            grown.append(last[None, :])
        _AFTER = np.concatenate(grown)
    return _AFTER


def crc32c_spans(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of ``buf[s : s + n]`` for spans of *different* lengths, in bulk.

    From a zero register, leading zero bytes change nothing, so spans are left-padded
    with zeros to a common width (bins of widths within 2x, to bound the waste) and
    checksummed as rows; the standard start value is added back per length.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    reg = np.zeros(len(starts), dtype=np.uint32)
    bins = np.frexp(np.maximum(lengths, 1).astype(np.float64))[1]
    for b in np.unique(bins).tolist():
        sel = np.flatnonzero(bins == b)
        width = int(lengths[sel].max())
        step = max(1, (1 << 20) // max(width, 1))  # index matrices of at most 8 MB
        cols = np.arange(width)
        for c in range(0, len(sel), step):
            s = sel[c : c + step]
            pad = width - lengths[s]
            idx = starts[s, None] - pad[:, None] + cols
            mat = buf[np.maximum(idx, 0)]
            mat[cols < pad[:, None]] = 0
            reg[s] = _register_rows(mat, np.zeros(len(s), dtype=np.uint32))
    return reg ^ _ones_through_zeros(lengths) ^ np.uint32(0xFFFFFFFF)


def _ones_through_zeros(lengths: np.ndarray) -> np.ndarray:
    """The register after ``n`` zero bytes from the standard start value, for each n."""
    uniq = np.unique(lengths).tolist()
    at: dict[int, int] = {}
    c, k, t = 0xFFFFFFFF, 0, _T8_LIST
    for n in uniq:
        while k < n:
            c = t[c & 0xFF] ^ (c >> 8)
            k += 1
        at[n] = c
    return np.array([at[n] for n in lengths.tolist()], dtype=np.uint32)


# Chaining chunks: register(start, chunk) = advance(start, len(chunk)) ^ register(0, chunk),
# and advance() is linear, so one 256-entry table per byte of the register does it.
_ROW_CHUNK = 256
_CHUNK = 1024
_ADV: dict[int, tuple[list[np.ndarray], list[list[int]]]] = {}


def _advance_tables(nbytes: int) -> tuple[list[np.ndarray], list[list[int]]]:
    """Tables advancing a register over ``nbytes`` zero bytes (as arrays and as lists)."""
    if nbytes not in _ADV:
        v = np.arange(256, dtype=np.uint32)
        arrays = [_advance_bytes(v << np.uint32(8 * j), nbytes) for j in range(4)]
        _ADV[nbytes] = (arrays, [a.tolist() for a in arrays])
    return _ADV[nbytes]


def _crc32c_long(data: np.ndarray) -> int:
    """One long buffer: chunks as rows from a zero register, chained in Python ints."""
    a0, a1, a2, a3 = _advance_tables(_CHUNK)[1]
    k = len(data) // _CHUNK
    chunks = np.ascontiguousarray(data[: k * _CHUNK]).reshape(k, _CHUNK)
    raw = _register_columns(chunks, np.zeros(k, dtype=np.uint32)).tolist()
    s = 0xFFFFFFFF
    for r in raw:
        s = a0[s & 0xFF] ^ a1[(s >> 8) & 0xFF] ^ a2[(s >> 16) & 0xFF] ^ a3[s >> 24] ^ r
    return _crc32c_py(data[k * _CHUNK :].tobytes(), s ^ 0xFFFFFFFF)


def masked(crc: np.ndarray | int) -> np.ndarray | int:
    """TFRecord's masking: rotate right by 15 and add a constant (mod 2**32)."""
    if isinstance(crc, np.ndarray):
        c = crc.astype(np.uint32)
        return ((c >> 15) | (c << 17)) + np.uint32(_MASK_DELTA)
    c = int(crc) & 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """The masked CRC32C TFRecord stores after the length and after the data."""
    return int(masked(crc32c(data)))


def masked_crc32c_rows(rows: np.ndarray) -> np.ndarray:
    """Masked CRC32C of every row of an ``(n, L)`` uint8 matrix."""
    return masked(crc32c_rows(rows))  # type: ignore[return-value]
