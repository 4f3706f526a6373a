"""Words to values: normalisation, synonyms (lexicon.yaml and the card's plain-word aliases) and list vocabularies.

Design decision: matching is tiered and each tier carries a confidence: an exact (case-insensitive) value beats a
separator-insensitive one ("fire fox" ~ "Firefox" loses to "Firefox"), which beats a plural/synonym one, which
beats a unique prefix. A value inside a list column (JSON list or joined string) is looked up in the column's
exploded vocabulary (`ColumnCard.list_values`) and carries the list's format. Ties between columns are resolved
by the most specific column (named in the question, an original column over Earful's canonical copy, a base
column over its variants) or reported as ambiguous.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from earful.qa_agent.builtin.lexicon import lexicon

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
    tier: int            # 0 exact, 1 compact, 2 singular/synonym/alias, 3 prefix, 4 typo
    list_fmt: str | None = None   # set: a value inside a list column
    via: str = ""        # how it matched, for the answer: "alias 'clarity'"


# the stored spellings of "not known" that exports use in place of a value, and the words that name them
PLACEHOLDERS = {"?", "??", "-", "--", "n/a", "na", "unknown", "none", "null", "unspecified", "not specified",
                "(none)", "(unknown)", "(blank)"}
UNKNOWN_WORDS = ("unknown", "missing", "unspecified", "unknowns")
# head nouns that name a label column in general: 'a label other than OTHER', 'the high-level category'
LABEL_HEADS = ("label", "labels", "category", "categories", "tag", "tags", "class")


class ValueIndex:
    """Lookup from phrases to (column, value) over a view card's value vocabularies."""

    def __init__(self, view):
        self.view = view
        self.exact: dict[str, list] = {}
        self.compact: dict[str, list] = {}
        self.alias: dict[str, list] = {}
        self.entries = []
        self._keys = None
        self._typos: dict[str, list] = {}
        for c in view.columns:
            fmt = getattr(c, "list_fmt", None)
            vals = (getattr(c, "list_values", None) or []) if fmt else c.values
            if fmt is None and (c.kind not in ("category", "label") or not vals):
                continue
            if not vals or c.non_null < 0.05 * max(view.rows, 1):
                continue  # a mostly-empty column (a stray CSV column) never captures a value
            aliases = getattr(c, "value_aliases", None) or {}
            for value, count in vals:
                if value is not None and str(value).strip().lower() in PLACEHOLDERS:
                    entry = (c.name, value, int(count), c.canonical, c.distinct, fmt)
                    for w in UNKNOWN_WORDS:     # 'leaving out unknown devices': device = '?'
                        self.alias.setdefault(w, []).append(entry)
                if value is None or not re.search(r"[A-Za-z]", str(value)):
                    continue
                entry = (c.name, value, int(count), c.canonical, c.distinct, fmt)
                self.entries.append(entry)
                self.exact.setdefault(str(value).lower().strip(), []).append(entry)
                self.compact.setdefault(compact(value), []).append(entry)
                self.compact.setdefault(compact(singular_phrase(value)), []).append(entry)
                for a in aliases.get(str(value), []) or _coded(str(value)):
                    self.alias.setdefault(singular_phrase(a), []).append(entry)

    def _typo(self, low: str) -> list:
        """One clear winner by character similarity ('Pixel Dungon' -> 'Pixel Dungeon'), else nothing."""
        import difflib

        key = compact(low)
        if key in self._typos:
            return self._typos[key]
        if self._keys is None:
            self._keys = {}
            for e in self.entries:
                self._keys.setdefault(compact(e[1]), []).append(e)
        # only keys of about the same length can be 85% similar: a cheap filter before difflib
        near = [k for k in self._keys if abs(len(k) - len(key)) <= max(2, len(key) // 6) and k[:1] == key[:1]]
        close = difflib.get_close_matches(key, near, n=2, cutoff=0.85)
        found = []
        if len(close) == 1 or (len(close) == 2 and difflib.SequenceMatcher(None, key, close[0]).ratio()
                               - difflib.SequenceMatcher(None, key, close[1]).ratio() > 0.05):
            found = self._keys[close[0]]
        if len(self._typos) > 4096:
            self._typos.clear()
        self._typos[key] = found
        return found

    def lookup(self, phrase: str, original: str, loose: bool = True, common_ok: bool = False,
               typo: bool = False) -> list[ValueHit]:
        """Hits for a question phrase, best tier only; ``loose`` allows prefix / whole-word matches;
        ``common_ok``: the phrase follows 'labelled (as)', so even a common word names a value."""
        low = phrase.lower().strip()
        if not low or not re.search(r"[a-z]", low):
            return []
        lx = lexicon()
        is_common = low in lx.common and not (original.isupper() and len(original) > 2) and not common_ok
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
        if not is_common or common_ok or low not in lx.function | {"other", "others", "none", "yes", "no", "new"}:
            tiers.append((2, self.alias.get(singular_phrase(low), [])))   # a plain word said for a coded value
        for syn in lx.value_synonyms.get(singular_phrase(low), []) + lx.value_synonyms.get(low, []):
            tiers.append((2, self.exact.get(syn, []) + self.compact.get(compact(syn), [])))
        if loose and not is_common and len(compact(low)) >= 4 and re.search(r"[a-z]{3}", low):
            pre = [e for e in self.entries if e[4] <= 60 and (_word_prefix(low, str(e[1]).lower())
                                                              or _whole_word(low, str(e[1])))]
            tiers.append((3, pre))
        if typo and not is_common and len(compact(low)) >= 5 and not any(e for _, e in tiers):
            tiers.append((4, self._typo(low)))
        for tier, entries in tiers:
            if entries:
                seen, hits = set(), []
                for e in entries:
                    if (e[0], e[1]) in seen:
                        continue
                    seen.add((e[0], e[1]))
                    hits.append(ValueHit(column=e[0], value=e[1], count=e[2], tier=tier, list_fmt=e[5]))
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


def column_signature(hits: list[ValueHit]) -> tuple:
    """What one column's hits for a phrase say (values and their counts): columns with equal signatures give the
    same answer, so either serves."""
    return tuple(sorted((str(h.value).lower(), h.count) for h in hits))


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
    sigs = {c: column_signature(by_col[c]) for c in cols}
    canon = {c.name for c in view.columns if c.canonical}
    if len(set(sigs.values())) == 1:
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


def _coded(value: str) -> list[str]:
    """Plain words of a coded value when the card gives none: 'asp_clarity' -> 'clarity', 'arg_request' ->
    'request' (a short lower-case prefix and an underscore)."""
    m = re.fullmatch(r"[a-z]{2,5}_([a-z][a-z_]+)", value)
    return [m.group(1).replace("_", " ")] if m else []
