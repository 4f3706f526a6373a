"""Encoding probe for text files: hand DuckDB clean UTF-8, and keep (quarantine) the lines that cannot be decoded.

Design decision: DuckDB reads UTF-8 only, so the probe decides per file, in streaming chunks:
- UTF-8 (with or without BOM) that decodes cleanly is read in place (the fast path: no copy);
- UTF-16 (BOM) is transcoded to a temporary UTF-8 file;
- a file whose non-ASCII lines *all* fail UTF-8 is legacy cp1252 (latin-1 where cp1252 has holes): transcoded, with a
  warning in the summary, since the guess could be wrong;
- a file where most non-ASCII lines are valid UTF-8 but a few are not has *broken* lines: those lines are removed from
  a temporary copy and returned as bad records holding their raw bytes (``repr``), so they land in quarantine.
"""
from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from earful.ingest.base import BadRecord


@dataclass
class Probe:
    path: Path                     # the file DuckDB should read (the original or a UTF-8 temp copy)
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    temp: Path | None = None       # delete after loading


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _is_clean_utf8(path: Path) -> bool:
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    buf = bytearray(1 << 20)  # one reused buffer: no fresh memory per chunk
    view = memoryview(buf)
    try:
        with _open(path) as fh:
            while n := fh.readinto(buf):
                chunk = buf if n == len(buf) else buf[:n]
                if not chunk.isascii():  # ASCII is UTF-8 and ~20x cheaper to check than decoding
                    dec.decode(view[:n])
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _temp(suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="earful_", suffix=suffix)
    import os

    os.close(fd)
    return Path(name)


def _plain_suffix(path: Path) -> str:
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return "." + name.rsplit(".", 1)[-1] if "." in name else ".txt"


def probe(path: Path) -> Probe:
    """Decide how to read `path` as UTF-8 (see the module docstring). A truncated ``.gz`` (a download or copy cut
    short) is read up to its last complete line; the incomplete tail is quarantined and a warning says so."""
    import zlib

    try:
        return _probe(path)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        if not path.name.lower().endswith(".gz"):
            raise
    salvaged, bad, note = _salvage_gzip(path)
    inner = _probe(salvaged)
    if inner.temp is not None:
        salvaged.unlink(missing_ok=True)
    return Probe(path=inner.path, encoding=inner.encoding, warnings=[note, *inner.warnings],
                 bad=bad + inner.bad, temp=inner.temp or salvaged)


def _salvage_gzip(path: Path) -> tuple[Path, list[BadRecord], str]:
    """The complete lines of a truncated gzip file, in a temporary plain copy, and its incomplete tail as a bad
    record."""
    import zlib

    from earful.errors import InputError

    out = _temp(_plain_suffix(path))
    dec = zlib.decompressobj(wbits=31)
    lines, tail = 0, b""
    with path.open("rb") as fh, out.open("wb") as w:
        try:
            chunk = fh.read(1 << 20)
            while chunk:
                data = tail + dec.decompress(chunk)
                cut = data.rfind(b"\n") + 1
                w.write(data[:cut])
                lines += data.count(b"\n", 0, cut)
                tail = data[cut:]
                if dec.eof:  # one gzip member ended: the next one (if any) starts in its unused data
                    chunk, dec = dec.unused_data, zlib.decompressobj(wbits=31)
                    chunk = chunk or fh.read(1 << 20)
                else:
                    chunk = fh.read(1 << 20)
        except zlib.error as exc:
            if not lines and not tail:
                out.unlink(missing_ok=True)
                raise InputError(f"{path}: not a readable gzip file ({exc})", hint="check the file, or decompress it "
                                 "first") from exc
    where = f"inside line {lines + 1}" if tail else f"after line {lines}"
    bad = [BadRecord(record_no=lines + 1, raw=tail.decode("utf-8", "replace"),
                     reason=f"truncated: the gzip file ends {where}; the rest of the file is missing")]
    note = (f"{path.name} is truncated (its gzip stream ends early): the {lines:,} complete line(s) are read, "
            f"the incomplete tail is quarantined")
    return out, bad, note


def _probe(path: Path) -> Probe:
    with _open(path) as fh:
        head = fh.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
        out = _temp(_plain_suffix(path))
        with _open(path) as fh:
            text = fh.read().decode(enc, errors="replace")
        out.write_text(text, encoding="utf-8")
        return Probe(path=out, encoding="utf-16", temp=out)
    if _is_clean_utf8(path):
        return Probe(path=path, encoding="utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8")
    with _open(path) as fh:
        lines = fh.read().splitlines(keepends=True)
    good_nonascii, bad_nos = 0, []
    for no, line in enumerate(lines, 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good_nonascii += 1
        except UnicodeDecodeError:
            bad_nos.append(no)
    out = _temp(_plain_suffix(path))
    if good_nonascii == 0:
        # no valid UTF-8 multi-byte sequence anywhere: a legacy single-byte export
        text = b"".join(lines).decode("cp1252", errors="strict") if _cp1252_ok(lines) else \
            b"".join(lines).decode("latin-1")
        enc = "cp1252" if _cp1252_ok(lines) else "latin-1"
        out.write_text(text, encoding="utf-8")
        return Probe(path=out, encoding=enc, temp=out,
                     warnings=[f"{path.name} is not UTF-8; read it as {enc} (check accented characters; "
                               f"re-export as UTF-8 if they look wrong)"])
    bad_set = set(bad_nos)
    with out.open("wb") as fh:
        for no, line in enumerate(lines, 1):
            if no not in bad_set:
                fh.write(line)
    bad = [BadRecord(record_no=no, raw=repr(lines[no - 1].rstrip(b"\r\n")),
                     reason=f"broken encoding (bytes that are not UTF-8 on line {no})") for no in bad_nos]
    return Probe(path=out, encoding="utf-8", temp=out, bad=bad,
                 warnings=[f"{len(bad)} line(s) of {path.name} are not valid UTF-8: quarantined with their raw bytes"])


def _cp1252_ok(lines: list[bytes]) -> bool:
    try:
        b"".join(lines).decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True
