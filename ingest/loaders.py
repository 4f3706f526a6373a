"""Built-in text loaders: CSV/TSV and JSON / JSONL(.gz), registered through the same `register_loader` as any other.

Each returns a DuckDB relation with a ``__record_no`` column; parsing happens inside DuckDB. Two decisions:
- CSV date columns that DuckDB's sniffer would parse with a guessed non-ISO format (``16/02/26`` read as yy/mm/dd) are
  read as text instead, so `ingest.detect` can choose the format that makes *all* sampled values plausible.
- JSONL is read by DuckDB first; only if that fails is the file scanned line by line in Python, so malformed lines
  are quarantined with their line number and raw text while the rest loads.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from earful.errors import InputError
from ingest.base import SNIFF_ROWS, BadRecord, Loaded, Loader, register_loader
from ingest.encoding import _temp, probe

RECORD_KEYS = ("records", "data", "items", "results", "rows", "reviews", "tickets", "issues", "entries")


def lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


_lit = lit


def _struct_types(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in mapping.items()) + "}"


class CsvLoader(Loader):
    name = "csv"
    extensions = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")

    def load(self, con, path: Path, options: dict) -> Loaded:
        pr = probe(path)
        opts = ["header = true", "null_padding = true", "max_line_size = 10000000"]
        if path.name.lower().endswith((".tsv", ".tsv.gz")):
            opts.append("delim = '\\t'")
        if options.get("delimiter"):
            opts.append(f"delim = {lit(options['delimiter'])}")
        # rows come in file order: the pipeline numbers them while staging (in parallel; no row_number window)
        read = self._read(con, pr.path, opts)
        return Loaded(relation=con.sql(f"SELECT * FROM {read}"), loader=self.name, bad=pr.bad,
                      warnings=list(pr.warnings), temp_files=[pr.temp] if pr.temp else [], encoding=pr.encoding,
                      numbered=False, serial=self._serial(con, read),
                      reread=lambda: self._reread(con, pr.path, opts))

    @staticmethod
    def _serial(con, read: str):
        """The same read on one thread. DuckDB's parallel reader refuses quoted line breaks together with
        null_padding (review text often has them): the pipeline then stages this instead."""
        return con.sql(f"SELECT * FROM {read[:-1]}, parallel = false)")

    def _reread(self, con, path: Path, opts: list[str]) -> tuple[object, object, list[BadRecord]]:
        """For when rows past the sniffer's sample break the format it found (a first quoted field, a text value in
        a number column, a row with too many fields): the dialect and types from the whole file, and the lines that
        still do not parse, as bad records for the quarantine (read here, once, through DuckDB's reject store)."""
        read = self._read(con, path, opts, whole_file=True)
        con.execute(f"SELECT count(*) FROM {read[:-1]}, parallel = false, store_rejects = true, "
                    f"rejects_table = '_csv_rejects', rejects_scan = '_csv_rejects_scan')").fetchall()
        rejected = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_csv_rejects'").fetchall()
        bad = [BadRecord(record_no=int(line), raw=raw or "", reason=f"{kind.lower()}: {msg}")
               for line, raw, kind, msg in con.execute(
                   "SELECT line, csv_line, error_type, error_message FROM _csv_rejects ORDER BY line").fetchall()
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
        """``read_csv(...)`` with the dialect and column types sniffed once, here, so that DuckDB does not sniff the
        file again each time the query is bound. Columns the sniffer typed DATE/TIMESTAMP with a guessed non-ISO
        format are read as VARCHAR instead (see the module docstring).

        The sniffer sees the first SNIFF_ROWS rows (`whole_file`: all of them). When no field there is quoted it picks no
        quote character, and a quoted field further down (a comma or an escaped quote inside) would then be split or
        kept with its quotes: the RFC 4180 quote is used instead whenever it reads the sample the same way."""
        # the sniffer reads only the sample: a 20 MB buffer (2x max_line_size) instead of the default 16x spares it
        # allocating and faulting in 160 MB for a few MB of rows (~0.07 s per file)
        sample = [*opts, f"sample_size = {-1 if whole_file else SNIFF_ROWS}"]
        row = cls._sniff(con, path, sample)
        if row[1] == "(empty)" and not whole_file:
            rfc = cls._sniff(con, path, [*sample, "quote = '\"'", "escape = '\"'"])
            if [c["name"] for c in rfc[7]] == [c["name"] for c in row[7]]:
                row = rfc
        delim, quote, escape, new_line, comment, skip, header, columns, date_fmt, ts_fmt = row
        types = {}
        for c in columns:
            t = str(c["type"]).upper()
            types[c["name"]] = "VARCHAR" if (t == "DATE" and date_fmt) or (t.startswith("TIMESTAMP") and ts_fmt) \
                else str(c["type"])
        dialect = [f"{k} = {lit('' if v == '(empty)' else v)}" for k, v in
                   (("delim", delim), ("quote", quote), ("escape", escape), ("new_line", new_line),
                    ("comment", comment))]
        rest = [o for o in opts if not o.startswith(("header", "delim"))]
        return (f"read_csv({lit(path)}, auto_detect = false, {', '.join(dialect)}, skip = {int(skip)}, "
                f"header = {'true' if header else 'false'}, columns = {_struct_types(types)}, {', '.join(rest)})")


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
        if lines:
            # JSON Lines come in file order: the pipeline numbers them while staging (no row_number window)
            try:
                rel = con.sql(self._read(src, "newline_delimited", numbered=False))
                rel.limit(1).fetchall()
                con.sql(f"SELECT count(*) FROM read_json({lit(src)}, format='newline_delimited', "
                        f"maximum_object_size=100000000)").fetchall()
            except duckdb.Error:
                src, more = self._clean_lines(src)
                temps.append(src)
                bad += more
                if not src.stat().st_size:
                    raise InputError(f"{path}: no line is valid JSON", hint="check that it is JSON Lines")
                rel = con.sql(self._read(src, "newline_delimited", numbered=False))
            return Loaded(relation=rel, loader=self.name, bad=bad, warnings=pr.warnings, temp_files=temps,
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
        q = '"' + key.replace('"', '""') + '"'
        return con.sql(f"SELECT row_number() OVER () AS __record_no, unnest(r, recursive := false) FROM "
                       f"(SELECT unnest({q}) AS r FROM read_json({lit(src)}, format = 'auto', "
                       f"maximum_object_size = 100000000))")

    @staticmethod
    def _clean_lines(src: Path) -> tuple[Path, list[BadRecord]]:
        opener = gzip.open if src.name.lower().endswith(".gz") else open
        out = _temp(".jsonl")
        bad = []
        with opener(src, "rb") as fh, out.open("wb") as w:
            for no, line in enumerate(fh, 1):
                s = line.strip()
                if not s:
                    continue
                try:
                    obj = json.loads(s)
                except ValueError as exc:
                    bad.append(BadRecord(no, s.decode("utf-8", "replace")[:100_000], f"malformed JSON on line {no}: {exc}"))
                    continue
                if not isinstance(obj, dict):
                    bad.append(BadRecord(no, s.decode("utf-8", "replace")[:100_000],
                                         f"line {no} is JSON but not an object"))
                    continue
                w.write(s + b"\n")
        return out, bad


register_loader(CsvLoader())
register_loader(JsonLoader())
