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
    emit(None, as_json=False, columns=cols, rows=[list(r) for r in calls], title="recent LLM calls")
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


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
