"""LLM-boosted classification (AllHands): retrieved few-shot examples in a versioned prompt, and the cascade.

Design decision: building the prompt is a pure function of (taxonomy, examples, text) read from
``classify/prompts/fewshot_v1.yaml``; every call goes through ``earful.llm.call_llm``, which caches by (model,
prompt version, messages) in the store, so a reply is never paid for twice. The cascade sends to the LLM only items
whose offline confidence is below a threshold chosen on held-out training data to fit a budget or reach a target
accuracy, and only when the LLM, measured on those held-out items it would receive, is right more often there than
the offline model (a small model can be worse on exactly the hard items; then nothing is routed, and `routing_` says
why).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from earful.classify.base import Classifier, Inputs, Taxonomy
from earful.errors import ConfigError

PROMPTS = Path(__file__).resolve().parent / "prompts"


class LLMLabel(BaseModel):
    """The structured answer the LLM must give."""

    labels: list[str] = Field(default_factory=list)
    confidence: float = 0.7
    reason: str = ""


@functools.lru_cache(maxsize=4)
def load_prompt(name: str = "fewshot_v1") -> dict:
    import yaml

    return yaml.safe_load((PROMPTS / f"{name}.yaml").read_text(encoding="utf-8"))


def build_messages(taxonomy: Taxonomy, examples: list[tuple[str, str]], text: str,
                   prompt: dict | None = None) -> list[tuple[str, str]]:
    """[(role, content)] for one item: system (labels + rules) and user (retrieved examples + the item). Pure."""
    p = prompt or load_prompt()
    label_lines = "\n".join(f"- {lab.name}" + (f": {lab.description}" if lab.description else "")
                            for lab in taxonomy.labels)
    multi = ("Give every label that applies." if taxonomy.multi_label else "Give exactly one label.")
    system = p["system"].format(taxonomy=taxonomy.name, taxonomy_description=taxonomy.description,
                                label_lines=label_lines, multi_rule=multi)
    shots = "\n".join(p["example"].format(text=_clip(t), label=lab) for t, lab in examples)
    user = p["user"].format(examples=shots, text=_clip(text))
    return [("system", system.strip()), ("user", user.strip())]


def _clip(text: str, n: int = 1200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n] + "..."


def reply_to_distribution(reply: LLMLabel | None, classes: list[str], fallback: np.ndarray) -> np.ndarray:
    """The LLM's labels and confidence as a distribution over `classes`; an unusable reply gives `fallback`."""
    lookup = {c.lower().strip(): c for c in classes}
    chosen = [] if reply is None else [lookup[x.lower().strip()] for x in reply.labels if x.lower().strip() in lookup]
    if not chosen:
        return fallback
    conf = float(min(max(reply.confidence, 0.0), 1.0)) or 0.5
    chosen = list(dict.fromkeys(chosen))
    rest = len(classes) - len(chosen)
    out = np.full(len(classes), (1 - conf) / rest if rest else 0.0)
    for c in chosen:
        out[classes.index(c)] = conf / len(chosen) if rest else 1.0 / len(chosen)
    return out / out.sum()


class FewShotLLM(Classifier):
    """For each item, the k most similar labelled examples (MiniLM cosine) go into a few-shot prompt for the LLM."""

    name = "fewshot_llm"
    conformance = {"params": {}}  # tests/test_classifiers_conformance.py passes a fake chat model (offline=False)
    offline = False

    def __init__(self, taxonomy: Taxonomy, chat_model=None, store=None, k: int = 8, concurrency: int = 4,
                 prompt: str = "fewshot_v1", purpose: str | None = None):
        super().__init__(taxonomy)
        self.chat_model, self.store, self.k, self.concurrency = chat_model, store, k, concurrency
        self.purpose = purpose or f"classify:{taxonomy.name}"  # what the calls are logged as in llm_calls
        self.prompt_name = prompt
        self.ex_texts_: list[str] = []
        self.ex_labels_: list[str] = []
        self.ex_vectors_ = np.zeros((0, 384), dtype=np.float32)
        self.last_replies_: list = []

    @property
    def prompt_version(self) -> str:
        return load_prompt(self.prompt_name)["version"]

    def fit(self, inputs: Inputs, y: list[str] | None = None) -> FewShotLLM:
        if y is not None and len(y):
            self._extend_classes(y)
            self.ex_texts_, self.ex_labels_ = list(inputs.texts), list(y)
            self.ex_vectors_ = inputs.need_vectors()
        return self

    def neighbours(self, vectors: np.ndarray) -> list[list[tuple[str, str]]]:
        if not self.ex_texts_ or self.k <= 0:
            return [[] for _ in range(len(vectors))]
        sims = vectors @ self.ex_vectors_.T
        k = min(self.k, sims.shape[1])
        top = np.argsort(-sims, axis=1)[:, :k]
        # most similar last: closest to the item in the prompt
        return [[(self.ex_texts_[j], self.ex_labels_[j]) for j in row[::-1]] for row in top]

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        from earful.llm import call_llm_many

        if self.chat_model is None:
            raise ConfigError("the LLM classifier needs a chat model, and none is configured",
                              hint="set [llm] model in earful.toml or EARFUL_LLM, e.g. EARFUL_LLM=openai:gpt-4o-mini")
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        shots = self.neighbours(inputs.need_vectors())
        batch = [build_messages(self.taxonomy, ex, t, load_prompt(self.prompt_name))
                 for ex, t in zip(shots, inputs.texts)]
        replies = call_llm_many(self.store, self.chat_model, batch, prompt_version=self.prompt_version,
                                purpose=self.purpose, schema=LLMLabel,
                                concurrency=self.concurrency, return_exceptions=True)
        self.last_replies_ = replies
        out = np.zeros((len(inputs), len(self.classes_)))
        for i, (rep, ex) in enumerate(zip(replies, shots)):
            fallback = self._vote(ex)
            parsed = getattr(rep, "parsed", None)
            out[i] = reply_to_distribution(parsed, self.classes_, fallback)
        return out

    def _vote(self, examples) -> np.ndarray:
        """Fallback when the reply is unusable: the neighbours' label frequencies (uniform without neighbours)."""
        out = np.full(len(self.classes_), 1e-3)
        for _, lab in examples:
            if lab in self.classes_:
                out[self.classes_.index(lab)] += 1
        return out / out.sum()


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, *, budget_fraction: float | None = None,
                     target_accuracy: float | None = None) -> float:
    """The confidence threshold below which items go to the LLM, chosen on validation data.

    With a budget: the largest threshold that routes at most `budget_fraction` of validation items. With a target
    accuracy: the smallest threshold at which the offline model's accuracy on the items it keeps reaches the target.
    """
    conf = np.asarray(confidence, dtype=float)
    if len(conf) == 0:
        return 0.0
    order = np.sort(conf)
    if budget_fraction is not None:
        m = int(np.floor(max(0.0, min(1.0, budget_fraction)) * len(order)))
        return float(order[m]) if m < len(order) else float(order[-1]) + 1e-9
    if target_accuracy is not None:
        ok = np.asarray(correct, dtype=float)[np.argsort(conf)]
        kept_acc = np.cumsum(ok[::-1])[::-1] / np.arange(len(ok), 0, -1)  # accuracy of items from position i on
        hits = np.nonzero(kept_acc >= target_accuracy)[0]
        return float(order[hits[0]]) if len(hits) else float(order[-1]) + 1e-9
    raise ValueError("give budget_fraction or target_accuracy")


class Cascade(Classifier):
    """The offline model labels everything; items below `threshold_` confidence are re-labelled by the LLM.

    When the threshold is chosen on validation data, the LLM is first measured on the validation items it would
    receive (at least MIN_SLICE of the least confident ones): `routing_` holds both models' scores there, and the
    cascade routes only when the LLM was right more often. A threshold passed in by the caller is used as given.
    """

    name = "cascade"
    conformance = {"params": {"threshold": 0.6}}  # a given threshold: the suite skips the validation check
    offline = False
    MIN_SLICE = 20  # least-confident validation items the LLM is measured on, when fewer fall below the threshold

    def __init__(self, taxonomy: Taxonomy, offline: Classifier | None = None, llm: FewShotLLM | None = None,
                 threshold: float | None = None, budget_fraction: float | None = 0.2,
                 target_accuracy: float | None = None, chat_model=None, store=None):
        super().__init__(taxonomy)
        from earful.classify.base import make_classifier

        self.offline_model = offline or make_classifier("tfidf", taxonomy)
        self.llm = llm or FewShotLLM(taxonomy, chat_model=chat_model, store=store)
        self.threshold_ = threshold
        self.budget_fraction, self.target_accuracy = budget_fraction, target_accuracy
        self.routed_ = np.zeros(0, dtype=bool)
        self.budget_left_: int | None = None  # a hard cap on items sent to the LLM (set by `label_items`)
        self.routing_: dict | None = None     # the validation check of the LLM (None: threshold given, not checked)

    def fit(self, inputs: Inputs, y: list[str]) -> Cascade:
        y = list(y)
        if self.threshold_ is None:
            self.threshold_ = self._validate_threshold(inputs, y)
        self.offline_model.fit(inputs, y)
        self.llm.fit(inputs, y)
        self.classes_ = list(self.offline_model.classes_)
        for lab in self.llm.classes_:
            if lab not in self.classes_:
                self.classes_.append(lab)
        self.llm.classes_ = list(self.classes_)
        return self

    def _validate_threshold(self, inputs: Inputs, y: list[str]) -> float:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(y))
        try:
            tr, va = train_test_split(idx, test_size=0.25, random_state=13, stratify=y)
        except ValueError:
            tr, va = train_test_split(idx, test_size=0.25, random_state=13)
        probe = type(self.offline_model)(self.taxonomy)
        probe.fit(inputs.take(tr), [y[i] for i in tr])
        p = probe.predict_proba(inputs.take(va))
        correct = np.array([probe.classes_[j] == y[i] for j, i in zip(p.argmax(axis=1), va)])
        threshold = choose_threshold(p.max(axis=1), correct, budget_fraction=None if self.target_accuracy else
                                     self.budget_fraction, target_accuracy=self.target_accuracy)
        self.routing_ = self._check_llm(inputs, y, tr, va, p.max(axis=1), correct, threshold)
        return threshold

    def _check_llm(self, inputs: Inputs, y: list[str], tr, va, conf: np.ndarray, correct: np.ndarray,
                   threshold: float) -> dict:
        """Both models' accuracy on the validation items the LLM would receive; route only if the LLM is better."""
        order = np.argsort(conf, kind="stable")
        below = int((conf < threshold).sum())
        take = order[:max(below, min(self.MIN_SLICE, len(order)))]
        llm = FewShotLLM(self.taxonomy, chat_model=self.llm.chat_model, store=self.llm.store, k=self.llm.k,
                         concurrency=self.llm.concurrency, prompt=self.llm.prompt_name,
                         purpose=f"classify-check:{self.taxonomy.name}")
        llm.fit(inputs.take(tr), [y[i] for i in tr])
        sent = inputs.take(va[take])
        llm_pred = llm.predict(sent) if len(take) else []
        truth = [y[i] for i in va[take]]
        llm_ok = int(sum(a == b for a, b in zip(llm_pred, truth)))
        off_ok = int(correct[take].sum())
        n = len(take)
        route = llm_ok > off_ok
        what = (f"on {n} held-out gold item(s) it would receive (the least confident), the LLM was right on {llm_ok} "
                f"({llm_ok / max(n, 1):.0%}) and the offline model on {off_ok} ({off_ok / max(n, 1):.0%})")
        reason = (f"routing to the LLM: {what}" if route else
                  f"not routing to the LLM: {what}; every item keeps the offline label")
        return {"route": route, "measured_on": n, "llm_correct": llm_ok, "offline_correct": off_ok,
                "threshold": float(threshold), "reason": reason}

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        p = _widen(self.offline_model.predict_proba(inputs), self.offline_model.classes_, self.classes_)
        conf = p.max(axis=1)
        self.routed_ = conf < (self.threshold_ or 0.0)
        if self.routing_ is not None and not self.routing_["route"]:
            self.routed_[:] = False  # the LLM was not better on the validation items it would get
        idx = np.nonzero(self.routed_)[0]
        if self.budget_left_ is not None and len(idx) > self.budget_left_:
            idx = idx[np.argsort(conf[idx], kind="stable")[:max(0, self.budget_left_)]]  # least confident first
            self.routed_ = np.zeros(len(conf), dtype=bool)
            self.routed_[idx] = True
        if self.budget_left_ is not None:
            self.budget_left_ -= len(idx)
        if len(idx):
            p[idx] = self.llm.predict_proba(inputs.take(idx))
        return p


def _widen(p: np.ndarray, have: list[str], want: list[str]) -> np.ndarray:
    if list(have) == list(want):
        return p.copy()
    out = np.zeros((p.shape[0], len(want)))
    for k, c in enumerate(have):
        out[:, want.index(c)] = p[:, k]
    return out
