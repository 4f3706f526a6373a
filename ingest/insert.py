"""Writing one staged batch into the store: canonical rows, quarantine, dedupe, ``items`` and the raw table.

`earful.ingest.pipeline.ingest_file` calls `insert_batch` inside its transaction, once the file is staged as the temp
relation ``_stage`` and detection has chosen the columns. `insert_batch` is the list of phases; each phase is one or a
few set-based SQL statements over temp relations (``_stage`` -> ``_canon`` -> ``_bad`` / ``_new``), never a loop over
rows in Python, so a big file costs DuckDB's time, not the interpreter's.

Design decision: the raw table ``src_<source>`` keeps every original column except a plain VARCHAR text column,
which lives once in ``items.text`` and is put back under its original name by the source's view (writing the longest
column twice was the largest cost of a big ingest). Most of the raw-table phases (`_plan_raw_table`,
`_reshape_raw_table`, `_insert_raw_rows`) keep that true across the files of one source that map their columns
differently.
"""
from __future__ import annotations

from dataclasses import dataclass

from earful.ingest.base import Loaded
from earful.ingest.columns import EARFUL_COLUMNS, PREFIX, ColumnPlan, plan_columns
from earful.ingest.detect import Detection, qcol
from earful.store import Store
from earful.store.sql import quote_ident, quote_literal
from earful.store.views import derived_names

SPEC_ID = "__c_spec_item_id"  # staged item id of the likely id column (see `earful.ingest.pipeline._stage`)


def item_id_sql(source: str, key_sql: str) -> str:
    """A stable item id: 16 hex digits of md5('<source>:<external id or record key>')."""
    return f"substr(md5({quote_literal(source)} || ':' || {key_sql}), 1, 16)"


def ext_id_sql(col_sql: str) -> str:
    """The external id of a row as text; NULL when missing or blank (then the row's key is a hash of its record)."""
    return f"nullif(CAST({col_sql} AS VARCHAR), '')"


@dataclass
class RawLayout:
    """Where this batch's original columns go in the source's raw table, decided before anything is written."""

    table: str                 # src_<source>
    types: dict[str, str]      # staged column -> DuckDB type
    plan: ColumnPlan           # stored names of this file's columns, and earlier columns to move
    text_once: bool            # this file's text column is stored only in items.text
    stored_once: bool          # the raw table already exists and stores the source's text column only in items.text
    reg_store: str | None      # the name under which the source's stored-once text column would be materialised


def insert_batch(store: Store, stage, cols: list[str], det: Detection, source: str, batch_id: str, path: str,
                 max_field_bytes: int, loaded: Loaded, n_staged: int, spec_id: str | None = None) -> dict:
    """Canonicalise, quarantine, dedupe and insert the staged batch, all set-based. Returns the counts for the ingest
    summary, plus ``new_columns`` (the source's views need rebuilding) and ``notes`` (warnings for the summary)."""
    con = store.con
    raw = _plan_raw_table(store, stage, cols, det, source)
    _reshape_raw_table(con, raw)
    canon_kind = _create_canon(con, cols, det, raw.types, source, max_field_bytes, spec_id)
    failed, notes = _quarantine(store, cols, det, source, batch_id, path, loaded)
    good, added, new_kind = _select_new(store, det, source, n_staged, failed)
    _insert_items(con, source, batch_id)
    new_columns = _insert_raw_rows(store, raw, cols, det, source)
    con.execute(f"DROP {new_kind} IF EXISTS _new")
    con.execute(f"DROP {canon_kind} IF EXISTS _canon")
    return {"added": added, "duplicates": good - added, "quarantined": failed + len(loaded.bad),
            "new_columns": new_columns, "notes": notes + raw.plan.notes}


def _plan_raw_table(store: Store, stage, cols: list[str], det: Detection, source: str) -> RawLayout:
    """Read the source's raw table as it stands and decide this file's layout in it (reads only; writes nothing).

    The text column is stored once when it is plain VARCHAR text, is not another of Earful's own column names, and
    matches how the source's earlier files stored theirs."""
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
                        derived=derived_names(store.con, [*store.sources(), source]), text_once=text_once,
                        source=source)
    return RawLayout(table=raw_table, types=types, plan=plan, text_once=text_once, stored_once=stored_once,
                     reg_store=reg_store)


def _reshape_raw_table(con, raw: RawLayout) -> None:
    """Rename the earlier files' columns the plan moves; when this file maps its text differently from the source's
    stored-once text column, give that column real values again (from ``items.text``)."""
    for old, new in raw.plan.moves:
        con.execute(f"ALTER TABLE {quote_ident(raw.table)} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}")
    if raw.stored_once and not raw.text_once:
        con.execute(f"ALTER TABLE {quote_ident(raw.table)} ADD COLUMN {quote_ident(raw.reg_store)} VARCHAR")
        con.execute(f"UPDATE {quote_ident(raw.table)} r SET {quote_ident(raw.reg_store)} = i.text FROM items i "
                    f"WHERE i.item_id = r.item_id")


def _create_canon(con, cols: list[str], det: Detection, types: dict[str, str], source: str, max_field_bytes: int,
                  spec_id: str | None) -> str:
    """Create ``_canon``: every staged row with its canonical columns (``__c_text``, ``__c_created_at``, ...), its
    item id and the reason it is quarantined (NULL when it is good). Returns its kind, ``VIEW`` or ``TABLE``.

    With an external id, ``_canon`` is a view, not a copy: each later pass recomputes the cheap canonical expressions
    instead of copying every original column once more; hashing whole records is not cheap, so without an id the
    canonical rows are computed once into a table."""
    canon_kind = "VIEW" if det.id else "TABLE"
    con.execute(f"""
        CREATE OR REPLACE TEMP {canon_kind} _canon AS
        SELECT *, {_item_id_expr(det, source, spec_id)} AS __c_item_id,
               {_reason_expr(cols, det, types, max_field_bytes)} AS __c_reason
        FROM (SELECT *, {_canonical_columns(cols, det)}
              FROM _stage)""")
    return canon_kind


def _canonical_columns(cols: list[str], det: Detection) -> str:
    """The canonical columns of a staged row, as SQL select items over ``_stage``."""
    if det.text_parts:
        text_q = "nullif(concat_ws(chr(10) || chr(10), " + ", ".join(
            f"nullif(trim(CAST({qcol(c)} AS VARCHAR)), '')" for c in det.text_parts) + "), '')"
    else:
        text_q = qcol(det.text)
    # a blank or missing external id (most Google Play rows have no Review Link) is no id: that row's key is its record
    ext = ext_id_sql(qcol(det.id)) if det.id else "NULL::VARCHAR"
    rating = (f"coalesce(try_cast({qcol(det.rating)} AS DOUBLE), try_cast(regexp_extract(CAST({qcol(det.rating)} "
              f"AS VARCHAR), '^\\s*(-?[0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE))") if det.rating else "NULL::DOUBLE"
    author = f"CAST({qcol(det.author)} AS VARCHAR)" if det.author else "NULL::VARCHAR"
    # a value is present when it is not NULL and, for text, not blank (a typed value never is; casting it would cost)
    time_raw = "false" if not det.time else f"{qcol(det.time)} IS NOT NULL" \
        if det.time_kind in ("timestamp", "epoch_s", "epoch_ms") else f"ltrim(CAST({qcol(det.time)} AS VARCHAR)) <> ''"
    # without an external id, two rows are duplicates only when the whole record is identical
    record_key = "md5(CAST(to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in cols) \
        + ")) AS VARCHAR))"
    key = f"CASE WHEN {ext} IS NULL THEN {record_key} END" if det.id else record_key
    return (f"CAST({text_q} AS VARCHAR) AS __c_text, {_time_expr(det)} AS __c_created_at, "
            f"{rating} AS __c_rating, {author} AS __c_author, {ext} AS __c_external_id, "
            f"{time_raw} AS __c_has_time, {key} AS __c_record_key")


def _item_id_expr(det: Detection, source: str, spec_id: str | None) -> str:
    """A canonical row's item id; the id column's hash computed while staging is reused when detection confirmed it."""
    if det.id and det.id == spec_id:
        return f"coalesce({SPEC_ID}, {item_id_sql(source, '__c_record_key')})"
    return item_id_sql(source, "coalesce(__c_external_id, __c_record_key)")


def _reason_expr(cols: list[str], det: Detection, types: dict[str, str], max_field_bytes: int) -> str:
    """Why a canonical row is quarantined, as a SQL CASE over its columns; NULL when the row is good."""
    limit = int(max_field_bytes)
    strings = [c for c in cols if types[c] == "VARCHAR" and c != det.text]
    big_field = (f"WHEN greatest({', '.join(f'coalesce(strlen({quote_ident(c)}), 0)' for c in strings)}) > "
                 f"{limit} THEN 'a field over the size limit ({limit} bytes)'") if strings else ""
    return f"""CASE WHEN __c_text IS NULL OR ltrim(__c_text) = '' THEN 'no text'
                    WHEN strlen(__c_text) > {limit}
                         THEN 'text over the size limit ({limit} bytes)'
                    {big_field}
                    WHEN __c_has_time AND __c_created_at IS NULL THEN 'unparsable timestamp'
                    ELSE NULL END"""


def _time_expr(det: Detection) -> str:
    """The SQL that parses the detected time column into a TIMESTAMPTZ (NULL when it does not parse)."""
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


def _quarantine(store: Store, cols: list[str], det: Detection, source: str, batch_id: str, path: str,
                loaded: Loaded) -> tuple[int, list[str]]:
    """Record the rows that failed a check (and the lines the loader could not parse) in ``quarantine``, each with
    its reason and original record. Returns (how many staged rows failed a check, notes for the summary).

    Quarantine is idempotent too: re-ingesting a file does not record its bad rows again."""
    con = store.con
    raw_json = "CAST(to_json(struct_pack(__record_no := __record_no, " + ", ".join(
        f"{quote_ident(c)} := {quote_ident(c)}" for c in cols) + ")) AS VARCHAR)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _bad AS
                    SELECT __record_no AS record_no, {raw_json} AS raw, __c_reason AS reason FROM _canon
                    WHERE __c_reason IS NOT NULL""")
    failed = store.scalar("SELECT count(*) FROM _bad")
    for bad in loaded.bad:
        con.execute("INSERT INTO _bad VALUES (?, ?, ?)", [bad.record_no, bad.raw, bad.reason])
    con.execute("""INSERT INTO quarantine (batch_id, source, path, record_no, raw, reason)
                   SELECT ?, ?, ?, b.record_no, b.raw, b.reason FROM _bad b
                   ANTI JOIN (SELECT raw, reason FROM quarantine WHERE source = ?) q
                        ON q.raw = b.raw AND q.reason = b.reason""", [batch_id, source, path, source])
    notes = []
    if failed and det.time:
        bad_time = store.scalar("SELECT count(*) FROM _bad WHERE reason = 'unparsable timestamp'")
        if bad_time:
            notes.append(f"{bad_time} row(s) whose '{det.time}' does not parse as a time "
                         f"({(det.time_kind or '').removeprefix('format:')}) are quarantined")
    con.execute("DROP TABLE IF EXISTS _bad")
    return failed, notes


def _select_new(store: Store, det: Detection, source: str, n_staged: int, failed: int) -> tuple[int, int, str]:
    """Create ``_new``: the good canonical rows whose item id is new to the source, first occurrence in the file
    wins. Returns (good rows, new rows, the kind of ``_new``: a ``VIEW`` when nothing needed deduping)."""
    con = store.con
    # when every staged row passed the checks, later passes need not evaluate them again
    good_only = "WHERE __c_reason IS NULL" if failed else ""
    if det.id_unique:
        # detection saw every id distinct and present: no duplicates in the file, so no counting pass is needed
        good = distinct = n_staged - failed
    else:
        # item_id is a function of the external id when there is one: count distinct ids, not their hashes
        key = "__c_external_id" if det.id else "__c_item_id"
        good, distinct = store.rows(f"SELECT count(*), count(DISTINCT {key}) FROM _canon {good_only}")[0]
    first = not store.scalar("SELECT count(*) FROM items WHERE source = ?", [source])
    if first and distinct == good:
        # nothing to dedupe against (first batch of the source, ids unique in the file): no copy at all
        con.execute(f"CREATE OR REPLACE TEMP VIEW _new AS SELECT * FROM _canon {good_only}")
        return good, good, "VIEW"
    dedupe_in_file = "QUALIFY row_number() OVER (PARTITION BY c.__c_item_id ORDER BY c.__record_no) = 1" \
        if distinct < good else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _new AS
        SELECT c.* FROM _canon c
        ANTI JOIN (SELECT item_id FROM items WHERE source = {quote_literal(source)}) old ON old.item_id = c.__c_item_id
        {good_only.replace("__c_reason", "c.__c_reason")}
        {dedupe_in_file}""")
    return good, store.scalar("SELECT count(*) FROM _new"), "TABLE"


def _insert_items(con, source: str, batch_id: str) -> None:
    """Insert the new rows' canonical columns into ``items``."""
    con.execute(f"""INSERT INTO items (item_id, source, external_id, text, created_at, rating, author, content_hash,
                                       batch_id)
                    SELECT __c_item_id, {quote_literal(source)}, __c_external_id, __c_text, __c_created_at,
                           __c_rating, __c_author, md5(__c_text), '{batch_id}' FROM _new""")


def _insert_raw_rows(store: Store, raw: RawLayout, cols: list[str], det: Detection, source: str) -> bool:
    """Insert the new rows' original columns into the raw table under their planned names, creating the table, or
    adding and widening columns as this file needs. Returns whether the table's columns changed."""
    con = store.con
    plan, types, table = raw.plan, raw.types, quote_ident(raw.table)
    keep = [c for c in cols if not (raw.text_once and c == det.text)]
    col_list = ", ".join(quote_ident(c) + ("" if plan.stored(c) == c else f" AS {quote_ident(plan.stored(c))}")
                         for c in keep)
    new_columns = bool(plan.moves)
    if not store.table_exists(raw.table):
        # item_id is a random hex string: ZSTD costs far less than the automatic choice (see migration m0002)
        con.execute(f"CREATE TABLE {table} (item_id VARCHAR USING COMPRESSION zstd"
                    + "".join(f", {quote_ident(plan.stored(c))} {types[c]}" for c in keep) + ")")
        con.execute(f"INSERT INTO {table} SELECT __c_item_id AS item_id{', ' if keep else ''}{col_list} FROM _new")
        return True
    existing = {r[0].lower(): (r[0], r[1]) for r in store.rows(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [raw.table])}
    for c in keep:
        stored = plan.stored(c).lower()
        if stored not in existing:
            new_columns = True
            con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(plan.stored(c))} {types[c]}")
        elif _widen(store, raw.table, c, *existing[stored], types[c]):
            new_columns = True
            plan.notes.append(f"column '{existing[stored][0]}' of '{source}' now holds text: "
                              f"this file's values are not all {existing[stored][1]}")
    con.execute(f"INSERT INTO {table} BY NAME SELECT __c_item_id AS item_id{', ' if keep else ''}{col_list} FROM _new")
    return new_columns


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
