"""Each built-in classifier is registered exactly once, through `classify/plugin.py`'s hook (no second, direct
registration from a decorator in its module), so a plugin can replace a built-in through the same hook."""
from __future__ import annotations

import importlib

from earful.classify.base import CLASSIFIERS
from earful.plugins import call_hook, hookimpl, manager


def _refill() -> None:
    """Ask the hooks again (after a test plugin joined or left the manager)."""
    CLASSIFIERS._hooked.clear()
    CLASSIFIERS._state = "empty"
    CLASSIFIERS.load()


def test_every_classifier_registers_once_through_the_hook():
    importlib.import_module("earful.classify.offline")   # importing the modules adds nothing by itself
    importlib.import_module("earful.classify.llm")
    registered = []
    call_hook("register_classifiers", register=lambda obj, name=None, **_: registered.append((name or obj.name, obj)))
    names = [n for n, _ in registered]
    assert len(names) == len(set(names)), names
    assert {"tfidf", "char_tfidf", "embedding", "zeroshot", "selftrained", "stacked", "joint", "fewshot_llm",
            "cascade"} <= set(names)
    for name, cls in registered:
        assert CLASSIFIERS[name] is cls
        module = importlib.import_module(cls.__module__)
        assert cls.__module__ in ("earful.classify.offline", "earful.classify.llm")
        assert getattr(module, cls.__name__) is cls and cls.name == name
    assert list(CLASSIFIERS)[:len(names)] == names   # registration order, each name once


def test_a_plugin_replaces_a_builtin_classifier_through_the_hook():
    from earful.classify.offline import WordTfidf

    importlib.import_module("earful.classify.llm")

    class MyTfidf(WordTfidf):
        pass

    class Override:
        @hookimpl
        def register_classifiers(self, register):
            register(MyTfidf)   # same name, "tfidf": a later registration replaces the built-in

    plugin = Override()
    manager().register(plugin, name="test-classifier-override")
    try:
        _refill()
        assert CLASSIFIERS["tfidf"] is MyTfidf
    finally:
        manager().unregister(plugin)
        _refill()
    assert CLASSIFIERS["tfidf"] is WordTfidf
