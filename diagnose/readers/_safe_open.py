"""Opening log files safely: regular files only, every read bounded.

A log folder is not trusted input: a FIFO named ``metrics.jsonl`` would block an
``open()`` forever, a (committed) symbolic link to ``/dev/zero`` would be read until
memory runs out, and a 200 MB single-line ``data.csv`` should cost a small prefix to be
rejected, not the whole file. So every reader opens files through here:

- :func:`open_regular` / :func:`read_bytes`: a regular file (after following links),
  opened without blocking, at most :func:`max_bytes` long; anything else is a
  :class:`ReadError` naming the file and what it is (a FIFO, a device, ...);
- :func:`read_prefix`: the first few bytes for detection, or None when the path is not
  a regular file (detection never blocks and never reads a whole file).

The cap defaults to :data:`DEFAULT_MAX_BYTES` (64 GiB: far beyond any log seen, the
100-million-step native log is about 5 GB) and is set with the environment variable
``DIAGNOSE_MAX_FILE_BYTES`` (bytes; suffixes K, M, G allowed, e.g. ``512M``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from .._errors import ReadError

__all__ = ["DEFAULT_MAX_BYTES", "DETECT_BYTES", "MAX_BYTES_ENV", "is_regular", "max_bytes",
           "not_regular_reason", "open_regular", "read_bytes", "read_prefix", "what_is"]

MAX_BYTES_ENV = "DIAGNOSE_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 64 << 30
#: What detection reads of a file at most (a header line longer than this is no log's).
DETECT_BYTES = 1 << 20
_CHUNK = 16 << 20
_LINE_CHUNK = 64 << 10
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | \
    getattr(os, "O_BINARY", 0)


def max_bytes() -> int:
    """The per-file read cap: ``$DIAGNOSE_MAX_FILE_BYTES`` or :data:`DEFAULT_MAX_BYTES`."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip().lower().rstrip("b")
    if not raw:
        return DEFAULT_MAX_BYTES
    unit = _UNITS.get(raw[-1], 1)
    try:
        n = int(raw[:-1] if unit > 1 else raw) * unit
    except ValueError:
        return DEFAULT_MAX_BYTES
    return n if n > 0 else DEFAULT_MAX_BYTES


def what_is(mode: int) -> str:
    """``"a FIFO"``, ``"a character device"``, ... for a file mode that is not a regular file."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def not_regular_reason(mode: int) -> str:
    return f"{what_is(mode)}, not a regular file; not opened"


def is_regular(path: str | os.PathLike) -> bool:
    """A regular file once links are followed (never opens it: a FIFO cannot block this)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | os.PathLike, cap: int | None = None) -> BinaryIO:
    """``open(path, "rb")`` for a regular file no larger than the cap; else ReadError."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    except ValueError as e:  # a NUL in the name
        raise ReadError(path, f"cannot read: {e}") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError(path, not_regular_reason(st.st_mode))
        limit = max_bytes() if cap is None else cap
        if st.st_size > limit:
            raise ReadError(path, _too_big(st.st_size, limit))
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, cap: int | None = None) -> bytes:
    """The whole of a regular file, at most the cap (a file that grows past it is refused)."""
    limit = max_bytes() if cap is None else cap
    with open_regular(path, limit) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            data = f.read(min(size, limit) + 1)  # +1: a file still growing reads on
            if len(data) > size:
                parts, total = [data], len(data)
                while total <= limit:
                    more = f.read(min(_CHUNK, limit + 1 - total))
                    if not more:
                        break
                    parts.append(more)
                    total += len(more)
                data = b"".join(parts)
        except OSError as e:
            raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    if len(data) > limit:
        raise ReadError(path, _too_big(len(data), limit))
    return data


_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
#: share of a BOM-less UTF-16 log's leading character pairs that are ASCII (NUL on one side):
#: log lines are mostly ASCII, so a text with fewer is taken as UTF-8 (or binary)
UTF16_ASCII_SHARE = 0.9
#: leading bytes looked at to tell BOM-less UTF-16 from UTF-8
UTF16_SNIFF_BYTES = 4096
#: share of pairs that may carry the NUL on the other side (none in real text)
UTF16_STRAY_SHARE = 0.01


def decode_text(data: bytes) -> str:
    """A log's bytes as text: UTF-8 (a BOM dropped), or UTF-16 where its BOM says so.

    Windows PowerShell 5 writes ``python train.py > train.log`` as UTF-16 with a BOM; read as
    UTF-8 such a log looks binary (every other byte NUL). Bytes that do not decode (a damaged
    line, a prefix cut inside a character) become U+FFFD.
    """
    codec = _UTF16_BOMS.get(data[:2])
    if codec:
        return data[2:].decode(codec, errors="replace")
    codec = _bomless_utf16(data[:UTF16_SNIFF_BYTES])
    if codec:
        return data.decode(codec, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when ``head`` is UTF-16 text written without a BOM (some Windows
    tools and ``Out-File -Encoding Unicode`` pipelines), else None.

    ASCII text in UTF-16 has a NUL in every other byte, always on the same side; UTF-8 text
    holds no NUL, and binary formats put them anywhere. Most character pairs must carry the
    NUL on one side and (almost) none on the other."""
    pairs = len(head) // 2
    if pairs < 2 or b"\0" not in head:  # UTF-8 logs (nearly all) leave at once
        return None
    even, odd = head[0:2 * pairs:2], head[1:2 * pairs:2]
    low = sum(1 for a, b in zip(even, odd) if b == 0 and a != 0)
    high = sum(1 for a, b in zip(even, odd) if a == 0 and b != 0)
    for codec, one_side, other in (("utf-16-le", low, high), ("utf-16-be", high, low)):
        if one_side >= pairs * UTF16_ASCII_SHARE and other <= pairs * UTF16_STRAY_SHARE:
            return codec
    return None


def read_text(path: str | os.PathLike, cap: int | None = None, errors: str = "strict") -> str:
    """:func:`read_bytes` decoded as UTF-8 (``errors`` as for ``bytes.decode``); a leading
    byte-order mark (Windows editors and tools write one) is dropped: it is never content."""
    return read_bytes(path, cap).decode("utf-8-sig", errors=errors)


def read_prefix(path: str | os.PathLike, n: int = DETECT_BYTES) -> bytes | None:
    """The first ``n`` bytes of a regular file, or None (missing, unreadable, not regular)."""
    fd = _regular_fd(path)
    if fd is None:
        return None
    try:
        return os.read(fd, n)
    except OSError:
        return None
    finally:
        os.close(fd)


def _regular_fd(path: str | os.PathLike) -> int | None:
    """A blocking descriptor of a regular file (the caller closes it), or None."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _too_big(size: int, limit: int) -> str:
    return (f"larger than the {_human(limit)} read cap ({_human(size)}+); raise it with "
            f"{MAX_BYTES_ENV}=<bytes> if this really is a log")


def _human(n: int) -> str:
    for unit, k in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << k:
            return f"{n / (1 << k):.4g} {unit}"
    return f"{n} bytes"


def first_line(path: Path, n: int = DETECT_BYTES) -> bytes | None:
    """The first line of a regular file (without its newline) within ``n`` bytes, else None.

    None also when the line does not end within the prefix: no log has such a header.
    """
    fd = _regular_fd(path)
    if fd is None:
        return None
    try:
        head = b""
        while len(head) < n:  # most headers end in the first read
            more = os.read(fd, min(_LINE_CHUNK, n - len(head)))
            if not more:
                break
            head += more
            if b"\n" in more:
                break
    except OSError:
        return None
    finally:
        os.close(fd)
    line, nl, _ = head.partition(b"\n")
    if not nl and len(head) >= n:
        return None
    return line
