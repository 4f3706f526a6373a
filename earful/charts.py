"""Charts: the registry of chart kinds (bar, line, and any a plugin adds) and the built-in bar and line drawers.

Design decision: a chart kind is data, ``ChartKind(name, draw)``, registered through the ``register_chart_kinds``
plugin hook (built-ins: `earful.qa_agent.plugin`), and every caller that chooses a kind by name (the agent's
``ChartSpec``, the built-in engine's answers) looks it up in `CHART_KINDS`; a new kind is one registration, not an
edit here plus an if/elif in each caller. A kind draws a `ChartTable` (x values and named series from a result table)
into ``{title, plotly, png}``. The plotly JSON is built as a plain dict (the figure schema) rather than through
plotly's objects, so building a chart costs nothing and needs no import; matplotlib is imported lazily, and only when
a PNG is written (``out_dir`` given).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earful.errors import EarfulError, InputError, require
from earful.plugins import Registry


# -- the registry of chart kinds --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartTable:
    """What a chart kind draws: ``x`` values and one or more ``series`` (name -> values aligned with ``x``)."""

    title: str
    x: list
    series: dict[str, list]
    x_title: str = ""
    y_title: str = ""

    @classmethod
    def from_table(cls, columns: Sequence[str], rows: Sequence[Sequence], x: str, y: str | Sequence[str],
                   title: str = "") -> ChartTable:
        """Column `x` against column(s) `y` of a result table (``columns`` + ``rows``)."""
        ys = [y] if isinstance(y, str) else list(y)
        missing = [c for c in [x, *ys] if c not in columns]
        if missing:
            raise InputError(f"chart '{title or ', '.join(ys)}': no column {', '.join(map(repr, missing))} in the "
                             f"result (columns: {', '.join(map(str, columns))})")
        at = {c: list(columns).index(c) for c in [x, *ys]}
        return cls(title=title or f"{', '.join(ys)} by {x}", x=[r[at[x]] for r in rows],
                   series={c: [r[at[c]] for r in rows] for c in ys}, x_title=x, y_title=", ".join(ys))


@dataclass(frozen=True)
class ChartKind:
    """A kind of chart: ``draw(table: ChartTable, out_dir) -> {title, plotly, png}`` (png None without out_dir).
    ``trace_types`` are the plotly trace types its figures are made of, so a figure a program built (the agent's
    Python) can get its PNG drawn by the kind that makes such traces."""

    name: str
    draw: Callable[[ChartTable, str | Path | None], dict]
    trace_types: tuple[str, ...] = field(default=())
    about: str = ""


# name -> ChartKind (or a ``draw`` function registered with a name), filled on first use from the hook.
CHART_KINDS: Registry = Registry("register_chart_kinds", "chart kind")


def chart_kind(name: str) -> ChartKind:
    """The registered kind `name`; an unknown name is an `InputError` that lists the registered ones."""
    if name not in CHART_KINDS:
        raise InputError(f"unknown chart kind '{name}' (registered: {', '.join(CHART_KINDS) or 'none'})",
                         hint="use one of them, or add one with the register_chart_kinds plugin hook "
                              "(register(earful.charts.ChartKind(name, draw)))")
    entry = CHART_KINDS[name]
    obj, options = entry if isinstance(entry, tuple) else (entry, {})
    if isinstance(obj, ChartKind):
        return obj
    if callable(obj):
        return ChartKind(name, obj, **options)
    raise EarfulError(f"chart kind '{name}' is registered as {obj!r}, not a ChartKind or a draw function",
                      hint="register(earful.charts.ChartKind(name, draw)) or register(draw, name)")


def chart_kind_names() -> list[str]:
    """Registered chart kinds, in registration order (built-ins first)."""
    return list(CHART_KINDS)


def kind_for_trace(trace_type: str | None) -> ChartKind | None:
    """The first registered kind whose figures are made of plotly traces of `trace_type`, if any."""
    for name in CHART_KINDS:
        kind = chart_kind(name)
        if trace_type in kind.trace_types:
            return kind
    return None


def draw(kind: str | ChartKind, table: ChartTable, out_dir: str | Path | None = None) -> dict:
    """Draw `table` as a chart of `kind` (a registered name or a ChartKind): ``{title, plotly, png}``."""
    k = kind if isinstance(kind, ChartKind) else chart_kind(kind)
    d = k.draw(table, out_dir)
    if not isinstance(d, dict) or not isinstance(d.get("plotly"), dict):
        raise EarfulError(f"chart kind '{k.name}' drew {type(d).__name__}, not a {{title, plotly, png}} dict",
                          hint=f"fix the plugin that registers chart kind '{k.name}'")
    return {"title": d.get("title", table.title), "plotly": d["plotly"], "png": d.get("png")}


def draw_bar(table: ChartTable, out_dir: str | Path | None = None) -> dict:
    """The ``bar`` kind: one series as bars per x value."""
    if len(table.series) != 1:
        raise InputError(f"bar chart '{table.title}': one series is drawn as bars, got {len(table.series)}",
                         hint="draw several series as a line chart")
    (values,) = table.series.values()
    return bar(table.title, table.x, values, out_dir=out_dir, x_title=table.x_title, y_title=table.y_title)


def draw_line(table: ChartTable, out_dir: str | Path | None = None) -> dict:
    """The ``line`` kind: one line per series."""
    return line(table.title, table.x, table.series, out_dir=out_dir, x_title=table.x_title, y_title=table.y_title)


BUILTIN_KINDS = (ChartKind("bar", draw_bar, ("bar",), "one series as bars per category"),
                 ChartKind("line", draw_line, ("scatter",), "one line per series over an ordered x (time)"))


def _plain(v: Any) -> Any:
    """JSON-safe scalar: dates and decimals become str/float so the figure dict round-trips through json."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def _slug(title: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "chart"
    return s


def png_path(out_dir: str | Path, title: str, payload: dict) -> Path:
    """Where a chart's PNG goes under `out_dir`: its title's slug and a digest of the figure (same chart: same file)."""
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:8]
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{_slug(title)}-{digest}.png"


def _layout(title: str, x_title: str, y_title: str) -> dict:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}}, "template": "plotly_white"}


def _pyplot():
    matplotlib = require("matplotlib", purpose="PNG charts")
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _tight(fig) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout()


def bar(title: str, labels: Sequence, values: Sequence, out_dir: str | Path | None = None,
        x_title: str = "", y_title: str = "") -> dict:
    """A bar chart of ``values`` per ``labels``. Returns ``{title, plotly, png}`` (png None without out_dir)."""
    labels = [str(_plain(x)) for x in labels]
    values = [_plain(v) for v in values]
    if len(labels) != len(values):
        raise InputError(f"bar chart '{title}': {len(labels)} labels but {len(values)} values")
    fig = {"data": [{"type": "bar", "x": labels, "y": values}], "layout": _layout(title, x_title, y_title)}
    png = None
    if out_dir is not None:
        path = png_path(out_dir, title, fig)
        with png_axes(path, (max(6, min(16, 0.5 * len(labels) + 3)), 4.5), title, x_title, y_title) as ax:
            ax.bar(range(len(labels)), [v if isinstance(v, (int, float)) else 0 for v in values], color="#4C78A8")
            ax.set_xticks(range(len(labels)))
            tilt = len(labels) > 4
            ax.set_xticklabels(labels, rotation=45 if tilt else 0, ha="right" if tilt else "center")
        png = str(path)
    return {"title": title, "plotly": fig, "png": png}


def line(title: str, x: Sequence, series: dict[str, Sequence], out_dir: str | Path | None = None,
         x_title: str = "", y_title: str = "") -> dict:
    """A line chart: one line per entry of ``series`` (name -> values aligned with ``x``)."""
    xs = [_plain(v) for v in x]
    xs = [v if isinstance(v, (int, float)) else str(v) for v in xs]
    data = []
    for name, ys in series.items():
        ys = [_plain(v) for v in ys]
        if len(ys) != len(xs):
            raise InputError(f"line chart '{title}': series '{name}' has {len(ys)} values for {len(xs)} x values")
        data.append({"type": "scatter", "mode": "lines+markers", "name": str(name), "x": xs, "y": ys})
    fig = {"data": data, "layout": _layout(title, x_title, y_title)}
    if xs and all(isinstance(v, str) and v.isdigit() for v in xs):
        fig["layout"]["xaxis"]["type"] = "category"      # years as labels: no '2,012.5' ticks between them
    png = None
    if out_dir is not None:
        path = png_path(out_dir, title, fig)
        with png_axes(path, (8, 4.5), title, x_title, y_title) as ax:
            pos = list(range(len(xs)))
            for trace in data:
                ax.plot(pos, [v if isinstance(v, (int, float)) else float("nan") for v in trace["y"]],
                        marker="o", label=trace["name"])
            step = max(1, len(xs) // 12)
            ax.set_xticks(pos[::step])
            ax.set_xticklabels([str(v) for v in xs[::step]], rotation=45, ha="right")
            if len(data) > 1:
                ax.legend()
        png = str(path)
    return {"title": title, "plotly": fig, "png": png}


_PYPLOT_LOCK = threading.Lock()   # pyplot keeps global state: one figure at a time per process


@contextlib.contextmanager
def png_axes(path, size, title: str, x_title: str, y_title: str):
    """A matplotlib axes to draw on (one figure at a time per process); on exit it gets its titles and is written to
    `path` as PNG. For chart kinds: ``with png_axes(png_path(out_dir, title, fig), (8, 4.5), title, x, y) as ax:``."""
    plt = _pyplot()
    with _PYPLOT_LOCK:
        f, ax = plt.subplots(figsize=size)
        try:
            yield ax
            ax.set_title(title)
            ax.set_xlabel(x_title)
            ax.set_ylabel(y_title)
            _tight(f)
            f.savefig(path, dpi=100)
        finally:
            plt.close(f)
