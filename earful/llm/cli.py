"""`earful llm log` (recent LLM calls and token totals) and `earful llm serve-local` (llama.cpp + SmolLM2).

Design decision: `serve-local` only wraps ``python -m llama_cpp.server`` from the optional ``local`` extra, bound to
127.0.0.1, so tests and demos exercise the real OpenAI-compatible HTTP path with no key and no internet.
"""
from __future__ import annotations

import sys

import typer

from earful.cli.common import JSON_OPTION, console, emit, state

llm_app = typer.Typer(help="The LLM layer: call log and a local OpenAI-compatible server.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")


@llm_app.command("log")
def log_cmd(ctx: typer.Context, limit: int = typer.Option(20, "--limit", help="how many recent calls"),
            as_json: bool = JSON_OPTION):
    """Show recent LLM calls (purpose, model, tokens, latency, cached, outcome) and token totals."""
    with state(ctx).store() as store:
        calls = store.rows("SELECT strftime(created_at, '%Y-%m-%d %H:%M:%S') AS created_at, purpose, prompt_version, "
                           "model, input_tokens, output_tokens, round(latency_ms) AS ms, cached, outcome "
                           "FROM llm_calls ORDER BY llm_calls.created_at DESC LIMIT ?",
                           [limit])
        tot = store.rows("SELECT count(*), count(*) FILTER (WHERE cached), "
                         "coalesce(sum(input_tokens) FILTER (WHERE NOT cached), 0), "
                         "coalesce(sum(output_tokens) FILTER (WHERE NOT cached), 0), "
                         "count(*) FILTER (WHERE outcome <> 'ok') "
                         "FROM llm_calls")[0]
    cols = ["created_at", "purpose", "prompt_version", "model", "input_tokens", "output_tokens", "ms", "cached",
            "outcome"]
    totals = dict(zip(["calls", "cache_hits", "input_tokens", "output_tokens", "failed"], tot))
    if as_json:
        emit({"calls": [dict(zip(cols, r)) for r in calls], "totals": totals}, as_json=True)
        return
    table, hidden = _log_table(calls, console.width)
    console.print(table)
    if hidden:
        console.print(f"({', '.join(hidden)} hidden at {console.width} columns; a wider terminal or --json shows them)",
                      markup=False, highlight=False)
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


# (query column, header, narrowest useful width for its values), in display order; headers are single words, so a
# column is never narrower than its header and a name never breaks: the values wrap instead.
_LOG_COLUMNS = [("created_at", "when", 10), ("purpose", "purpose", 10), ("prompt_version", "prompt", 6),
                ("model", "model", 12), ("input_tokens", "tok_in", 6), ("output_tokens", "tok_out", 7),
                ("ms", "ms", 5), ("cached", "cached", 6), ("outcome", "outcome", 7)]
_LOG_DROP_FIRST = ["prompt_version", "cached", "ms", "output_tokens", "input_tokens"]   # least important first


def _log_table(calls: list, width: int):
    """The call log as a table that fits `width` columns: least important columns dropped until every kept column
    can be as wide as its header (3 characters of border and padding each). Returns (table, hidden headers)."""
    from rich.table import Table
    from rich.text import Text

    keep = list(_LOG_COLUMNS)
    hidden = []
    for key in _LOG_DROP_FIRST:
        if sum(max(len(h), w) + 3 for _, h, w in keep) + 1 <= width:
            break
        hidden += [h for k, h, _ in keep if k == key]
        keep = [c for c in keep if c[0] != key]
    index = {k: i for i, (k, _, _) in enumerate(_LOG_COLUMNS)}
    cells = [[("" if r[index[k]] is None else str(r[index[k]])) for k, _, _ in keep] for r in calls]
    widths = [max(len(h), w) for _, h, w in keep]
    wants = [max([widths[j]] + [len(c[j]) for c in cells]) for j in range(len(keep))]
    spare = width - (sum(widths) + 3 * len(keep) + 1)
    while spare > 0 and widths != wants:          # share the room left, a character at a time, where values need it
        for j in range(len(keep)):
            if spare > 0 and widths[j] < wants[j]:
                widths[j], spare = widths[j] + 1, spare - 1
    table = Table(title=Text("recent LLM calls"))
    for (_, header, _), w in zip(keep, widths):
        table.add_column(Text(header), width=w, overflow="fold")
    for row in cells:
        table.add_row(*[Text(c) for c in row])
    return table, hidden


@llm_app.command("serve-local")
def serve_local_cmd(port: int = typer.Option(8080, "--port", help="port on 127.0.0.1"),
                    model: str = typer.Option(None, "--model",
                                              help="a GGUF file (default: SmolLM2-135M from the local extra)"),
                    ubatch: int = typer.Option(None, "--ubatch", help="llama.cpp batch size; 1 works around builds "
                                                                     "that crash while reading prompts"),
                    alias: str = typer.Option("smollm2", "--alias", help="model name for clients "
                                                                         "(--llm openai-compatible:ALIAS)"),
                    threads: int = typer.Option(None, "--threads", help="llama.cpp CPU threads (default: its own)")):
    """Start llama.cpp's OpenAI-compatible server with SmolLM2 on 127.0.0.1 (needs pip install 'earful\\[local]')."""
    import os

    from earful.llm.local import serve_local_command

    cmd = serve_local_command(port, model, ubatch=ubatch, alias=alias, threads=threads)
    console.print(f"serving on http://127.0.0.1:{port}/v1 - use: earful ask --llm openai-compatible:{alias} "
                  f"--llm-base-url http://127.0.0.1:{port}/v1 \"QUESTION\"  (Ctrl-C stops)")
    sys.stdout.flush()
    os.execv(cmd[0], cmd)   # become the server: signals (Ctrl-C, kill) reach it directly
