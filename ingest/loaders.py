"""Built-in text loaders: CSV/TSV and JSON / JSONL(.gz), registered by `ingest.plugin` through the
``register_loaders`` hook, like any plugin's.

Each returns a DuckDB relation with a ``__record_no`` column; parsing happens inside DuckDB. Two decisions:
- CSV date columns that DuckDB's sniffer would parse with a guessed non-ISO format (``16/02/26`` read as yy/mm/dd) are
  read as text instead, so `ingest.detect` can choose the format that makes *all* sampled values plausible.
- JSONL is read by DuckDB first; only if that fails is the file scanned line by line in Python, so malformed lines
  are quarantined with their line number and raw text while the rest loads.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from earful.errors import InputError
from earful.ingest.base import SNIFF_ROWS, BadRecord, Loaded, Loader
from earful.ingest.encoding import _temp, probe
from earful.store.sql import quote_ident, quote_literal

RECORD_KEYS = ("records", "data", "items", "results", "rows", "reviews", "tickets", "issues", "entries")


def lit(path: Path | str) -> str:
    """A path or other text as a SQL string literal."""
    return quote_literal(str(path))


_lit = lit


def _struct_types(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in mapping.items()) + "}"


MAX_LINE = 10_000_000  # bytes: DuckDB's CSV reader refuses longer lines; they are quarantined, the rest is read


def _long_lines(path: Path, limit: int = MAX_LINE) -> int:
    """How many physical lines of `path` are longer than `limit` bytes (a streaming scan, run only after DuckDB
    refused the file)."""
    from earful.ingest.encoding import _open

    with _open(path) as fh:
        return sum(1 for line in fh if len(line) > limit)


def _without_long_lines(path: Path, max_lines: int | None, limit: int = MAX_LINE) -> Path | None:
    """A temporary copy of (the first `max_lines` short lines of) `path` without its lines over `limit` bytes, for
    format detection; None when `path` has no such line."""
    from earful.ingest.encoding import _open

    out, long_ = _temp(".csv"), 0
    with _open(path) as fh, out.open("wb") as w:
        kept = 0
        for line in fh:
            if len(line) > limit:
                long_ += 1
                continue
            w.write(line)
            kept += 1
            if max_lines is not None and kept >= max_lines:
                break
    if not long_:
        out.unlink()
        return None
    return out


def _reject_reason(kind: str, msg: str, line, raw: str | None, field_limit: int) -> str:
    if kind.upper() == "LINE SIZE OVER MAXIMUM":
        return (f"a field over the size limit (ingest.max_field_bytes = {field_limit:,} bytes): line {line} is longer "
                f"than the CSV reader's {MAX_LINE:,}-byte limit; its first {len(raw or ''):,} bytes are kept here")
    if kind.upper() == "TOO MANY COLUMNS":
        expected, found = _column_counts(msg)
        if expected is not None:
            return f"too many columns: {found} fields, header has {expected}"
    return f"{kind.lower()}: {msg}"


def _column_counts(msg: str) -> tuple[int | None, int | None]:
    """(expected, found) from DuckDB's "Expected Number of Columns: 3 Found: 5"; (None, None) if not that message."""
    m = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", msg or "")
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _rejected_lines(rows: list[tuple]) -> list[tuple]:
    """DuckDB's reject store, one row per line: a line with too many fields is reported once per extra field it
    reaches ("Found: 4", then "Found: 5"); the report with the highest count is the line's own."""
    best: dict = {}
    for line, raw, kind, msg in rows:
        prev = best.get(line)
        if prev is None or (_column_counts(msg)[1] or 0) > (_column_counts(prev[3])[1] or 0):
            best[line] = (line, raw, kind, msg)
    return [best[k] for k in sorted(best)]


class CsvLoader(Loader):
    name = "csv"
    extensions = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")

    def load(self, con, path: Path, options: dict) -> Loaded:
        import duckdb

        pr = probe(path)
        opts = ["header = true", "null_padding = true", f"max_line_size = {MAX_LINE}"]
        if path.name.lower().endswith((".tsv", ".tsv.gz")):
            opts.append("delim = '\\t'")
        if options.get("delimiter"):
            opts.append(f"delim = {lit(options['delimiter'])}")
        field_limit = int(options.get("max_field_bytes") or MAX_LINE)
        temps = [pr.temp] if pr.temp else []
        try:
            # rows come in file order: the pipeline numbers them while staging (in parallel; no row_number window)
            read, header_cols = self._plan(con, pr.path, opts)
        except duckdb.Error:
            # a line over the reader's limit in the detection sample: read the rest, quarantine those lines
            long_ = _long_lines(pr.path)
            if not long_:
                raise
            relation, serial, bad = self._reread(con, pr.path, opts, field_limit)
            note = f"{path.name}: {long_} line(s) longer than the CSV reader's {MAX_LINE:,}-byte limit are quarantined"
            return Loaded(relation=relation, loader=self.name, bad=pr.bad + bad, warnings=[*pr.warnings, note],
                          temp_files=temps, encoding=pr.encoding, numbered=False, serial=serial)
        if header_cols:
            # lines in the sample have data beyond the header's columns: the header defines the columns, those
            # lines are quarantined (read once, with the whole file's types, through DuckDB's reject store)
            relation, serial, bad = self._reread(con, pr.path, opts, field_limit)
            note = (f"{path.name}: the header has {header_cols} columns; {len(bad)} line(s) with more fields than the "
                    f"header are quarantined")
            return Loaded(relation=relation, loader=self.name, bad=pr.bad + bad, warnings=[*pr.warnings, note],
                          temp_files=temps, encoding=pr.encoding, numbered=False, serial=serial)
        return Loaded(relation=con.sql(f"SELECT * FROM {read}"), loader=self.name, bad=pr.bad,
                      warnings=list(pr.warnings), temp_files=temps, encoding=pr.encoding,
                      numbered=False, serial=self._serial(con, read),
                      reread=lambda: self._reread(con, pr.path, opts, field_limit))

    @staticmethod
    def _serial(con, read: str):
        """The same read on one thread. DuckDB's parallel reader refuses quoted line breaks together with
        null_padding (review text often has them): the pipeline then stages this instead."""
        return con.sql(f"SELECT * FROM {read[:-1]}, parallel = false)")

    def _reread(self, con, path: Path, opts: list[str],
                field_limit: int = MAX_LINE) -> tuple[object, object, list[BadRecord]]:
        """For when rows past the sniffer's sample break the format it found (a first quoted field, a text value in
        a number column, a row with too many fields): the dialect and types from the whole file, and the lines that
        still do not parse, as bad records for the quarantine (read here, once, through DuckDB's reject store)."""
        read = self._read(con, path, opts, whole_file=True)
        con.execute(f"SELECT count(*) FROM {read[:-1]}, parallel = false, store_rejects = true, "
                    f"rejects_table = '_csv_rejects', rejects_scan = '_csv_rejects_scan')").fetchall()
        rejected = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_csv_rejects'").fetchall()
        bad = [BadRecord(record_no=int(line), raw=raw or "", reason=_reject_reason(kind, msg, line, raw, field_limit))
               for line, raw, kind, msg in _rejected_lines(con.execute(
                   "SELECT line, csv_line, error_type, error_message FROM _csv_rejects ORDER BY line").fetchall())
               ] if rejected[0][0] else []
        con.execute("DROP TABLE IF EXISTS _csv_rejects; DROP TABLE IF EXISTS _csv_rejects_scan")
        if bad:
            read = read[:-1] + ", ignore_errors = true)"
        return con.sql(f"SELECT * FROM {read}"), self._serial(con, read), bad

    @staticmethod
    def _sniff(con, path: Path, opts: list[str]):
        return con.execute(f"SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, "
                           f"Columns, DateFormat, TimestampFormat FROM sniff_csv({lit(path)}, {', '.join(opts)}, "
                           f"buffer_size = 20000000)").fetchall()[0]

    @classmethod
    def _read(cls, con, path: Path, opts: list[str], whole_file: bool = False) -> str:
        return cls._plan(con, path, opts, whole_file)[0]

    @classmethod
    def _plan(cls, con, path: Path, opts: list[str], whole_file: bool = False) -> tuple[str, int]:
        """``read_csv(...)`` with the dialect and column types sniffed once, here, so that DuckDB does not sniff the
        file again each time the query is bound. Columns the sniffer typed DATE/TIMESTAMP with a guessed non-ISO
        format are read as VARCHAR instead (see the module docstring).

        The sniffer sees the first SNIFF_ROWS rows (`whole_file`: all of them). When no field there is quoted it picks
        no quote character, and a quoted field further down (a comma or an escaped quote inside) would then be split
        or kept with its quotes: the RFC 4180 quote is used instead whenever it reads the sample the same way.

        The header defines the columns: when lines of the sample have more fields than the header (the sniffer then
        adds ``column3``, ``column4``, ... and types the header's columns from misplaced values), the header's
        columns are read, typed from the lines that fit them, and the second value returned is how many there are
        (0 otherwise), so the caller quarantines the longer lines. Trailing delimiters (extra fields that are empty
        on every line) are not data in the wrong place: those files are read as before."""
        # the sniffer reads only the sample: a 20 MB buffer (2x max_line_size) instead of the default 16x spares it
        # allocating and faulting in 160 MB for a few MB of rows (~0.07 s per file)
        import duckdb

        sample = [*opts, f"sample_size = {-1 if whole_file else SNIFF_ROWS}"]
        try:
            row = cls._sniff(con, path, sample)
        except duckdb.Error:
            # the sniffer stops at a line over max_line_size: detect the format on the lines that fit (the read
            # below then rejects the long ones, which the caller quarantines)
            copy = _without_long_lines(path, None if whole_file else SNIFF_ROWS + 1)
            if copy is None:
                raise
            try:
                row = cls._sniff(con, copy, sample)
            finally:
                copy.unlink(missing_ok=True)
        if row[1] == "(empty)" and not whole_file:
            rfc = cls._sniff(con, path, [*sample, "quote = '\"'", "escape = '\"'"])
            if [c["name"] for c in rfc[7]] == [c["name"] for c in row[7]]:
                row = rfc
        fitted = cls._header_fit(con, path, sample, row)
        row = fitted or row
        delim, quote, escape, new_line, comment, skip, header, columns, date_fmt, ts_fmt = row
        types = {}
        for c in columns:
            t = str(c["type"]).upper()
            types[c["name"]] = "VARCHAR" if (t == "DATE" and date_fmt) or (t.startswith("TIMESTAMP") and ts_fmt) \
                else str(c["type"])
        rest = [o for o in opts if not o.startswith(("header", "delim"))]
        return (f"read_csv({lit(path)}, auto_detect = false, {', '.join(_dialect(row))}, skip = {int(skip)}, "
                f"header = {'true' if header else 'false'}, columns = {_struct_types(types)}, {', '.join(rest)})",
                len(columns) if fitted else 0)

    @classmethod
    def _header_fit(cls, con, path: Path, sample: list[str], row) -> tuple | None:
        """The sniffer's row for the header's columns alone, when `row` (sniffed with null padding) has more columns
        than the header and some line of the sample has a value in them; else None. Runs only when the sniffer named
        a column ``columnN`` itself (the sign of fields without a header name), so a normal file pays nothing."""
        import duckdb

        names = [c["name"] for c in row[7]]
        if not row[6] or not any(_GENERATED.fullmatch(n) for n in names):
            return None
        keep = [o for o in sample if not o.startswith(("header", "delim", "null_padding"))]
        try:
            fit = cls._sniff(con, path, [*keep, *_dialect(row), f"skip = {int(row[5])}", "header = true",
                                         "null_padding = false", "ignore_errors = true"])
        except duckdb.Error:
            return None
        n = len(fit[7])
        if not 0 < n < len(names) or [c["name"] for c in fit[7]] != names[:n]:
            return None
        extra = " OR ".join(f"trim({_qi(c)}) <> ''" for c in names[n:])
        every = _struct_types({c: "VARCHAR" for c in names})
        rows = "" if "sample_size = -1" in sample else f" LIMIT {SNIFF_ROWS}"
        rest = [o for o in keep if not o.startswith("sample_size")]
        try:
            misplaced = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM read_csv({lit(path)}, auto_detect = false, "
                f"{', '.join(_dialect(row))}, skip = {int(row[5])}, header = true, null_padding = true, "
                f"columns = {every}, {', '.join(rest)}){rows}) WHERE {extra}").fetchall()[0][0]
        except duckdb.Error:
            return None
        return fit if misplaced else None


_GENERATED = re.compile(r"column\d+")  # the name DuckDB's sniffer gives a column the header does not name


_qi = quote_ident


def _dialect(row) -> list[str]:
    """read_csv options for the dialect in a `sniff_csv` row (delimiter, quote, escape, new line, comment)."""
    return [f"{k} = {lit('' if v == '(empty)' else v)}" for k, v in
            zip(("delim", "quote", "escape", "new_line", "comment"), row[:5])]


class JsonLoader(Loader):
    name = "json"
    extensions = (".json", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json.gz")

    def load(self, con, path: Path, options: dict) -> Loaded:
        import duckdb

        low = path.name.lower()
        lines = ".jsonl" in low or ".ndjson" in low
        pr = probe(path)
        src = pr.path
        bad = list(pr.bad)
        temps = [pr.temp] if pr.temp else []
        warnings = list(pr.warnings)
        if lines:
            # JSON Lines come in file order: the pipeline numbers them while staging (no row_number window)
            try:
                rel = con.sql(self._read(src, "newline_delimited", numbered=False))
                rel.limit(1).fetchall()
                con.sql(f"SELECT count(*) FROM read_json({lit(src)}, format='newline_delimited', "
                        f"maximum_object_size=100000000)").fetchall()
                odd = _odd_keys(con, rel)
            except duckdb.Error:
                odd = None
            if odd is not False:
                src, more, renamed = self._clean_lines(src)
                temps.append(src)
                bad += more
                if renamed:
                    warnings = [*warnings, f"{path.name}: JSON keys that cannot be column names (empty, or with "
                                f"control characters such as NUL) are kept as " + ", ".join(
                                    f"'{new}'" for new in sorted(renamed)) + ", on the lines that have them"]
                if not src.stat().st_size:
                    raise InputError(f"{path}: no line is valid JSON", hint="check that it is JSON Lines")
                rel = con.sql(self._read(src, "newline_delimited", numbered=False))
            return Loaded(relation=rel, loader=self.name, bad=bad, warnings=warnings, temp_files=temps,
                          encoding=pr.encoding, numbered=False)
        rel = con.sql(self._read(src, "auto"))
        rel = self._unwrap(con, rel, src, options.get("records_key"), path)
        return Loaded(relation=rel, loader=self.name, bad=bad, warnings=pr.warnings, temp_files=temps,
                      encoding=pr.encoding)

    @staticmethod
    def _read(src: Path, fmt: str, numbered: bool = True) -> str:
        return (f"SELECT {'row_number() OVER () AS __record_no, ' if numbered else ''}* FROM read_json({lit(src)}, "
                f"format = '{fmt}', sample_size = {SNIFF_ROWS}, maximum_object_size = 100000000)")

    @staticmethod
    def _unwrap(con, rel, src: Path, records_key: str | None, path: Path):
        """An object holding the records under a key (``{"tickets": [...], "count": 3}``): unnest that list."""
        cols = [c for c in rel.columns if c != "__record_no"]
        types = dict(zip(rel.columns, [str(t) for t in rel.types]))
        n = rel.aggregate("count(*)").fetchall()[0][0]
        if records_key:
            if records_key not in cols:
                raise InputError(f"{path} has no key '{records_key}' (keys: {', '.join(cols)})")
            key = records_key
        else:
            lists = [c for c in cols if types[c].startswith("STRUCT") and types[c].endswith("[]")]
            if n != 1 or not lists:
                return rel
            key = next((c for c in lists if c.lower() in RECORD_KEYS), lists[0])
        q = quote_ident(key)
        return con.sql(f"SELECT row_number() OVER () AS __record_no, unnest(r, recursive := false) FROM "
                       f"(SELECT unnest({q}) AS r FROM read_json({lit(src)}, format = 'auto', "
                       f"maximum_object_size = 100000000))")

    @staticmethod
    def _clean_lines(src: Path) -> tuple[Path, list[BadRecord], set[str]]:
        """The valid JSON object lines of `src` in a temporary copy (keys that cannot be column names renamed, see
        `_safe_keys`), the other lines as bad records, and the new names given to odd keys."""
        opener = gzip.open if src.name.lower().endswith(".gz") else open
        out = _temp(".jsonl")
        bad, renamed = [], set()
        with opener(src, "rb") as fh, out.open("wb") as w:
            for no, line in enumerate(fh, 1):
                s = line.strip()
                if not s:
                    continue
                try:
                    obj = json.loads(s)
                except ValueError as exc:
                    bad.append(BadRecord(no, s.decode("utf-8", "replace")[:100_000],
                                         f"malformed JSON on line {no}: {exc}"))
                    continue
                if not isinstance(obj, dict):
                    bad.append(BadRecord(no, s.decode("utf-8", "replace")[:100_000],
                                         f"line {no} is JSON but not an object"))
                    continue
                fixed = _safe_keys(obj)
                if fixed is not obj:
                    renamed |= set(fixed) - set(obj)
                    s = json.dumps(fixed, ensure_ascii=False).encode("utf-8")
                w.write(s + b"\n")
        return out, bad, renamed


def _odd_key(key: str) -> bool:
    return not key or not key.isprintable()


def _safe_keys(obj: dict) -> dict:
    """`obj` with each key that cannot be a column name (empty, or holding a control character such as NUL) renamed:
    ``empty_key``, or the key with those characters as ``_``, made unique; `obj` itself when no key is odd."""
    if not any(_odd_key(k) for k in obj):
        return obj
    out: dict = {}
    for k, v in obj.items():
        if _odd_key(k):
            k = "".join(ch if ch.isprintable() else "_" for ch in k) or "empty_key"
            while k in obj or k in out:
                k += "_"
        out[k] = v
    return out


def _odd_keys(con, rel) -> bool:
    """Whether DuckDB's read of JSON Lines shows odd keys: a column name that is empty or has a control character,
    or the single MAP column ``json`` DuckDB falls back to when a key is empty (then one pass over its keys)."""
    if any(_odd_key(c) for c in rel.columns):
        return True
    if rel.columns != ["json"] or not str(rel.types[0]).startswith("MAP"):
        return False
    return bool(con.sql(f"SELECT count(*) FROM ({rel.sql_query()}) WHERE len(list_filter(map_keys(json), "
                        f"k -> k = '' OR regexp_matches(k, '[[:cntrl:]]'))) > 0").fetchall()[0][0])
