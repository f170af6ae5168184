"""TensorBoard event files (``events.out.tfevents.*``), read without tensorboard.

An event file is TFRecord framing (u64 length, masked CRC32C of the length, data,
masked CRC32C of the data) around ``Event`` protobufs. Everything is done in bulk
with numpy: checksums and the ``Event -> Summary -> Value -> TensorProto`` decoding
run over all records at once, and even the framing (a chain of lengths) is found in
bulk once a file holds many records.
Every scalar is kept (no sampling), whether written as ``simple_value`` or as a
one-element float16/32/64 tensor.

A run directory holds event files directly (Lightning, SummaryWriter; several files
are restarts and merge by step, the later wall time winning) and/or in immediate
subfolders: Keras writes ``train/`` and ``validation/`` (the folder is the split),
``add_scalars("Loss", {"train": ...})`` writes ``Loss_train/`` holding tag ``Loss``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping

import numpy as np

from .._errors import ReadError
from ..run import Run, tidy_metrics
from . import _protobuf as pb
from ._common import dedupe_steps
from ._crc32c import (
    crc32c,
    crc32c_rows,
    crc32c_spans,
    masked,
    masked_crc32c,
    masked_crc32c_rows,
)
from ._frame import _needs_dedupe, rename_map
from ._params import read_yaml_params
from ._safe_open import open_regular

__all__ = ["SPLIT_DIRS", "detect", "is_event_file", "read", "read_event_file"]

EVENT_PREFIX = "events.out.tfevents."
#: Subfolder names that name a split (Keras writes ``train/`` and ``validation/``).
SPLIT_DIRS = frozenset(
    {"train", "training", "validation", "val", "valid", "eval", "evaluation", "test", "dev"}
)

_HEADER = 12  # u64 length + u32 masked crc
_FOOTER = 4  # u32 masked crc of the data
_LEN = struct.Struct("<Q")
_WALK_FIRST = 20_000  # records walked in Python before considering the bulk framing

# TensorProto dtypes that hold a float scalar -> numpy dtype of one element.
_DT_FLOAT, _DT_DOUBLE, _DT_BFLOAT16, _DT_HALF = 1, 2, 14, 19
_ITEMSIZE = {_DT_FLOAT: 4, _DT_DOUBLE: 8, _DT_BFLOAT16: 2, _DT_HALF: 2}
_SCALAR_PLUGINS = ("", "scalars")
_HPARAMS_TAG = "_hparams_/session_start_info"
_SPAN_MAX = 1 << 16  # longer records are checksummed one by one


def is_event_file(p: Path) -> bool:
    """An event file name (profiler placeholders ``*.profile-empty`` are not logs)."""
    return p.name.startswith(EVENT_PREFIX) and not p.name.endswith(".profile-empty")


def _event_files(d: Path) -> list[Path]:
    try:
        return sorted(c for c in d.iterdir() if is_event_file(c) and c.is_file())
    except OSError:
        return []


def _subdirs_with_events(d: Path) -> list[Path]:
    try:
        subs = sorted(c for c in d.iterdir() if c.is_dir())
    except OSError:
        return []
    return [s for s in subs if _event_files(s)]


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return any(n.startswith(EVENT_PREFIX) or n.lower() in SPLIT_DIRS for n in names)


def detect(path: Path) -> bool:
    """An event file, or a folder with event files in it or in split subfolders."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_file():
        return is_event_file(path)
    if not path.is_dir():
        return False
    if _event_files(path):
        return True
    try:  # only split folders count: list those, not every subfolder
        subs = sorted(c for c in path.iterdir() if c.name.lower() in SPLIT_DIRS and c.is_dir())
    except OSError:
        return False
    return any(_event_files(s) for s in subs)


# -- one event file ----------------------------------------------------------------------


@dataclass
class EventScalars:
    """The scalars of one event file, column-wise, in file order."""

    step: np.ndarray
    wall_time: np.ndarray
    value: np.ndarray
    tag: np.ndarray  # codes into ``tags``
    tags: list[str]
    hparams: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    torn: bool = False


def _load(path: Path) -> np.ndarray:
    """The file's bytes plus zero padding (the bulk decoders read a little past ends)."""
    try:
        with open_regular(path) as f:  # never a FIFO; at most the read cap
            size = f.seek(0, 2)
            f.seek(0)
            buf = np.zeros(size + pb.PAD, dtype=np.uint8)
            view = memoryview(buf)[:size]
            got = 0
            while got < size:
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    return buf[: got + pb.PAD] if got < size else buf


def _frame(path: Path, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Record offsets and data lengths, CRCs checked; plus the offset of a torn tail.

    A length running past the end of the file is only believed (a torn tail) if its
    own CRC holds, so a corrupt prefix never makes us allocate or skip gigabytes.
    """
    size = len(buf) - pb.PAD
    offsets, off, torn = _frame_walk(buf, 0, size, _WALK_FIRST)
    rest = None
    if torn is None and off < size:
        if (size - off) * len(offsets) > 4 * _WALK_FIRST * off:  # many more records to go
            rest = _frame_bulk(buf, off, size)
        if rest is None:
            more, off, torn = _frame_walk(buf, off, size, None)
            offsets.extend(more)
    offs = np.asarray(offsets, dtype=np.int64)
    if rest is not None:
        offs, torn = np.concatenate([offs, rest[0]]), rest[1]
    head = _rows(buf, offs, _HEADER)
    lengths = head[:, :8].copy().view("<u8").reshape(-1).astype(np.int64)
    bad = masked_crc32c_rows(head[:, :8]) != head[:, 8:].copy().view("<u4").reshape(-1)
    if bad.any():
        at = int(offs[np.argmax(bad)])
        raise ReadError(path, "corrupt record length (CRC mismatch)", f"byte {at}")
    if torn is not None and torn + _HEADER <= size:
        mv = memoryview(buf)
        if masked_crc32c(mv[torn : torn + 8]) != struct.unpack_from("<I", mv, torn + 8)[0]:
            raise ReadError(path, "corrupt record length (CRC mismatch)", f"byte {torn}")
        nxt = _next_record(buf, torn + 1, size)
        if nxt is not None:  # not a tail at all: a length that lies, with records after it
            claimed = struct.unpack_from("<Q", mv, torn)[0]
            raise ReadError(path, f"record length {claimed} runs past the end of the file, "
                            f"yet a valid record follows at byte {nxt}: a corrupt or forged "
                            "length (not a torn tail); the records after it were not read",
                            f"byte {torn}")
    _check_data_crc(path, buf, offs, lengths)
    return offs, lengths, torn


#: How far past a "torn tail" to look for a valid record (a lying length hides the rest).
_RESYNC_BYTES = 1 << 20


def _next_record(buf: np.ndarray, start: int, size: int) -> int | None:
    """The first offset in ``[start, start + _RESYNC_BYTES)`` where a whole record with
    both CRCs valid starts, else None. A true torn tail holds none (2^-64 by chance)."""
    end = min(size - _HEADER - _FOOTER, start + _RESYNC_BYTES)
    if end < start:
        return None
    win = np.lib.stride_tricks.sliding_window_view(buf[: end + _HEADER], _HEADER)[start : end + 1]
    ok = masked_crc32c_rows(np.ascontiguousarray(win[:, :8])) == \
        np.ascontiguousarray(win[:, 8:]).view("<u4").reshape(-1)
    mv = memoryview(buf)
    for i in np.flatnonzero(ok).tolist():
        off = start + i
        n = struct.unpack_from("<Q", mv, off)[0]
        if off + _HEADER + n + _FOOTER > size:
            continue
        data = mv[off + _HEADER : off + _HEADER + n]
        if masked_crc32c(data) == struct.unpack_from("<I", mv, off + _HEADER + n)[0]:
            return off
    return None


def _rows(buf: np.ndarray, offs: np.ndarray, width: int) -> np.ndarray:
    """``buf[o : o + width]`` for each offset, as a contiguous ``(n, width)`` matrix."""
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(buf, width)[offs])


def _frame_walk(
    buf: np.ndarray, off: int, size: int, limit: int | None
) -> tuple[list[int], int, int | None]:
    """Follow the length chain from ``off`` (each length says where the next record
    starts), for at most ``limit`` records: (offsets, where it stopped, torn tail)."""
    mv = memoryview(buf)
    unpack = _LEN.unpack_from
    offsets: list[int] = []
    append = offsets.append
    while off < size and (limit is None or len(offsets) < limit):
        if off + _HEADER > size:
            return offsets, off, off
        nxt = off + unpack(mv, off)[0] + _HEADER + _FOOTER
        if nxt > size:
            return offsets, off, off
        append(off)
        off = nxt
    return offsets, off, None


def _frame_bulk(buf: np.ndarray, start: int, size: int) -> tuple[np.ndarray, int | None] | None:
    """The rest of the chain from ``start`` without a Python loop (None: walk instead).

    Used for files of very many small records (a million scalars). Candidates are the
    offsets whose 8 bytes read as a plausible nonzero length below 2**32 with a matching
    length CRC. If they chain exactly from ``start`` (each length leads to the next
    candidate) they *are* the records; anything else (a false candidate inside a
    record, corruption) takes the walk, which then finds and reports the damage.
    """
    last = size - _HEADER
    if last < start:
        return None
    n = last - start + 1
    plausible = np.zeros(n + 3, dtype=bool)
    for a in range(4):  # one u32 view per alignment: word j is the 4 bytes at a + 4j
        m = (n - a + 3) // 4
        if m > 0:
            u = buf[start + a : start + a + 4 * (m + 1)].view("<u4")
            plausible[a : a + 4 * m : 4] = (u[1:] == 0) & (u[:-1] != 0)
    cand = np.flatnonzero(plausible[:n]) + start
    if not len(cand) or cand[0] != start:
        return None
    head = _rows(buf, cand, _HEADER)
    ok = masked_crc32c_rows(head[:, :8]) == head[:, 8:].copy().view("<u4").reshape(-1)
    offs = cand[ok]
    if not len(offs) or offs[0] != start:
        return None
    nxt = offs + head[ok, :8].copy().view("<u8").reshape(-1).astype(np.int64) + 16
    if not np.array_equal(nxt[:-1], offs[1:]):
        return None
    end = int(nxt[-1])
    if end > size:
        return offs[:-1], int(offs[-1])
    if end == size:
        return offs, None
    return (offs, end) if size - end < _HEADER else None


def _check_data_crc(path: Path, buf: np.ndarray, offs: np.ndarray, lengths: np.ndarray) -> None:
    """Checksum every record's data in bulk; report the first record that fails.

    Many records of one length (scalars) go as rows of one matrix; records of assorted
    lengths (histograms, text) go padded together; very long ones (images, graphs) alone.
    """
    if not len(offs):
        return
    data = offs + _HEADER
    computed = np.zeros(len(offs), dtype=np.uint32)
    uniq, inv, counts = np.unique(lengths, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    many = (counts[inv] >= 32) & (lengths > 0)
    for k in np.unique(inv[many]).tolist():
        sel = np.flatnonzero(inv == k)
        rows = np.lib.stride_tricks.sliding_window_view(buf, int(uniq[k]))[data[sel]]
        computed[sel] = crc32c_rows(rows)
    huge = ~many & (lengths > _SPAN_MAX)
    for i in np.flatnonzero(huge).tolist():
        computed[i] = crc32c(buf[data[i] : data[i] + lengths[i]])
    rest = np.flatnonzero(~many & ~huge)
    computed[rest] = crc32c_spans(buf, data[rest], lengths[rest])
    stored = pb.gather_fixed(buf, data + lengths, "<u4")
    bad = np.flatnonzero(masked(computed) != stored)
    if len(bad):
        raise ReadError(path, "corrupt record data (CRC mismatch)", f"byte {int(offs[bad[0]])}")


class _Malformed(Exception):
    def __init__(self, event: int) -> None:
        self.event = event


def _scan(buf: np.ndarray, starts: np.ndarray, sizes: np.ndarray, owner: np.ndarray) -> pb.Fields:
    """Scan messages; a malformed one is reported by the event (record) it belongs to."""
    try:
        return pb.scan(buf, starts, starts + sizes)
    except pb.DecodeError as e:
        raise _Malformed(int(owner[e.index])) from e


def _strings(buf: np.ndarray, pos: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Decode many short byte strings with few distinct values: ``(codes, names)``.

    Strings of one length are hashed to one uint64 each (fast to unique); the hash is
    then checked against the bytes, falling back to comparing bytes on a collision.
    """
    codes = np.zeros(len(pos), dtype=np.int64)
    names: list[str] = []
    for length in np.unique(size).tolist():
        sel = np.flatnonzero(size == length)
        if length == 0:
            codes[sel] = len(names)
            names.append("")
            continue
        width = -(-length // 8) * 8
        rows = np.zeros((len(sel), width), dtype=np.uint8)
        rows[:, :length] = np.lib.stride_tricks.sliding_window_view(buf, length)[pos[sel]]
        words = rows.view("<u8")
        h = words[:, 0].copy()
        for k in range(1, words.shape[1]):
            h = h * np.uint64(0x9E3779B97F4A7C15) ^ words[:, k]
        _, first, inv = np.unique(h, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        if not (rows == rows[first[inv]]).all():  # a hash collision: compare the bytes
            keys = rows.view(f"V{width}").reshape(-1)
            _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
            inv = inv.reshape(-1)
        codes[sel] = inv + len(names)
        names.extend(rows[i, :length].tobytes().decode("utf-8", "replace") for i in first)
    return codes, names


def read_event_file(path: Path) -> EventScalars:
    """Every scalar in one event file. Raises ReadError naming file and byte offset."""
    path = Path(path)
    buf = _load(path)
    offs, lengths, torn = _frame(path, buf)
    try:
        out = _decode(buf, offs, lengths)
    except _Malformed as e:
        raise ReadError(path, "malformed Event record", f"byte {int(offs[e.event])}") from None
    out.notes[:] = [f"{path}: {n}" for n in out.notes]
    if torn is not None:
        out.torn = True
        out.notes.append(
            f"{path}: torn last record at byte {torn} skipped (the writer was still writing?)"
        )
    if len(buf) - pb.PAD == 0:
        out.notes.append(f"{path}: empty file (0 bytes); the writer had not started")
    return out


def _decode(buf: np.ndarray, offs: np.ndarray, lengths: np.ndarray) -> EventScalars:
    n = len(offs)
    ev = _scan(buf, offs + _HEADER, lengths, np.arange(n))
    r_wall = pb.pick(ev, ev.where(1, pb.FIXED64), n)
    r_step = pb.pick(ev, ev.where(2, pb.VARINT), n)
    r_sum = pb.pick(ev, ev.where(5, pb.LEN), n)
    # Summary -> repeated Value
    sum_ev = np.flatnonzero(r_sum >= 0)
    sm = _scan(buf, ev.pos[r_sum[sum_ev]], ev.size[r_sum[sum_ev]], sum_ev)
    vrows = sm.where(1, pb.LEN)
    val_ev = sum_ev[sm.msg[vrows]]
    nv = len(vrows)
    vs = _scan(buf, sm.pos[vrows], sm.size[vrows], val_ev)
    r_tag = pb.pick(vs, vs.where(1, pb.LEN), nv)
    r_simple = pb.pick(vs, vs.where(2, pb.FIXED32), nv)
    r_tensor = pb.pick(vs, vs.where(8, pb.LEN), nv)
    r_meta = pb.pick(vs, vs.where(9, pb.LEN), nv)

    value = np.full(nv, np.nan)
    ok = r_simple >= 0
    value[ok] = pb.gather_fixed(buf, vs.pos[r_simple[ok]], "<f4")

    plugin, plugin_names, r_pdata, pd_fields = _plugins(buf, vs, r_meta, val_ev)
    tens = np.flatnonzero((r_tensor >= 0) & ~ok)
    if len(tens):
        got, tval = _tensor_scalars(buf, vs, r_tensor[tens], val_ev[tens])
        scalar_plugin = np.isin(plugin[tens], [plugin_names.index(p) for p in _SCALAR_PLUGINS
                                               if p in plugin_names] + [-1])
        got &= scalar_plugin
        value[tens[got]] = tval[got]
        ok[tens[got]] = True

    keep = np.flatnonzero(ok)
    if len(keep) > 1 and (np.diff(val_ev[keep]) < 0).any():  # several values per Summary
        keep = keep[np.argsort(val_ev[keep], kind="stable")]
    tag_codes, tags = _strings(buf, _take(vs.pos, r_tag[keep], 0), _take(vs.size, r_tag[keep], 0))
    e = val_ev[keep]
    wall = np.full(len(e), np.nan)
    has = r_wall[e] >= 0
    wall[has] = pb.gather_fixed(buf, ev.pos[r_wall[e[has]]], "<f8")
    step = np.zeros(len(e), dtype=np.int64)
    has = r_step[e] >= 0
    step[has] = ev.value[r_step[e[has]]].view(np.int64)
    bad_hparams: list[int] = []
    hparams = _hparams(buf, vs, r_tag, plugin, plugin_names, r_pdata, pd_fields, bad_hparams)
    out = EventScalars(step, wall, value[keep], tag_codes, tags, hparams)
    if bad_hparams:  # read_event_file names the file
        out.notes.append(f"{len(bad_hparams)} hparams record(s) could not be decoded; their "
                         "hyperparameters are missing from the run's params")
    return out


def _take(values: np.ndarray, rows: np.ndarray, default: int) -> np.ndarray:
    """``values[rows]`` where a row is given (>= 0), else ``default``."""
    out = np.full(len(rows), default, dtype=values.dtype)
    has = rows >= 0
    out[has] = values[rows[has]]
    return out


def _plugins(
    buf: np.ndarray, vs: pb.Fields, r_meta: np.ndarray, val_ev: np.ndarray
) -> tuple[np.ndarray, list[str], np.ndarray, pb.Fields]:
    """Plugin name code per value (-1: no metadata) and where each PluginData sits."""
    nv = len(r_meta)
    plugin = np.full(nv, -1, dtype=np.int64)
    hm = np.flatnonzero(r_meta >= 0)
    md = _scan(buf, vs.pos[r_meta[hm]], vs.size[r_meta[hm]], val_ev[hm])
    r_pd = pb.pick(md, md.where(1, pb.LEN), len(hm))  # SummaryMetadata.plugin_data
    with_pd = np.flatnonzero(r_pd >= 0)
    pdf = _scan(buf, md.pos[r_pd[with_pd]], md.size[r_pd[with_pd]], val_ev[hm[with_pd]])
    r_name = pb.pick(pdf, pdf.where(1, pb.LEN), len(with_pd))  # PluginData.plugin_name
    named = np.flatnonzero(r_name >= 0)
    codes, names = _strings(buf, pdf.pos[r_name[named]], pdf.size[r_name[named]])
    plugin[hm[with_pd[named]]] = codes
    r_pdata = np.full(nv, -1, dtype=np.int64)  # value -> PluginData message index
    r_pdata[hm[with_pd]] = np.arange(len(with_pd))
    return plugin, names, r_pdata, pdf


def _tensor_scalars(
    buf: np.ndarray, vs: pb.Fields, rows: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For tensor-valued summaries: (is a one-element float tensor, its value)."""
    nt = len(rows)
    ts = _scan(buf, vs.pos[rows], vs.size[rows], owner)
    r_dtype = pb.pick(ts, ts.where(1, pb.VARINT), nt)
    dtype = _take(ts.value, r_dtype, 0).astype(np.int64)
    # TensorShapeProto: repeated Dim dim = 2 { int64 size = 1 }; one element iff every
    # dim has size 1 (a dim without size has size 0).
    r_shape = pb.pick(ts, ts.where(2, pb.LEN), nt)
    hs = np.flatnonzero(r_shape >= 0)
    sh = _scan(buf, ts.pos[r_shape[hs]], ts.size[r_shape[hs]], owner[hs])
    drows = sh.where(2, pb.LEN)
    dims = _scan(buf, sh.pos[drows], sh.size[drows], owner[hs[sh.msg[drows]]])
    r_size = pb.pick(dims, dims.where(1, pb.VARINT), len(drows))
    dim_size = _take(dims.value, r_size, 0)
    not_one = np.bincount(hs[sh.msg[drows[dim_size != 1]]], minlength=nt)
    got = (not_one == 0) & np.isin(dtype, list(_ITEMSIZE))
    value = np.full(nt, np.nan)
    filled = np.zeros(nt, dtype=bool)
    itemsize = np.array([_ITEMSIZE.get(d, 0) for d in dtype.tolist()], dtype=np.int64)

    def put(field_no: int, wire: int, sizes: tuple[int, ...], kinds: tuple[int, ...]) -> None:
        r = pb.pick(ts, ts.where(field_no, wire), nt)
        m = np.flatnonzero(got & (r >= 0) & ~filled & np.isin(dtype, kinds))
        if wire == pb.LEN:
            m = m[np.isin(ts.size[r[m]], sizes)]
        for d in kinds:
            md = m[dtype[m] == d]
            if len(md):
                value[md] = _elements(buf, ts, r[md], d, wire)
                filled[md] = True

    # tensor_content (raw bytes) first; then the typed repeated fields, packed or not.
    r_content = pb.pick(ts, ts.where(4, pb.LEN), nt)
    m = np.flatnonzero(got & (r_content >= 0))
    m = m[ts.size[r_content[m]] == itemsize[m]]
    for d in _ITEMSIZE:
        md = m[dtype[m] == d]
        if len(md):
            value[md] = _raw_elements(buf, ts.pos[r_content[md]], d)
            filled[md] = True
    put(5, pb.LEN, (4,), (_DT_FLOAT,))
    put(5, pb.FIXED32, (4,), (_DT_FLOAT,))
    put(6, pb.LEN, (8,), (_DT_DOUBLE,))
    put(6, pb.FIXED64, (8,), (_DT_DOUBLE,))
    put(13, pb.LEN, (1, 2, 3), (_DT_HALF, _DT_BFLOAT16))
    put(13, pb.VARINT, (), (_DT_HALF, _DT_BFLOAT16))
    return got & filled, value


def _raw_elements(buf: np.ndarray, pos: np.ndarray, dtype: int) -> np.ndarray:
    if dtype == _DT_FLOAT:
        return pb.gather_fixed(buf, pos, "<f4").astype(np.float64)
    if dtype == _DT_DOUBLE:
        return pb.gather_fixed(buf, pos, "<f8")
    bits = pb.gather_fixed(buf, pos, "<u2")
    return _half_bits(bits, dtype)


def _half_bits(bits: np.ndarray, dtype: int) -> np.ndarray:
    bits = bits.astype(np.uint16)
    if dtype == _DT_HALF:
        return bits.view(np.float16).astype(np.float64)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _elements(
    buf: np.ndarray, ts: pb.Fields, rows: np.ndarray, dtype: int, wire: int
) -> np.ndarray:
    if dtype in (_DT_FLOAT, _DT_DOUBLE):
        return _raw_elements(buf, ts.pos[rows], dtype)
    if wire == pb.VARINT:
        return _half_bits(ts.value[rows], dtype)
    bits, _ = pb.read_varints(buf, ts.pos[rows])  # packed: one varint inside
    return _half_bits(bits, dtype)


def _hparams(
    buf: np.ndarray,
    vs: pb.Fields,
    r_tag: np.ndarray,
    plugin: np.ndarray,
    plugin_names: list[str],
    r_pdata: np.ndarray,
    pdf: pb.Fields,
    bad: list[int] | None = None,
) -> dict[str, Any]:
    """Hyperparameters from the hparams plugin's session_start_info, if logged.

    Records that do not decode are skipped; their value indexes go to ``bad``."""
    if "hparams" not in plugin_names:
        return {}
    out: dict[str, Any] = {}
    r_content = pb.pick(pdf, pdf.where(2, pb.LEN), int(r_pdata.max()) + 1)  # PluginData.content
    want = _HPARAMS_TAG.encode()
    for v in np.flatnonzero(plugin == plugin_names.index("hparams")).tolist():
        t, rc = r_tag[v], r_content[r_pdata[v]]
        if t < 0 or rc < 0 or bytes(buf[vs.pos[t] : vs.pos[t] + vs.size[t]]) != want:
            continue
        try:
            content = bytes(buf[pdf.pos[rc] : pdf.pos[rc] + pdf.size[rc]])
            out.update(_session_start_hparams(content))
        except (pb.DecodeError, ValueError, UnicodeDecodeError):
            if bad is not None:
                bad.append(v)
    return out


def _session_start_hparams(content: bytes) -> dict[str, Any]:
    # HParamsPluginData.session_start_info = 3 -> SessionStartInfo.hparams = 1
    # (map<string, google.protobuf.Value>: entry key = 1, value = 2).
    out: dict[str, Any] = {}
    for f, _, ssi in pb.fields(content):
        if f != 3 or not isinstance(ssi, bytes):
            continue
        for f2, _, entry in pb.fields(ssi):
            if f2 != 1 or not isinstance(entry, bytes):
                continue
            key, val = "", None
            for f3, _, x in pb.fields(entry):
                if f3 == 1 and isinstance(x, bytes):
                    key = x.decode("utf-8", "replace")
                elif f3 == 2 and isinstance(x, bytes):
                    val = _pb_value(x)
            if key:
                out[key] = val
    return out


def _pb_value(raw: bytes) -> Any:
    """google.protobuf.Value: number_value = 2, string_value = 3, bool_value = 4."""
    for f, _, x in pb.fields(raw):
        if f == 2 and isinstance(x, bytes):
            d = pb.as_double(x)
            return int(d) if d.is_integer() and abs(d) < 2**53 else d
        if f == 3 and isinstance(x, bytes):
            return x.decode("utf-8", "replace")
        if f == 4:
            return bool(x)
    return None


# -- runs --------------------------------------------------------------------------------


@dataclass
class _Source:
    """One event file and how its tags become metric names."""

    file: Path
    folder: str | None  # subfolder name, None for files directly in the run dir


def _metric_name(tag: str, folder: str | None) -> str:
    if folder is None:
        return tag
    prefix = tag.replace("/", "_") + "_"
    if folder.startswith(prefix) and len(folder) > len(prefix):
        return f"{tag}/{folder[len(prefix):]}"  # add_scalars: <main>_<key>/ holds <main>
    return f"{folder}/{tag}"  # Keras: train/epoch_loss


def _is_add_scalars_dir(folder: str, tags: list[str]) -> bool:
    return bool(tags) and all(
        folder.startswith(t.replace("/", "_") + "_") and len(folder) > len(t) + 1 for t in tags
    )


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a run directory (or one event file) into Runs.

    Subfolders that are neither a split (``train/``) nor an ``add_scalars`` child
    are runs of their own and come back as further Runs.
    """
    path = Path(path)
    if path.is_file():
        folder = path.parent.name if path.parent.name.lower() in SPLIT_DIRS else None
        return [_build(path.parent, path, [(_Source(path, folder), read_event_file(path))],
                       aliases)]
    if not path.is_dir():
        raise ReadError(path, "no such file or directory")
    parts = [(_Source(f, None), read_event_file(f)) for f in _event_files(path)]
    others: list[Run] = []
    for sub in _subdirs_with_events(path):
        got = [(_Source(f, sub.name), read_event_file(f)) for f in _event_files(sub)]
        tags = sorted({t for _, s in got for t in s.tags})
        if sub.name.lower() in SPLIT_DIRS or _is_add_scalars_dir(sub.name, tags):
            parts.extend(got)
        else:
            others.append(_build(sub, sub, [(_Source(s.file, None), e) for s, e in got],
                                 aliases))
    if not parts:
        raise ReadError(path, "no TensorBoard event files here")
    return [_build(path, path, parts, aliases), *others]


def _build(
    run_dir: Path,
    path: Path,
    parts: list[tuple[_Source, EventScalars]],
    aliases: Mapping[str, str] | None,
) -> Run:
    run = Run(id=run_dir.name, path=str(path), format="tensorboard")
    hparams: dict[str, Any] = {}
    for _, es in parts:
        run.warnings.extend(es.notes)
        run.in_progress |= es.torn
        hparams.update(es.hparams)
    names, step, wall, value, code = _merge(parts)
    keep = np.ones(len(step), dtype=bool)
    epoch = np.full(len(step), np.nan)
    if "epoch" in names:  # Lightning logs the epoch as a scalar: make it the epoch column
        is_ep = code == names.index("epoch")
        keep &= ~is_ep
        epoch = _latest_at(step[is_ep], value[is_ep], step)
    if "hp_metric" in names:  # Lightning's placeholder, not a measurement
        keep &= ~((code == names.index("hp_metric")) & (value == -1.0))
    step, wall, value, code, epoch = step[keep], wall[keep], value[keep], code[keep], epoch[keep]

    counts = np.bincount(code, minlength=len(names))
    mapping, notes = rename_map({n: int(c) for n, c in zip(names, counts) if c}, aliases)
    run.warnings.extend(f"{path}: {n}" for n in notes)
    run.name_map.update((n, c) for n, c in mapping.items() if c != n)
    canon = [mapping.get(n, n) for n in names]
    cats = sorted(set(canon))
    to_cat = np.array([cats.index(c) for c in canon], dtype=np.int64)
    cat_code = to_cat[code] if cats else code
    if not _needs_dedupe(cat_code, step):
        # every metric's steps already increase: columns straight in, no table built
        order = np.argsort(cat_code, kind="stable")
        bounds = np.searchsorted(cat_code[order], np.arange(len(cats) + 1))
        rows = {c: order[bounds[i]:bounds[i + 1]] for i, c in enumerate(cats)}
        no_epoch = bool(np.isnan(epoch).all())
        run.set_arrays({c: (step[r], value[r]) for c, r in rows.items()},
                       wall_time={c: wall[r] for c, r in rows.items()},
                       epoch=math.nan if no_epoch else {c: epoch[r] for c, r in rows.items()})
    else:
        import pandas as pd  # not at import: detecting event files must not pay for pandas

        metric = pd.Categorical.from_codes(cat_code, categories=cats) if cats else []
        cols: dict[str, Any] = {"step": step, "metric": metric, "value": value, "wall_time": wall}
        if not np.isnan(epoch).all():
            cols["epoch"] = epoch
        df, notes = dedupe_steps(tidy_metrics(**cols), str(path))
        run.warnings.extend(notes)
        run.metrics = df
    if not len(step):
        run.warnings.append(f"{path}: no scalar summaries (the run logged nothing yet)")
    run.params, notes = _params(run_dir, hparams)
    run.warnings.extend(notes)
    return run


def _merge(
    parts: list[tuple[_Source, EventScalars]],
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All files' scalars as one set of columns, with metric codes into the raw names.

    Several files (a restarted run) are put in wall-time order, so that keeping the
    last value of a repeated step keeps the later write.
    """
    names: list[str] = []
    index: dict[str, int] = {}
    cols: list[tuple[np.ndarray, ...]] = []
    for src, es in parts:
        remap = np.zeros(max(len(es.tags), 1), dtype=np.int64)
        for i, tag in enumerate(es.tags):
            remap[i] = index.setdefault(_metric_name(tag, src.folder), len(index))
        cols.append((es.step, es.wall_time, es.value, remap[es.tag]))
    names = sorted(index, key=index.__getitem__)
    step, wall, value, code = (np.concatenate(c) for c in zip(*cols))
    if len(parts) > 1:
        order = np.argsort(wall, kind="stable")
        step, wall, value, code = step[order], wall[order], value[order], code[order]
    return names, step.astype(np.int64), wall, value, code.astype(np.int64)


def _latest_at(at_steps: np.ndarray, values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """For each of ``steps``, the value logged at the latest ``at_steps`` <= it (else NaN)."""
    if not len(at_steps):
        return np.full(len(steps), np.nan)
    order = np.argsort(at_steps, kind="stable")
    at_steps, values = at_steps[order], values[order]
    i = np.searchsorted(at_steps, steps, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)


def _params(run_dir: Path, from_events: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Lightning's ``hparams.yaml`` wins over the hparams plugin's copy in the events."""
    params = dict(from_events)
    y = run_dir / "hparams.yaml"
    if not y.is_file():
        return params, []
    loaded, notes = read_yaml_params(y)
    params.update(loaded)
    return params, notes
