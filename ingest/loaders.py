"""Built-in loaders: CSV/TSV and JSON/JSONL(.gz), registered through the same `register_loader` as any other.

Each returns a DuckDB relation with a ``__record_no`` column; parsing happens inside DuckDB.
"""
from __future__ import annotations

from pathlib import Path

from earful.errors import InputError
from ingest.base import Loaded, Loader, register_loader


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class CsvLoader(Loader):
    name = "csv"
    extensions = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")

    def load(self, con, path: Path, options: dict) -> Loaded:
        opts = ["header = true", "all_varchar = false", "sample_size = 20480", "strict_mode = false",
                "null_padding = true", "ignore_errors = false", "max_line_size = 10000000"]
        if path.name.lower().endswith((".tsv", ".tsv.gz")):
            opts.append("delim = '\\t'")
        if options.get("encoding"):
            opts.append(f"encoding = '{options['encoding']}'")
        sql = f"SELECT row_number() OVER () AS __record_no, * FROM read_csv({_lit(path)}, {', '.join(opts)})"
        return Loaded(relation=con.sql(sql), loader=self.name)


class JsonLoader(Loader):
    name = "json"
    extensions = (".json", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json.gz")

    def load(self, con, path: Path, options: dict) -> Loaded:
        low = path.name.lower()
        fmt = "newline_delimited" if (".jsonl" in low or ".ndjson" in low) else "auto"
        records_key = options.get("records_key")
        sql = (f"SELECT row_number() OVER () AS __record_no, * FROM read_json({_lit(path)}, format = '{fmt}', "
               f"sample_size = 20480, maximum_object_size = 100000000)")
        rel = con.sql(sql)
        cols = [c for c in rel.columns if c != "__record_no"]
        if fmt == "auto" and (records_key or (len(cols) == 1 and str(rel.types[1]).endswith("[]"))):
            key = records_key or cols[0]
            if key not in cols:
                raise InputError(f"{path} has no key '{key}'")
            rel = con.sql(f"SELECT row_number() OVER () AS __record_no, unnest(r, recursive := false) FROM "
                          f"(SELECT unnest(\"{key}\") AS r FROM read_json({_lit(path)}, format = 'auto', "
                          f"maximum_object_size = 100000000))")
        return Loaded(relation=rel, loader=self.name)


register_loader(CsvLoader())
register_loader(JsonLoader())
