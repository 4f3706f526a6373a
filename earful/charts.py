"""Shared chart helper: one bar or line chart as plotly figure JSON, plus a PNG (matplotlib) when asked.

Design decision: the plotly JSON is built as a plain dict (the figure schema) rather than through plotly's
objects, so building a chart costs nothing and needs no import; matplotlib is imported lazily, and only
when a PNG is written (``out_dir`` given). Every stage and engine returns ``{title, plotly, png}`` dicts.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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


def _png_path(out_dir: str | Path, title: str, payload: dict) -> Path:
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:8]
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{_slug(title)}-{digest}.png"


def _layout(title: str, x_title: str, y_title: str) -> dict:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}}, "template": "plotly_white"}


def _pyplot():
    from earful.errors import require

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
        from earful.errors import InputError
        raise InputError(f"bar chart '{title}': {len(labels)} labels but {len(values)} values")
    fig = {"data": [{"type": "bar", "x": labels, "y": values}], "layout": _layout(title, x_title, y_title)}
    png = None
    if out_dir is not None:
        path = _png_path(out_dir, title, fig)
        with _png(path, (max(6, min(16, 0.5 * len(labels) + 3)), 4.5), title, x_title, y_title) as ax:
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
            from earful.errors import InputError
            raise InputError(f"line chart '{title}': series '{name}' has {len(ys)} values for {len(xs)} x values")
        data.append({"type": "scatter", "mode": "lines+markers", "name": str(name), "x": xs, "y": ys})
    fig = {"data": data, "layout": _layout(title, x_title, y_title)}
    png = None
    if out_dir is not None:
        path = _png_path(out_dir, title, fig)
        with _png(path, (8, 4.5), title, x_title, y_title) as ax:
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
def _png(path, size, title: str, x_title: str, y_title: str):
    """A matplotlib axes to draw on; on exit it gets its titles and is written to `path` as PNG."""
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
