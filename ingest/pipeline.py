"""The ingest pipeline: file -> loader relation -> canonical items + typed raw table + quarantine, in one transaction.

Design decision: everything after parsing is set-based SQL inside DuckDB (hashing, timestamp parsing, quarantine,
dedupe, insert) over one staged copy of the file, and a failure anywhere rolls the whole batch back. The copy is a
temp table filled before the transaction opens (temp storage only: the workspace is untouched until the commit), and
the canonical columns are a view over it, so a big file is parsed once and written once. This module reads and
stages the file; `earful.ingest.insert` writes the staged batch. Dedupe key: the external id when the source has
one, else a hash of the *whole record* (two critiques with the same text but another model are two items).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError
from earful.ingest.base import LOADERS, PROFILES, SNIFF_ROWS, Loaded
from earful.ingest.detect import detect, field_paths, likely_id
from earful.ingest.insert import SPEC_ID, ext_id_sql, insert_batch, item_id_sql
from earful.store import Store
from earful.store.sql import quote_ident

_SOURCE_RE = re.compile(r"[^a-z0-9_]+")


def source_name_for(path: Path) -> str:
    stem = path.name.split(".")[0].lower()
    name = _SOURCE_RE.sub("_", stem).strip("_") or "feedback"
    return name if not name[0].isdigit() else f"s_{name}"


def check_source_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise InputError(f"source name '{name}' must be letters, digits and _ (it becomes a SQL view name)")
    if name.lower() in {"items", "sources", "batches", "quarantine", "embeddings"} or name.startswith(("src_", "_")):
        raise InputError(f"source name '{name}' is reserved; choose another with --source")
    return name


def pick_loader(path: Path, fmt: str | None = None):
    if fmt:
        if fmt not in LOADERS:
            raise InputError(f"unknown format '{fmt}' (known: {', '.join(sorted(LOADERS))})")
        return LOADERS[fmt]
    for loader in LOADERS.values():
        if loader.accepts(path):
            return loader
    raise InputError(f"{path}: unknown file format '{''.join(path.suffixes) or path.name}'",
                     hint=f"supported: {', '.join(sorted(LOADERS))}; or pass --format NAME")


BINARY_OK = (".gz", ".parquet", ".xlsx")


def check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory", hint="check the path")
    if path.is_file():
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty", hint="nothing to ingest; check the export")
        with path.open("rb") as fh:
            head = fh.read(4096)
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) \
                and not path.name.lower().endswith(BINARY_OK):
            raise InputError(f"{path}: looks like a binary file, not text feedback",
                             hint="export it as CSV, JSON, JSONL, Parquet or .xlsx")


def expand_paths(paths: list[str | Path], fmt: str | None = None) -> list[tuple[Path, str | None]]:
    """Files to ingest, in order, each with its default source name (a folder's name for files found in it).

    Folders and globs expand to the files a loader accepts (others are skipped); every path is checked *before*
    anything is written, so one bad path fails the whole command with nothing ingested.
    """
    import glob

    out: list[tuple[Path, str | None]] = []
    for raw in paths:
        raw = str(raw)
        if any(ch in raw for ch in "*?[") and not Path(raw).exists():
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"{raw}: no files match", hint="check the pattern (quote it so the shell "
                                 "does not expand it)")
            group = source_name_for(Path(raw).parent) if Path(raw).parent.name else None
            out += [(m, group) for m in matches if _accepted(m, fmt)]
            continue
        p = Path(raw)
        check_path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".") and _accepted(f, fmt))
            if not found:
                raise InputError(f"{p}: no ingestible files in this folder",
                                 hint=f"supported: {', '.join(sorted(LOADERS))}")
            out += [(f, source_name_for(p)) for f in found]
        else:
            pick_loader(p, fmt)
            out.append((p, None))
    for f, _ in out:
        check_path(f)
    return out


def _accepted(path: Path, fmt: str | None) -> bool:
    return bool(fmt) or any(loader.accepts(path) for loader in LOADERS.values())


def ingest_paths(store: Store, paths: list[str | Path], *, source: str | None = None, progress=None,
                 **kwargs) -> list[dict]:
    """Ingest files, folders and globs: one batch (one transaction) per file. Returns one summary per file."""
    files = expand_paths(paths, kwargs.get("fmt"))
    results = []
    for path, group in files:
        if progress is not None:
            progress(path)
        results.append(ingest_file(store, path, source=source or group, **kwargs))
    return results


def ingest_file(store: Store, path: str | Path, *, source: str | None = None, overrides: dict | None = None,
                profile: str | None = None, fmt: str | None = None, options: dict | None = None,
                max_field_bytes: int = 1_000_000) -> dict:
    """Ingest one file into `store`. Returns the summary dict (added / duplicates / quarantined / detection)."""
    import json

    path = Path(path)
    check_path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder", hint="use ingest_paths (or `earful ingest FOLDER`)")
    loader = pick_loader(path, fmt)
    source = check_source_name(source or source_name_for(path))
    prof = None
    if profile:
        if profile not in PROFILES:
            raise InputError(f"unknown profile '{profile}' (known: {', '.join(sorted(PROFILES)) or 'none'})")
        prof = PROFILES[profile]
    con = store.con
    con.execute("SET enable_progress_bar = false")  # DuckDB's own bar would corrupt --json output; the CLI has one
    batch_id = uuid.uuid4().hex[:12]
    started = datetime.now(UTC)
    loaded = None
    try:
        # parsing into the temp table _stage happens before the transaction: it writes nothing to the workspace
        loaded = _load(loader, con, path, {"max_field_bytes": max_field_bytes, **(options or {})})
        chosen = prof
        while True:
            names = [c for c in loaded.relation.columns if c != "__record_no"]
            paths = field_paths(loaded.relation)  # nested fields too: a profile may name attributes.rating
            prof = chosen or next((p for p in PROFILES.values() if p.matches(paths)), None)
            spec_id = likely_id(names, overrides, prof)
            try:
                _stage(con, loaded, item_id_sql(source, ext_id_sql(quote_ident(spec_id)))
                       if spec_id else None)
                break
            except duckdb_error() as exc:
                if loaded.reread is None:
                    raise _unreadable(path, loader.name, exc) from exc
                loaded = _reread(loaded, path, exc)
        with store.transaction():
            # record numbers are fixed in _stage above; from here on row order is carried by __record_no, so DuckDB
            # may write in parallel without keeping insertion order (about 30% faster on large files)
            con.execute("SET preserve_insertion_order = false")
            stage = con.sql(f"SELECT * EXCLUDE ({SPEC_ID}) FROM _stage") if spec_id else con.table("_stage")
            cols = [c for c in stage.columns if c != "__record_no"]
            n_staged = store.scalar("SELECT count(*) FROM _stage")
            if not cols or (not n_staged and not loaded.bad):
                raise InputError(f"{path}: no records found", hint="nothing to ingest; check the export")
            det = detect(con, stage, overrides, prof)
            summary = insert_batch(store, stage, cols, det, source, batch_id, str(path), max_field_bytes, loaded,
                                   n_staged, spec_id)
            if not store.scalar("SELECT count(*) FROM sources WHERE name = ?", [source]):
                con.execute("INSERT INTO sources (name, raw_table, text_column, time_column, rating_column, "
                            "id_column, author_column, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [source, f"src_{source}", det.text, det.time, det.rating, det.id, det.author,
                             prof.name if prof else None])
            con.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [batch_id, source, str(path), loaded.loader, started, datetime.now(UTC),
                         summary["added"], summary["duplicates"], summary["quarantined"], json.dumps(det.as_dict())])
            if summary["added"] or summary["new_columns"]:
                store.refresh_views(source)
    finally:
        con.execute("RESET preserve_insertion_order")
        con.execute("DROP VIEW IF EXISTS _stage" if loaded is not None and not loaded.numbered
                    else "DROP TABLE IF EXISTS _stage")
        con.execute("DROP TABLE IF EXISTS _stage_rows")
        for tmp in (loaded.temp_files if loaded else []):
            Path(tmp).unlink(missing_ok=True)
    summary.pop("new_columns", None)
    notes = summary.pop("notes", [])
    summary.update({"source": source, "path": str(path), "batch_id": batch_id, "loader": loaded.loader,
                    "encoding": loaded.encoding or None, "profile": prof.name if prof else None,
                    "detection": det.as_dict(), "warnings": loaded.warnings + det.notes + notes})
    return summary


def _stage(con, loaded: Loaded, spec_id_sql: str | None = None) -> None:
    """Copy the loader's records into temp storage readable as ``_stage`` (with ``__record_no``), in file order.

    An unnumbered relation is copied keeping insertion order (DuckDB's default at this point, outside any
    transaction), so a row's id in the temp table ``_stage_rows`` is its position in the file and the view
    ``_stage`` gives ``__record_no = rowid + 1``: DuckDB parses in parallel instead of numbering rows with a
    single-threaded ``row_number()`` window (inside a transaction, new rows' ids are not positions, hence outside).

    `spec_id_sql` (the item id of the likely id column) is computed here, in the same parallel pass, as column
    ``__c_spec_item_id``: when detection confirms that column, both inserts reuse it instead of hashing twice.
    """
    def select(relation) -> str:
        sql = relation.sql_query()
        return f"SELECT *, {spec_id_sql} AS {SPEC_ID} FROM ({sql})" if spec_id_sql else sql

    if loaded.numbered:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS {select(loaded.relation)}")
        return
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_rows AS {select(loaded.relation)}")
    except duckdb_error() as exc:
        if loaded.serial is None or "parallel" not in str(exc):
            raise
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_rows AS {select(loaded.serial)}")
    con.execute("CREATE OR REPLACE TEMP VIEW _stage AS SELECT rowid + 1 AS __record_no, * FROM _stage_rows")


def duckdb_error():
    import duckdb

    return duckdb.Error


def _unreadable(path: Path, loader_name: str, exc: Exception) -> InputError:
    """The one error for a file its loader cannot parse: DuckDB's first line, and what to check."""
    return InputError(f"{path}: could not be read as {loader_name}: {str(exc).splitlines()[0]}",
                      hint="check the file's format and encoding, or pass --format")


def _load(loader, con, path: Path, options: dict) -> Loaded:
    try:
        return loader.load(con, path, options)
    except duckdb_error() as exc:
        raise _unreadable(path, loader.name, exc) from exc


def _reread(loaded: Loaded, path: Path, exc: Exception) -> Loaded:
    """`loaded` read again with the format of the whole file, after rows past the detection sample failed to stage;
    the rows that still fail are quarantined, and a warning says what happened."""
    try:
        relation, serial, bad = loaded.reread()
    except duckdb_error() as again:
        raise _unreadable(path, loaded.loader, exc) from again
    note = f"{path.name}: rows past the first {SNIFF_ROWS:,} did not fit the format detected there " \
           f"({str(exc).splitlines()[0]}); read again with the format of the whole file"
    if bad:
        note += f"; {len(bad)} line(s) that still do not fit are quarantined"
    return replace(loaded, relation=relation, serial=serial, reread=None, bad=loaded.bad + bad,
                   warnings=[*loaded.warnings, note])
