"""Progress for long commands, always on stderr: per-batch counts (`batches`) and named phases (`phases`).

Design decision: the work reports through plain callbacks (``step(done, total)``, ``phase(name)``) and only this
module decides how they look: a rich bar / spinner when stderr is a terminal, one plain line per event otherwise
(logs, CI, pipes), so nothing ever lands on stdout, where `--json` output goes. Under `--json` progress is shown
only on a terminal; a script that captures stderr gets no chatter.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _wanted(as_json: bool) -> tuple[bool, bool]:
    """(show anything, as rich) for this command."""
    tty = sys.stderr.isatty()
    return (tty or not as_json), tty


def _plain(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def batches(label: str, *, unit: str = "texts", as_json: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A ``step(done, total)`` callback: a bar with count, rate and elapsed time, or a plain line per batch."""
    show, rich = _wanted(as_json)
    t0 = time.perf_counter()
    if not show:
        yield lambda done, total: None
        return
    if not rich:
        def line(done: int, total: int) -> None:
            nonlocal t0
            if done == 0:   # the work is ready to start (a model loaded): the rate counts from here
                _plain(f"{label}: {total} {unit} to do (ready after {time.perf_counter() - t0:.1f}s)")
                t0 = time.perf_counter()
                return
            el = time.perf_counter() - t0
            rate = done / el if el > 0 else 0.0
            pct = 100 * done / total if total else 100
            _plain(f"{label}: {done}/{total} {unit} ({pct:.0f}%), {rate:.1f} {unit}/s, {el:.1f}s elapsed")
        yield line
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)
    task = None

    def step(done: int, total: int) -> None:
        nonlocal task, t0
        if done == 0:
            t0 = time.perf_counter()
        el = time.perf_counter() - t0
        rate = f"{done / el:.1f} {unit}/s" if el > 0 else ""
        if task is None:
            task = prog.add_task(label, total=total, rate=rate)
        prog.update(task, completed=done, total=total, rate=rate)

    with prog:
        yield step


@contextmanager
def phases(label: str, *, as_json: bool = False) -> Iterator[Callable[[str], None]]:
    """A ``phase(name)`` callback: each phase is printed as it starts, with the seconds elapsed since the work
    began (``LABEL: [  12.3s] NAME``), and ``done`` at the end; on a terminal a spinner shows the current one."""
    show, rich = _wanted(as_json)
    t0 = time.perf_counter()
    if not show:
        yield lambda name: None
        return
    status = None
    if rich:
        from rich.console import Console
        from rich.text import Text

        status = Console(stderr=True).status("")
        status.start()

    def phase(name: str) -> None:
        text = f"{label}: [{time.perf_counter() - t0:7.1f}s] {name}"
        if status is not None:
            status.console.print(text, markup=False, highlight=False)
            status.update(Text(f"{label}: {name}…"))
        else:
            _plain(text)

    try:
        yield phase
        phase("done")
    finally:
        if status is not None:
            status.stop()
