"""Choosing the classifier for `earful classify run`: offline (trained model, else zero-shot), llm, or cascade.

Design decision: `offline` never needs anything but the workspace: with a trained model it uses it, otherwise it
learns one without gold (`selftrained`: zero-shot from the label descriptions picks the items it is surest of, and a
`joint` model learns from those), so a ready-made taxonomy works on day one. Over a text field (``--field``) every
piece of it is kept under ``TAX@COL`` and reads that field's texts (see `classify.workspace`).
"""
from __future__ import annotations

from earful.classify.base import load_taxonomy, make_classifier
from earful.classify.models import ModelLoadError
from earful.classify.workspace import count_todo, for_field, gold, inputs_for, latest_model, save_taxonomy, self_train
from earful.errors import ConfigError, InputError


def _chat_model(settings):
    from earful.llm import get_chat_model

    model = get_chat_model(settings)
    if model is None:
        raise ConfigError("this method needs an LLM and [llm] model is 'none'",
                          hint="set EARFUL_LLM=provider:model (e.g. openai:gpt-4o-mini) or use --method offline")
    return model


DEFAULT_LLM_SHARE = 0.1  # cascade without --llm-budget: route about this share of the items


def cascade_base(store, taxonomy: str) -> str:
    """The offline method inside a cascade: the newest trained model's, else tfidf."""
    rows = store.rows("SELECT method FROM classify_models WHERE taxonomy = ? ORDER BY trained_at DESC LIMIT 1",
                      [taxonomy])
    return rows[0][0] if rows else "tfidf"


def eval_factory(store, settings=None, chat_model=None):
    """`make(method, taxonomy)` for `cross_validate`: offline methods as registered; `fewshot_llm` (alias `llm`) and
    `cascade` get the configured chat model, the cascade the same offline base and default share as `prepare`."""
    from earful.classify.base import CLASSIFIERS, _load_builtins

    _load_builtins()
    chat = []

    def make(method, tax):
        if getattr(CLASSIFIERS.get(method), "offline", True):
            return make_classifier(method, tax)
        if not chat:
            chat.append(chat_model or _chat_model(settings))
        if method == "cascade":
            return make_classifier("cascade", tax, offline=make_classifier(cascade_base(store, tax.name), tax),
                                   chat_model=chat[0], store=store, budget_fraction=DEFAULT_LLM_SHARE)
        return make_classifier(method, tax, chat_model=chat[0], store=store)
    return make


def prepare(store, taxonomy: str, method: str, settings=None, *, source=None, llm_budget=None,
            target_accuracy=None, redo=False, chat_model=None, field=None):
    """(taxonomy, classifier, model_version, features, extra_names) ready for `label_items`. With a text `field`
    the taxonomy returned is named ``TAX@COL`` (what the labels are stored under); the classifier sees the plain one."""
    base = load_taxonomy(taxonomy, store)
    tax = for_field(base, field)
    with store.transaction() as con:
        if not store.rows("SELECT 1 FROM taxonomies WHERE name = ?", [base.name]):
            save_taxonomy(store, base, "built-in or file")
        if redo:  # only the labels of the items this run will label again: other sources keep theirs, and a
            # label a person set in review ('human') is never relabelled by a model
            scope, params = ("AND item_id IN (SELECT item_id FROM items WHERE source = ?)", [source]) if source \
                else ("", [])
            con.execute(f"DELETE FROM classify_labels WHERE taxonomy = ? AND method <> 'human' {scope}",
                        [tax.name, *params])
    try:
        trained = latest_model(store, tax.name)
    except ModelLoadError as exc:
        if exc.method != "selftrained":
            raise
        trained = None  # a no-gold model that cannot be loaded safely (e.g. an old pickle) is simply learnt again
    if trained and trained[0].name == "selftrained" and trained[0].taxonomy != base:
        trained = None  # learnt from an earlier version of the label descriptions: learn again
    if method == "offline":
        if trained:
            clf, version, features, extra_names = trained
            return tax, clf, version, features, extra_names
        if not any(lab.description or lab.examples for lab in tax.labels):
            raise InputError(f"taxonomy '{tax.name}' has no trained model and no label descriptions for zero-shot",
                             hint=f"run 'earful classify train --taxonomy {tax.name} --gold-column COL' first")
        clf, version = self_train(store, base, source, field)
        return tax, clf, version, [], None
    if method not in ("llm", "cascade"):
        raise InputError(f"unknown --method '{method}'", hint="use offline, llm or cascade")
    chat = chat_model or _chat_model(settings)
    pairs = gold(store, tax.name)
    features = trained[2] if trained else []
    extra_names = trained[3] if trained else None
    if method == "llm":
        clf = make_classifier("fewshot_llm", base, chat_model=chat, store=store)
        if pairs:
            clf.fit(inputs_for(store, [p[0] for p in pairs], field=field), [p[1] for p in pairs])
        return tax, clf, f"fewshot_llm-{clf.prompt_version}", [], None
    if len(pairs) < 10:
        raise InputError("the cascade chooses its threshold on gold labels, and this taxonomy has fewer than 10",
                         hint="declare gold with 'earful classify train --gold-column COL' or use --method llm")
    todo = max(1, count_todo(store, tax.name, source, field))
    fraction = None if target_accuracy else min(1.0, (llm_budget if llm_budget is not None else
                                                      todo * DEFAULT_LLM_SHARE) / todo)
    offline = make_classifier(trained[0].name if trained else "tfidf", base)
    clf = make_classifier("cascade", base, offline=offline, chat_model=chat, store=store,
                          budget_fraction=fraction, target_accuracy=target_accuracy)
    clf.fit(inputs_for(store, [p[0] for p in pairs], features, extra_names, field=field), [p[1] for p in pairs])
    return tax, clf, f"cascade-{offline.name}-t{clf.threshold_:.3f}", features, extra_names
