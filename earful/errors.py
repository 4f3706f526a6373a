"""Earful's exception tree: one root, `EarfulError`, whose messages tell the user what to do next.

Only the CLI and web layers turn these into exit codes / HTTP responses; library code just raises.
"""
from __future__ import annotations


class EarfulError(Exception):
    """Root of every error Earful raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(EarfulError):
    """Bad input from the user: a missing path, an empty or binary file, an unknown format, a missing column."""

    exit_code = 2


class ConfigError(EarfulError):
    """A setting is wrong or missing (misspelt key in earful.toml, unknown provider)."""

    exit_code = 2


class NotFoundError(EarfulError):
    """A named thing (source, taxonomy, topic, conversation) does not exist in the workspace."""

    exit_code = 2


class NeedsKeyError(ConfigError):
    """An LLM provider needs an API key that is not set."""


class NotInstalledError(EarfulError):
    """An optional dependency is missing; the message carries the exact pip install line."""

    exit_code = 3

    def __init__(self, package: str, extra: str | None = None, purpose: str = ""):
        line = f"pip install 'earful[{extra}]'" if extra else f"pip install {package}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"{package} is needed{what} but is not installed - install it with: {line}")


class ReadOnlyError(EarfulError):
    """A statement tried to change the workspace through a read-only path (earful sql, the agent's executor)."""

    exit_code = 2


class ExecutionError(EarfulError):
    """Generated or user code failed, timed out, or was stopped by the sandbox."""

    exit_code = 1


def require(module: str, package: str | None = None, extra: str | None = None, purpose: str = ""):
    """Import `module` lazily; raise NotInstalledError with the exact pip line when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise NotInstalledError(package or module, extra, purpose) from exc
