"""Polarity of each mention (negative / neutral / positive), offline, with a method measured against gold.

Design decision: three offline methods share one small interface (`PolarityMethod`: ``fit(texts, vectors, y)``,
``predict_proba(texts, vectors)`` over `CLASSES`), and the stage (`score_polarity`) writes the label and a score
(P(positive) - P(negative)) as columns of ``mentions``:
- ``lexicon`` (the default: within 0.002 macro-F1 of the best in bench/topics.py, and it needs no vectors, so
  scoring a million mentions costs no embedding): a hand-written word list (`polarity_lexicon.txt`: scores,
  negators, boosters; VADER's recipe), emoji and emoticons, and one rule for failures of expectation, which hold
  no evaluative word ("notifications never arrive", "won't open", "stopped syncing": a failure marker before a verb
  of function, both lists in the data file; `failure_rules`);
- ``selftrained``: logistic regression on the MiniLM vectors of one-mention items, labelled by their star rating
  (1-2 negative, 3 neutral, 4-5 positive). A one-sentence review is the only place where the rating is the
  sentence's own polarity. A workspace without enough rated one-mention items trains on the bundled URR reviews
  (MIT licence) instead;
- ``hybrid``: the lexicon decides whether a mention judges at all, that regression (negative vs positive, with the
  lexicon's features added to the vector) decides which way.
Measured (2026-12-01, bench/topics.py --polarity-only; trained on URR's 3,313 one-mention reviews): macro-F1 on
Tizard's hand-labelled forum sentences (3 classes) hybrid 0.456, lexicon 0.454 (0.447 and 0.445 before the failure
rule), selftrained 0.301, majority class 0.305; complaint detection on CLAP's hand-labelled reviews (a review with a
negative mention vs category BUG/PERFORMANCE/ENERGY/USABILITY/SECURITY) hybrid 0.849, lexicon 0.849 (0.849 and
0.848 before), selftrained 0.736, the review's own rating <= 2 0.734.
With an LLM configured, `llm_refine` re-labels the mentions with the weakest offline evidence (|score| lowest
first, at most a budget) through `earful.llm.call_llm` (logged and cached in the store; prompt
`prompts/polarity_v1.yaml`, built by the pure `build_messages`). The classify cascade, which also checks the LLM on
held-out labels first, is not used: the layer contract keeps the topics stage from importing classify.
"""
from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

CLASSES = ["negative", "neutral", "positive"]
DEFAULT_METHOD = "lexicon"
LEXICON_FILE = Path(__file__).parent / "polarity_lexicon.txt"
BUNDLED = Path(__file__).resolve().parent.parent / "examples" / "data" / "urr_app_reviews.csv"
MIN_PER_CLASS = 30          # rated one-mention items per class needed to self-train on the workspace itself
TRAIN_CAP = 6000            # training mentions at most (balanced by class weights, not by dropping)
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[:;]-?[()dp]|[\u2600-\u27bf\u2b00-\u2bff\U0001f300-\U0001faff]")
# words, emoticons ":)" and emoji ("😡", "👍": each one token; a skin tone or variation selector is no token)
_THRESHOLD = 0.05           # VADER's: a compound score within +-0.05 is neutral


@lru_cache(maxsize=1)
def _sections() -> dict[str, list[str]]:
    """The data file's lines by its [section], without comments and blank lines (every reader below uses this)."""
    out: dict[str, list[str]] = {}
    section = None
    for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and section:
            out.setdefault(section, []).append(line)
    return out


@lru_cache(maxsize=1)
def lexicon() -> tuple[dict[str, float], set[str], dict[str, float], set[str]]:
    """(word -> score, negators, booster -> factor, words that keep their sign when negated) from the data file."""
    sec = _sections()
    negators = {w for line in sec.get("negators", []) for w in line.split()}
    boosters = {w: float(v) for w, v in (line.split() for line in sec.get("boosters", []))}
    words: dict[str, float] = {}
    fixed: set[str] = set()
    for line in sec.get("words", []):
        parts = line.split()
        words[parts[0]] = float(parts[1])
        if "fixed" in parts[2:]:
            fixed.add(parts[0])
    return words, negators, boosters, fixed


def _forms(verb: str) -> set[str]:
    """A regular verb's forms: "arrive" -> arrive, arrives, arrived, arriving; "notify" -> notifies, notified."""
    if verb.endswith("e"):
        return {verb, verb + "s", verb + "d", verb[:-1] + "ing"}
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return {verb, verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return {verb, verb + "es", verb + "ed", verb + "ing"}
    return {verb, verb + "s", verb + "ed", verb + "ing"}


@lru_cache(maxsize=1)
def failure_rules() -> tuple[float, frozenset[str], frozenset[str], frozenset[str]]:
    """(score, markers, verb markers, verbs of function) of the lexicon's [failure] and [functions] sections: a
    failure of expectation ("notifications never arrive", "won't open", "stopped syncing") has no evaluative word."""
    score, markers, verbs = -1.8, set(), set()
    for line in _sections().get("failure", []):
        key, *rest = line.split()
        if key == "score":
            score = float(rest[0])
        elif key == "markers":
            markers.update(rest)
        elif key == "verbs":
            verbs.update(f for v in rest for f in _forms(v))
    functions = {f for line in _sections().get("functions", []) for v in line.split() for f in _forms(v)}
    return score, frozenset(markers | verbs), frozenset(verbs), frozenset(functions)


def _failed(toks: list[str], k: int, words: dict, negators: set) -> bool:
    """Whether the verb of function at `k` follows a failure marker (at most 3 words back, no evaluative word
    between; a verb marker with a negator before it does not count: "never fails to load", "doesn't stop working")."""
    _, markers, verbs, _ = failure_rules()
    for j in range(k - 1, max(-1, k - 4), -1):
        if toks[j] in markers:
            return not (toks[j] in verbs and j > 0 and toks[j - 1] in negators)
        if toks[j] in words:
            return False
    return False


@lru_cache(maxsize=1)
def idioms() -> list[tuple[float, list[frozenset[str] | None]]]:
    """The lexicon's [idioms]: (score, pattern) with each pattern element a set of spellings, or None for "*" (up to
    three words); longest patterns first."""
    out = []
    for line in _sections().get("idioms", []):
        score, *words = line.split()
        out.append((float(score), [None if w == "*" else frozenset(w.split("|")) for w in words]))
    return sorted(out, key=lambda x: -len(x[1]))


def _match(pattern: list, toks: list[str], k: int) -> int | None:
    """End (exclusive) of `pattern` matched at toks[k:], or None; "*" takes as few words as it can (up to 3)."""
    if not pattern:
        return k
    head, rest = pattern[0], pattern[1:]
    if head is None:
        for skip in range(0, 4):
            end = _match(rest, toks, k + skip) if k + skip <= len(toks) else None
            if end is not None:
                return end
        return None
    return _match(rest, toks, k + 1) if k < len(toks) and toks[k] in head else None


def idiom_spans(toks: list[str]) -> list[tuple[int, int, float]]:
    """(start, end, score) of the idioms in a token list, left to right, never overlapping."""
    spans, k = [], 0
    table = idioms()
    while k < len(toks):
        for score, pattern in table:
            end = _match(pattern, toks, k)
            if end is not None:
                spans.append((k, end, score))
                k = end
                break
        else:
            k += 1
    return spans


def lexicon_features(text: str) -> np.ndarray:
    """[compound score in -1..1, positive mass, negative mass, negations seen] of one text (VADER's recipe: a
    negator within the three words before a word flips and damps its score, a booster scales the next word). A verb
    of function after a failure marker scores as a complaint (`failure_rules`: "notifications never arrive"); an
    idiom of the lexicon scores as a whole (`idiom_spans`: "can't recommend it enough", "can't beat it")."""
    words, negators, boosters, fixed = lexicon()
    fail_score, _, _, functions = failure_rules()
    toks = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    pos = neg = 0.0
    negations = 0
    in_idiom = set()
    for a, b, score in idiom_spans(toks):     # "can't recommend it enough": scored as a whole
        in_idiom.update(range(a, b))
        pos, neg = (pos + score, neg) if score > 0 else (pos, neg - score)
    for k, t in enumerate(toks):
        if k in in_idiom:
            continue
        s = words.get(t)
        if t in negators:
            negations += 1
        if t in functions and _failed(toks, k, words, negators):
            neg -= fail_score
            continue
        if s is None:
            continue
        before = toks[max(0, k - 3):k]
        if before and before[-1] in boosters:
            s *= 1 + boosters[before[-1]]
        if t not in fixed and any(b in negators for b in before):
            s *= -0.74
        if s > 0:
            pos += s
        else:
            neg -= s
    total = pos - neg
    if text.rstrip().endswith("?"):
        total *= 0.5      # a question reports less than it asks
    if "!" in text:
        total *= 1.1
    compound = total / np.sqrt(total * total + 15)
    return np.array([compound, pos, neg, negations], dtype=np.float32)


class PolarityMethod(ABC):
    """Gives each mention a distribution over `CLASSES` from its text and (normalised) vector."""

    name = "abstract"
    needs_training = True

    def fit(self, texts: list[str], vectors: np.ndarray, y: list[str]) -> PolarityMethod:
        return self

    @abstractmethod
    def predict_proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: list[str], vectors: np.ndarray) -> list[str]:
        return [CLASSES[j] for j in self.predict_proba(texts, vectors).argmax(axis=1)]


class LexiconPolarity(PolarityMethod):
    name = "lexicon"
    needs_training = False

    def predict_proba(self, texts, vectors=None):
        return np.array([_from_compound(float(lexicon_features(t)[0])) for t in texts]).reshape(len(texts), 3)


def _from_compound(c: float) -> list[float]:
    """A compound score as a distribution whose top class is its label: |c| <= 0.05 neutral, else its sign."""
    if abs(c) <= _THRESHOLD:
        return [0.0, 1.0, 0.0]
    top = 0.5 + abs(c) / 2
    return [top, 1 - top, 0.0] if c < 0 else [0.0, 1 - top, top]


class SelfTrainedPolarity(PolarityMethod):
    """Balanced logistic regression on the MiniLM vectors (and, in ``hybrid``, the lexicon's features)."""

    name = "selftrained"
    use_lexicon = False

    def __init__(self, C: float = 1.0):
        self.C = C

    def _X(self, texts, vectors):
        X = np.asarray(vectors, dtype=np.float32)
        if self.use_lexicon:
            lex = np.array([lexicon_features(t) for t in texts], dtype=np.float32).reshape(len(texts), 4)
            lex[:, 1:] = np.log1p(lex[:, 1:])
            X = np.hstack([X, lex])
        return X

    def fit(self, texts, vectors, y):
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
        self.model_.fit(self._X(texts, vectors), list(y))
        return self

    def predict_proba(self, texts, vectors):
        p = self.model_.predict_proba(self._X(texts, vectors))
        out = np.zeros((len(texts), 3))
        for k, c in enumerate(self.model_.classes_):
            out[:, CLASSES.index(c)] = p[:, k]
        return out


class HybridPolarity(SelfTrainedPolarity):
    """The lexicon decides whether a mention judges at all (no evaluative word: neutral); the regression on vector
    plus lexicon features, trained on the negative and positive examples only, decides which way."""

    name = "hybrid"
    use_lexicon = True

    def __init__(self, C: float = 0.3):
        super().__init__(C)

    def fit(self, texts, vectors, y):
        keep = [k for k, lab in enumerate(y) if lab != "neutral"]
        return super().fit([texts[k] for k in keep], np.asarray(vectors)[keep], [y[k] for k in keep])

    def predict_proba(self, texts, vectors):
        p = super().predict_proba(texts, vectors)
        for i, t in enumerate(texts):
            if abs(float(lexicon_features(t)[0])) <= _THRESHOLD:
                p[i] = [0.0, 1.0, 0.0]
        return p


METHODS: dict[str, type[PolarityMethod]] = {m.name: m for m in (LexiconPolarity, SelfTrainedPolarity,
                                                                 HybridPolarity)}


def get_method(name: str, **params) -> PolarityMethod:
    from earful.errors import ConfigError

    if name not in METHODS:
        raise ConfigError(f"unknown polarity method '{name}'", hint="choose one of: " + ", ".join(METHODS))
    return METHODS[name](**params)


def rating_label(rating: float, top: float = 5.0) -> str:
    """A star rating as a polarity: the bottom two fifths negative, the middle fifth neutral, the rest positive."""
    r = float(rating) * 5.0 / top if top and top != 5 else float(rating)
    return "negative" if r <= 2 else "neutral" if r < 4 else "positive"


# -- training data --------------------------------------------------------------------------------------------------
def workspace_training(store, model_id: str, cap: int = TRAIN_CAP, seed: int = 42):
    """(texts, vectors, labels) of the workspace's one-mention items that have a rating, labelled by it."""
    from earful.topics.mentions import mention_vectors

    top = store.scalar("SELECT max(rating) FROM items") or 5
    top = 5.0 if top <= 5 else float(top)
    ids, texts, X = mention_vectors(store, model_id, "i.rating IS NOT NULL AND m.item_id IN (SELECT item_id FROM "
                                                     "mentions GROUP BY item_id HAVING count(*) = 1)")
    if not ids:
        return [], X, []
    rating = dict(store.rows("SELECT m.mention_id, i.rating FROM mentions m JOIN items i USING (item_id) "
                             "WHERE i.rating IS NOT NULL"))
    y = [rating_label(rating[i], top) for i in ids]
    idx = _cap(len(ids), cap, seed)
    return [texts[i] for i in idx], X[idx], [y[i] for i in idx]


def bundled_training(embedder, cap: int = 3000, seed: int = 42):
    """(texts, vectors, labels) from the bundled URR reviews (MIT): its one-mention reviews, labelled by rating."""
    import csv

    from earful.topics.mentions import split

    if not BUNDLED.exists():
        return [], np.zeros((0, 0), np.float32), []
    texts, y = [], []
    with open(BUNDLED, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            t = r["review_text"]
            spans = split(t)
            if len(spans) == 1 and r["rating"]:
                texts.append(t[spans[0].start:spans[0].end])
                y.append(rating_label(float(r["rating"])))
    idx = _cap(len(texts), cap, seed)
    texts, y = [texts[i] for i in idx], [y[i] for i in idx]
    return texts, embedder.encode(texts), y


def _cap(n: int, cap: int, seed: int) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))


def training_set(store, embedder) -> tuple[list[str], np.ndarray, list[str], str]:
    """The workspace's own rated one-mention items when every class has `MIN_PER_CLASS`, else the bundled ones."""
    texts, X, y = workspace_training(store, embedder.model_id)
    if y and min(y.count(c) for c in CLASSES) >= MIN_PER_CLASS:
        return texts, X, y, "workspace ratings"
    texts, X, y = bundled_training(embedder)
    return texts, X, y, "bundled URR ratings"


# -- the stage ------------------------------------------------------------------------------------------------------
def score_polarity(store, *, method: str = DEFAULT_METHOD, source: str | None = None, rescore: bool = False,
                   chat_model=None, llm_budget: int = 200, progress: bool = False) -> dict:
    """Score every mention without a polarity (all of them with `rescore`, or when the method changed); returns
    counts. With `chat_model`, up to `llm_budget` of the least certain of these mentions are labelled by the LLM."""
    from earful.embeddings import Embedder
    from earful.topics.mentions import _log_run, embed_mentions, mention_vectors, require_mentions

    t0 = time.perf_counter()
    require_mentions(store, source)
    model = get_method(method)
    where = ("(m.polarity IS NULL OR split_part(m.polarity_method, '+', 1) IS DISTINCT FROM ?)"   # '+llm' is kept
             if not rescore else "true")
    params: list = [] if rescore else [method]
    if source:
        where += " AND i.source = ?"
        params.append(source)
    todo = store.rows(f"SELECT m.mention_id, m.text FROM mentions m JOIN items i USING (item_id) WHERE {where} "
                      "ORDER BY m.mention_id", params)
    info: dict = {"method": method, "scored": len(todo)}
    if todo and model.needs_training:
        embedder = Embedder()
        embed_mentions(store, embedder, progress=progress, skip_general=False)
        texts, X, y, origin = training_set(store, embedder)
        model.fit(texts, X, y)
        info.update(trained_on=len(y), training=origin)
        ids, texts, V = mention_vectors(store, embedder.model_id, where, params)
    else:
        ids, texts = [r[0] for r in todo], [r[1] for r in todo]
        V = None
    if ids:
        P = model.predict_proba(texts, V)
        how = [method] * len(ids)
        if chat_model is not None and llm_budget > 0:
            P, how, info["llm"] = llm_refine(store, chat_model, ids, texts, P, method, budget=llm_budget)
        _write(store, ids, P, how)
    seconds = time.perf_counter() - t0
    _log_run(store, "polarity", source, info, len(ids), seconds)
    counts = dict(store.rows("SELECT polarity, count(*) FROM mentions GROUP BY polarity"))
    return {**info, "negative": counts.get("negative", 0), "neutral": counts.get("neutral", 0),
            "positive": counts.get("positive", 0), "seconds": round(seconds, 1)}


def _write(store, ids: list[str], P: np.ndarray, how: list[str]) -> None:
    import pyarrow as pa

    labels = [CLASSES[j] for j in P.argmax(axis=1)]
    score = (P[:, 2] - P[:, 0]).astype(np.float64)
    with store.transaction() as con:
        con.register("_pol", pa.table({"mention_id": pa.array(ids, pa.string()), "polarity": pa.array(labels),
                                       "score": pa.array(score), "how": pa.array(how, pa.string())}))
        con.execute("UPDATE mentions SET polarity = p.polarity, polarity_score = p.score, polarity_method = p.how "
                    "FROM _pol p WHERE mentions.mention_id = p.mention_id")
        con.unregister("_pol")


# -- the LLM step ---------------------------------------------------------------------------------------------------
PROMPT_FILE = Path(__file__).parent / "prompts" / "polarity_v1.yaml"


@lru_cache(maxsize=1)
def load_prompt() -> dict:
    import yaml

    return yaml.safe_load(PROMPT_FILE.read_text(encoding="utf-8"))


def build_messages(mention: str, item: str, prompt: dict | None = None) -> list[tuple[str, str]]:
    """The chat messages for one mention: a pure function of the mention, its item and the prompt file."""
    p = prompt or load_prompt()
    context = " ".join(str(item).split())
    context = context if len(context) <= 600 else context[:599] + "\u2026"
    user = p["user"].replace("{item}", context).replace("{mention}", " ".join(str(mention).split()))
    return [("system", p["system"].strip()), ("user", user.strip())]


@lru_cache(maxsize=1)
def _reply_schema():
    from typing import Literal

    from pydantic import BaseModel

    class MentionPolarity(BaseModel):
        polarity: Literal["negative", "neutral", "positive"]

    return MentionPolarity


def llm_refine(store, chat_model, ids: list[str], texts: list[str], P: np.ndarray, method: str, *,
               budget: int = 200, concurrency: int = 4):
    """Re-label up to `budget` mentions with the weakest offline evidence (smallest |P(pos) - P(neg)|) by the LLM.
    A failed or unusable reply keeps the offline label. Returns (P, per-mention method, counts)."""
    from earful.llm.calls import call_llm_many

    order = np.argsort(np.abs(P[:, 2] - P[:, 0]), kind="stable")[:budget]
    items = dict(store.rows("SELECT m.mention_id, i.text FROM mentions m JOIN items i USING (item_id) "
                            "WHERE m.mention_id IN (SELECT unnest(?::VARCHAR[]))", [[ids[k] for k in order]]))
    schema = _reply_schema()
    replies = call_llm_many(store, chat_model, [build_messages(texts[k], items.get(ids[k], "")) for k in order],
                            prompt_version=load_prompt()["version"], purpose="topics.polarity", schema=schema,
                            concurrency=concurrency, return_exceptions=True)
    P, how = P.copy(), [method] * len(ids)
    used = failed = 0
    for k, reply in zip(order, replies):
        label = getattr(getattr(reply, "parsed", None), "polarity", None)
        if label not in CLASSES:
            failed += 1
            continue
        P[k] = [1.0 if c == label else 0.0 for c in CLASSES]
        how[k] = method + "+llm"
        used += 1
    return P, how, {"sent": int(len(order)), "relabelled": used, "kept_offline": failed}
