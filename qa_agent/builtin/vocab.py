"""Words to columns and values: normalisation, synonyms and (for near-misses) MiniLM similarity.

Design decision: matching is tiered and each tier carries a confidence: an exact (case-insensitive) value beats a
separator-insensitive one ("fire fox" ~ "Firefox" loses to "Firefox"), which beats a plural/synonym one, which
beats an embedding near-miss. Ties between columns are resolved by the most specific column (named in the question,
an original column over Earful's canonical copy, a base column over its variants) or reported as ambiguous.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# words that never name a value on their own (they are too common in questions)
COMMON = {
    "other", "others", "none", "all", "any", "yes", "no", "title", "work", "system", "the", "a", "an", "of", "in",
    "and", "or", "for", "new", "level", "most", "least", "post", "posts", "information", "question", "questions",
    "request", "requests", "original", "master", "site", "big",
}
SYNONYMS = {  # phrase (normalised) -> candidate value words (normalised, tried in order)
    "bug report": ["bug", "bugs", "apparent bug"], "bug": ["bug", "apparent bug"], "bugs": ["bug", "apparent bug"],
    "crash report": ["bug"], "defect": ["bug"], "error report": ["bug"],
    "feature request": ["feature", "feature request"], "feature": ["feature", "feature request"],
    "features": ["feature", "feature request"], "feature suggestion": ["feature"], "enhancement": ["feature"],
    "wish": ["feature"], "performance issue": ["performance"], "performance problem": ["performance"],
    "slowness": ["performance"], "battery issue": ["energy"], "energy issue": ["energy"],
    "security issue": ["security"], "privacy": ["security"], "usability issue": ["usability"],
    "complaint": ["complaint"], "praise": ["praise"],
    "game": ["game"], "games": ["game"], "firefox": ["firefox"], "vlc": ["vlc"],
}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "single": 1}


def compact(s: str) -> str:
    """Case- and separator-insensitive key: 'gpt-3.5-turbo-0125' -> 'gpt35turbo0125', 'Fire fox' -> 'firefox'."""
    return re.sub(r"[^0-9a-z]+", "", str(s).lower())


def singular(word: str) -> str:
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def singular_phrase(s: str) -> str:
    return " ".join(singular(w) for w in str(s).lower().split())


@dataclass
class ValueHit:
    column: str
    value: object
    count: int
    tier: int            # 0 exact, 1 compact, 2 singular/synonym, 3 prefix, 4 embedding


class ValueIndex:
    """Lookup from phrases to (column, value) over a view card's value vocabularies."""

    def __init__(self, view):
        self.view = view
        self.exact: dict[str, list] = {}
        self.compact: dict[str, list] = {}
        self.entries = []
        for c in view.columns:
            if c.kind not in ("category", "label") or not c.values or c.non_null < 0.05 * max(view.rows, 1):
                continue  # a mostly-empty column (a stray CSV column) never captures a value
            for value, count in c.values:
                if value is None or not re.search(r"[A-Za-z]", str(value)):
                    continue
                entry = (c.name, value, int(count), c.canonical, c.distinct)
                self.entries.append(entry)
                self.exact.setdefault(str(value).lower().strip(), []).append(entry)
                self.compact.setdefault(compact(value), []).append(entry)
                self.compact.setdefault(compact(singular_phrase(value)), []).append(entry)

    def lookup(self, phrase: str, original: str, loose: bool = True, common_ok: bool = False) -> list[ValueHit]:
        """Hits for a question phrase, best tier only; ``loose`` allows prefix / whole-word matches;
        ``common_ok``: the phrase follows 'labelled (as)', so even a common word names a value."""
        low = phrase.lower().strip()
        if not low or not re.search(r"[a-z]", low):
            return []
        is_common = low in COMMON and not (original.isupper() and len(original) > 2) and not common_ok
        tiers = []
        if not is_common:
            tiers.append((0, self.exact.get(low, [])))
            tiers.append((1, self.compact.get(compact(low), [])))
            tiers.append((2, self.compact.get(compact(singular_phrase(low)), [])))
        else:
            # a common word names a value only when written as one of its stored spellings (e.g. OTHER, title);
            # then it names all of them, as any other value does ('title' and 'Title')
            exact = self.exact.get(low, [])
            tiers.append((0, exact if any(str(e[1]) == original for e in exact) else []))
        for syn in SYNONYMS.get(singular_phrase(low), []) + SYNONYMS.get(low, []):
            tiers.append((2, self.exact.get(syn, []) + self.compact.get(compact(syn), [])))
        if loose and not is_common and len(compact(low)) >= 4 and re.search(r"[a-z]{3}", low):
            pre = [e for e in self.entries if _word_prefix(low, str(e[1]).lower())
                   or (e[4] <= 60 and _whole_word(low, str(e[1])))]
            tiers.append((3, pre))
        for tier, entries in tiers:
            if entries:
                seen, hits = set(), []
                for e in entries:
                    if (e[0], e[1]) in seen:
                        continue
                    seen.add((e[0], e[1]))
                    hits.append(ValueHit(column=e[0], value=e[1], count=e[2], tier=tier))
                return hits
        return []


_INDEXES: dict[int, tuple] = {}


def value_index(view) -> ValueIndex:
    """One ValueIndex per view card object (cards are cached per database state, so this is too)."""
    hit = _INDEXES.get(id(view))
    if hit is None or hit[0] is not view:
        if len(_INDEXES) > 64:
            _INDEXES.clear()
        hit = (view, ValueIndex(view))      # keeping the view alive keeps its id from being reused
        _INDEXES[id(view)] = hit
    return hit[1]


def _whole_word(phrase: str, value: str) -> bool:
    """'weather' is a whole word of 'TRAVELS_LOCALS_WEATHER' (and 'weathers' is not)."""
    v = " " + re.sub(r"[\s._\-/:|]+", " ", value.lower()) + " "
    p = re.sub(r"[\s._\-/:]+", " ", phrase.lower()).strip()
    return len(p) >= 4 and f" {p} " in v and v.strip() != p


def _word_prefix(phrase: str, value: str) -> bool:
    """'gemma' starts 'gemma-2b-it', 'qwen' starts 'qwen1.5-72b'; 'users' does not start 'user setup'."""
    v = re.sub(r"[\s._\-/:]+", " ", value)
    p = re.sub(r"[\s._\-/:]+", " ", phrase)
    if not v.startswith(p) or v == p:
        return False
    nxt = v[len(p)]
    return nxt == " " or (p[-1].isalpha() and nxt.isdigit())


def resolve(hits: list[ValueHit], view, named_columns: set[str]) -> tuple[list[ValueHit], str | None]:
    """Pick the column for a phrase's hits. Returns (hits in one column, or [] and a reason naming the options)."""
    if not hits:
        return [], None
    by_col: dict[str, list[ValueHit]] = {}
    for h in hits:
        by_col.setdefault(h.column, []).append(h)
    if len(by_col) == 1:
        return next(iter(by_col.values())), None
    cols = list(by_col)
    named = [c for c in cols if c.lower() in named_columns]
    if len(named) == 1:
        return by_col[named[0]], None
    # equivalent columns (same values, same counts) give the same answer: keep the original, not the canonical copy
    sigs = {c: sorted((str(h.value).lower(), h.count) for h in by_col[c]) for c in cols}
    canon = {c.name for c in view.columns if c.canonical}
    if len({tuple(s) for s in sigs.values()}) == 1:
        keep = sorted([c for c in cols if c not in canon] or cols, key=lambda c: (len(c), c))
        return by_col[keep[0]], None
    originals = [c for c in cols if c not in canon]
    if len(originals) == 1:
        return by_col[originals[0]], None
    base = [c for c in originals if all(o == c or o.lower().startswith(c.lower() + "_") for o in originals)]
    if len(base) == 1:
        return by_col[base[0]], None
    # exact case-sensitive spelling decides when only one column stores it that way
    return [], "could mean " + " or ".join(f"{c} = {by_col[c][0].value!r}" for c in cols)


_EMB_CACHE: dict = {}


def embedding_match(words: str, index: ValueIndex, threshold: float = 0.86) -> ValueHit | None:
    """MiniLM near-miss: the single vocabulary value whose embedding is closest to `words`, if close enough."""
    if not index.entries or words.lower() in COMMON or not re.search(r"[a-z]", words.lower()):
        return None     # 'other' is no near-miss of OTHER (see COMMON); '1.1' is no near-miss of '1.1e'
    import difflib

    # typos first ('securty' -> SECURITY): character similarity, one clear winner
    keys = {}
    for e in index.entries:
        keys.setdefault(compact(e[1]), []).append(e)
    if len(compact(words)) >= 5:
        close = difflib.get_close_matches(compact(words), list(keys), n=2, cutoff=0.85)
        if len(close) == 1 or (len(close) == 2 and difflib.SequenceMatcher(None, compact(words), close[0]).ratio()
                               - difflib.SequenceMatcher(None, compact(words), close[1]).ratio() > 0.05):
            e = keys[close[0]][0]
            return ValueHit(column=e[0], value=e[1], count=e[2], tier=4)
    try:
        from earful.embeddings import Embedder
    except Exception:  # pragma: no cover - embeddings are a core dependency
        return None
    labels = tuple(str(e[1]).replace("_", " ").lower() for e in index.entries)
    key = hash(labels)
    emb = Embedder()
    if key not in _EMB_CACHE:
        _EMB_CACHE[key] = emb.encode(list(labels))
    mat = _EMB_CACHE[key]
    q = emb.encode([words])[0]
    sims = mat @ q
    order = sims.argsort()[::-1]
    best = int(order[0])
    if sims[best] < threshold:
        return None
    # a near-miss must be clearly closer to one value than to the next different one
    for j in order[1:]:
        if str(index.entries[int(j)][1]).lower() != str(index.entries[best][1]).lower():
            if sims[best] - sims[int(j)] < 0.05:
                return None
            break
    e = index.entries[best]
    return ValueHit(column=e[0], value=e[1], count=e[2], tier=4)
