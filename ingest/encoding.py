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

from ingest.base import BadRecord



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
    """Decide how to read `path` as UTF-8 (see the module docstring)."""
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
