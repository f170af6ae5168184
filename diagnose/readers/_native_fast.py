"""Read ``metrics.jsonl`` lines with numpy: no Python object per value.

The Recorder (and ``json.dumps`` with its default separators) writes lines like::

    {"step": 12, "wall_time": 1795766640.51, "train/loss": 0.5303584337234497}

A ten-million-step run is ten million such lines; ``json.loads`` would build forty
million Python objects and spend most of a minute doing it. This module handles
exactly that layout, a block of lines at a time, with array operations: the quotes
locate the keys, the keys are told apart by a hash that is then verified exactly
(``bytes.count`` of each key), and the numbers are parsed column by column.

It is strict: any line that is not ``{"step": <int>`` followed by ``, "<key>":
<number>`` fields and ``}`` (other spacing, escapes, strings such as ``"NaN"``,
``true``/``null``, a malformed number, a repeated key) makes it give up, and the
caller reads the file with ``json``. So a file either parses here to exactly what
``json.loads`` gives, or is not parsed here at all.

Numbers are converted with correct rounding, as ``float()`` does: an exact
multiplication or division when the digits and the power of ten are both exact
in a double (Clinger's fast path); otherwise in 64-bit-mantissa long double
with a check that rounding twice cannot have changed the result; otherwise
(rare) with ``float()`` itself.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["BLOCK_BYTES", "Parsed", "parse_block", "parse_numbers", "read_file"]

#: Bytes parsed at once: large enough to amortise numpy calls, small enough that the
#: temporaries (a few times the block) stay small.
BLOCK_BYTES = 8 << 20

_QUOTE, _COLON, _SPACE, _COMMA, _LBRACE, _RBRACE, _NL = 34, 58, 32, 44, 123, 125, 10
_DOT, _MINUS, _PLUS, _ZERO = 46, 45, 43, 48
_STEP = np.frombuffer(b"step", np.uint8)

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
    #: key -> (line indices, values), keys in order of first appearance (``step`` excluded)
    fields: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def read_file(f: BinaryIO, block_bytes: int = BLOCK_BYTES, threads: int | None = None
              ) -> tuple[list[Parsed], bytes] | None:
    """Every complete line of an open ``metrics.jsonl``, block by block, and the bytes after
    the last newline (a line still being written); None when not the strict layout.

    Long files are parsed by a few threads (numpy releases the GIL for the array work).
    """
    threads = threads if threads is not None else min(2, os.cpu_count() or 1)
    out: list[Parsed] = []
    pending: deque[Future] = deque()
    pool = None
    rest = b""
    try:
        while True:
            chunk = f.read(block_bytes)
            if not chunk:
                break
            buf = rest + chunk if rest else chunk
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                rest = buf
                continue
            rest = buf[cut:]
            if pool is None and (threads < 2 or len(chunk) < block_bytes):
                parsed = parse_block(buf[:cut])  # a short file: no threads
                if parsed is None:
                    return None
                out.append(parsed)
                continue
            if pool is None:
                pool = ThreadPoolExecutor(threads)
            pending.append(pool.submit(parse_block, buf[:cut]))
            while len(pending) > threads:  # bounded: at most a few blocks in memory
                parsed = pending.popleft().result()
                if parsed is None:
                    return None
                out.append(parsed)
        while pending:
            parsed = pending.popleft().result()
            if parsed is None:
                return None
            out.append(parsed)
    finally:
        if pool is not None:
            for fut in pending:
                fut.cancel()
            pool.shutdown()
    return out, rest


def _words(buf: bytes, n: int, dtype: str) -> np.ndarray:
    """Element i = the bytes at i, i+1, ... read as one little-endian word (unaligned)."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((n,), dtype=dtype, buffer=buf, offset=0, strides=(1,))[: len(buf) - size + 1]


def _word(text: bytes, dtype: str) -> int:
    return int(np.frombuffer(text, dtype=dtype)[0])


_LINE_HEAD = _word(b'{"step":', "<u8")
_KEY_END = _word(b'": \0', "<u4")
_SEP = _word(b', "\0', "<u4")
_LOW3 = 0xFFFFFF
_PAD = 256  # zero bytes after a block: longer than any number parsed here


def parse_block(block: bytes) -> Parsed | None:
    """Parse complete lines (``block`` ends with a newline), or None if any line is unusual."""
    n = len(block)
    if n == 0 or block[-1] != _NL or block.find(b"\\") >= 0:
        return None
    buf = block + b"\0" * _PAD  # so that a word or a number's row can be read anywhere
    padded = np.frombuffer(buf, np.uint8)
    a = padded[:n]
    u4, u8 = _words(buf, n, "<u4"), _words(buf, n, "<u8")
    nl = np.flatnonzero(a == _NL)
    n_lines = len(nl)
    if int(np.count_nonzero(a < 32)) != n_lines:  # control characters: JSON strings forbid them
        return None
    starts = np.empty(n_lines, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    if (nl - starts < 11).any() or (u8[starts] != _LINE_HEAD).any() or (a[nl - 1] != _RBRACE).any():
        return None  # every line: {"step": ... }
    qt = np.flatnonzero(a == _QUOTE)
    if len(qt) % 2:
        return None
    op, cl = qt[0::2], qt[1::2]  # each key's opening and closing quote
    if ((u4[cl] & _LOW3) != _KEY_END).any():
        return None  # a key ends with '": '
    # a key opens a line after "{", or follows ", " (nothing else comes before a quote)
    first = a[op - 1] == _LBRACE
    if int(np.count_nonzero(first)) != n_lines:
        return None
    if (op[first] != starts + 1).any() or (cl[first] != starts + 6).any():
        return None
    other = ~first
    rest = op[other]
    if ((u4[rest - 2] & _LOW3) != _SEP).any():
        return None
    vs = cl + 3
    ve = np.empty_like(vs)
    ve[:-1] = op[1:] - 2
    last = np.empty(len(op), dtype=bool)
    last[:-1] = first[1:]
    last[-1] = True
    ve[last] = nl - 1
    if (ve <= vs).any() or (cl - op < 2).any():
        return None  # an empty value or an empty key
    # the fields now tile every line: {"step": v(, "key": v)*}
    values = parse_numbers(padded, vs, ve)
    if values is None:
        return None
    nums, is_int, small_int = values
    if not (is_int[first].all() and small_int[first].all()):
        return None  # json.loads requires an integer step
    out = Parsed(n_lines, nums.ints[first])
    if not len(rest):
        return out
    keys = _key_ids(block, u8, rest, cl[other])
    if keys is None:
        return None
    ids, names = keys
    line = (np.cumsum(first) - 1)[other]
    floats = nums.floats[other]
    for k, name in enumerate(names):
        sel = ids == k
        rows = line[sel]
        if len(rows) > 1 and not (rows[1:] > rows[:-1]).all():
            return None  # a key twice in one line (json.loads would keep the last)
        if name == "step":
            return None
        out.fields[name] = (rows, floats[sel])
    return out


def _key_ids(block: bytes, u8: np.ndarray, op: np.ndarray, cl: np.ndarray
             ) -> tuple[np.ndarray, list[str]] | None:
    """An id per field's key (0, 1, ... in order of first appearance) and the keys.

    Keys are told apart by their length and first eight bytes. Up to sixteen bytes,
    length, first and last eight bytes are the key itself, compared exactly; a
    longer key K is verified: it is on exactly the fields grouped with it iff
    ``"K": `` occurs that many times in the block (it can only occur at a key: keys
    hold no quote, and none starts with ``:``, which is checked). A group that
    turns out to hold several keys is split by their last eight bytes too.
    """
    klen = (cl - op - 1).astype(np.uint64)
    head = u8[op + 1]
    if ((head & np.uint64(0xFF)) == np.uint64(_COLON)).any():
        return None
    short = klen < 8
    if short.any():  # the bytes after a short key are not part of it
        head = np.where(short, head & ((np.uint64(1) << (np.minimum(klen, 7) * np.uint64(8)))
                                       - np.uint64(1)), head)
    h = head ^ (klen * np.uint64(0xC2B2AE3D27D4EB4F))
    ids = np.full(len(h), -1, dtype=np.int64)
    names: list[str] = []
    tails: np.ndarray | None = None
    while True:
        free = ids < 0
        if not free.any():
            break
        if len(names) >= 256:
            return None  # not a metrics log of a few keys
        j = int(np.argmax(free))
        same = free & (h == h[j])
        raw = block[int(op[j]) + 1:int(cl[j])]
        if len(raw) <= 16:
            # length, first and last eight bytes spell a key this short out in full
            if tails is None:
                tails = np.where(short, np.uint64(0), u8[np.maximum(cl - 8, 0)])
            same &= (head == head[j]) & (tails == tails[j]) & (klen == klen[j])
        else:
            want = block.count(b'"' + raw + b'": ')
            if want != int(np.count_nonzero(same)):
                if tails is None:  # same length and start: tell them apart by their end too
                    tails = np.where(short, np.uint64(0), u8[np.maximum(cl - 8, 0)])
                same &= tails == tails[j]
                if want != int(np.count_nonzero(same)):
                    return None
        ids[same] = len(names)
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return ids, names


@dataclass
class _Numbers:
    floats: np.ndarray  # float64 value of every token
    ints: np.ndarray  # int64 value of integer tokens (0 elsewhere)


def parse_numbers(a: np.ndarray, vs: np.ndarray, ve: np.ndarray
                  ) -> tuple[_Numbers, np.ndarray, np.ndarray] | None:
    """JSON numbers at ``a[vs:ve]``: their values, which are integers, which fit int64.

    ``a`` must go on for at least ``_PAD`` bytes past the last token (rows are read
    whole, whatever their length).
    None when any token is not a JSON number (``01``, ``1.``, ``+1``, ``NaN``, ...).
    Plain numbers (no exponent) are parsed in a few groups, one per sign and number
    of integer digits, column by column over rows sorted by length; numbers with an
    exponent (rare in logs) in groups of one length.
    """
    m = len(vs)
    floats = np.empty(m, dtype=np.float64)
    ints = np.zeros(m, dtype=np.int64)
    is_int = np.zeros(m, dtype=bool)
    small = np.zeros(m, dtype=bool)
    lens = ve - vs
    if lens.max() >= _PAD:
        return None
    # a dot or exponent inside a number follows a digit (in keys they mostly do not:
    # fewer candidates to place)
    after_digit = np.empty(len(a), dtype=bool)
    after_digit[0] = False
    np.less_equal(a[:-1] - _ZERO, 9, out=after_digit[1:])
    dot = _first_in_values(a, vs, ve, (a == _DOT) & after_digit)
    epos = _first_in_values(a, vs, ve, ((a | 0x20) == ord("e")) & after_digit)
    if dot is None or epos is None:
        return None  # two dots or two exponents in one number
    neg = a[vs] == _MINUS
    plain = epos < 0
    # plain numbers: key = sign and integer digits (-1: an integer)
    ndig = np.where(dot >= 0, dot - neg, -1)
    out = (floats, ints, is_int, small, a, vs, ve)
    key = (ndig + 2) * 2 + neg
    for k in np.unique(key[plain]).tolist():
        rows = np.flatnonzero(plain & (key == k))
        if not _parse_plain(rows, bool(k % 2), k // 2 - 2, *out):
            return None
    expo = np.flatnonzero(~plain)
    if len(expo):
        el = lens[expo]
        for length in np.unique(el).tolist():
            idx = expo[el == length]
            mat = sliding_window_view(a, length)[vs[idx]]
            if not _parse_group(mat, length, idx, *out):
                return None
    return _Numbers(floats, ints), is_int, small


def _first_in_values(a: np.ndarray, vs: np.ndarray, ve: np.ndarray, hit: np.ndarray
                     ) -> np.ndarray | None:
    """Position (from the token start) of the one ``hit`` byte in each token, -1 if none;
    None when a token holds two."""
    pos = np.flatnonzero(hit)
    tok = np.searchsorted(vs, pos, side="right") - 1
    inside = (tok >= 0) & (pos < ve[np.maximum(tok, 0)])
    pos, tok = pos[inside], tok[inside]
    out = np.full(len(vs), -1, dtype=np.int64)
    if len(tok):
        if (np.diff(tok) == 0).any():
            return None
        out[tok] = pos - vs[tok]
    return out


def _parse_plain(rows: np.ndarray, neg: bool, n_int: int, floats: np.ndarray, ints: np.ndarray,
                 is_int: np.ndarray, small: np.ndarray, a: np.ndarray, vs: np.ndarray,
                 ve: np.ndarray) -> bool:
    """Numbers without exponent, one sign and (``n_int``, -1 for integers) integer digits.

    Rows are sorted longest first, so column j is a prefix of the rows: the grammar
    check and the mantissa (Horner's rule on exact uint64) cost one pass per column.
    """
    start = vs[rows] + neg
    body = ve[rows] - start  # digits and dot
    order = np.argsort((255 - body).astype(np.uint8), kind="stable")
    rows, start, body = rows[order], start[order], body[order]
    width = int(body[0])
    tokens_int = n_int < 0
    if tokens_int:
        n_int = width  # all columns are digits
        is_int[rows] = True
    if int(body[-1]) < 1 or (not tokens_int and int(body[-1]) < n_int + 2):
        return False  # "-", or "1." (a dot needs digits on both sides)
    if n_int < 1:
        return False  # ".5"
    digits = np.ascontiguousarray(sliding_window_view(a, width)[start].T) - _ZERO
    counts = np.bincount(body, minlength=width + 1)
    upto = (len(rows) - np.cumsum(counts)[:width]).tolist()  # upto[j]: rows longer than j
    M = np.zeros(len(rows), dtype=np.uint64)
    ten = np.uint64(10)
    for j in range(width):
        if j == n_int and not tokens_int:
            continue  # the dot (found there by the grouping)
        col = digits[j, : upto[j]]
        if col.max() > 9:
            return False  # not a digit: a stray sign, dot or letter
        head = M[: upto[j]]
        head *= ten
        head += col
    # a leading zero may only stand alone ("0", "0.5", not "01", "01.5")
    multi = body > 1 if tokens_int else np.full(len(rows), n_int > 1)
    if (multi & (digits[0] == 0)).any():
        return False
    n_frac = np.zeros(len(rows), dtype=np.int64) if tokens_int else body - n_int - 1
    digits = body - (0 if tokens_int else 1)
    slow = digits > 19  # may have more significant digits than uint64 holds
    return _convert(M, -n_frac, slow, neg, tokens_int, rows, floats, ints, small, a, vs, ve)


def _parse_group(mat: np.ndarray, length: int, idx: np.ndarray, floats: np.ndarray,
                 ints: np.ndarray, is_int: np.ndarray, small: np.ndarray,
                 a: np.ndarray, vs: np.ndarray, ve: np.ndarray) -> bool:
    """Tokens of one length: split by layout (sign, dot and exponent columns), then parse."""
    out = (floats, ints, is_int, small, a, vs, ve)
    lay = _layout_of(mat[0].tobytes())
    if lay is not None and _all_match(mat, length, lay):  # the usual case: one layout
        return _parse_layout(mat, length, *lay, idx, *out)
    # several layouts (e.g. wall times and losses of one length): find each row's
    # dot and exponent columns column by column (fast on a transposed copy)
    cols = np.ascontiguousarray(mat.T)
    n = len(mat)
    dot = np.full(n, length, dtype=np.int64)
    epos = np.full(n, length, dtype=np.int64)
    for j in range(length - 1, -1, -1):  # right to left: the first occurrence wins
        c = cols[j]
        dot[c == _DOT] = j
        epos[(c | 0x20) == ord("e")] = j
    neg = cols[0] == _MINUS
    col = mat[np.arange(n), np.minimum(epos + 1, length - 1)]
    esign = (epos < length) & ((col == _MINUS) | (col == _PLUS))
    layout = ((dot * (length + 1) + epos) * 2 + neg) * 2 + esign
    for code in np.unique(layout).tolist():
        sel = layout == code
        i = int(np.argmax(sel))
        lay = (int(dot[i]), int(epos[i]), bool(neg[i]), bool(esign[i]))
        if not _parse_layout(mat[sel], length, *lay, idx[sel], *out):
            return False
    return True


def _layout_of(tok: bytes) -> tuple[int, int, bool, bool] | None:
    """(dot column, exponent column, negative, exponent sign) of one token; length if absent."""
    n = len(tok)
    dot = tok.find(b".")
    e = max(tok.find(b"e"), tok.find(b"E")) if (b"e" in tok or b"E" in tok) else -1
    if tok.count(b"e") + tok.count(b"E") > 1:
        return None
    esign = e >= 0 and e + 1 < n and tok[e + 1:e + 2] in (b"-", b"+")
    return (dot if dot >= 0 else n, e if e >= 0 else n, tok[:1] == b"-", esign)


def _all_match(mat: np.ndarray, length: int, lay: tuple[int, int, bool, bool]) -> bool:
    """Every row has this layout: its special columns, and digits everywhere else."""
    dot, epos, neg, esign = lay
    n_special = int(dot < length) + int(epos < length) + int(neg) + int(esign)
    if int(np.count_nonzero((mat - _ZERO) > 9)) != n_special * len(mat):
        return False
    if dot < length and (mat[:, dot] != _DOT).any():
        return False
    if epos < length and ((mat[:, epos] | 0x20) != ord("e")).any():
        return False
    if neg and (mat[:, 0] != _MINUS).any():
        return False
    if esign:
        c = mat[:, epos + 1]
        if ((c != _MINUS) & (c != _PLUS)).any():
            return False
    return True


def _parse_layout(mat: np.ndarray, length: int, dot: int, epos: int, neg: bool, esign: bool,
                  rows: np.ndarray, floats: np.ndarray, ints: np.ndarray, is_int: np.ndarray,
                  small: np.ndarray, a: np.ndarray, vs: np.ndarray, ve: np.ndarray) -> bool:
    """Tokens sharing one layout: check the JSON grammar column by column, then convert."""
    i0 = 1 if neg else 0
    int_end = min(dot, epos)
    if int_end - i0 < 1:
        return False  # no integer digits ("-", ".5", "e5")
    has_dot, has_e = dot < length, epos < length
    if has_dot and (dot > epos or (epos if has_e else length) - dot - 1 < 1):
        return False  # "1.", "1.e5", or a dot in the exponent
    exp0 = epos + 1 + (1 if esign else 0)
    if has_e and length - exp0 < 1:
        return False  # "1e", "1e-"
    int_cols = list(range(i0, int_end))
    frac_cols = list(range(dot + 1, epos if has_e else length)) if has_dot else []
    exp_cols = list(range(exp0, length)) if has_e else []
    n_int, n_frac = len(int_cols), len(frac_cols)
    digits = mat[:, int_cols + frac_cols + exp_cols] - _ZERO
    if (digits > 9).any():
        return False  # a stray sign, dot, letter or second exponent
    if n_int > 1 and (mat[:, i0] == _ZERO).any():
        return False  # leading zero ("01")
    n = len(mat)
    n_mant = n_int + n_frac
    tokens_int = not has_dot and not has_e
    if tokens_int:
        is_int[rows] = True
    # the mantissa as an exact integer (rows of more than 19 significant digits wrap
    # around and are marked slow)
    M = np.zeros(n, dtype=np.uint64)
    for j in range(n_mant):
        M *= np.uint64(10)
        M += digits[:, j]
    if n_mant > 19:
        nz = digits[:, :n_mant] != 0
        lead = np.where(nz.any(axis=1), nz.argmax(axis=1), n_mant)
        slow = (n_mant - lead) > 19
    else:
        slow = np.zeros(n, dtype=bool)
    X = np.full(n, -n_frac, dtype=np.int64)
    if has_e:
        if len(exp_cols) > 4:
            slow[:] = True
        else:
            E = np.zeros(n, dtype=np.int64)
            for j in range(n_mant, n_mant + len(exp_cols)):
                E *= 10
                E += digits[:, j]
            if esign:
                E = np.where(mat[:, epos + 1] == _MINUS, -E, E)
            X += E
    return _convert(M, X, slow, neg, tokens_int, rows, floats, ints, small, a, vs, ve)


def _convert(M: np.ndarray, X: np.ndarray, slow: np.ndarray, neg: bool, tokens_int: bool,
             rows: np.ndarray, floats: np.ndarray, ints: np.ndarray, small: np.ndarray,
             a: np.ndarray, vs: np.ndarray, ve: np.ndarray) -> bool:
    """``(-1 if neg) * M * 10**X`` correctly rounded into ``floats[rows]`` (and ``ints``).

    ``slow`` rows (more than 19 significant digits) and the rare rows whose rounding
    cannot be settled exactly here are converted by ``float()`` itself.
    """
    n = len(M)
    out = np.empty(n, dtype=np.float64)
    todo = ~slow
    if tokens_int:
        fits = todo & (M < np.uint64(1 << 62))
        small[rows] = fits
        vals = M.astype(np.int64)
        ints[rows[fits]] = -vals[fits] if neg else vals[fits]
    fast = todo & (M <= np.uint64(_TWO53)) & (np.abs(X) <= 22)
    if fast.all():
        out = _times_pow10(M.astype(np.float64), X)
    elif fast.any():
        out[fast] = _times_pow10(M[fast].astype(np.float64), X[fast])
    rest = todo & ~fast
    if rest.any():
        ok = rest & (np.abs(X) <= 27) if _LD_OK else np.zeros(n, dtype=bool)
        if ok.any():
            got, safe = _via_longdouble(M[ok], X[ok])
            sub = np.flatnonzero(ok)
            out[sub[safe]] = got[safe]
            slow[sub[~safe]] = True
        slow |= rest & ~ok
    if slow.any():
        for j in np.flatnonzero(slow).tolist():
            tok = a[vs[rows[j]]:ve[rows[j]]].tobytes()
            if tokens_int and len(tok) > 300:
                return False  # float(int) would overflow where json's int would not
            out[j] = abs(float(tok))
    if neg:
        out = -out
        if tokens_int:
            out[out == 0] = 0.0  # json reads "-0" as the integer 0
    floats[rows] = out
    return True


def _times_pow10(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """m * 10**x for exact m and |x| <= 22: one correctly rounded operation."""
    if (x >= 0).all():
        return m * _POW10_F[x]
    if (x <= 0).all():
        return m / _POW10_F[-x]
    return np.where(x >= 0, m * _POW10_F[np.maximum(x, 0)], m / _POW10_F[np.maximum(-x, 0)])


def _via_longdouble(M: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M * 10**X rounded to double through long double; ``safe`` where that is exact rounding.

    The long double result is within half its own ulp of the true value; rounding
    it to double gives the correctly rounded double unless a halfway point between
    two doubles lies within that distance, which is checked.
    """
    r = M.astype(_LD)
    pos = X >= 0
    r[pos] = r[pos] * _POW10_LD[X[pos]]
    r[~pos] = r[~pos] / _POW10_LD[-X[~pos]]
    d = r.astype(np.float64)
    up = np.nextafter(d, np.inf).astype(_LD)
    down = np.nextafter(d, -np.inf).astype(_LD)
    dl = d.astype(_LD)
    mid_up = (dl + up) / 2
    mid_down = (dl + down) / 2
    margin = np.spacing(np.abs(r)) * 2
    safe = (np.abs(r - mid_up) > margin) & (np.abs(r - mid_down) > margin) & np.isfinite(d)
    return d, safe
