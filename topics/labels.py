"""Topic names and descriptions: offline from keyphrases and representative texts, or written by the configured LLM.

Design decision: the offline labeler is good on its own (it is what runs by default): a name from 2-3 keyphrases
that do not repeat each other's stems, and a description quoting the shortest representative text. The LLM labeler
builds its prompt with a pure function from a versioned file (`prompts/label_v2.yaml`) and asks for structured output
(`TopicName`: exactly one `name` string and a `description`) through `earful.llm.call_llm` (logged and cached in the
store). A model that answers with a list of names anyway gets its first name used; a reply that still gives no
usable name keeps the offline label, and `LLMLabeler.label` returns how many did (`TopicLabels.fallbacks`), so a
weak model's silent failures are counted, not hidden.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from earful.topics.base import Labeler, TopicDraft

PROMPT_FILE = Path(__file__).parent / "prompts" / "label_v2.yaml"
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
    conformance = {"params": {}}  # what tests/test_topics_conformance.py builds it with

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


def _first(value) -> str:
    """One name from what a model gave: a string as is, the first non-empty string of a list."""
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    return str(value or "").strip().strip('"')


class TopicName(BaseModel):
    """The structured reply asked of the model: exactly one name and one description."""

    name: str = Field(description="exactly one topic name: a single string of 2 to 5 plain words, never a list")
    description: str = Field("", description="one sentence: what these users report or ask for")

    @model_validator(mode="before")
    @classmethod
    def _one_topic(cls, data):
        if isinstance(data, list):  # a list of topics / names: the first one
            data = data[0] if data else {}
        if isinstance(data, str):
            data = {"name": data}
        if isinstance(data, dict) and "name" not in data:
            for key in ("names", "topic", "topics", "title", "label"):
                if key in data:
                    data = {**data, "name": data[key]}
                    break
        return data

    @field_validator("name", mode="before")
    @classmethod
    def _one_name(cls, v):
        return _first(v)

    @field_validator("description", mode="before")
    @classmethod
    def _one_description(cls, v):
        return _first(v)


def _usable(label: TopicName | None) -> tuple[str, str] | None:
    if label is None or not label.name or len(label.name.split()) > 8:
        return None
    return label.name, label.description.strip() or label.name


def parse_label(text: str) -> tuple[str, str] | None:
    """Pull one (name, description) out of a reply's text: tolerates code fences and chatter around the JSON, and
    a list of names or of topics (the first is used)."""
    text = text or ""
    for pattern in (r"\{.*\}", r"\[.*\]"):
        m = re.search(pattern, text, re.S)
        if not m:
            continue
        try:
            return _usable(TopicName.model_validate(json.loads(m.group(0))))
        except (json.JSONDecodeError, ValueError):
            continue
    return None


class TopicLabels(list):
    """[(name, description)] per topic, plus how many fell back to the offline (keyword) label and why."""

    def __init__(self, labels, fallbacks: list[tuple[int, str]] | None = None):
        super().__init__(labels)
        self.fallback_reasons = list(fallbacks or [])

    @property
    def fallbacks(self) -> int:
        return len(self.fallback_reasons)


class LLMLabeler(Labeler):
    """Abstractive labels from the configured chat model; offline labels where the model's reply is unusable.

    `label` returns a `TopicLabels` whose `fallbacks` says how many topics kept their keyword name (also kept on
    the labeler as `fallbacks`, summed over calls)."""

    name = "llm"
    conformance = {"params": {}, "chat_model": True}  # the suite passes a fake chat model

    def __init__(self, store=None, chat_model=None):
        self.store, self.chat_model = store, chat_model
        self.fallbacks = 0

    def label(self, drafts) -> TopicLabels:
        from earful.errors import EarfulError
        from earful.llm import call_llm

        offline = KeywordLabeler().label(drafts)
        version = load_prompt()["version"]
        out, fell = [], []
        for d, fallback in zip(drafts, offline):
            try:
                reply = call_llm(self.store, self.chat_model, build_messages(d), prompt_version=version,
                                 purpose="topics.label", schema=TopicName)
            except EarfulError as exc:  # a failed call keeps the offline name, and is counted
                fell.append((d.topic_id, f"call failed: {exc.message[:120]}"))
                out.append(fallback)
                continue
            parsed = _usable(reply.parsed) or parse_label(reply.text)
            if parsed is None:
                fell.append((d.topic_id, "no usable name in the reply"))
            out.append(parsed or fallback)
        self.fallbacks += len(fell)
        return TopicLabels(out, fell)
