"""What the schema card learns about a column beyond its type: list columns, plain-word aliases of coded values and
of a taxonomy's labels, and which stages (taxonomies, labels, topics) the workspace has.

Design decision: every detector here is conservative, because a question engine acts on what it says: a column is a
list only when its values clearly are (a native list type; JSON arrays; or joined strings whose parts form a much
smaller vocabulary of short labels that also occur on their own), and a learnt alias is dropped as soon as it could
mean two values of the same column or names another value. Nothing here knows a dataset: the rules read the data.
"""
from __future__ import annotations

import json
import re
from collections import Counter

from earful.store.sql import quote_ident as _q

LIST_SEPS = ("|", ";", ",")
SCALAR_LIST = re.compile(r"^(VARCHAR|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|"
                         r"DOUBLE|FLOAT|REAL|BOOLEAN|DATE)\[\]$")
PART_MAX_LEN = 40        # a list part longer than this is prose, not a label
PART_MAX_WORDS = 4
JSON_SHARE = 0.9         # this share of non-null rows must be JSON arrays of scalars
CODE = re.compile(r"^([a-z]{2,5})[_-](?=[A-Za-z])")   # 'asp_', 'pol_', 'arg-' in 'arg-request_edit'

# Taxonomy descriptions: an item of a list-shaped description becomes an alias only if it is a short noun phrase.
_SENTENCE_START = {"a", "an", "the"}
_VERBISH = {"is", "are", "was", "were", "be", "does", "do", "did", "has", "have", "can", "cannot", "says", "asks",
            "states", "should", "would", "will"}
_FUNCTION = {"how", "what", "when", "where", "why", "which", "who", "things", "thing", "that", "this", "these",
             "those", "other", "any", "anything", "all", "some", "etc", "e.g", "i.e", "no", "not", "without", "non",
             "it", "its", "their", "they", "something", "everything", "nothing", "about", "for", "of", "with",
             "in", "on", "to", "from", "by", "or", "and"}
DESCRIPTION_MAX_WORDS = 16


def words_joined(text: str, min_parts: int = 2) -> bool:
    """Plain words joined by '_' or '-', all in one case style: 'FEATURE_REQUEST', 'soundness-correctness',
    'Health_Sports'; not 'gpt-4o', an id like 'rkeru_QAYH', nor 'ARC-c'."""
    parts = re.split(r"[_-]+", text)
    if len(parts) < min_parts or not all(re.fullmatch(r"[A-Za-z]{2,}", p) for p in parts):
        return False
    return all(p.islower() for p in parts) or all(p.isupper() for p in parts) or all(p.istitle() for p in parts)


def spaced(value: str) -> str:
    """'asp_soundness-correctness' -> 'asp soundness correctness'; lower case, single spaces."""
    return " ".join(re.sub(r"[_\-]+", " ", str(value)).lower().split())


# -- list columns -------------------------------------------------------------------------------------------------
def native_list_values(con, view: str, name: str, limit: int) -> list[list]:
    """[element, items holding it] of a native LIST column, most frequent first (each item counted once)."""
    rows = con.execute(
        f"SELECT x, count(*) n FROM (SELECT unnest(list_distinct({_q(name)})) x FROM {_q(view)}) "
        f"WHERE x IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT {int(limit)}").fetchall()
    return [[_plain(x), int(n)] for x, n in rows]


def json_list_values(con, view: str, name: str, limit: int) -> list[list]:
    """[element, items holding it] of a VARCHAR column holding JSON arrays, most frequent first."""
    c = _q(name)
    rows = con.execute(
        f"SELECT x, count(*) n FROM (SELECT unnest(list_distinct(from_json({c}, '[\"VARCHAR\"]'))) x "
        f"FROM {_q(view)} WHERE json_valid({c}) AND json_type({c}) = 'ARRAY') "
        f"WHERE x IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT {int(limit)}").fetchall()
    return [[x, int(n)] for x, n in rows]


def _json_list(v) -> list | None:
    if not isinstance(v, str) or not v.lstrip().startswith("["):
        return None
    try:
        parsed = json.loads(v)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(x is None or isinstance(x, (str, int, float, bool)) for x in parsed):
        return parsed
    return None


def is_json_lists(values: list[list]) -> bool:
    """Most rows (JSON_SHARE, weighted by count) hold a JSON array of scalars, and at least one array is non-empty."""
    total = sum(n for _, n in values)
    good = [(_json_list(v), n) for v, n in values]
    return (total > 0 and sum(n for p, n in good if p is not None) >= JSON_SHARE * total
            and any(p for p, _ in good))


def joined_separator(values: list[list]) -> str | None:
    """'|', ';' or ',' when a VARCHAR column's full vocabulary ([[value, count]]) reads as joined labels; else None.

    All must hold: at least two distinct values (and 2% of rows) contain the separator; every part is short
    (PART_MAX_LEN characters, PART_MAX_WORDS words); the parts are fewer than the joined values; and either the
    parts number at most half the joined values, or half of them also occur as a whole value on their own. Prose
    with commas fails (its parts are as many as its values and never stand alone).
    """
    strs = [(v, n) for v, n in values if isinstance(v, str)]
    total = sum(n for _, n in strs)
    whole = {v.strip() for v, _ in strs}
    for sep in LIST_SEPS:
        joined = [(v, n) for v, n in strs if sep in v]
        if len(joined) < 2 or sum(n for _, n in joined) < 0.02 * total:
            continue
        parts = {p.strip() for v, _ in strs for p in v.split(sep)} - {""}
        if any(len(p) > PART_MAX_LEN or len(p.split()) > PART_MAX_WORDS or "\n" in p for p in parts):
            continue
        if not parts or len(parts) >= len(strs):
            continue
        alone = sum(1 for p in parts if p in whole) / len(parts)
        if len(parts) <= 0.5 * len(strs) or alone >= 0.5:
            return sep
    return None


def split_counts(values: list[list], fmt: str) -> list[list]:
    """Exploded vocabulary of joined strings or JSON arrays: [part, items holding it], most frequent first."""
    counts: Counter = Counter()
    for v, n in values:
        if fmt == "json":
            parts = {str(x) if not isinstance(x, str) else x for x in (_json_list(v) or []) if x is not None}
        else:
            parts = {p.strip() for p in str(v).split(fmt)} - {""}
        for p in parts:
            counts[p] += n
    return [[p, n] for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


# -- plain-word aliases ---------------------------------------------------------------------------------------------
def coded_aliases(values: list) -> dict[str, list[str]]:
    """Plain words for coded values: the code prefix (2-5 lower-case letters and '_' or '-') stripped when most of
    the column's values have one and two share it ('asp_clarity' ->
    'clarity', 'arg-request_edit' -> 'request edit'), and any value's words with '_'/'-' as spaces
    ('FEATURE_REQUEST' -> 'feature request'; only values made of plain words, so 'gpt-4o-2024' or an id like
    'Byxe-jVOhQ' gets nothing). `values` are the column's distinct values."""
    strs = [v for v in values if isinstance(v, str)]
    prefixes = Counter(m.group(1) for v in strs if (m := CODE.match(v)))
    coded = bool(prefixes) and prefixes.most_common(1)[0][1] >= 2 and sum(prefixes.values()) > 0.5 * len(strs)
    out: dict[str, list[str]] = {}
    for v in strs:
        m = CODE.match(v)
        if coded and m and words_joined(v[m.end():], min_parts=1):
            word = spaced(v[m.end():])
        elif words_joined(v):
            word = spaced(v)
        else:
            continue
        if word and word != v.strip().lower():
            out[v] = [word]
    return out


def _description_items(description: str) -> list[str]:
    """Short noun phrases of a list-shaped description ('battery, memory, storage, data usage and performance' ->
    battery, memory, storage, data usage, performance); nothing from a sentence ('the user asks ...')."""
    words = description.lower().split()
    if not words or len(words) > DESCRIPTION_MAX_WORDS or words[0] in _SENTENCE_START:
        return []
    if any(w.strip(",;.") in _VERBISH for w in words):
        return []
    out = []
    for item in re.split(r"\s*[,;]\s*|\s+(?:and|or|&)\s+", description.strip().rstrip(".")):
        ws = item.lower().split()
        if not 1 <= len(ws) <= 3 or ws[0] in _FUNCTION:
            continue
        if not all(re.fullmatch(r"[a-z][a-z'\-]*", w) for w in ws):
            continue
        out.append(" ".join(ws))
    return out


def taxonomy_aliases(labels: list[dict]) -> dict[str, list[str]]:
    """label name -> plain words: the name's words with '_'/'-' as spaces (when that differs from the name) and the
    short noun phrases of its description (`_description_items`)."""
    out: dict[str, list[str]] = {}
    for lab in labels:
        name = str(lab.get("name", ""))
        words = []
        sp = spaced(name)
        if sp and sp != name.lower():
            words.append(sp)
        words += _description_items(str(lab.get("description") or ""))
        if words:
            out[name] = list(dict.fromkeys(words))
    return out


def holds_taxonomy(column: str, vocab: list[list], tax: dict) -> bool:
    """The column holds the taxonomy's labels: it is the taxonomy's label column in the view, or label names cover
    at least 80% of its (non-null) rows with at least two different labels."""
    if re.sub(r"[^a-z0-9_]", "_", str(tax.get("name", "")).lower()) == column.lower():
        return True
    names = {str(lab.get("name")) for lab in tax.get("labels", [])}
    total = sum(n for _, n in vocab)
    hit = [(v, n) for v, n in vocab if str(v) in names]
    return len(hit) >= 2 and total > 0 and sum(n for _, n in hit) >= 0.8 * total


def merge_aliases(values: list, user: dict[str, list[str]], learnt: list[dict[str, list[str]]]) -> dict:
    """value -> aliases: the user's first (always kept), then learnt ones unless ambiguous within the column (claimed
    by two values, or naming another value of the column) or repeating the value itself."""
    own = {str(v).strip().lower(): str(v) for v in values}
    seen_by: dict[str, set] = {}
    for src in learnt:
        for v, words in src.items():
            for w in words:
                seen_by.setdefault(w.lower(), set()).add(str(v))
    out: dict[str, list[str]] = {}
    for v, words in user.items():
        out.setdefault(v, []).extend(words)
    for src in learnt:
        for v, words in src.items():
            if str(v) not in own.values():
                continue
            for w in words:
                lw = w.lower()
                if lw == str(v).lower() or (lw in own and own[lw] != v) or len(seen_by.get(lw, ())) > 1:
                    continue
                out.setdefault(str(v), []).append(w)
    return {v: list(dict.fromkeys(ws)) for v, ws in out.items() if ws}


# -- workspace state ----------------------------------------------------------------------------------------------
def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema='main' AND "
                            "table_name=?", [table]).fetchall()[0][0])


def read_taxonomies(con) -> list[dict]:
    """The workspace's taxonomies as dicts (name, description, labels: [{name, description}])."""
    if not _has(con, "taxonomies"):
        return []
    out = []
    for name, spec in con.execute("SELECT name, spec FROM taxonomies ORDER BY name").fetchall():
        try:
            d = json.loads(spec) if isinstance(spec, str) else dict(spec)
        except (ValueError, TypeError):
            continue
        d["name"] = name
        out.append(d)
    return out


def read_stages(con) -> dict:
    """{"taxonomies": defined taxonomy names, "labels": taxonomies with at least one label, "topics": a fit exists}."""
    taxes = [r[0] for r in con.execute("SELECT name FROM taxonomies ORDER BY name").fetchall()] \
        if _has(con, "taxonomies") else []
    labels = [r[0] for r in con.execute("SELECT DISTINCT taxonomy FROM classify_labels ORDER BY 1").fetchall()] \
        if _has(con, "classify_labels") else []
    topics = bool(_has(con, "topic_runs") and con.execute("SELECT count(*) FROM topic_runs").fetchall()[0][0])
    return {"taxonomies": taxes, "labels": labels, "topics": topics}


def _plain(v):
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return str(v)
