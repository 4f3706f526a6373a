"""Column detection: which column is the verbatim text, the timestamp, the rating, the external id, the author.

Guesses use names first and a sample of values second; every guess is reported in the ingest summary and each
can be overridden with ``--text/--time/--rating/--id/--author``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from earful.errors import InputError

TEXT_HINTS = ("text", "review", "body", "content", "comment", "sentence", "critique", "feedback", "message",
              "verbatim", "description", "weaknesses", "response", "answer")
TIME_HINTS = ("created_at", "timestamp", "date", "time", "created", "submitted", "updated", "posted", "_at", "_ms")
RATING_HINTS = ("rating", "score", "stars", "star_rating", "star rating")
ID_HINTS = ("id", "_id", "review_id", "uuid", "ticket_id", "number", "key")
AUTHOR_HINTS = ("author", "user", "username", "user_name", "reviewer", "requester", "login", "customer")
STRING_TYPES = ("VARCHAR",)
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%d/%m/%y",
                "%d/%m/%Y", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y", "%b %d, %Y", "%d %b %Y",
                "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"]


@dataclass
class Detection:
    text: str
    time: str | None = None
    time_kind: str | None = None   # 'timestamp' | 'epoch_s' | 'epoch_ms' | 'format:<strptime>'
    rating: str | None = None
    id: str | None = None
    author: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _base(t) -> str:
    return str(t).split("(")[0].upper()


def _name_score(col: str, hints: tuple[str, ...]) -> int:
    c = col.lower()
    for rank, h in enumerate(hints):
        if c == h:
            return 100 - rank
    for rank, h in enumerate(hints):
        if h in c:
            return 50 - rank
    return 0


def _pick(cols: list[str], hints: tuple[str, ...], ok=lambda c: True) -> str | None:
    scored = sorted(((_name_score(c, hints), c) for c in cols if ok(c)), key=lambda x: -x[0])
    return scored[0][1] if scored and scored[0][0] > 0 else None


def time_kind_for(con, rel, col: str, typ: str) -> str | None:
    """How to turn column `col` into a UTC timestamp, or None when its values don't look like times."""
    b = _base(typ)
    if b.startswith("TIMESTAMP") or b == "DATE":
        return "timestamp"
    q = '"' + col.replace('"', '""') + '"'
    if b in NUMERIC_TYPES:
        lo, hi = rel.aggregate(f"min({q}), max({q})").fetchall()[0]
        if lo is None:
            return None
        if 9.4e11 <= lo and hi <= 4.2e12:
            return "epoch_ms"
        if 9.4e8 <= lo and hi <= 4.2e9:
            return "epoch_s"
        return None
    if b in STRING_TYPES:
        sample = [r[0] for r in rel.filter(f"{q} IS NOT NULL").project(q).limit(200).fetchall()]
        if not sample:
            return None
        best, best_n = None, 0
        for fmt in TIME_FORMATS:
            n = con.execute("SELECT count(*) FROM (SELECT unnest(?::VARCHAR[]) AS v) WHERE try_strptime(trim(v), ?)"
                            " IS NOT NULL", [sample, fmt]).fetchall()[0][0]
            if n > best_n:
                best, best_n = fmt, n
        n_iso = con.execute("SELECT count(*) FROM (SELECT unnest(?::VARCHAR[]) AS v) WHERE "
                            "try_cast(trim(v) AS TIMESTAMPTZ) IS NOT NULL", [sample]).fetchall()[0][0]
        if n_iso >= best_n and n_iso >= 0.9 * len(sample):
            return "iso"
        if best and best_n >= 0.9 * len(sample):
            return f"format:{best}"
    return None


def detect(con, rel, overrides: dict | None = None, profile=None) -> Detection:
    """Pick the canonical columns of `rel`. Explicit overrides win, then the profile, then the guesses."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    cols = [c for c in rel.columns if c != "__record_no"]
    types = dict(zip(rel.columns, [str(t) for t in rel.types]))
    for key, col in overrides.items():
        if col not in cols:
            raise InputError(f"--{key} {col}: no such column (columns: {', '.join(cols)})")
    prof = {}
    if profile is not None:
        for key in ("text", "time", "rating", "id", "author"):
            v = getattr(profile, key)
            if isinstance(v, list):
                v = next((c for c in v if c in cols), None)
            if v in cols:
                prof[key] = v
    chosen = {**prof, **overrides}

    strings = [c for c in cols if _base(types[c]) in STRING_TYPES]
    text = chosen.get("text")
    if not text:
        text = _pick(strings, TEXT_HINTS)
        if not text and strings:
            lens = rel.aggregate(", ".join(f'avg(length("{c}"))' for c in strings)).fetchall()[0]
            text = max(zip(lens, strings), key=lambda x: x[0] or 0)[1]
        if not text:
            raise InputError("no text column found (no string columns)",
                             hint=f"name it with --text COL (columns: {', '.join(cols)})")
    det = Detection(text=text)

    time = chosen.get("time") or _pick([c for c in cols if c != text], TIME_HINTS,
                                       lambda c: time_kind_for(con, rel, c, types[c]) is not None)
    if time:
        det.time, det.time_kind = time, time_kind_for(con, rel, time, types[time])
        if det.time_kind is None:
            raise InputError(f"column '{time}' does not look like a timestamp",
                             hint="choose another with --time COL, or check its format")
    det.rating = chosen.get("rating") or _pick([c for c in cols if c not in (text, time)], RATING_HINTS,
                                               lambda c: _base(types[c]) in NUMERIC_TYPES)
    det.id = chosen.get("id") or _pick([c for c in cols if c not in (text, time)], ID_HINTS,
                                       lambda c: _unique(rel, c))
    det.author = chosen.get("author") or _pick([c for c in strings if c != text], AUTHOR_HINTS)
    return det


def _unique(rel, col: str) -> bool:
    q = '"' + col.replace('"', '""') + '"'
    n, d, nulls = rel.aggregate(f"count(*), count(DISTINCT {q}), count(*) FILTER (WHERE {q} IS NULL)").fetchall()[0]
    return n > 0 and nulls == 0 and d == n
