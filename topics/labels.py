"""Topic names and descriptions: offline from keyphrases and representative texts, or written by the configured LLM.

Design decision: the offline labeler is good on its own (it is what runs by default): a name from 2-3 keyphrases
that do not repeat each other's stems, and a description quoting the shortest representative text. The LLM labeler
builds its prompt with a pure function from a versioned file (`prompts/label_v1.yaml`), goes through
`earful.llm.call_llm` (logged and cached in the store) and falls back to the offline label when a reply does not parse.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from topics.base import Labeler, TopicDraft

PROMPT_FILE = Path(__file__).parent / "prompts" / "label_v1.yaml"
_WORD = re.compile(r"[a-z0-9']+")


def _stems(phrase: str) -> set[str]:
    return {w[:4] for w in _WORD.findall(phrase.lower()) if len(w) > 1}


# Praise words say how users feel, not what about: dropped from names unless nothing else is left.
SENTIMENT = {"good", "great", "best", "awesome", "amazing", "love", "nice", "excellent", "wonderful", "fantastic",
             "brilliant", "perfect", "cool", "simply", "really", "freaking", "overall", "superb", "like", "fine",
             "thank", "thanks", "totally", "honestly", "loved", "awsome"}
PLAIN = {"app", "apps", "game", "games", "application"}


def name_from_keywords(keywords: list[str], max_words: int = 5) -> str:
    """2-5 words from the topic's keyphrases: praise words dropped, no two phrases sharing a stem; a topic whose
    top keyphrases are nothing but praise is named "Praise: <its top phrase>"."""
    generic = SENTIMENT | PLAIN
    if sum(1 for kw in keywords[:5] if set(kw.lower().split()) <= generic) >= 3:
        first = []
        for t in keywords[0].split():
            if t not in first:
                first.append(t)
        return "Praise: " + " ".join(first[:3])
    cleaned = []
    for kw in keywords:
        toks = [t for t in kw.split() if t.lower() not in SENTIMENT]
        if toks and len(set(toks)) == len(toks):
            cleaned.append(" ".join(toks))
    if cleaned and not set(" ".join(cleaned[:3]).lower().split()) <= PLAIN:
        return _name(cleaned, max_words)
    return _name(keywords, max_words)


def _name(keywords: list[str], max_words: int) -> str:
    chosen: list[str] = []
    seen: set[str] = set()
    words = 0
    for kw in keywords:
        st = _stems(kw)
        if not st or st & seen:
            continue
        n = len(kw.split())
        if words + n > max_words:
            continue
        chosen.append(kw)
        seen |= st
        words += n
        if len(chosen) == 3 or words >= 4:
            break
    if not chosen:
        return "Miscellaneous"
    name = ", ".join(chosen)
    return name[0].upper() + name[1:]


def _snippet(text: str, limit: int = 90) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= limit else t[: limit - 1].rsplit(" ", 1)[0] + "…"


def describe(draft: TopicDraft) -> str:
    kws = [k for k in draft.keywords[:4]]
    about = ", ".join(kws[:-1]) + (f" and {kws[-1]}" if len(kws) > 1 else (kws[0] if kws else "varied things"))
    example = min(draft.examples, key=lambda t: abs(len(t) - 70)) if draft.examples else ""
    tail = f', e.g. "{_snippet(example)}"' if example else ""
    return f"{draft.size} items about {about}{tail}."


class KeywordLabeler(Labeler):
    """Offline: a name from the topic's keyphrases, a description from them plus a representative quote."""

    name = "keywords"

    def label(self, drafts):
        out, used = [], set()
        for d in drafts:
            name = name_from_keywords(d.keywords)
            if name.lower() in used:  # keep names unique: add the next distinct keyword
                extra = [k for k in d.keywords if not (_stems(k) & _stems(name))]
                name = f"{name} ({extra[0]})" if extra else f"{name} #{d.topic_id}"
            used.add(name.lower())
            out.append((name, describe(d)))
        return out


@lru_cache(maxsize=1)
def load_prompt() -> dict:
    import yaml

    return yaml.safe_load(PROMPT_FILE.read_text())


def build_messages(draft: TopicDraft, prompt: dict | None = None) -> list[tuple[str, str]]:
    """The chat messages for one topic: a pure function of the draft and the prompt file."""
    p = prompt or load_prompt()
    examples = "\n".join(f"- {_snippet(e, 300)}" for e in draft.examples[:8])
    user = p["user"].replace("{keywords}", ", ".join(draft.keywords[:10])).replace("{size}", str(draft.size)) \
        .replace("{examples}", examples)
    return [("system", p["system"].strip()), ("user", user.strip())]


def parse_label(text: str) -> tuple[str, str] | None:
    """Pull {"name", "description"} out of a reply (tolerates code fences and chatter around the JSON)."""
    m = re.search(r"\{.*\}", text or "", re.S)
    if not m:
        return None
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    name, desc = str(data.get("name", "")).strip().strip('"'), str(data.get("description", "")).strip()
    if not name or len(name.split()) > 8:
        return None
    return name, desc or name


class LLMLabeler(Labeler):
    """Abstractive labels from the configured chat model; offline labels where the model's reply is unusable."""

    name = "llm"

    def __init__(self, store=None, chat_model=None):
        self.store, self.chat_model = store, chat_model
        self.fallbacks = 0

    def label(self, drafts):
        from earful.llm import call_llm

        offline = KeywordLabeler().label(drafts)
        version = load_prompt()["version"]
        out = []
        for d, fallback in zip(drafts, offline):
            reply = call_llm(self.store, self.chat_model, build_messages(d), prompt_version=version,
                             purpose="topics.label")
            parsed = parse_label(reply.text)
            if parsed is None:
                self.fallbacks += 1
            out.append(parsed or fallback)
        return out
