"""The numpy reader of ``metrics.jsonl`` (``_native_fast``) against ``json.loads``.

Property tests: whatever the lines, ``parse_block``/``read_file`` give exactly what
``json.loads`` gives for each line (float bit patterns compared, the sign of zero
included) or give up (None), and they do not give up on lines in the layout the
Recorder writes (``{"step": %d, "wall_time": %.3f, "key": %r}``), so the fast path
is really used. Damaged lines (mutations of valid ones) must give None or the
``json.loads`` result, never another value.
"""

# ruff: noqa: UP031  (lines are written with %, as the Recorder writes them)

from __future__ import annotations

import io
import json
import math
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diagnose.readers import _native_fast as nf

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


# -- values -------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
#: floats of every kind: subnormals, huge and tiny exponents, 17-digit mantissas, -0.0
floats = st.one_of(
    finite,
    st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False),
    st.floats(min_value=1e-5, max_value=1e-3),  # "0.000123..." with 17 digits
    st.floats(min_value=1e15, max_value=1e17),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                     9007199254740993.0, 1.0000000000000002, 0.1, 0.3, 1e22, 1e23, 1e-22,
                     123456789012345678.0, 8.98846567431158e307]),
    st.integers(0, (1 << 53) - 1).map(lambda i: i / 2.0 ** 53),
    st.integers(0, 10 ** 9).map(lambda i: 1.79e9 + i / 1000),  # wall times
)
ints = st.one_of(st.integers(-10, 10 ** 6), st.integers(-(1 << 70), 1 << 70),
                 st.sampled_from([(1 << 53) + 1, (1 << 62) - 1, 1 << 62, (1 << 63) - 1, 1 << 63,
                                  (1 << 64) - 1, 1 << 64, -(1 << 63), 10 ** 19, 10 ** 20 + 1,
                                  -0, 10 ** 25, 10 ** 40]))
#: number tokens as JSON writers spell them (repr, json.dumps, %.3f, %.17g, ints, odd forms)
tokens = st.one_of(
    floats.map(repr),
    floats.map(lambda x: "%.17g" % x).filter(lambda t: "inf" not in t and "nan" not in t),
    floats.map(lambda x: "%.3f" % x).filter(lambda t: len(t) < 200),
    ints.map(str),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "1e5", "1E5", "1e+05", "1e-05", "-1.5e-300",
                     "5e-324", "1e400", "-1e400", "1.7976931348623157e308", "2e-400",
                     "0.000012345678901234567", "123456789012345678901234567890",
                     "1.00000000000000000000000000000000000001", "9007199254740993",
                     "1.0000000000000002", "2.2250738585072014e-308", "1e0000022",
                     "12345678901234567890123.5", "0.1e1", "0e0", "-0e-0", "1E+999",
                     "4.9406564584124654e-324", "2.4703282292062327e-324",
                     "2.4703282292062328e-324", "9.999999999999999e22", "1e-7"]),
)

# -- keys ---------------------------------------------------------------------------------

plain_char = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\')
base_keys = st.one_of(
    st.text(plain_char, min_size=1, max_size=40),
    st.sampled_from(["train/loss", "val/loss", "lr", "epoch", "a", "é/x", "k" * 20, "x y",
                     "train/loss_ema", "train/loss_emb", "aaaaaaaa", "aaaaaaaaa",
                     "aaaaaaaaaa", "a" * 17, "a" * 18, "abcdefghXabcdefgh",
                     "abcdefghYabcdefgh", "grad_norm/layer.0.weight",
                     "grad_norm/layer.1.weight", "日本語のキー", ":colon", "x:"]),
)
key_sets = st.lists(base_keys, min_size=0, max_size=8, unique=True).flatmap(
    # keys sharing prefixes and suffixes with the others
    lambda ks: st.lists(st.sampled_from(ks) if ks else st.just("k"), max_size=3).map(
        lambda extra: list(dict.fromkeys(ks + [e + "_2" for e in extra]
                                         + ["pre_" + e for e in extra]))))


def recorder_line(step: int, wall: float, fields: list[tuple[str, object]]) -> str:
    parts = ['{"step": %d, "wall_time": %.3f' % (step, wall)]
    for k, v in fields:
        parts.append(", %s: %r" % (json.dumps(k, ensure_ascii=False), v))
    return "".join(parts) + "}"


@st.composite
def recorder_blocks(draw) -> list[str]:
    keys = [k for k in draw(key_sets) if k not in ("step", "wall_time") and k[:2] != ": "]
    n = draw(st.integers(1, 30))
    lines, step = [], draw(st.integers(0, 1 << 40))
    for _ in range(n):
        step += draw(st.integers(0, 3))
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))) if keys \
            else []
        fields = [(k, draw(st.one_of(floats, st.integers(-(1 << 70), 1 << 70)))) for k in chosen]
        lines.append(recorder_line(step, draw(st.floats(0, 4e9)), fields))
    return lines


@st.composite
def json_blocks(draw) -> list[str]:
    """Lines in the layout, with arbitrary number tokens (json.dumps spacing)."""
    keys = [k for k in draw(key_sets) if k != "step"]
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 20))):
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))) if keys \
            else []
        body = "".join(", %s: %s" % (json.dumps(k, ensure_ascii=draw(st.booleans())),
                                     draw(tokens)) for k in chosen)
        lines.append('{"step": %s%s}' % (draw(ints.map(str)), body))
    return lines


# -- the comparison -------------------------------------------------------------------------


def check_block(data: bytes) -> nf.Parsed | None:
    """parse_block(data) is None, or exactly json.loads of each line."""
    got = nf.parse_block(data)
    if got is None:
        return None
    recs = [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]
    assert got.n_lines == len(recs)
    assert all(isinstance(r, dict) and type(r["step"]) is int for r in recs)
    assert got.step.tolist() == [r["step"] for r in recs]
    keys = list(dict.fromkeys(k for r in recs for k in r if k != "step"))
    assert list(got.fields) == keys  # in order of first appearance
    for k, (rows, vals) in got.fields.items():
        want_rows = [i for i, r in enumerate(recs) if k in r]
        assert rows.tolist() == want_rows
        want = []
        for i in want_rows:
            v = recs[i][k]
            assert type(v) in (int, float)
            want.append(float(v))
        assert [bits(x) for x in vals.tolist()] == [bits(x) for x in want], k
    for r, line in zip(recs, data.decode("utf-8").split("\n")):
        assert len(r) == line.count('": ')  # no key repeated (json.loads would keep the last)
    return got


def block_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


@SETTINGS
@given(recorder_blocks())
def test_recorder_layout_is_parsed_exactly(lines: list[str]) -> None:
    data = block_of(lines)
    got = check_block(data)
    assert got is not None, lines  # the fast path takes the Recorder's lines
    # read_file, in small blocks and by threads, gives the same
    f = io.BytesIO(data + b'{"step": 1, "torn')
    blocks, tail = nf.read_file(f, block_bytes=97, threads=2)
    assert tail == b'{"step": 1, "torn'
    assert sum(b.n_lines for b in blocks) == len(lines)


@SETTINGS
@given(json_blocks())
@example(['{"step": 0, "a": 1e400}'])
@example(['{"step": 0, "a": -0}', '{"step": -0, "a": -0.0}'])
@example(['{"step": 9223372036854775807, "a": 1}'])
@example(['{"step": 0, "%s": 1}' % ("k" * 300)])
def test_json_lines_are_parsed_exactly_or_refused(lines: list[str]) -> None:
    data = block_of(lines)
    got = check_block(data)
    if got is None:  # only a step beyond 2**62, or an escape in a key, is refused
        recs = [json.loads(line) for line in lines]
        assert any(abs(r["step"]) >= 1 << 62 or "\\" in line for r, line in zip(recs, lines)), \
            lines


@pytest.mark.parametrize("token", [
    "0", "-0", "0.0", "-0.0", "1", "-1", "1.5", "-1.5", "1e5", "1E5", "1e+5", "1e-5", "-1e-5",
    "1.5e300", "1.5e-300", "5e-324", "2e-324", "1e-400", "1e400", "-1e400", "1e22", "1e23",
    "9007199254740993", "18446744073709551615", "18446744073709551616", "99999999999999999999",
    "1234567890123456789", "0.1234567890123456789", "123456789.123456789", "0.000001",
    "1790000000.010", "2.9733417147892918", "0.08678679199765023", "1e0000000000000000001",
    "100000000000000000000000", "0.00000000000000000000000001", "1" * 24, "1" * 25, "9" * 30,
    "1." + "0" * 40 + "1", "-" + "9" * 23, "-0.00001e-00001",
])
def test_single_tokens(token: str) -> None:
    data = ('{"step": 3, "a": %s}\n' % token).encode()
    got = check_block(data)
    if len(token) <= 24:
        assert got is not None


BAD = [
    "01", "-01", "00", "1.", "-1.", ".5", "-.5", "+1", "+0.5", "1e", "1e+", "1e-", "e5", "-e5",
    "1e+-5", "1e5.5", "1.5.5", "1..5", "--1", "-", "1-2", "1+2", "1e5e5", "1E", "NaN", "nan",
    "Infinity", "-Infinity", "inf", '"NaN"', '"1"', "true", "false", "null", "0x10", "1_000",
    "1 ", " 1", "1\t", "１", "1e\u00b9", "0.5f", "1,5", "[1]", "{}", "1.e5", "1.5e", ".e5",
    "٣", "0e", "00.5", "-00.5", "1.5-", "1.5+1",
]


@pytest.mark.parametrize("token", BAD)
def test_bad_tokens_give_up(token: str) -> None:
    good = b'{"step": 0, "a": 0.5}\n'
    line = ('{"step": 1, "a": %s}\n' % token).encode()
    assert nf.parse_block(good) is not None
    assert nf.parse_block(good + line) is None
    assert nf.parse_block(line + good) is None
    # in a block long enough for every column of the windows to be used
    long = b"".join(b'{"step": %d, "b": 123456789.12345678, "a": -0.25}\n' % i for i in range(50))
    assert nf.parse_block(long + line + long) is None


@pytest.mark.parametrize("line", [
    '{"step": 1, "a": 1, "a": 2}', '{"step": 1, "a": 1, "b": 2, "a": 3}',
    '{"step": 1, "step": 2}', '{"step": 1, "a": 1, "step": 2}', '{"step": 1,"a": 1}',
    '{"step": 1, "a":1}', '{"step":1, "a": 1}', '{"step": 1 , "a": 1}', '{"step": 1, "a" : 1}',
    '{ "step": 1}', '{"step": 1 }', '{"step": 1}  ', ' {"step": 1}', '{"step": 1,}',
    '{"step": 1, "a\\u0041": 1}', '{"step": 1, "a\\"b": 1}', '{"step": 1, "\\n": 1}',
    '{"step": 1, "a\tb": 1}', '{"step": 1, "": 1}', '{"step": 1.0}', '{"step": 1e3}',
    '{"step": -1.5}', '{"step": "1"}', '{"step": true}', '{"step": null}',
    '{"step": 1, "a": 1', '{"step": 1, "a": 1}}', '{"step": 1, "a": {"b": 1}}',
    '{"step": 1, "a": [1]}', '{"step": 1, "a": "x"}', '{"step": 1, "a": 1, }',
    '{"step": 1, "a": 1}{"step": 2}', '{"Step": 1}', '{"steps": 1}', '{"a": 1, "step": 1}',
    '{"step": 1, "a": 1,, "b": 2}', '{"step": 1, a: 1}', "{'step': 1}", '{"step": 1\r}',
    '{"step": 1, "a": 1}\r', '{"step": 1, "\u0000": 1}', '{"step": 1, "a": 1, "b"}',
    '{"step": 1, "a": 1, "b": }', '{"step": 1, ": 1}', '{"step": 1, "a": 1 }',
    '{"step": 99999999999999999999}',
])
def test_malformed_lines_give_up(line: str) -> None:
    good = b'{"step": 0, "a": 0.5}\n'
    data = good + line.encode("utf-8") + b"\n" + good
    got = nf.parse_block(data)
    assert got is None


def test_invalid_utf8_key_gives_up() -> None:
    assert nf.parse_block(b'{"step": 1, "a\xff": 1}\n') is None
    assert nf.parse_block(b'{"step": 1, "\xc3\xa9": 1}\n') is not None


# -- mutations: never a value other than json.loads gives ---------------------------------

MUTATIONS = st.sampled_from(["delete", "insert", "replace", "duplicate", "swap"])
INSERTS = st.sampled_from([b"0", b"1", b"9", b"-", b"+", b".", b"e", b"E", b" ", b",", b":",
                           b'"', b"\\", b"\n", b"{", b"}", b"\t", b"\x00", b"\xc3\xa9", b"NaN",
                           b'"a": 1, ', b', "a": 1', b"\x7f", b"\xff"])


@SETTINGS
@given(recorder_blocks(), st.lists(st.tuples(MUTATIONS, st.integers(0, 10 ** 6), INSERTS),
                                   min_size=1, max_size=4))
def test_damaged_lines_give_none_or_json(lines: list[str], edits) -> None:
    data = bytearray(block_of(lines))
    for kind, pos, ins in edits:
        i = pos % max(len(data) - 1, 1)
        if kind == "delete":
            del data[i]
        elif kind == "insert":
            data[i:i] = ins
        elif kind == "replace":
            data[i:i + 1] = ins
        elif kind == "duplicate":
            data[i:i] = data[i:i + 5]
        else:
            data[i], data[i + 1] = data[i + 1], data[i]
    data = bytes(data)
    got = nf.parse_block(data)
    if got is None:
        return
    check_block(data)  # accepted: exactly what json.loads gives, line by line


def test_is_fast_path_for_large_blocks_too() -> None:
    lines = [recorder_line(i, 1.79e9 + i / 100, [("train/loss", math.exp(-i / 100)),
                                                  ("lr", 3e-4 * (i % 7)), ("big", i * 1e20)])
             for i in range(5000)]
    got = check_block(block_of(lines))
    assert got is not None


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("block_bytes", [7, 64, 1000, 1 << 20])
def test_read_file_buffers_and_sub_blocks(monkeypatch, threads: int, block_bytes: int) -> None:
    """Reused read buffers, lines longer than a block, sub-blocks: the same lines as one block."""
    monkeypatch.setattr(nf, "SUB_BYTES", 150)
    lines = [recorder_line(i, 1.79e9 + i / 100, [("train/loss", 1 / (i + 1))]
                           + ([("k" * 300, float(i))] if i % 17 == 0 else []))
             for i in range(300)]
    data = block_of(lines)
    whole = nf.parse_block(data)
    assert whole is not None
    blocks, tail = nf.read_file(io.BytesIO(data + b'{"step": 3'), block_bytes=block_bytes,
                                threads=threads)
    assert tail == b'{"step": 3'
    assert sum(b.n_lines for b in blocks) == 300
    assert [s for b in blocks for s in b.step.tolist()] == whole.step.tolist()
    for k, (rows, vals) in whole.fields.items():
        got_rows, got_vals, off = [], [], 0
        for b in blocks:
            if k in b.fields:
                got_rows += (b.fields[k][0] + off).tolist()
                got_vals += [bits(x) for x in b.fields[k][1].tolist()]
            off += b.n_lines
        assert got_rows == rows.tolist()
        assert got_vals == [bits(x) for x in vals.tolist()]
    bad = data.replace(b'"step": 250,', b'"step": 250.5,')
    assert nf.read_file(io.BytesIO(bad), block_bytes=block_bytes, threads=threads) is None


# -- the optional orjson loader (the ``fast`` extra) -----------------------------------------

@SETTINGS
@given(st.lists(tokens, min_size=1, max_size=20))
def test_orjson_reads_every_number_as_json_loads_or_refuses(toks: list[str]) -> None:
    """Whole small logs go through orjson when installed: it must agree with json.loads
    to the bit, or raise so that the careful reader takes the file."""
    orjson = pytest.importorskip("orjson")
    text = ("[" + ",".join('{"step": %d, "x": %s}' % (i, t) for i, t in enumerate(toks)) + "]")
    want = json.loads(text)
    try:
        got = orjson.loads(text.encode())
    except orjson.JSONDecodeError:
        return
    for g, w in zip(got, want):
        # ints of 64 bits or more come back as floats, which the reader makes of every
        # value anyway (and a step that is not an int sends the file to the careful reader)
        assert type(g["x"]) is type(w["x"]) or (type(w["x"]) is int and abs(w["x"]) >= 1 << 63)
        assert bits(float(g["x"])) == bits(float(w["x"]))
