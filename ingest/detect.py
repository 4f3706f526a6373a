"""Column detection: which column is the verbatim text, the timestamp, the rating, the external id, the author.

Guesses use name *tokens* first (``user_level`` is not an author: its tokens are user + level) and values second;
every guess is reported in the ingest summary and each can be overridden with ``--text/--time/--rating/--id/
--author`` (and ``--time-format``). Text-typed dates are parsed with the format that reads *every* distinct sampled
value into a plausible range (1970 .. now + 1 day), so ``16/02/26`` in a dd/mm/yy column is 16 Feb 2026, because
other rows such as ``31/12/15`` rule out yy/mm/dd and mm/dd/yy.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from earful.errors import InputError
from earful.store.sql import quote_ident, quote_literal

TEXT_HINTS = ("text", "review", "body", "content", "comment", "comments", "sentence", "critique", "feedback",
              "message", "verbatim", "description", "weaknesses", "response", "answer")
TIME_HINTS = ("created_at", "timestamp", "date", "time", "created", "submitted", "updated", "posted", "at", "ms",
              "cdate", "tcdate")
# when several columns name a time, the one that dates a feedback item wins: word groups, best first; a column with
# none of these words ranks at the empty group (a survey's Submit Date over its Start Date, Created over Updated)
TIME_PREFERENCE = (("submit", "submitted", "submission"), ("created", "creation", "create"),
                   ("posted", "published", "post"), ("recorded", "received", "sent"),
                   ("end", "ended", "completed", "finished", "finish"), (),
                   ("updated", "modified", "changed", "edited", "last"), ("start", "started", "begin", "began"))
RATING_HINTS = ("rating", "score", "stars", "star_rating", "star")
ID_HINTS = ("id", "review_id", "uuid", "ticket_id", "number", "key", "session_id", "#", "response_id")
# an id-named column with one of these words identifies something other than the feedback item (a respondent's
# "Network ID", a "user_id", an "app_id"): unique in one file, it would still merge a repeat respondent's next answer
# as a duplicate, so it is never taken as the dedupe key unless named with --id or by a profile
OTHER_ENTITY = {"user", "users", "customer", "client", "author", "reviewer", "respondent", "requester", "network",
                "device", "app", "application", "product", "package", "account", "org", "organization", "team",
                "company", "session", "thread", "parent", "conversation", "channel", "group", "assignee", "agent",
                "brand", "store", "shop", "order", "version", "build", "ip", "model", "category", "tag", "label",
                "language", "locale", "country", "region", "external", "hidden", "tracking", "campaign"}
AUTHOR_HINTS = ("author", "user", "username", "user_name", "reviewer", "requester", "login", "customer", "nickname",
                "reviewer_nickname", "requester_id", "user_id", "author_name")
# a column whose *last* token is one of these is a property of the user, not the user (user_level, author_karma)
NOT_PERSON_TAIL = {"level", "type", "count", "karma", "role", "rank", "score", "language", "lang", "country",
                   "status", "group", "agent", "device"}
NOT_TEXT_TOKENS = {"id", "url", "link", "date", "time", "at", "uuid", "hash", "lang", "language"}
# a column whose *last* word is one of these names a category, not prose (a survey's "Response Type")
NOT_TEXT_TAIL = {"type", "status", "kind", "category", "code"}
STRING_TYPES = ("VARCHAR",)
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
# preference order when several formats read every sampled value (ISO first, then day-first before month-first)
TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%Y-%m-%d %H:%M",
                "%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y",
                "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%d/%m/%y", "%m/%d/%y", "%y/%m/%d",
                "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d-%m-%Y", "%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y",
                "%a, %d %b %Y %H:%M:%S %z", "%Y%m%d"]
SAMPLE = 20000


@dataclass
class Detection:
    text: str
    time: str | None = None
    time_kind: str | None = None   # 'timestamp' | 'iso' | 'epoch_s' | 'epoch_ms' | 'format:<strptime>'
    rating: str | None = None
    id: str | None = None
    author: str | None = None
    text_parts: list[str] | None = None  # when the text is several columns joined (title + body)
    notes: list[str] = field(default_factory=list)
    id_unique: bool = False  # the id column was checked unique and never NULL over every row (not in the summary)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("id_unique")
        return d


def _base(t) -> str:
    return str(t).split("(")[0].upper()


def tokens(col: str) -> list[str]:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", col)
    return [t for t in re.split(r"[^a-z0-9]+", s.lower()) if t]


def _name_score(col: str, hints: tuple[str, ...]) -> int:
    norm = "_".join(tokens(col))
    for rank, h in enumerate(hints):
        if norm == h or col.lower() == h:
            return 100 - rank
    toks = tokens(col)
    for rank, h in enumerate(hints):
        if "_" not in h and h in toks:
            return 50 - rank
    return 0


def _rank(col: str, groups: tuple[tuple[str, ...], ...]) -> int:
    """The index of the first of `groups` that shares a word with `col` (the empty group's for none)."""
    toks = set(tokens(col))
    return next((i for i, g in enumerate(groups) if toks & set(g)), groups.index(()))


def time_rank(col: str) -> int:
    """How well a column's name says it dates the item (lower is better; see TIME_PREFERENCE)."""
    return _rank(col, TIME_PREFERENCE)


def _pick(cols: list[str], hints: tuple[str, ...], ok=lambda c: True, prefer=None) -> str | None:
    """The best-named column of `cols` that is `ok`: an exact hint over a hint word in the name; within each of
    those, `prefer(col)` (lower first) when given, then the hint's own rank, then column order."""
    def key(x):
        score, i, c = x
        return (-(score > 50), prefer(c) if prefer else 0, -score, i)

    scored = sorted(((_name_score(c, hints), i, c) for i, c in enumerate(cols)), key=key)
    for score, _, c in scored:
        if score <= 0:
            return None
        if ok(c):
            return c
    return None


def qcol(name: str) -> str:
    """SQL for a column or a dotted path into a struct column (``author.login`` -> ``"author"."login"``)."""
    if "." in name and not name.startswith("."):
        return ".".join(quote_ident(p) for p in name.split("."))
    return quote_ident(name)


def resolve(rel, name: str) -> str | None:
    """`name` if it is a column of `rel`, or a valid dotted path into one; else None."""
    if name in rel.columns:
        return name
    if "." in name and name.split(".")[0] in rel.columns:
        try:
            rel.project(qcol(name)).limit(0).fetchall()
            return name
        except Exception:  # noqa: BLE001 - DuckDB binder error: no such field
            return None
    return None


def _type_of(rel, name: str) -> str:
    if name in rel.columns:
        return str(rel.types[rel.columns.index(name)])
    return str(rel.project(qcol(name)).types[0])


def time_kind_for(con, rel, col: str, typ: str, fmt: str | None = None,
                  explicit: bool = False) -> tuple[str | None, list[str]]:
    """How to turn column `col` into a UTC timestamp (or None when its values don't look like times), plus notes.

    A format that reads most values is chosen (the rows it cannot read are quarantined by the pipeline, which says
    how many): 90% of the distinct sampled values for a guessed column, more than half for one named with ``--time``."""
    b = _base(typ)
    q = qcol(col)
    if fmt:
        return f"format:{fmt}", []
    if b.startswith("TIMESTAMP") or b == "DATE":
        return "timestamp", []
    if b in NUMERIC_TYPES:
        lo, hi = rel.aggregate(f"min({q}), max({q})").fetchall()[0]
        if lo is None:
            return None, []
        if 9.4e11 <= lo and hi <= 4.2e12:
            return "epoch_ms", []
        if 9.4e8 <= lo and hi <= 4.2e9:
            return "epoch_s", []
        return None, []
    if b not in STRING_TYPES:
        return None, []
    sample = con.sql(f"SELECT DISTINCT trim(CAST({q} AS VARCHAR)) AS v FROM ({rel.sql_query()}) "
                     f"WHERE {q} IS NOT NULL AND trim(CAST({q} AS VARCHAR)) <> '' LIMIT {SAMPLE}")
    n = sample.aggregate("count(*)").fetchall()[0][0]
    if not n:
        return None, []
    kinds = ["iso"] + [f"format:{f}" for f in TIME_FORMATS]
    aggs = []
    for k in kinds:
        e = _parse_expr("v", k)
        aggs += [f"count({e})", f"min({e})", f"max({e})"]
    row = sample.aggregate(", ".join(aggs)).fetchall()[0]
    hi_ok = con.execute("SELECT now() + INTERVAL 1 DAY").fetchall()[0][0]
    import datetime as _dt

    lo_ok = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    full, partial = [], []
    for i, k in enumerate(kinds):
        cnt, lo, hi = row[3 * i: 3 * i + 3]
        if not cnt or lo < lo_ok or hi > hi_ok:
            continue
        (full if cnt == n else partial).append((cnt, k))
    if full:
        notes = []
        if len(full) > 1 and full[0][1] != "iso":
            alts = ", ".join(k.split(":", 1)[1] for _, k in full[1:4])
            notes.append(f"dates in '{col}' are ambiguous: read as {full[0][1].split(':', 1)[1]} "
                         f"(also valid: {alts}); override with --time-format")
        return full[0][1], notes
    partial.sort(key=lambda x: -x[0])
    if partial and (partial[0][0] > 0.5 * n if explicit else partial[0][0] >= 0.9 * n):
        return partial[0][1], []
    return None, []


def _parse_expr(q: str, kind: str) -> str:
    if kind == "iso":
        return f"try_cast({q} AS TIMESTAMPTZ)"
    fmt = quote_literal(kind.split(":", 1)[1])
    return f"CAST(try_strptime({q}, {fmt}) AS TIMESTAMPTZ)"


def detect(con, rel, overrides: dict | None = None, profile=None) -> Detection:
    """Pick the canonical columns of `rel`. Explicit overrides win, then the profile, then the guesses."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    time_format = overrides.pop("time_format", None)
    cols = [c for c in rel.columns if c != "__record_no"]
    types = dict(zip(rel.columns, [str(t) for t in rel.types]))
    for key, col in overrides.items():
        if resolve(rel, col) is None:
            raise InputError(f"--{key} {col}: no such column", hint=f"columns: {', '.join(cols)}")
    prof, parts = {}, None
    if profile is not None:
        for key in ("text", "time", "rating", "id", "author"):
            v = getattr(profile, key)
            if isinstance(v, list):
                present = [c for c in v if resolve(rel, c)]
                if key == "text" and profile.join_text and len(present) > 1:
                    parts = present
                v = present[0] if present else None
            if v and resolve(rel, v):
                prof[key] = v
    if "text" in overrides:
        parts = None
    chosen = {**prof, **overrides}

    strings = [c for c in cols if _base(types[c]) in STRING_TYPES]
    text = chosen.get("text")
    if not text:
        prose = [c for c in strings if not NOT_TEXT_TOKENS & set(tokens(c))
                 and not (tokens(c) and tokens(c)[-1] in NOT_TEXT_TAIL)]
        text = _pick(prose, TEXT_HINTS)
        if not text and strings:
            lens = rel.aggregate(", ".join(f'avg(length("{c}"))' for c in strings)).fetchall()[0]
            text = max(zip(lens, strings), key=lambda x: x[0] or 0)[1]
        if not text:
            raise InputError("no text column found (no string columns)",
                             hint=f"name it with --text COL (columns: {', '.join(cols)})")
    det = Detection(text=text, text_parts=parts)
    used = {text, *(parts or [])}

    time = chosen.get("time")
    if not time:
        time = _pick([c for c in cols if c not in used], TIME_HINTS,
                     lambda c: time_kind_for(con, rel, c, types[c])[0] is not None, prefer=time_rank)
    if time:
        det.time = time
        det.time_kind, notes = time_kind_for(con, rel, time, _type_of(rel, time), time_format,
                                             explicit="time" in overrides)
        det.notes += notes
        if det.time_kind is None:
            raise InputError(f"column '{time}' does not look like a timestamp (fewer than half of its values parse "
                             f"as one format)",
                             hint="choose another with --time COL, or give its format with --time-format")
    used.add(time)
    det.rating = chosen.get("rating") or _pick([c for c in cols if c not in used], RATING_HINTS,
                                               lambda c: _ratingish(rel, c, types[c]))
    det.id = chosen.get("id")
    if not det.id:
        det.id = _pick(_id_candidates([c for c in cols if c not in used]), ID_HINTS, lambda c: _unique(rel, c))
        det.id_unique = det.id is not None
    det.author = chosen.get("author") or _pick(
        [c for c in strings if c not in used and tokens(c) and tokens(c)[-1] not in NOT_PERSON_TAIL],
        AUTHOR_HINTS)
    return det


def field_paths(rel, depth: int = 3) -> list[str]:
    """`rel`'s column names plus the dotted paths into its struct columns (``attributes.rating``), for matching
    export profiles whose fields are nested (App Store Connect's JSON:API ``data[].attributes``)."""
    out = []

    def walk(prefix: str, typ, level: int) -> None:
        if level >= depth or getattr(typ, "id", "") != "struct":
            return
        for name, child in typ.children:
            out.append(f"{prefix}.{name}")
            walk(f"{prefix}.{name}", child, level + 1)

    for name, typ in zip(rel.columns, rel.types):
        if name != "__record_no":
            out.append(name)
            walk(name, typ, 0)
    return out


def likely_id(cols: list[str], overrides: dict | None = None, profile=None) -> str | None:
    """The id column `detect` will most likely choose, from names alone (no data): the override, else the profile's,
    else the best-named candidate. The pipeline hashes it while staging; `detect` still decides."""
    v = (overrides or {}).get("id") or (getattr(profile, "id", None) if profile is not None else None)
    if isinstance(v, list):
        v = next((c for c in v if c in cols), None)
    if v:
        return v if v in cols else None
    return _pick(_id_candidates(cols), ID_HINTS)


def _id_candidates(cols: list[str]) -> list[str]:
    """`cols` less those whose name says they identify another entity (see OTHER_ENTITY); exact hints stay."""
    return [c for c in cols if _name_score(c, ID_HINTS) > 50 or not set(tokens(c)) & OTHER_ENTITY]


def _ratingish(rel, col: str, typ: str) -> bool:
    b = _base(typ)
    if b in NUMERIC_TYPES:
        return True
    if b not in STRING_TYPES:
        return False
    q = qcol(col)
    n, ok = rel.aggregate(f"count({q}), count(*) FILTER (WHERE regexp_matches({q}, '^\\s*-?[0-9]+(\\.[0-9]+)?'))"
                          ).fetchall()[0]
    return n > 0 and ok >= 0.9 * n


def _unique(rel, col: str) -> bool:
    q = qcol(col)
    n, d, nulls = rel.aggregate(f"count(*), count(DISTINCT {q}), count(*) FILTER (WHERE {q} IS NULL)").fetchall()[0]
    return n > 0 and nulls == 0 and d == n
