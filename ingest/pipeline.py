"""The ingest pipeline: file -> loader relation -> canonical items + typed raw table + quarantine, in one transaction.

Design decision: everything after parsing is set-based SQL inside DuckDB (hashing, timestamp parsing, quarantine,
dedupe, insert) over one staged copy of the file, and a failure anywhere rolls the whole batch back. The copy is a
temp table filled before the transaction opens (temp storage only: the workspace is untouched until the commit), and
the canonical columns are a view over it, so a big file is parsed once and written once. Dedupe key: the external id
when the source has one, else a hash of the *whole record* (two critiques with the same text but another model are
two items).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError
from earful.ingest.base import LOADERS, PROFILES, SNIFF_ROWS, Loaded
from earful.ingest.columns import EARFUL_COLUMNS, PREFIX, plan_columns
from earful.ingest.detect import Detection, detect, field_paths, likely_id, qcol
from earful.store import Store
from earful.store.sql import quote_ident, quote_literal
from earful.store.views import derived_names

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
                _stage(con, loaded, _item_id_sql(source, _ext_id(quote_ident(spec_id)))
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
            summary = _insert(store, stage, cols, det, source, batch_id, str(path), max_field_bytes, loaded, n_staged,
                              spec_id)
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


SPEC_ID = "__c_spec_item_id"  # staged item id of the likely id column (see `_stage`)


def _item_id_sql(source: str, key_sql: str) -> str:
    """A stable item id: 16 hex digits of md5('<source>:<external id or record key>')."""
    return f"substr(md5({quote_literal(source)} || ':' || {key_sql}), 1, 16)"


def _widen(store: Store, raw_table: str, col: str, stored: str, stored_type: str, new_type: str) -> bool:
    """Make the raw table's column `stored` VARCHAR when this file's `col` (staged in ``_new``) has values its type
    cannot hold (``2 stars`` in a column of numbers), instead of failing the batch. Runs only when the types differ."""
    if stored_type == new_type or stored_type == "VARCHAR":
        return False
    q = quote_ident(col)
    misfits = store.scalar(f"SELECT count(*) FROM _new WHERE {q} IS NOT NULL AND "
                           f"TRY_CAST({q} AS {stored_type}) IS NULL")
    if not misfits:
        return False
    store.con.execute(f"ALTER TABLE {quote_ident(raw_table)} ALTER COLUMN {quote_ident(stored)} TYPE VARCHAR")
    return True


def _ext_id(col_sql: str) -> str:
    """The external id of a row as text; NULL when missing or blank (then the row's key is a hash of its record)."""
    return f"nullif(CAST({col_sql} AS VARCHAR), '')"


def _stage(con, loaded: Loaded, item_id_sql: str | None = None) -> None:
    """Copy the loader's records into temp storage readable as ``_stage`` (with ``__record_no``), in file order.

    An unnumbered relation is copied keeping insertion order (DuckDB's default at this point, outside any
    transaction), so a row's id in the temp table ``_stage_rows`` is its position in the file and the view
    ``_stage`` gives ``__record_no = rowid + 1``: DuckDB parses in parallel instead of numbering rows with a
    single-threaded ``row_number()`` window (inside a transaction, new rows' ids are not positions, hence outside).

    `item_id_sql` (the item id of the likely id column) is computed here, in the same parallel pass, as column
    ``__c_spec_item_id``: when detection confirms that column, both inserts reuse it instead of hashing twice.
    """
    def select(relation) -> str:
        sql = relation.sql_query()
        return f"SELECT *, {item_id_sql} AS {SPEC_ID} FROM ({sql})" if item_id_sql else sql

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


def _time_expr(det: Detection) -> str:
    if not det.time:
        return "NULL::TIMESTAMPTZ"
    q = qcol(det.time)
    kind = det.time_kind or "iso"
    if kind == "timestamp":
        return f"CAST({q} AS TIMESTAMPTZ)"
    if kind == "epoch_ms":
        return f"to_timestamp(CAST({q} AS DOUBLE) / 1000.0)"
    if kind == "epoch_s":
        return f"to_timestamp(CAST({q} AS DOUBLE))"
    if kind.startswith("format:"):
        fmt = quote_literal(kind.split(":", 1)[1])
        return f"CAST(try_strptime(trim(CAST({q} AS VARCHAR)), {fmt}) AS TIMESTAMPTZ)"
    return f"try_cast(trim(CAST({q} AS VARCHAR)) AS TIMESTAMPTZ)"


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


def _insert(store: Store, stage, cols, det: Detection, source: str, batch_id: str, path: str,
            max_field_bytes: int, loaded: Loaded, n_staged: int, spec_id: str | None = None) -> dict:
    """Canonicalise, quarantine, dedupe and insert, all set-based. The raw table ``src_<source>`` keeps every original
    column except a plain VARCHAR text column, which lives once in ``items.text`` and is put back under its original
    name by the source's view (writing the longest column twice was the largest cost of a big ingest)."""
    con = store.con
    if det.text_parts:
        text_q = "nullif(concat_ws(chr(10) || chr(10), " + ", ".join(
            f"nullif(trim(CAST({qcol(c)} AS VARCHAR)), '')" for c in det.text_parts) + "), '')"
    else:
        text_q = qcol(det.text)
    # a blank or missing external id (most Google Play rows have no Review Link) is no id: that row's key is its record
    ext = _ext_id(qcol(det.id)) if det.id else "NULL::VARCHAR"
    rating = (f"coalesce(try_cast({qcol(det.rating)} AS DOUBLE), try_cast(regexp_extract(CAST({qcol(det.rating)} "
              f"AS VARCHAR), '^\\s*(-?[0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE))") if det.rating else "NULL::DOUBLE"
    author = f"CAST({qcol(det.author)} AS VARCHAR)" if det.author else "NULL::VARCHAR"
    # a value is present when it is not NULL and, for text, not blank (a typed value never is; casting it would cost)
    time_raw = "false" if not det.time else f"{qcol(det.time)} IS NOT NULL" \
        if det.time_kind in ("timestamp", "epoch_s", "epoch_ms") else f"ltrim(CAST({qcol(det.time)} AS VARCHAR)) <> ''"
    # without an external id, two rows are duplicates only when the whole record is identical
    record_key = "md5(CAST(to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in cols) \
        + ")) AS VARCHAR))"
    src_lit = quote_literal(source)
    types = dict(zip(stage.columns, [str(t) for t in stage.types]))
    registered = store.scalar("SELECT text_column FROM sources WHERE name = ?", [source])
    raw_table = f"src_{source}"
    raw_order = [r[0] for r in store.rows("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                          "ORDER BY ordinal_position", [raw_table])]
    raw_cols = set(raw_order)
    # the column name under which the source's stored-once text column is materialised (`text`: input_text)
    reg_store = None if registered is None or "." in registered or (
        registered.lower() in EARFUL_COLUMNS and registered.lower() != "text") else \
        (PREFIX + registered if registered.lower() == "text" else registered)
    stored_once = bool(raw_cols) and reg_store is not None and reg_store not in raw_cols
    text_once = (not det.text_parts and det.text in cols and types[det.text] == "VARCHAR"
                 and (det.text.lower() == "text" or det.text.lower() not in EARFUL_COLUMNS)
                 and registered in (None, det.text) and (not raw_cols or stored_once))
    plan = plan_columns(cols, types, det, raw_cols=[c for c in raw_order if c != "item_id"] if raw_cols else None,
                        derived=derived_names(con, [*store.sources(), source]), text_once=text_once, source=source)
    for old, new in plan.moves:
        con.execute(f"ALTER TABLE {quote_ident(raw_table)} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}")
    if stored_once and not text_once:
        # this file maps its text differently: give the source's stored-once text column real values again
        con.execute(f"ALTER TABLE {quote_ident(raw_table)} ADD COLUMN {quote_ident(reg_store)} VARCHAR")
        con.execute(f"UPDATE {quote_ident(raw_table)} r SET {quote_ident(reg_store)} = i.text FROM items i "
                    f"WHERE i.item_id = r.item_id")
    strings = [c for c in cols if types[c] == "VARCHAR" and c != det.text]
    big_field = (f"WHEN greatest({', '.join(f'coalesce(strlen({quote_ident(c)}), 0)' for c in strings)}) > "
                 f"{int(max_field_bytes)} THEN 'a field over the size limit ({int(max_field_bytes)} bytes)'"
                 ) if strings else ""
    # with an external id, _canon is a view, not a copy: each pass below recomputes the cheap canonical expressions
    # instead of copying every original column once more; hashing whole records is not cheap, so without an id the
    # canonical rows are computed once into a table
    canon_kind = "VIEW" if det.id else "TABLE"
    con.execute(f"""
        CREATE OR REPLACE TEMP {canon_kind} _canon AS
        SELECT *, {f"coalesce({SPEC_ID}, {_item_id_sql(source, '__c_record_key')})" if det.id and det.id == spec_id
                   else _item_id_sql(source, "coalesce(__c_external_id, __c_record_key)")} AS __c_item_id,
               CASE WHEN __c_text IS NULL OR ltrim(__c_text) = '' THEN 'no text'
                    WHEN strlen(__c_text) > {int(max_field_bytes)}
                         THEN 'text over the size limit ({int(max_field_bytes)} bytes)'
                    {big_field}
                    WHEN __c_has_time AND __c_created_at IS NULL THEN 'unparsable timestamp'
                    ELSE NULL END AS __c_reason
        FROM (SELECT *, CAST({text_q} AS VARCHAR) AS __c_text, {_time_expr(det)} AS __c_created_at,
                     {rating} AS __c_rating, {author} AS __c_author, {ext} AS __c_external_id,
                     {time_raw} AS __c_has_time, {record_key if not det.id else
                                                 f"CASE WHEN {ext} IS NULL THEN {record_key} END"} AS __c_record_key
              FROM _stage)""")
    raw_json = "CAST(to_json(struct_pack(__record_no := __record_no, " + ", ".join(
        f"{quote_ident(c)} := {quote_ident(c)}" for c in cols) + ")) AS VARCHAR)"
    # quarantine is idempotent too: re-ingesting a file does not record its bad rows again
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _bad AS
                    SELECT __record_no AS record_no, {raw_json} AS raw, __c_reason AS reason FROM _canon
                    WHERE __c_reason IS NOT NULL""")
    # when every staged row passed the checks, later passes need not evaluate them again
    failed = store.scalar("SELECT count(*) FROM _bad")
    good_only = "WHERE __c_reason IS NULL" if failed else ""
    for bad in loaded.bad:
        con.execute("INSERT INTO _bad VALUES (?, ?, ?)", [bad.record_no, bad.raw, bad.reason])
    con.execute("""INSERT INTO quarantine (batch_id, source, path, record_no, raw, reason)
                   SELECT ?, ?, ?, b.record_no, b.raw, b.reason FROM _bad b
                   ANTI JOIN (SELECT raw, reason FROM quarantine WHERE source = ?) q
                        ON q.raw = b.raw AND q.reason = b.reason""", [batch_id, source, path, source])
    quarantined = failed + len(loaded.bad)
    notes = []
    if failed and det.time:
        bad_time = store.scalar("SELECT count(*) FROM _bad WHERE reason = 'unparsable timestamp'")
        if bad_time:
            notes.append(f"{bad_time} row(s) whose '{det.time}' does not parse as a time "
                         f"({(det.time_kind or '').removeprefix('format:')}) are quarantined")
    con.execute("DROP TABLE IF EXISTS _bad")
    if det.id_unique:
        # detection saw every id distinct and present: no duplicates in the file, so no counting pass is needed
        good = distinct = n_staged - (quarantined - len(loaded.bad))
    else:
        # item_id is a function of the external id when there is one: count distinct ids, not their hashes
        key = "__c_external_id" if det.id else "__c_item_id"
        good, distinct = store.rows(f"SELECT count(*), count(DISTINCT {key}) FROM _canon {good_only}")[0]
    first = not store.scalar("SELECT count(*) FROM items WHERE source = ?", [source])
    if first and distinct == good:
        # nothing to dedupe against (first batch of the source, ids unique in the file): no copy at all
        con.execute(f"CREATE OR REPLACE TEMP VIEW _new AS SELECT * FROM _canon {good_only}")
        added = good
    else:
        dedupe_in_file = "QUALIFY row_number() OVER (PARTITION BY c.__c_item_id ORDER BY c.__record_no) = 1" \
            if distinct < good else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _new AS
            SELECT c.* FROM _canon c
            ANTI JOIN (SELECT item_id FROM items WHERE source = {src_lit}) old ON old.item_id = c.__c_item_id
            {good_only.replace("__c_reason", "c.__c_reason")}
            {dedupe_in_file}""")
        added = store.scalar("SELECT count(*) FROM _new")
    con.execute(f"""INSERT INTO items (item_id, source, external_id, text, created_at, rating, author, content_hash,
                                       batch_id)
                    SELECT __c_item_id, {src_lit}, __c_external_id, __c_text, __c_created_at, __c_rating, __c_author,
                           md5(__c_text), '{batch_id}' FROM _new""")
    keep = [c for c in cols if not (text_once and c == det.text)]
    col_list = ", ".join(quote_ident(c) + ("" if plan.stored(c) == c else f" AS {quote_ident(plan.stored(c))}")
                         for c in keep)
    new_columns = bool(plan.moves)
    if not store.table_exists(raw_table):
        new_columns = True
        # item_id is a random hex string: ZSTD costs far less than the automatic choice (see migration m0002)
        con.execute(f"CREATE TABLE {quote_ident(raw_table)} (item_id VARCHAR USING COMPRESSION zstd"
                    + "".join(f", {quote_ident(plan.stored(c))} {types[c]}" for c in keep) + ")")
        con.execute(f"INSERT INTO {quote_ident(raw_table)} SELECT __c_item_id AS item_id"
                    f"{', ' if keep else ''}{col_list} FROM _new")
    else:
        existing = {r[0].lower(): (r[0], r[1]) for r in store.rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [raw_table])}
        for c in keep:
            if plan.stored(c).lower() not in existing:
                new_columns = True
                con.execute(f"ALTER TABLE {quote_ident(raw_table)} ADD COLUMN {quote_ident(plan.stored(c))} "
                            f"{types[c]}")
            elif _widen(store, raw_table, c, *existing[plan.stored(c).lower()], types[c]):
                new_columns = True
                plan.notes.append(f"column '{existing[plan.stored(c).lower()][0]}' of '{source}' now holds text: "
                                  f"this file's values are not all {existing[plan.stored(c).lower()][1]}")
        con.execute(f"INSERT INTO {quote_ident(raw_table)} BY NAME SELECT __c_item_id AS item_id"
                    f"{', ' if keep else ''}{col_list} FROM _new")
    con.execute("DROP VIEW IF EXISTS _new" if first and distinct == good else "DROP TABLE IF EXISTS _new")
    con.execute(f"DROP {canon_kind} IF EXISTS _canon")
    return {"added": added, "duplicates": good - added, "quarantined": quarantined, "new_columns": new_columns,
            "notes": notes + plan.notes}
