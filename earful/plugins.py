"""Earful's one plugin mechanism: the hook specifications, the plugin manager, and the lazy `Registry`.

Design decision (after simonw/llm's ``hookspecs.py`` + ``plugins.py``): every part Earful can be extended with is
added through a pluggy hook, and the built-in parts register through the very same hooks as a third-party package.
The built-in plugins are named here as module *strings* (`BUILTIN_PLUGINS`), so the core never imports a stage; a
package joins by declaring an entry point in the group ``earful``::

    [project.entry-points.earful]
    tiny = "earful_tiny"          # a module with @hookimpl functions

Plugins are loaded once per process, on first use (the first registry lookup, command line or workspace open), and
each hook is called in registration order: built-ins in `BUILTIN_PLUGINS` order, then installed packages. A
registration under a name that already exists replaces it, so a plugin can override a built-in on purpose.
``EARFUL_NO_PLUGINS=1`` loads the built-ins only (to rule out a broken third-party plugin).
"""
from __future__ import annotations

import importlib
import os
import threading
from collections.abc import MutableMapping

import pluggy

from earful.errors import EarfulError

hookspec = pluggy.HookspecMarker("earful")
hookimpl = pluggy.HookimplMarker("earful")

# Built-in plugin modules (one per stage, each `@hookimpl` functions only; stage code is imported inside the hooks).
# A stage whose package is not installed is skipped.
BUILTIN_PLUGINS = (
    "earful.ingest.plugin",
    "earful.classify.plugin",
    "earful.topics.plugin",
    "earful.llm.plugin",
    "earful.qa_agent.plugin",
    "earful.lake.plugin",
)


# -- hook specifications: `register(obj, name=None)` adds one part; `name` defaults to ``obj.name`` -------------
@hookspec
def register_loaders(register):
    """Register file loaders: ``register(loader)`` with an `earful.ingest.base.Loader` instance."""


@hookspec
def register_profiles(register):
    """Register export profiles: ``register(profile)`` with an `earful.ingest.base.Profile`."""


@hookspec
def register_classifiers(register):
    """Register classifiers: ``register(factory, name=None)``; a factory is ``(taxonomy, **params) -> Classifier``
    (usually the `earful.classify.base.Classifier` subclass itself, whose ``name`` is used)."""


@hookspec
def register_topic_backends(register):
    """Register topic backends: ``register(cls, name=None)`` with an `earful.topics.base.TopicBackend` subclass."""


@hookspec
def register_topic_labelers(register):
    """Register topic labelers: ``register(cls, name=None)`` with an `earful.topics.base.Labeler` subclass."""


@hookspec
def register_embedding_models(register):
    """Register embedding models: ``register(factory, name)``; see `earful.embeddings`."""


@hookspec
def register_llm_providers(register):
    """Register LLM providers: ``register(provider)`` with an `earful.llm.base.Provider` instance."""


@hookspec
def register_engines(register):
    """Register question engines: ``register(cls, name=None)`` with an `earful.qa_agent.base.Engine` subclass.
    Engines are tried in registration order; the first that does not decline answers."""


@hookspec
def register_chart_kinds(register):
    """Register chart kinds: ``register(kind)`` with an `earful.charts.ChartKind`, or ``register(draw, name)`` with
    ``draw(table: earful.charts.ChartTable, out_dir) -> {title, plotly, png}``."""


@hookspec
def register_commands(app):
    """Add commands or command groups to the `earful` Typer app."""


@hookspec
def register_view_columns(register):
    """Register view-column providers: ``register(fn, name)``, ``fn(con, source) -> list[str]`` of SELECT
    expressions over the items alias ``i``, each ending ``AS <column>`` (see `earful.store.views`)."""


@hookspec
def register_migrations(register):
    """Register schema migrations: ``register(migrate, name)``, ``migrate(con)``; ``name`` is ``mNNNN_<what>`` and is
    what the workspace records. All migrations run in name order, each once (see `earful.store.migrations`)."""


@hookspec
def register_demo_steps(register):
    """Register `make demo` steps: ``register(fn, name, after_close=False)``; ``fn(store, console)``, or
    ``fn(db_path, console)`` with ``after_close=True`` (runs after the demo closed the workspace)."""


@hookspec
def after_ingest(store, source):
    """Called after each ingested file's transaction commits. Return ``{name: summary}`` to add to the file's
    summary, or None."""


# -- the plugin manager -----------------------------------------------------------------------------------------
_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
FAILED: dict[str, EarfulError] = {}   # entry-point name -> why that plugin was skipped


def _import_builtin(name: str):
    """The built-in plugin module, or None when its stage's package is not installed (a real import error raises)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


def _load() -> pluggy.PluginManager:
    import sys

    pm = pluggy.PluginManager("earful")
    pm.add_hookspecs(sys.modules[__name__])
    for name in BUILTIN_PLUGINS:
        module = _import_builtin(name)
        if module is not None:
            pm.register(module, name)
    if os.environ.get("EARFUL_NO_PLUGINS") != "1":
        _load_entry_points(pm)
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """pluggy's ``load_setuptools_entrypoints("earful")``, except that a plugin that fails to load is skipped with a
    message on stderr that names it and the fix (one broken package must not take the command line down)."""
    import sys
    from importlib.metadata import entry_points

    for ep in entry_points(group="earful"):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = getattr(getattr(ep, "dist", None), "name", None) or ep.value.split(".")[0]
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            pm.check_pending()  # a misspelt hook name in a plugin is an error, not a silent no-op
        except Exception as exc:
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)
            error = EarfulError(f"the Earful plugin '{ep.name}' ({ep.value}, package {dist}) failed to load and is "
                                f"skipped: {type(exc).__name__}: {exc}",
                                hint=f"fix it or `pip uninstall {dist}`; EARFUL_NO_PLUGINS=1 runs with the built-ins "
                                     "only")
            FAILED[ep.name] = error
            print(f"warning: {error}", file=sys.stderr)


def manager() -> pluggy.PluginManager:
    """The process's plugin manager, loaded on first use (built-ins, then the ``earful`` entry points)."""
    global _pm
    if _pm is None:
        with _lock:
            if _pm is None:
                _pm = _load()
    return _pm


def call_hook(name: str, **kwargs) -> list:
    """Call every implementation of hook `name` in registration order (pluggy itself calls the last one first)."""
    hook = getattr(manager().hook, name)
    return [impl.function(*[kwargs[a] for a in impl.argnames]) for impl in hook.get_hookimpls()]


def plugin_names() -> list[str]:
    """Installed third-party plugins (entry-point names), after the built-ins."""
    pm = manager()
    return [name for name, _ in pm.list_name_plugin() if name not in BUILTIN_PLUGINS]


class Registry(MutableMapping):
    """name -> part, filled on first use from one ``register_*`` hook; ``registry[name] = part`` adds one directly.

    Direct additions (tests, notebooks, the legacy ``register_*`` functions) win over hook registrations of the same
    name and survive the fill, whenever it happens. Iteration order is registration order.
    """

    def __init__(self, hook: str, what: str):
        self.hook, self.what = hook, what
        self._hooked: dict = {}
        self._direct: dict = {}
        self._state = "empty"   # empty -> filling -> full

    def register(self, obj, name: str | None = None, **options):
        key = name or getattr(obj, "name", "")
        if not key:
            raise EarfulError(f"cannot register {obj!r} as a {self.what}: it has no name",
                              hint="pass register(obj, name='...') or give the class a `name` attribute")
        self._hooked[key] = (obj, options) if options else obj   # a later registration replaces one, in its place
        return obj

    def _fill(self) -> dict:
        if self._state != "full":
            with _lock:   # another thread waits for the fill; this one, re-entering from a hook, sees it partial
                if self._state == "empty":
                    self._state = "filling"   # a built-in module registering itself mid-fill sees the partial registry
                    try:
                        call_hook(self.hook, register=self.register)
                    except BaseException:
                        self._state = "empty"
                        raise
                    self._state = "full"
        return {**self._hooked, **self._direct}

    def load(self) -> Registry:
        self._fill()
        return self

    def __getitem__(self, key):
        return self._fill()[key]

    def __setitem__(self, key, value) -> None:
        self._direct[key] = value

    def __delitem__(self, key) -> None:
        self._fill()
        found = key in self._direct or key in self._hooked
        self._direct.pop(key, None)
        self._hooked.pop(key, None)
        if not found:
            raise KeyError(key)

    def __iter__(self):
        return iter(self._fill())

    def __len__(self) -> int:
        return len(self._fill())

    def __contains__(self, key) -> bool:
        return key in self._fill()

    def __repr__(self) -> str:
        return f"<Registry {self.what}: {', '.join(self._fill())}>"
