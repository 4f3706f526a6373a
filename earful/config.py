"""Typed settings for a workspace.

Precedence, documented once and applied only here: CLI flag > ``EARFUL_*`` environment variable > ``earful.toml``
> default. Every section is a pydantic model with ``extra="forbid"``, so a misspelt key is an error, not a silent
default. Environment variables map onto keys as ``EARFUL_<SECTION>_<KEY>`` (``EARFUL_LLM_MODEL``), plus the two
short forms ``EARFUL_DB`` and ``EARFUL_LLM``.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from earful.errors import ConfigError

CONFIG_FILE = "earful.toml"

# What a process that Earful runs as its main program sets, where the user has not: no model hub is ever
# contacted (the models are packaged), and no progress bars or advisory warnings from the model libraries.
PROCESS_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def apply_process_env() -> None:
    """Give this process `PROCESS_ENV` where a variable is unset. Called by the programs' entry points (the CLI's
    ``main``, ``python -m earful.demo``) and the test suite, never on import, so a library user's process is theirs."""
    for key, value in PROCESS_ENV.items():
        os.environ.setdefault(key, value)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LLMSettings(_Section):
    model: str = Field("none",
                       description="'none' (built-in engine only) or 'provider:model', e.g. 'openai:gpt-4o-mini'")
    base_url: str | None = Field(None, description="OpenAI-compatible server URL (vLLM, llama.cpp, Ollama, LM Studio)")
    api_key_env: str | None = Field(
        None, description="environment variable holding the key, when not the provider's usual one")
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 60.0
    max_retries: int = 3
    concurrency: int = 4
    requests_per_s: float | None = Field(None, gt=0, description="at most this many calls a second per process or Ray "
                                                                 "actor (`classify run --method llm` on a lake)")
    send_rows: bool = Field(False, description="allow sample rows of your data in prompts")


class EmbeddingSettings(_Section):
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 128


class AgentSettings(_Section):
    max_repairs: int = 3
    timeout_s: float = 30.0
    memory_mb: int = 2048
    max_output_bytes: int = 2_000_000
    sandbox: str = Field("auto", description="'auto' (bubblewrap when available), 'bwrap', 'unshare', 'subprocess' "
                                             "(both SQL only), or 'unsafe' (opt-in: model-written Python without "
                                             "bubblewrap)")


class IngestSettings(_Section):
    max_field_bytes: int = 1_000_000


class SQLSettings(_Section):
    timeout_s: float = Field(60.0, description="`earful sql`: interrupt a query after this many seconds")
    memory_mb: int = Field(4096, description="`earful sql`: DuckDB memory limit for one query")


class WebSettings(_Section):
    token: str | None = Field(None, description="required on every request when serving off loopback (EARFUL_TOKEN)")


class DeliverySettings(_Section):
    """Where `earful report --deliver` sends reports; secrets only from here or EARFUL_DELIVERY_* variables."""
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = Field(None, description="EARFUL_DELIVERY_SMTP_PASSWORD (never a flag)")
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    email_from: str = "earful@localhost"
    webhook_url: str | None = Field(None, description="EARFUL_DELIVERY_WEBHOOK_URL: a Slack-compatible incoming "
                                                      "webhook (a secret: never a flag)")
    report_url: str | None = Field(None, description="URL where the --out folder is served, for links in messages")
    retries: int = Field(4, description="retries after a failed delivery, with exponential backoff")
    backoff_s: float = Field(2.0, description="first retry delay; doubles each time")
    timeout_s: float = 30.0


class Settings(_Section):
    db: str = "earful.duckdb"
    wait_s: float = Field(10.0, description="how long to wait for a workspace another process is writing (--wait)")
    llm: LLMSettings = LLMSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    agent: AgentSettings = AgentSettings()
    ingest: IngestSettings = IngestSettings()
    sql: SQLSettings = SQLSettings()
    web: WebSettings = WebSettings()
    delivery: DeliverySettings = DeliverySettings()


_SHORT_ENV = {"EARFUL_DB": ("db",), "EARFUL_LLM": ("llm", "model"), "EARFUL_TOKEN": ("web", "token"),
              "EARFUL_WAIT": ("wait_s",)}


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _env_layer(environ: dict[str, str]) -> dict:
    layer: dict = {}
    sections = {name for name, f in Settings.model_fields.items() if isinstance(f.default, BaseModel)}
    for name, value in environ.items():
        if name in _SHORT_ENV:
            _set(layer, _SHORT_ENV[name], value)
            continue
        if not name.startswith("EARFUL_") or name in ("EARFUL_DEBUG",):
            continue
        rest = name[len("EARFUL_"):].lower()
        section, _, key = rest.partition("_")
        if section in sections and key:
            _set(layer, (section, key), value)
    return layer


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(config_path: str | Path | None = None, overrides: dict | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from the file, the environment and CLI overrides (a nested dict; None values are ignored)."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(config_path or environ.get("EARFUL_CONFIG", CONFIG_FILE))
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the file or remove it") from exc
    data = _merge(data, _env_layer(environ))
    clean = _drop_none(overrides or {})
    data = _merge(data, clean)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting '{where}': {first['msg']}",
                          hint=f"check {path}, EARFUL_* variables and command-line flags") from exc


def _drop_none(d: dict) -> dict:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}
