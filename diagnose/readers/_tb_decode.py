"""The general decoder of TensorBoard ``Event`` records, many at once with numpy.

``Event -> Summary -> Value -> TensorProto`` is decoded over all the records given,
one protobuf field per numpy step for all of them (see :func:`_protobuf.scan`), so
that any layout a writer may choose decodes: several values per Summary, scalars
written as one-element float16/32/64 tensors, plugin metadata, hparams. The common
SummaryWriter layout takes a faster road first (``_tb_scalars``); everything else
comes here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _protobuf as pb

__all__ = ["ITEMSIZE", "EventScalars", "Malformed", "decode", "element_values", "raw_elements",
           "strings"]

# TensorProto dtypes that hold a float scalar -> numpy dtype of one element.
_DT_FLOAT, _DT_DOUBLE, _DT_BFLOAT16, _DT_HALF = 1, 2, 14, 19
ITEMSIZE = {_DT_FLOAT: 4, _DT_DOUBLE: 8, _DT_BFLOAT16: 2, _DT_HALF: 2}
_SCALAR_PLUGINS = ("", "scalars")
_HPARAMS_TAG = "_hparams_/session_start_info"


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


class Malformed(Exception):
    """A record that is not a well-formed Event; ``event`` indexes the records given."""

    def __init__(self, event: int) -> None:
        self.event = event


def _scan(buf: np.ndarray, starts: np.ndarray, sizes: np.ndarray, owner: np.ndarray) -> pb.Fields:
    """Scan messages; a malformed one is reported by the event (record) it belongs to."""
    try:
        return pb.scan(buf, starts, starts + sizes)
    except pb.DecodeError as e:
        raise Malformed(int(owner[e.index])) from e


def strings(buf: np.ndarray, pos: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, list[str]]:
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


def decode(
    buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> tuple[EventScalars, np.ndarray, int]:
    """The scalars of the Events ``buf[starts[i] : starts[i] + lengths[i]]``, in record
    order; the record (index into ``starts``) of each; hparams records that did not decode.

    Raises :class:`Malformed` naming the first malformed record.
    """
    n = len(starts)
    ev = _scan(buf, starts, lengths, np.arange(n))
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
    tag_codes, tags = strings(buf, _take(vs.pos, r_tag[keep], 0), _take(vs.size, r_tag[keep], 0))
    e = val_ev[keep]
    wall = np.full(len(e), np.nan)
    has = r_wall[e] >= 0
    wall[has] = pb.gather_fixed(buf, ev.pos[r_wall[e[has]]], "<f8")
    step = np.zeros(len(e), dtype=np.int64)
    has = r_step[e] >= 0
    step[has] = ev.value[r_step[e[has]]].view(np.int64)
    bad_hparams: list[int] = []
    hparams = _hparams(buf, vs, r_tag, plugin, plugin_names, r_pdata, pd_fields, bad_hparams)
    return EventScalars(step, wall, value[keep], tag_codes, tags, hparams), e, len(bad_hparams)


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
    codes, names = strings(buf, pdf.pos[r_name[named]], pdf.size[r_name[named]])
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
    got = (not_one == 0) & np.isin(dtype, list(ITEMSIZE))
    value = np.full(nt, np.nan)
    filled = np.zeros(nt, dtype=bool)
    itemsize = np.array([ITEMSIZE.get(d, 0) for d in dtype.tolist()], dtype=np.int64)

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
    for d in ITEMSIZE:
        md = m[dtype[m] == d]
        if len(md):
            value[md] = raw_elements(buf, ts.pos[r_content[md]], d)
            filled[md] = True
    put(5, pb.LEN, (4,), (_DT_FLOAT,))
    put(5, pb.FIXED32, (4,), (_DT_FLOAT,))
    put(6, pb.LEN, (8,), (_DT_DOUBLE,))
    put(6, pb.FIXED64, (8,), (_DT_DOUBLE,))
    put(13, pb.LEN, (1, 2, 3), (_DT_HALF, _DT_BFLOAT16))
    put(13, pb.VARINT, (), (_DT_HALF, _DT_BFLOAT16))
    return got & filled, value


def raw_elements(buf: np.ndarray, pos: np.ndarray, dtype: int) -> np.ndarray:
    """The element of TensorProto ``dtype`` stored at each position, as float64."""
    return element_values(np.lib.stride_tricks.sliding_window_view(buf, ITEMSIZE[dtype])[pos],
                          dtype)


def element_values(raw: np.ndarray, dtype: int) -> np.ndarray:
    """Float64 values of ``(n, itemsize)`` little-endian element bytes of a TensorProto dtype."""
    raw = np.ascontiguousarray(raw)
    if dtype == _DT_FLOAT:
        return raw.view("<f4").reshape(-1).astype(np.float64)
    if dtype == _DT_DOUBLE:
        return raw.view("<f8").reshape(-1)
    return _half_bits(raw.view("<u2").reshape(-1), dtype)


def _half_bits(bits: np.ndarray, dtype: int) -> np.ndarray:
    bits = bits.astype(np.uint16)
    if dtype == _DT_HALF:
        return bits.view(np.float16).astype(np.float64)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _elements(
    buf: np.ndarray, ts: pb.Fields, rows: np.ndarray, dtype: int, wire: int
) -> np.ndarray:
    if dtype in (_DT_FLOAT, _DT_DOUBLE):
        return raw_elements(buf, ts.pos[rows], dtype)
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
