"""The schema card: what a question engine (built-in or LLM) needs to know about a workspace, in one object.

For every per-source view: its columns with types and a *kind* (text, category, numeric, time, id, empty), row
counts, value vocabularies (distinct values with counts) for low-cardinality text columns, numeric and date
ranges. ``to_prompt()`` renders a compact text for LLM prompts.

What reaches a model: the vocabularies stay local (the built-in engine matches question words against them), and
``to_prompt()`` lists a column's values only when the column is ``shareable``: short categorical labels (an app
name, a category, a country), decided by value length, distinctness and the column's role. The source's text,
author and id columns, and anything name-, user- or id-like, never are; free text never is, even on a small source
where every review has a distinct value.

Beyond types (see `qa_agent.card_kinds` for the rules): a column's plain-word ``aliases`` and ``value_aliases``
(the workspace's `aliases` table, set by ``earful describe``, plus words learnt from coded values and from a
taxonomy's label descriptions), whether it is ``constant`` (one value in every row), whether it holds lists
(``list_fmt``, ``list_values``), and the workspace's ``stages`` (taxonomies, labels, topics).

Design decision: the card is computed once per database state and cached both in memory and in a JSON sidecar
(``<db>.card.json``) keyed by the file's (mtime, size), because every ``earful ask`` is a fresh process and the
card's distinct counts cost a full scan of each view. Every write through DuckDB changes that key (a checkpoint
rewrites the file, a pending write is in the .wal); ``invalidate`` drops both caches at once for writers that want
the next card now.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from earful.qa_agent import card_kinds as kinds
from earful.store.sql import quote_ident as _q

VOCAB_MAX = 2000          # keep a value vocabulary for VARCHAR columns with at most this many distinct values
CATEGORY_MAX = 60         # ... and call the column a "category" when it has at most this many
CARD_VERSION = 6
CANONICAL = ("item_id", "text", "created_at", "rating", "author")
SHARE_MAX_LEN = 40        # a value longer than this is prose, not a label: never on a prompt
SHARE_MAX_RATIO = 0.5     # ... nor a column where most rows have their own value (names, one-off texts)
_PERSON = {"author", "user", "username", "reviewer", "customer", "requester", "submitter", "assignee", "sender",
           "nickname", "nick", "email", "mail", "phone", "login", "handle", "ip", "name", "first", "last", "full",
           "display", "screen", "contact", "owner", "creator", "agent"}
_IDLIKE = {"id", "uuid", "guid", "key", "hash", "token", "url", "link", "uri", "href", "address", "path"}
_PROSE = {"text", "body", "content", "comment", "comments", "review", "reviews", "message", "description", "title",
          "subject", "summary", "note", "notes", "feedback", "reply", "response", "sentence", "critique", "post"}

_LABEL = {"category", "categories", "type", "kind", "group", "class", "level", "status", "tier", "segment",
          "country", "territory", "region", "language", "lang", "locale", "platform", "version", "os", "device",
          "source", "channel", "label", "topic", "sentiment", "polarity", "aspect", "action", "split", "priority"}


def _personal(name: str) -> bool:
    """Name says person, id or prose: 'author', 'reviewerNickname', 'user_id', 'review_title' (not 'app_name')."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]
    if not words:
        return False
    if words[-1] == "name":       # 'app_name' is a label; 'first_name', 'reviewer_name', 'name' are people
        return len(words) == 1 or words[-2] in _PERSON
    if words[-1] in _LABEL:       # 'user_level', 'review_category', 'reviewer_country' describe a group
        return False
    return words[-1] in _PROSE or any(w in _PERSON or w in _IDLIKE for w in words)



@dataclass
class ColumnCard:
    name: str
    type: str
    kind: str                      # text | category | numeric | time | id | empty | other
    distinct: int = 0
    non_null: int = 0
    values: list[list] = field(default_factory=list)   # [[value, count], ...] most frequent first
    min: object = None
    max: object = None
    canonical: bool = False        # one of Earful's canonical columns (item_id, text, created_at, rating, author)
    shareable: bool = False        # its values may appear in an LLM prompt (short labels only; see `shareable`)
    aliases: list[str] = field(default_factory=list)      # plain words for the column (earful describe COL --alias)
    value_aliases: dict[str, list[str]] = field(default_factory=dict)  # str(value) -> plain words for it
    constant: bool = False         # >= 2 rows and every row holds the same one value (no NULLs): not a subject filter
    list_fmt: str | None = None    # the column holds lists: "list" (native), "json" (JSON arrays), "|" ";" "," (joined)
    list_values: list[list] = field(default_factory=list)  # [[element, items holding it], ...] most frequent first
    parsed_into: str | None = None  # the canonical column the ingest parsed this one into ('date' -> created_at)


@dataclass
class ViewCard:
    name: str
    rows: int
    columns: list[ColumnCard]
    text_column: str = "text"
    time_column: str | None = None
    raw_table: str | None = None          # the source's original-columns table (src_<source>)
    raw_columns: list[str] = field(default_factory=list)
    raw_equivalent: bool = False          # raw table holds exactly the view's rows (checked per database state)

    def column(self, name: str) -> ColumnCard | None:
        for c in self.columns:
            if c.name.lower() == name.lower():
                return c
        return None


@dataclass
class SchemaCard:
    db_path: str
    views: list[ViewCard]
    key: list = field(default_factory=list)
    # {"taxonomies": [defined taxonomy names], "labels": [taxonomies with >= 1 label], "topics": a topic fit exists}
    stages: dict = field(default_factory=lambda: {"taxonomies": [], "labels": [], "topics": False})

    def view(self, name: str) -> ViewCard | None:
        for v in self.views:
            if v.name.lower() == name.lower():
                return v
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SchemaCard:
        views = [ViewCard(name=v["name"], rows=v["rows"], text_column=v.get("text_column", "text"),
                          time_column=v.get("time_column"), raw_table=v.get("raw_table"),
                          raw_columns=v.get("raw_columns", []), raw_equivalent=v.get("raw_equivalent", False),
                          columns=[ColumnCard(**c) for c in v["columns"]]) for v in d["views"]]
        return cls(db_path=d["db_path"], views=views, key=d.get("key", []),
                   stages=d.get("stages") or {"taxonomies": [], "labels": [], "topics": False})

    def to_prompt(self, max_values: int = 12) -> str:
        """Compact text for an LLM prompt: one block per view, one line per useful column."""
        out = []
        for v in self.views:
            out.append(f"VIEW {v.name} ({v.rows} rows; free text in column {v.text_column}"
                       + (f"; time in {v.time_column}" if v.time_column else "") + ")")
            for c in v.columns:
                if c.kind == "empty":
                    continue
                line = f"  {c.name} {c.type} [{c.kind}]"
                if c.shareable and c.aliases:
                    line += " also called: " + ", ".join(repr(a) for a in c.aliases[:max_values])
                if c.constant:
                    line += (f" the same value in every row: {c.values[0][0]!r}" if c.shareable and c.values
                             else " the same value in every row")
                elif c.list_fmt and c.list_values and c.shareable:
                    vals = ", ".join(repr(x[0]) for x in c.list_values[:max_values])
                    more = f", ... ({len(c.list_values)} distinct)" if len(c.list_values) > max_values else ""
                    line += f" lists ({c.list_fmt}) of: {vals}{more}"
                elif c.list_fmt:
                    line += f" lists ({c.list_fmt}); values not shared with the model"
                elif c.kind == "category" and c.values and c.shareable:
                    vals = ", ".join(_with_aliases(x[0], c.value_aliases) for x in c.values[:max_values])
                    more = f", ... ({c.distinct} distinct)" if c.distinct > max_values else ""
                    line += f" values: {vals}{more}"
                elif c.kind in ("numeric", "time") and c.min is not None:
                    line += f" range {c.min} .. {c.max}"
                elif c.kind in ("id", "other", "category", "label"):
                    line += f" ({c.distinct} distinct" + ("" if c.kind in ("id", "other") else
                                                           "; values not shared with the model") + ")"
                out.append(line)
        return "\n".join(out)


def _with_aliases(value, value_aliases: dict) -> str:
    words = value_aliases.get(str(value)) or []
    return repr(value) + (f" (= {', '.join(words[:3])})" if words else "")


_MEMO: dict[str, tuple[tuple, SchemaCard]] = {}   # resolved path -> (key, card): only the newest card per workspace


def _key(db_path: str) -> list:
    st = os.stat(db_path)
    wal = Path(str(db_path) + ".wal")
    wal_m = os.stat(wal).st_mtime_ns if wal.exists() else 0
    return [str(Path(db_path).resolve()), st.st_mtime_ns, st.st_size, wal_m, CARD_VERSION]


def invalidate(db_path: str) -> None:
    """Forget the cached card of `db_path` (memory and sidecar): the next `build_schema_card` recomputes it."""
    _MEMO.pop(str(Path(db_path).resolve()), None)
    try:
        _sidecar(str(db_path)).unlink()
    except OSError:
        pass


def _sidecar(db_path: str) -> Path:
    p = Path(db_path)
    return p.with_name(p.name + ".card.json")


def build_schema_card(db_path: str, use_cache: bool = True) -> SchemaCard:
    """The card for the workspace at ``db_path``, from cache when the file has not changed since."""
    if not Path(db_path).exists():
        from earful.errors import NotFoundError

        raise NotFoundError(f"no workspace at {db_path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    key = _key(str(db_path))
    memo_key = tuple(key)
    held = _MEMO.get(key[0])
    if use_cache and held is not None and held[0] == memo_key:
        return held[1]
    side = _sidecar(str(db_path))
    if use_cache and side.exists():
        try:
            d = json.loads(side.read_text())
            if d.get("key") == key:
                card = SchemaCard.from_dict(d)
                _MEMO[key[0]] = (memo_key, card)
                return card
        except (OSError, ValueError, KeyError, TypeError):
            pass
    card = _compute(str(db_path))
    card.key = key
    _MEMO[key[0]] = (memo_key, card)
    try:
        side.write_text(json.dumps(card.to_dict(), default=str))
    except OSError:
        pass  # a read-only folder just means no disk cache
    return card


def _views(con) -> list[str]:
    rows = con.execute("SELECT name FROM sources ORDER BY name").fetchall() if _has(con, "sources") else []
    names = [r[0] for r in rows]
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema='main' AND table_type='VIEW'").fetchall()}
    return [n for n in names if n in existing] or sorted(existing)


def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema='main' AND "
                            "table_name=?", [table]).fetchall()[0][0])


def _plain(v):
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def _compute(db_path: str) -> SchemaCard:
    from earful.store.readonly import connect_read_only

    con = connect_read_only(db_path)
    try:
        taxonomies = kinds.read_taxonomies(con)
        user = _user_aliases(con)
        views = [_view_card(con, name, taxonomies, user) for name in _views(con)]
        stages = kinds.read_stages(con)
    finally:
        con.close()
    return SchemaCard(db_path=str(db_path), views=views, stages=stages)


def _user_aliases(con) -> list[tuple]:
    """(source, column, value, alias) rows of the `aliases` table ('' source = every source), oldest first."""
    if not _has(con, "aliases"):
        return []
    return con.execute("SELECT source, column_name, value, alias FROM aliases ORDER BY created_at, alias").fetchall()


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UTINYINT",
           "USMALLINT", "UINTEGER", "UBIGINT", "REAL")


def _view_card(con, view: str, taxonomies: list | None = None, user: list | None = None) -> ViewCard:
    cols = con.execute(f"DESCRIBE {_q(view)}").fetchall()
    rows = con.execute(f"SELECT count(*) FROM {_q(view)}").fetchall()[0][0]
    simple = [(c[0], c[1]) for c in cols if not c[1].startswith(("STRUCT", "MAP", "LIST")) and "[" not in c[1]]
    stats = {}
    if simple:
        exprs = ", ".join(f"approx_count_distinct({_q(n)}), count({_q(n)})" for n, _ in simple)
        vals = con.execute(f"SELECT {exprs} FROM {_q(view)}").fetchall()[0]
        for i, (n, _) in enumerate(simple):
            stats[n] = (vals[2 * i], vals[2 * i + 1])
    out = []
    for name, typ, *_ in cols:
        distinct, non_null = stats.get(name, (0, 0))
        cc = ColumnCard(name=name, type=typ, kind="other", distinct=int(distinct or 0), non_null=int(non_null or 0),
                        canonical=name in CANONICAL)
        base = typ.split("(")[0].upper()
        if name not in stats:
            cc.kind = "other"
        elif non_null == 0:
            cc.kind = "empty"
        elif name == "text":
            cc.kind = "text"
        elif base.startswith(("TIMESTAMP", "DATE")):
            cc.kind = "time"
            mn, mx = con.execute(f"SELECT min({_q(name)}), max({_q(name)}) FROM {_q(view)}").fetchall()[0]
            cc.min, cc.max = _plain(mn), _plain(mx)
        elif base in NUMERIC:
            mn, mx = con.execute(f"SELECT min({_q(name)}), max({_q(name)}) FROM {_q(view)}").fetchall()[0]
            cc.min, cc.max = _plain(mn), _plain(mx)
            cc.kind = "id" if (distinct > 0.5 * non_null and distinct > 100) or name.lower() in ("id",) else "numeric"
            if cc.kind == "numeric" and distinct <= 20:
                cc.values = [[_plain(v), n] for v, n in con.execute(
                    f"SELECT {_q(name)}, count(*) n FROM {_q(view)} WHERE {_q(name)} IS NOT NULL "
                    f"GROUP BY 1 ORDER BY 1").fetchall()]
        elif base == "VARCHAR":
            if distinct > 0.5 * non_null and distinct > 100:
                cc.kind = "text" if _avg_len(con, view, name) > 40 else "id"
            else:
                cc.kind = "category" if distinct <= CATEGORY_MAX else "label"
                if distinct <= VOCAB_MAX * 1.1:
                    cc.values = [[v, n] for v, n in con.execute(
                        f"SELECT {_q(name)}, count(*) n FROM {_q(view)} WHERE {_q(name)} IS NOT NULL "
                        f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {VOCAB_MAX}").fetchall()]
                    cc.distinct = max(cc.distinct, len(cc.values)) if len(cc.values) < VOCAB_MAX else cc.distinct
                    if len(cc.values) < VOCAB_MAX:
                        cc.distinct = len(cc.values)
                        cc.kind = "category" if cc.distinct <= CATEGORY_MAX else "label"
        out.append(cc)
    roles = _roles(con, view)
    _lists(con, view, out)
    _constants(con, view, out, int(rows))
    for cc in out:
        cc.shareable = cc.kind == "category" and shareable(cc.name, cc.values, cc.distinct, cc.non_null, roles)
        if cc.list_fmt and cc.list_values and not cc.shareable:
            cc.shareable = shareable(cc.name, cc.list_values, len(cc.list_values), cc.non_null, roles)
    _aliases(view, out, taxonomies or [], user or [])
    time_col = next((c.name for c in out if c.name == "created_at" and c.kind == "time"), None)
    time_col = time_col or next((c.name for c in out if c.kind == "time"), None)
    card = ViewCard(name=view, rows=int(rows), columns=out, text_column="text", time_column=time_col)
    _raw_info(con, card)
    _parsed_into(con, card)
    return card


def _parsed_into(con, card: ViewCard) -> None:
    """Mark the source column the ingest parsed into the view's time column (URR's text 'date' -> created_at): 'the
    date' then means the parsed time, never the raw text (whose max is a string's max, '31/12/15')."""
    if card.time_column != "created_at" or not _has(con, "sources"):
        return
    row = con.execute("SELECT time_column FROM sources WHERE name = ?", [card.name]).fetchall()
    raw = card.column(row[0][0]) if row and row[0][0] else None
    if raw is not None and raw.name != card.time_column and raw.kind != "time":
        raw.parsed_into = card.time_column


def _lists(con, view: str, cols: list[ColumnCard]) -> None:
    """Set list_fmt / list_values: native scalar LISTs always; VARCHAR columns when `card_kinds` says they hold JSON
    arrays or joined labels (from the full vocabulary, or for JSON a 1,000-row sample when the vocabulary is big)."""
    for cc in cols:
        if kinds.SCALAR_LIST.match(cc.type.upper()):
            cc.non_null = int(con.execute(f"SELECT count({_q(cc.name)}) FROM {_q(view)}").fetchall()[0][0])
            if cc.non_null:
                cc.list_fmt = "list"
                cc.list_values = kinds.native_list_values(con, view, cc.name, VOCAB_MAX)
                cc.distinct = len(cc.list_values)
            else:
                cc.kind = "empty"
            continue
        if not cc.type.upper().startswith("VARCHAR") or cc.kind in ("empty", "time") or cc.name == "text":
            continue
        full = bool(cc.values) and len(cc.values) < VOCAB_MAX
        sample = cc.values if full else [[v, 1] for (v,) in con.execute(
            f"SELECT {_q(cc.name)} FROM {_q(view)} WHERE {_q(cc.name)} IS NOT NULL LIMIT 1000").fetchall()]
        if sample and kinds.is_json_lists(sample):
            cc.list_fmt = "json"
            cc.list_values = (kinds.split_counts(cc.values, "json") if full
                              else kinds.json_list_values(con, view, cc.name, VOCAB_MAX))
        elif full and (sep := kinds.joined_separator(cc.values)):
            cc.list_fmt = sep
            cc.list_values = kinds.split_counts(cc.values, sep)


def _constants(con, view: str, cols: list[ColumnCard], rows: int) -> None:
    """constant = at least two rows, no NULL, and one distinct value (checked exactly; approx counts only select)."""
    cand = [c for c in cols if rows >= 2 and c.non_null == rows and c.distinct <= 2 and not c.list_fmt
            and c.kind != "other"]
    if not cand:
        return
    exact = con.execute("SELECT " + ", ".join(f"count(DISTINCT {_q(c.name)})" for c in cand)
                        + f" FROM {_q(view)}").fetchall()[0]
    for c, n in zip(cand, exact):
        c.constant = int(n) == 1
        if c.constant and not c.values:
            v = con.execute(f"SELECT any_value({_q(c.name)}) FROM {_q(view)}").fetchall()[0][0]
            c.values = [[_plain(v), rows]]


def _aliases(view: str, cols: list[ColumnCard], taxonomies: list[dict], user: list[tuple]) -> None:
    """Column aliases from the `aliases` table; value aliases from it, from the taxonomies whose labels the column
    holds, and from coded values (`card_kinds.merge_aliases` drops learnt words that could mean two values)."""
    for cc in cols:
        mine = [r for r in user if r[0] in ("", view) and r[1].lower() == cc.name.lower()]
        cc.aliases = list(dict.fromkeys(r[3] for r in mine if r[2] is None))
        vocab = cc.list_values if cc.list_fmt else cc.values
        user_vals: dict[str, list[str]] = {}
        for r in mine:
            if r[2] is not None:
                user_vals.setdefault(str(r[2]), []).append(r[3])
        if not vocab or not (cc.kind == "category" or cc.list_fmt):   # not ids, prose, or 60+ distinct labels
            cc.value_aliases = user_vals
            continue
        distinct = [v for v, _ in vocab]
        learnt = [kinds.taxonomy_aliases(t.get("labels", [])) for t in taxonomies
                  if kinds.holds_taxonomy(cc.name, vocab, t)]
        learnt.append(kinds.coded_aliases(distinct))
        cc.value_aliases = kinds.merge_aliases(distinct, user_vals, learnt)


def shareable(name: str, values: list, distinct: int, non_null: int, role_columns=()) -> bool:
    """Whether a column's values are short categorical labels that may go on an LLM prompt.

    Never: a column with a role (the source's text, author or id column), a name that says person, id or prose
    (`_personal`), a value longer than SHARE_MAX_LEN, or a column where distinct values exceed SHARE_MAX_RATIO of
    its rows (on a small source every review, every reviewer is distinct).
    """
    if not values or name in role_columns or name in CANONICAL or _personal(name):
        return False
    if distinct > SHARE_MAX_RATIO * max(non_null, 1):
        return False
    return all(len(str(v)) <= SHARE_MAX_LEN and "\n" not in str(v) for v, _ in values)


def _roles(con, view: str) -> set[str]:
    """The source's text / author / id columns (from `sources`), each also split when several are joined."""
    if not _has(con, "sources"):
        return set()
    r = con.execute("SELECT text_column, author_column, id_column FROM sources WHERE name = ?", [view]).fetchall()
    out: set[str] = set()
    for v in (r[0] if r else ()):
        if v:
            out.add(v)
            out.update(p.strip() for p in re.split(r"\s*[+,|]\s*", v) if p.strip())
    return out


def _raw_info(con, card: ViewCard) -> None:
    """Whether the source's raw table holds exactly the view's rows, so that queries touching only original
    columns may skip the view's join (ten to a hundred times faster on large workspaces)."""
    if not _has(con, "sources"):
        return
    r = con.execute("SELECT raw_table FROM sources WHERE name = ?", [card.name]).fetchall()
    if not r or not r[0][0] or not _has(con, r[0][0]):
        return
    raw = r[0][0]
    cols = [c[0] for c in con.execute(f"DESCRIBE {_q(raw)}").fetchall()]
    n_raw, n_ids = con.execute(f"SELECT count(*), count(DISTINCT item_id) FROM {_q(raw)}").fetchall()[0]
    n_view, n_vids = con.execute(f"SELECT count(*), count(DISTINCT item_id) FROM {_q(card.name)}").fetchall()[0]
    card.raw_table, card.raw_columns = raw, [c for c in cols if c != "item_id"]
    card.raw_equivalent = n_raw == n_ids == n_view == n_vids == card.rows


def _avg_len(con, view: str, name: str) -> float:
    v = con.execute(f"SELECT avg(length({_q(name)})) FROM (SELECT {_q(name)} FROM {_q(view)} LIMIT 1000)").fetchall()
    return float(v[0][0] or 0)
