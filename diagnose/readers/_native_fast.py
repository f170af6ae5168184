"""Read ``metrics.jsonl`` lines with numpy: no Python object per value.

The Recorder (and ``json.dumps`` with its default separators) writes lines like::

    {"step": 12, "wall_time": 1795766640.51, "train/loss": 0.5303584337234497}

A ten-million-step run is ten million such lines; ``json.loads`` would build forty
million Python objects and spend most of a minute doing it. This module handles
exactly that layout, a block of lines at a time, with array operations whose count
does not grow with the number of keys or number shapes (small files are common,
and there numpy's cost per call dominates): the quotes locate the keys and the
values; the keys are told apart by a hash of their length and first and last eight
bytes, sorted by it and verified exactly (longer keys by ``bytes.count``); the
numbers are all parsed in one pass, eight bytes per 64-bit word (see
:func:`parse_numbers`).

It is strict: any line that is not ``{"step": <int>`` followed by ``, "<key>":
<number>`` fields and ``}`` (other spacing, escapes, control characters, strings
such as ``"NaN"``, ``true``/``null``, a malformed number such as ``01``, ``1.``,
``+1`` or ``.5``, a repeated key, an empty key, a step that is not an integer below
2**62) makes it give up, and the caller reads the file with ``json``. So a file
either parses here to exactly what ``json.loads`` gives, or is not parsed here at all.

Numbers are converted with correct rounding, as ``float()`` does: an exact
multiplication or division when the digits and the power of ten are both exact
in a double (Clinger's fast path); otherwise in 64-bit-mantissa long double
unless the result lands exactly on a midpoint between two doubles (where rounding
twice could differ); otherwise (rare: more than 19 significant digits, long
exponents, tokens over 24 bytes) with ``float()`` itself.
"""

from __future__ import annotations

import mmap
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["BLOCK_BYTES", "Parsed", "compact", "parse_block", "parse_numbers", "read_file"]

#: Bytes read at once (into one of a few buffers that are reused: fresh memory costs a
#: page fault per 4 KiB) and parsed by one thread.
BLOCK_BYTES = 4 << 20
#: At most about this many bytes (whole lines) are parsed at once: large enough to
#: amortise numpy's per-call cost, small enough that the temporaries (about ten times
#: the bytes, fresh memory from the system each time) stay small.
SUB_BYTES = 2 << 20

_QUOTE, _SPACE, _LBRACE, _RBRACE, _NL = 34, 32, 123, 125, 10
_DOT, _MINUS, _PLUS, _ZERO = 46, 45, 43, 48

_POW10_F = np.array([10.0 ** k for k in range(23)])  # exact in a double
_LD = np.longdouble
_LD_OK = np.finfo(_LD).nmant >= 63  # x86 extended precision: 10**27 and any uint64 are exact
_POW10_LD = np.array([_LD(10) ** k for k in range(28)], dtype=_LD) if _LD_OK else None
_TWO53 = 1 << 53


@dataclass
class Parsed:
    """One block's lines, column-wise."""

    n_lines: int
    step: np.ndarray  # int64, one per line
    #: key -> (line indices, values), keys in order of first appearance (``step`` excluded);
    #: after :func:`compact`, None for the line indices of a key on every line
    fields: dict[str, tuple[np.ndarray | None, np.ndarray]] = field(default_factory=dict)


def read_file(f: BinaryIO, block_bytes: int = BLOCK_BYTES, threads: int | None = None,
              compact: bool | Pack = False) -> tuple[list[Parsed], bytes] | None:
    """Every complete line of an open ``metrics.jsonl``, block by block, and the bytes after
    the last newline (a line still being written); None when not the strict layout.

    The file is read ``block_bytes`` at a time into a few reused buffers (fresh memory
    costs a page fault per 4 KiB) and each is parsed ``SUB_BYTES`` of whole lines at a
    time; long files by a few threads (numpy releases the GIL for the array work).
    ``compact=True`` passes each block through :func:`compact` as it is parsed (a
    function: through ``compact(block, that function)``).
    """
    threads = threads if threads is not None else min(2, os.cpu_count() or 1)
    block_bytes = max(block_bytes, 1)
    first = f.read(block_bytes)
    if len(first) < block_bytes:  # a short file: parsed here, as it is
        first += f.read()  # (short reads: a pipe)
        cut = first.rfind(b"\n") + 1
        parsed = _parse_lines(first, cut, compact) if cut else []
        return None if parsed is None else (parsed, first[cut:])
    out: list[Parsed] = []
    pending: deque[Future] = deque()
    pool = None
    # the buffer being filled and one per block being parsed (threads + 1 once threaded)
    bufs = [bytearray(block_bytes)]
    rest = b""
    i = 0
    try:
        while True:
            buf = bufs[i % len(bufs)]
            r = len(rest)
            if len(buf) < r + block_bytes:  # a line longer than a block
                buf = bufs[i % len(bufs)] = bytearray(r + block_bytes)
            buf[:r] = rest
            view = memoryview(buf)
            if first:
                got = len(first)
                view[r:r + got] = first
                first = b""
            else:
                got = f.readinto(view[r:r + block_bytes])
            if not got:
                break
            size = r + got
            cut = buf.rfind(b"\n", 0, size) + 1
            rest = bytes(view[cut:size])
            if cut == 0:
                continue
            if threads < 2:
                parsed = _parse_lines(buf, cut, compact)
                if parsed is None:
                    return None
                out.extend(parsed)
                continue
            if pool is None:
                pool = ThreadPoolExecutor(threads)
                bufs += [bytearray(block_bytes) for _ in range(threads)]
            pending.append(pool.submit(_parse_lines, buf, cut, compact))
            i += 1  # the next buffer is free: at most `threads` blocks are pending
            while len(pending) > threads:
                parsed = pending.popleft().result()
                if parsed is None:
                    return None
                out.extend(parsed)
        while pending:
            parsed = pending.popleft().result()
            if parsed is None:
                return None
            out.extend(parsed)
    finally:
        if pool is not None:
            for fut in pending:
                fut.cancel()
            pool.shutdown()
    return out, rest


#: ``pack(key, values)``: a smaller form of a key's values, or None (kept as they are).
Pack = Callable[[str, np.ndarray], Any]


def compact(p: Parsed, pack: Pack | None = None) -> Parsed:
    """The block holding only its own columns: 8 bytes per line per column, nothing more.

    A parsed block's fields are views of arrays holding every field of the block (rows
    and values of all keys), so keeping one field keeps them all alive. Here each field's
    values are copied out, and its rows too, except where the key is on every line of the
    block: then the rows are None (``0 .. n_lines - 1``). ``pack`` may hold a key's
    values in fewer bytes.
    """
    fields = {}
    for k, (rows, vals) in p.fields.items():
        small = None if pack is None else pack(k, vals)
        fields[k] = (None if len(rows) == p.n_lines else kept(rows),
                     kept(vals) if small is None else small)
    p.fields = fields
    p.step = kept(p.step)
    return p


def kept(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` in its own anonymous memory mapping, returned to the system when freed.

    What a long file's blocks keep (a few hundred KiB a column) would otherwise sit on
    the heap among the next blocks' freed temporaries, and the allocator could not give
    those pages back: a ten-million-step run held about 470 MB after reading, not 240.
    """
    if a.nbytes < (64 << 10):
        return a.copy()
    out = np.frombuffer(mmap.mmap(-1, a.nbytes), dtype=a.dtype, count=len(a))
    out[:] = a
    return out


def _parse_lines(data: bytes | bytearray, n: int, small: bool | Pack = False
                 ) -> list[Parsed] | None:
    """The complete lines ``data[:n]``, ``SUB_BYTES`` at a time (each :func:`compact` if
    ``small``, with ``small`` as its ``pack`` when a function)."""
    out = []
    view = memoryview(data)
    s = 0
    while s < n:
        e = n if n - s <= SUB_BYTES + (SUB_BYTES >> 1) else data.rfind(b"\n", s, s + SUB_BYTES) + 1
        if e <= s:  # a line longer than SUB_BYTES
            e = data.find(b"\n", s + SUB_BYTES, n) + 1
        parsed = _parse_padded(b"".join((_ZFRONT, view[s:e], _ZPAD)), e - s)
        if parsed is None:
            return None
        out.append(parsed if not small else compact(parsed, None if small is True else small))
        s = e
    return out


def _words(buf: bytes | np.ndarray, dtype: str, offset: int = 0) -> np.ndarray:
    """Element i = the bytes at offset+i, offset+i+1, ... as one little-endian word (unaligned)."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((len(buf) - offset - size + 1,), dtype=dtype, buffer=buf, offset=offset,
                      strides=(1,))


def _word(text: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(text, dtype=dtype).reshape(())


def _c(value: int, dtype: type = np.uint64) -> np.ndarray:
    """A constant operand: a 0-d array costs ufuncs less than a scalar does."""
    return np.array(value, dtype=dtype)


_LINE_HEAD = _word(b'{"step":', "<u8")
_KEY_END = _word(b": ", "<u2")
_SEP = _word(b", ", "<u2")
_PAD = 256  # zero bytes after a block: longer than any number parsed here
_FRONT = 32  # zero bytes before it: numbers are read in windows that end where they end
_ZPAD, _ZFRONT = b"\0" * _PAD, b"\0" * _FRONT
_B = {c: _c(c, np.uint8) for c in (_SPACE, _QUOTE, _LBRACE, _RBRACE, _NL, _ZERO)}


def parse_block(block: bytes) -> Parsed | None:
    """Parse complete lines (``block`` ends with a newline), or None if any line is unusual."""
    if not block:
        return None
    # padded, so that a word or a window can be read anywhere
    return _parse_padded(b"".join((_ZFRONT, block, _ZPAD)), len(block))


def _parse_padded(buf: bytes, n: int) -> Parsed | None:
    """parse_block of ``buf[_FRONT:_FRONT + n]``, which has zero bytes around it."""
    if n == 0 or buf[_FRONT + n - 1] != _NL or buf.find(b"\\", _FRONT, _FRONT + n) >= 0:
        return None
    p = np.frombuffer(buf, np.uint8)
    a = p[_FRONT:_FRONT + n]
    scratch = np.empty(n, dtype=bool)  # one buffer for the whole-block tests
    n_lines = int(np.count_nonzero(np.less(a, _B[_SPACE], out=scratch)))  # control characters
    qt = np.flatnonzero(np.equal(a, _B[_QUOTE], out=scratch))
    if not len(qt) or len(qt) % 2:
        return None
    op, cl = qt[0::2], qt[1::2]  # each key's opening and closing quote
    # a key opens a line after "{", or follows ", " (nothing else comes before a quote)
    first = p[_FRONT - 1:][op] == _B[_LBRACE]
    line_op = op[first]
    if len(line_op) != n_lines or int(line_op[0]) != 1:
        return None
    if (_words(buf, "<u8", _FRONT - 1)[line_op] != _LINE_HEAD).any():
        return None  # every line: {"step": ...
    # ... and ends "}\n" right before the next line's "{" (or the block's end); the
    # newlines found there are all the control characters there are
    ends = np.empty(n_lines, dtype=np.int64)
    ends[:-1] = line_op[1:]
    ends[-1] = n + 1
    if (p[_FRONT - 2:][ends] != _B[_NL]).any() or (p[_FRONT - 3:][ends] != _B[_RBRACE]).any():
        return None
    if (_words(buf, "<u2", _FRONT + 1)[cl] != _KEY_END).any():
        return None  # a key ends with '": '
    if int(np.count_nonzero(_words(buf, "<u2", _FRONT - 2)[op] == _SEP)) != len(op) - n_lines:
        return None  # a field is preceded by ", "
    # the fields now tile every line: {"step": v(, "key": v)*}; their values, in p:
    m = len(op)
    vs = cl + (_FRONT + 3)
    ve = np.empty(m, dtype=np.int64)
    np.add(op[1:], _FRONT - 2, out=ve[:-1])
    ve[:-1] -= first[1:]  # a line's last value ends before its "}"
    ve[-1] = _FRONT + n - 2
    got = parse_numbers(p, vs, ve, first)
    if got is None:
        return None  # not numbers, or a step that is not an integer (json.loads requires one)
    floats, steps = got
    out = Parsed(n_lines, steps)
    line = np.cumsum(first)
    line -= 1
    fields = _group_keys(buf, n, op, cl, line, floats)
    if fields is None or fields.pop("step", None) is None:
        return None
    out.fields = fields
    return out


# multipliers for the keys' hash (tried in turn when two keys share a bucket)
_MIX = [tuple(_c(v) for v in vs) for vs in (
    (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0xD6E8FEB86659FD93),
    (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB),
    (0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x9E3779B97F4A7C15))]
_MAX_KEYS = 256


def _group_keys(buf: bytes, n: int, op: np.ndarray, cl: np.ndarray,
                line: np.ndarray, vals: np.ndarray
                ) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Each key's (line indices, values), keys in order of first appearance.

    A key up to sixteen bytes is its length and its first and last eight bytes. The
    fields are sorted (stably: a radix sort) by a 16-bit hash of those; a bucket
    holding two different keys (checked exactly) is retried with another hash. A
    longer key K is verified: it is on exactly the fields of its bucket iff ``"K": ``
    occurs that many times in the block (it can only occur at a key: keys hold no
    quote, and K does not start with ``": "``, which is checked; after a key's closing
    quote come ``: ``, a number and ``, "`` or ``}``); if not (rare), the bucket's
    keys are told apart one by one.
    """
    klen = cl - op
    klen -= 1
    head = _words(buf, "<u8", _FRONT + 1)[op]
    head &= _BYTES_BELOW[0].take(klen + _AT, mode="clip")  # the bytes after a short key are not
    tail = _words(buf, "<u8", _FRONT - 8)[cl]  # part of it
    tail &= _BYTES_FROM.take((8 + _AT) - klen, mode="clip")
    m = len(op)
    for c1, c2, c3 in _MIX:
        h = head * c1
        h ^= tail * c2
        h += klen.view(np.uint64)
        h *= c3
        h >>= _c(48)
        bucket = h.astype(np.uint16)
        order = np.argsort(bucket, kind="stable")
        b = bucket.take(order)
        same = b[1:] == b[:-1]  # the next field is in the same bucket
        differ = head.take(order)
        differ = differ[1:] != differ[:-1]
        t = tail.take(order)
        differ |= t[1:] != t[:-1]
        t = klen.take(order)
        differ |= t[1:] != t[:-1]
        differ &= same
        if not differ.any():
            break
    else:
        return None  # not a metrics log of a few keys
    rows = line.take(order)
    dup = rows[1:] <= rows[:-1]
    dup &= same  # a key twice in one line (json.loads would keep the last): None, below
    bounds = np.flatnonzero(~same)
    if len(bounds) >= _MAX_KEYS:
        return None  # not a metrics log of a few keys
    bounds += 1
    group_starts = [0, *bounds.tolist()]
    group_ends = [*group_starts[1:], m]
    with_dup = set()
    if dup.any():
        with_dup = set((np.searchsorted(bounds, np.flatnonzero(dup) + 1, side="right")).tolist())
    firsts = order.take(group_starts).tolist()  # stable: each bucket's first field
    vals = vals.take(order)
    groups = []  # (first field, key, line indices, values)
    for g, (i, s, e) in enumerate(zip(firsts, group_starts, group_ends)):
        raw = buf[int(op[i]) + _FRONT + 1:int(cl[i]) + _FRONT]
        if len(raw) <= 16 or (raw[:2] != b": " and
                              buf.count(b'"' + raw + b'": ', _FRONT, _FRONT + n) == e - s):
            if g in with_dup:
                return None
            groups.append((i, raw, rows[s:e], vals[s:e]))
            continue
        # keys of one length, start and end that differ in the middle: told apart one by one
        fields = order[s:e].tolist()
        by_key: dict[bytes, list[int]] = {}
        for j, f in enumerate(fields):
            by_key.setdefault(buf[int(op[f]) + _FRONT + 1:int(cl[f]) + _FRONT], []).append(j)
        for key, js in by_key.items():
            sel = np.array(js)
            r = rows[s:e][sel]
            if len(r) > 1 and not (r[1:] > r[:-1]).all():
                return None
            groups.append((fields[js[0]], key, r, vals[s:e][sel]))
    if len(groups) >= _MAX_KEYS:
        return None
    groups.sort(key=lambda group: group[0])
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for _, raw, r, v in groups:
        if not raw:
            return None  # an empty key
        try:
            out[raw.decode("utf-8")] = (r, v)
        except UnicodeDecodeError:
            return None
    return out


#: Tokens up to this long are parsed as three 8-byte words; longer ones (rare) one by one.
_MDIG = 24
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_U = np.uint64
_AT = 40  # offset of column 0 in the tables below (indices run from -40 on)


def _table(k: int, fn) -> np.ndarray:
    """fn(c) for c = the column, from word k's start, of each index (c clipped to 0..8)."""
    return np.array([fn(min(max(i - _AT - 8 * k, 0), 8)) for i in range(2 * _AT + 8)],
                    dtype=np.uint64)


#: _BYTES_BELOW[k][_AT + c]: word k's bytes before column c (of the three words) set
_BYTES_BELOW = [_table(k, lambda c: (1 << (8 * c)) - 1) for k in range(3)]
#: _BYTES_FROM[_AT + c]: a word's bytes c, c+1, ... set
_BYTES_FROM = ~_BYTES_BELOW[0]
#: _DIGITS_FROM[k][_AT + c]: the low nibbles (digit values) of word k's bytes from column c
_DIGITS_FROM = [~t & _U(0x0F0F0F0F0F0F0F0F) for t in _BYTES_BELOW]
#: _ONES_FROM[k][_AT + c]: 1 in word k's bytes from column c
_ONES_FROM = [~t & _U(0x0101010101010101) for t in _BYTES_BELOW]
#: the bytes that may stand among a number's digits: 1 dot, 2 exponent mark, 3 "-", 4 "+"
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[[_DOT, ord("e"), ord("E"), _MINUS, _PLUS]] = [1, 2, 2, 3, 4]
_K30, _K80, _K0A, _K7 = _c(0x3030303030303030), _c(0x8080808080808080), _c(0x0A0A0A0A0A0A0A0A), _c(7)
_K8, _K56, _K16, _K32 = _c(8), _c(56), _c(16), _c(32)
_KM1, _KM2, _KM3 = _c(2561), _c(6553601), _c(42949672960001)
_KL1, _KL2 = _c(0x00FF00FF00FF00FF), _c(0x0000FFFF0000FFFF)
_K1000, _E16, _E8 = _c(1000), _c(10 ** 16), _c(10 ** 8)
_K53, _K62 = _c(_TWO53), _c(1 << 62)


def parse_numbers(a: np.ndarray, vs: np.ndarray, ve: np.ndarray, ints: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The JSON numbers at ``a[vs:ve]`` as float64 (what ``float(json.loads(token))`` gives),
    and the int64 values of the tokens selected by ``ints`` (a mask).

    ``a`` must go on for at least ``_PAD`` bytes past the last token.
    None when any token is not a JSON number (``01``, ``1.``, ``+1``, ``NaN``, ...),
    or a token selected by ``ints`` is not an integer below 2**62 in magnitude.

    All tokens are parsed at once, eight bytes per word: each token's last 24 bytes
    are read as three words; the bytes that are not digits are located and checked
    against the grammar (a sign first, one dot, one exponent mark with an optional
    sign, digits around each); then the mantissa's digits, the dot dropped, are
    right-aligned in the three words and combined eight at a time (the SWAR method of
    simdjson). Tokens longer than 24 bytes (rare) are checked one by one.
    """
    m = len(vs)
    if m == 0:
        return np.empty(0), (None if ints is None else np.empty(0, dtype=np.int64))
    lens = ve - vs
    longest = int(lens.max())
    if longest >= _PAD or int(lens.min()) < 1:
        return None
    if int(vs.min()) < _FRONT:  # the windows reach before the first token
        a = np.concatenate([np.zeros(_FRONT, np.uint8), a])
        vs, ve = vs + _FRONT, ve + _FRONT
    aw = _words(a, "<u8")
    # win[:, i]: the 24 bytes that end token i (column 23 is its last byte), as three words
    end = ve - _MDIG
    win = np.empty((3, m), dtype=np.uint64)
    for k in range(3):
        win[k] = aw[end + 8 * k] if k else aw[end]
    wide = None
    if longest > _MDIG:  # checked one by one below; here they pass for "0"
        wide = np.flatnonzero(lens > _MDIG)
        lens = lens.copy()
        lens[wide] = 1
        win[:, wide] = _U(0x3030303030303030)
    start = _MDIG - lens  # the column of each token's first byte
    # the bytes of the tokens that are not digits: 1 in odd's bytes
    at = start + _AT
    odd = np.empty((m, 3), dtype=np.uint64)
    for k in range(3):
        if 8 * k + 8 <= _MDIG - longest:
            odd[:, k] = 0  # no token reaches into this word
            continue
        w = win[k] ^ _K30  # a digit's byte is now 0-9
        t = w | _K80
        t -= _K0A
        t |= w  # bit 7 of each byte: above 9
        t >>= _K7
        np.bitwise_and(t, _ONES_FROM[k].take(at), out=odd[:, k])
    hit = np.flatnonzero(odd.view(np.bool_))
    row, col = np.divmod(hit, _MDIG)
    cls = _CLASS.take(a.take(end.take(row) + col))
    counts = np.bincount(cls, minlength=5).tolist()
    if counts[0]:
        return None  # a letter, a space, ...
    n_dot, n_e, n_minus, n_plus = counts[1:]
    # the grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?
    if n_dot:
        sel = cls == 1
        rd, cd = row[sel], col[sel]
        if n_dot > 1 and (rd[1:] == rd[:-1]).any():
            return None  # two dots
    int_end = np.full(m, _MDIG, dtype=np.int64)  # the column after the integer digits
    if n_e:
        sel = cls == 2
        re_, ce = row[sel], col[sel]
        if n_e > 1 and (re_[1:] == re_[:-1]).any():
            return None  # two exponent marks
        int_end[re_] = ce
        ecol = np.full(m, -9, dtype=np.int64)
        ecol[re_] = ce
    if n_dot:
        int_end[rd] = cd
    neg = None
    esign = eneg = None
    if n_minus or n_plus:
        sel = cls >= 3
        rs, cs, minus = row[sel], col[sel], cls[sel] == 3
        lead = cs == start.take(rs)
        if (lead & ~minus).any():
            return None  # "+1"
        rn = rs[lead]
        neg = np.zeros(m, dtype=bool)
        neg[rn] = True
        if not lead.all():
            if not n_e:
                return None  # a sign inside a number
            after = ~lead
            rs, cs = rs[after], cs[after]
            if (cs != ecol.take(rs) + 1).any():
                return None  # a sign that is not first, nor right after the exponent mark
            esign = np.zeros(m, dtype=np.int64)
            esign[rs] = 1
            eneg = np.zeros(m, dtype=bool)
            eneg[rs] = minus[after]
        digits_from = start + neg  # the first digit's column
    else:
        digits_from = start
    n_int = int_end - digits_from
    if int(n_int.min()) < 1:
        return None  # no integer digits ("-", ".5", "e5")
    vf = vs if neg is None else vs + neg
    lead0 = a.take(vf) == _B[_ZERO]
    lead0 &= n_int > 1
    if lead0.any():
        return None  # a leading zero ("01")
    # the mantissa: the dot is cut out; the digits kept are the last (24 - keep)
    keep = digits_from + _AT
    cut = None
    if n_dot:
        if n_e:
            after_dot = ecol.take(rd)
            after_dot[after_dot < 0] = _MDIG
        else:
            after_dot = _MDIG
        if (cd >= after_dot - 1).any():
            return None  # "1.", "1.e5", a dot in the exponent
        keep[rd] += 1
        cut = np.full(m, _AT, dtype=np.int64)
        cut[rd] = cd + (_AT + 1)
    M, slow = _mantissa(win, cut, keep)
    is_int = None
    if n_dot or n_e:
        is_int = np.ones(m, dtype=bool)
        if n_dot:
            is_int[rd] = False
    if n_e:  # in these rows the mantissa ends before the exponent mark, in other windows
        is_int[re_] = False
        shift = _MDIG - ce
        ewin = np.empty((3, len(re_)), dtype=np.uint64)
        e_end = end.take(re_) - shift
        for k in range(3):
            ewin[k] = aw[e_end + 8 * k]
        ecut = None if cut is None else cut.take(re_)
        if ecut is not None:
            has = ecut > _AT
            ecut[has] += shift[has]
        eM, eslow = _mantissa(ewin, ecut, keep.take(re_) + shift)
        M[re_] = eM
        slow[re_] = eslow
        n_exp = (_MDIG - 1) - ce
        if esign is not None:
            n_exp -= esign.take(re_)
        if (n_exp < 1).any():
            return None  # "1e", "1e-"
        slow[re_[n_exp > 4]] = True
        ed = sliding_window_view(a, 4)[ve.take(re_) - 4] - _ZERO
        ed[np.arange(4) < (4 - n_exp)[:, None]] = 0
        E = ed.astype(np.int64) @ np.array([1000, 100, 10, 1], dtype=np.int64)
        if eneg is not None:
            E[eneg.take(re_)] *= -1
    if wide is not None:
        slow[wide] = True
    # the integers asked for: their int64 values, where they surely fit
    got_ints = None
    if ints is not None:
        iM = M[ints]
        if (iM >= _K62).any() or slow[ints].any() or (is_int is not None and not is_int[ints].all()):
            return None
        got_ints = iM.view(np.int64)
        if neg is not None:
            np.negative(got_ints, out=got_ints, where=neg[ints])
    # correctly rounded floats: Clinger's fast path, long double, float()
    out = M.astype(np.float64)
    X = None
    if n_dot:
        X = np.zeros(m, dtype=np.int64)
        X[rd] = cd + 1 - after_dot  # minus the digits after the dot
    if n_e:
        if X is None:
            X = np.zeros(m, dtype=np.int64)
        X[re_] += E
        big = np.abs(X) > 22
    if X is not None:
        out = _times_pow10(out, X, None if not n_e else ~big)
    rest = M > _K53
    rest |= slow
    if n_e:
        rest |= big
    if rest.any():
        rest = np.flatnonzero(rest)
        rest = rest[~slow.take(rest)]
        if len(rest):
            Xr = np.zeros(len(rest), dtype=np.int64) if X is None else X.take(rest)
            ok = np.abs(Xr) <= 27 if _LD_OK else np.zeros(len(rest), dtype=bool)
            sub = rest[ok]
            if len(sub):
                got, safe = _via_longdouble(M.take(sub), Xr[ok])
                out[sub[safe]] = got[safe]
                slow[sub[~safe]] = True
            slow[rest[~ok]] = True
    if neg is not None:
        out[rn] *= -1.0
        z = rn[M.take(rn) == 0]  # "-0" is the integer 0 to json, "-0.0" the float -0.0
        if len(z):
            out[z if is_int is None else z[is_int.take(z)]] = 0.0
    for j in np.flatnonzero(slow).tolist():
        text = a[vs[j]:ve[j]].tobytes()
        if wide is not None and len(text) > _MDIG:
            if _NUMBER.fullmatch(text) is None:
                return None
            integer = b"." not in text and b"e" not in text and b"E" not in text
            if ints is not None and ints[j]:
                return None  # a step too long for int64
        else:
            integer = is_int is None or bool(is_int[j])
        if integer:
            if len(text) > 300:
                return None  # float(int) would overflow where json's int would not
            out[j] = float(int(text))
        else:
            out[j] = float(text)
    return out, got_ints


def _mantissa(win: np.ndarray, cut: np.ndarray | None, keep: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """The mantissas ending 24-byte windows (columns of three words; changed), and which
    have more than 19 significant digits (wrong then).

    A row's digits: the bytes from column ``keep - _AT`` on, after the one at ``cut -
    _AT - 1`` (a dot) is dropped and the bytes before it moved up one.
    """
    for k in (2, 1, 0):  # right to left: word k - 1 is still whole when word k needs it
        w = win[k]
        if cut is not None:  # w's bytes before the cut: those of (w, word k - 1) moved up
            moved = w << _K8
            if k:
                moved |= win[k - 1] >> _K56
            moved ^= w
            moved &= _BYTES_BELOW[k].take(cut)
            w ^= moved
        w &= _DIGITS_FROM[k].take(keep)
    _eight_digits(win)
    hi, mid, M = win
    slow = hi >= _K1000  # a digit in the first five of 24 columns
    M += hi * _E16
    M += mid * _E8
    return M, slow


def _eight_digits(w: np.ndarray) -> np.ndarray:
    """Eight digit values (bytes 0-9) per little-endian word, the first the most significant,
    as one number (the SWAR method of simdjson); in place."""
    w *= _KM1
    w >>= _K8
    w &= _KL1
    w *= _KM2
    w >>= _K16
    w &= _KL2
    w *= _KM3
    w >>= _K32
    return w


def _times_pow10(m: np.ndarray, x: np.ndarray, where: np.ndarray | None) -> np.ndarray:
    """m * 10**x, in place, where ``where`` (exact m and |x| <= 22: one correctly rounded
    operation); anything elsewhere."""
    if where is not None:
        x = np.where(where, x, 0)
    if int(x.max()) <= 0:
        m /= _POW10_F.take(-x)
        return m
    if int(x.min()) >= 0:
        m *= _POW10_F.take(x)
        return m
    return np.where(x >= 0, m * _POW10_F[np.maximum(x, 0)], m / _POW10_F[np.maximum(-x, 0)])


def _via_longdouble(M: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M * 10**X rounded to double through long double; ``safe`` where that is exact rounding.

    M and 10**|X| are exact in long double, so ``r`` is the true value x correctly
    rounded to 64 bits. Rounding r to double gives x correctly rounded unless r is a
    midpoint between two doubles (those are exact in long double; rounding is
    monotonic, so x and r lie between the same two midpoints otherwise), which is
    checked.
    """
    r = M.astype(_LD)
    pos = X >= 0
    if pos.all():
        r *= _POW10_LD.take(X)
    elif not pos.any():
        r /= _POW10_LD.take(-X)
    else:
        r = np.where(pos, r * _POW10_LD[np.maximum(X, 0)], r / _POW10_LD[np.maximum(-X, 0)])
    d = r.astype(np.float64)
    dl = d.astype(_LD)
    side = np.nextafter(d, np.where(r > dl, np.inf, -np.inf)).astype(_LD)  # the double past r
    side += dl
    side *= 0.5  # the midpoint between d and it
    safe = r != side
    safe &= np.isfinite(d)
    return d, safe
