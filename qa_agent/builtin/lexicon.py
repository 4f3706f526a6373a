"""The built-in engine's word lists, loaded once from lexicon.yaml (the language is data, not code).

Design decision: every list is normalised here (lower-cased, multi-word phrases as tuples of words) so the
recognisers only look words and phrases up; adding a word is a YAML edit plus a corpus line, never a code change.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

PATH = Path(__file__).with_name("lexicon.yaml")


def _words(v) -> frozenset[str]:
    if isinstance(v, str):
        v = v.split()
    return frozenset(str(w).lower() for w in v)


def _phrases(v) -> tuple[tuple[str, ...], ...]:
    """Phrases as word tuples, longest first (so a longer phrase wins over a shorter one at the same place)."""
    out = {tuple(str(p).lower().split()) for p in v}
    return tuple(sorted(out, key=lambda t: (-len(t), t)))


@dataclass(frozen=True)
class Lexicon:
    raw: dict
    function: frozenset
    neutral: frozenset
    row_nouns: frozenset
    people: frozenset
    interpretive: frozenset
    measures: dict          # measure name -> phrases
    order: dict             # desc/asc -> phrases
    group_triggers: tuple
    which: frozenset
    grains: dict            # grain -> phrases
    negation: tuple
    compare: dict           # pair/difference/ratio/winner -> phrases
    comparison: dict        # op -> phrases
    mention: frozenset
    text_heads: frozenset
    about: tuple
    numbers: dict
    rating_words: frozenset
    score_words: frozenset
    column_synonyms: dict
    value_synonyms: dict
    common: frozenset
    value_heads: frozenset
    stages: dict
    followup: tuple

    def ignorable(self, word: str) -> bool:
        """A word that needs no meaning of its own: a function word or a neutral verb."""
        return word in self.function or word in self.neutral


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    d = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    return Lexicon(
        raw=d,
        function=_words(d["function_words"]), neutral=_words(d["neutral_verbs"]),
        row_nouns=_words(d["row_nouns"]), people=_words(d["people"]), interpretive=_words(d["interpretive"]),
        measures={k: _phrases(v) for k, v in d["measures"].items()},
        order={k: _phrases(v) for k, v in d["order"].items()},
        group_triggers=_phrases(d["group_triggers"]), which=_words(d["which_words"]),
        grains={k: _phrases(v) for k, v in d["grains"].items()},
        negation=_phrases(d["negation"]),
        compare={k: _phrases(v) for k, v in d["compare"].items()},
        comparison={k: _phrases(v) for k, v in d["comparison"].items()},
        mention=_words(d["mention_verbs"]), text_heads=_words(d["text_heads"]), about=_phrases(d["about_words"]),
        numbers={str(k).lower(): v for k, v in d["numbers"].items()},
        rating_words=_words(d["rating_words"]), score_words=_words(d["score_words"]),
        column_synonyms={str(k).lower(): list(v) for k, v in d["column_synonyms"].items()},
        value_synonyms={str(k).lower(): [str(x).lower() for x in v] for k, v in d["value_synonyms"].items()},
        common=_words(d["common_words"]), value_heads=_words(d["value_heads"]),
        stages={k: {"words": _words(v["words"]), "ranking": _words(v.get("ranking", [])), "command": v["command"]}
                for k, v in d["stages"].items()},
        followup=_phrases(d["followup_starts"]),
    )


__all__ = ["Lexicon", "lexicon"]
