"""What may leave Earful for a model or land in the store: `redact` takes secrets out, `scrub_values` takes data out.

`redact(text)` is the one secret filter, applied at every boundary: `call_llm` runs it over every message before it
is hashed, sent or logged (and over the reply and error it logs), and the agent runs it over the Answer it returns
and the run it logs. Design decision: two nets, because either alone misses. *Exact values*: every key a provider
resolved (`remember_secret`), the variable named by ``[llm] api_key_env``, the usual provider variables, and any
environment variable whose name says it holds a secret (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD``), read
from the environment at each call so a key set later is still caught. *Shapes*: provider key prefixes (``sk-``,
``sk-ant-``, ``ghp_``, ``hf_``, ``AKIA``, ``xox?-``, ``AIza``), ``Bearer ...``, and (*generic*) long hex and long
base64-like tokens.

`scrub_values(error, keep)` is for error text going back to a model when ``[llm] send_rows`` is off: DuckDB and
Python quote the offending cell (``Could not convert string '...' to INT32``), so every quoted literal that the
model did not write itself (not in `keep`) becomes ``'<value>'``.
"""
from __future__ import annotations

import os
import re
import threading
from functools import lru_cache

MASK = "[REDACTED]"
MIN_SECRET_LEN = 8           # shorter values ("1", "yes") would blank out ordinary words

WELL_KNOWN = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY",
              "GOOGLE_API_KEY", "GEMINI_API_KEY", "COHERE_API_KEY", "TOGETHER_API_KEY", "FIREWORKS_API_KEY",
              "DEEPSEEK_API_KEY", "XAI_API_KEY", "PERPLEXITY_API_KEY", "OPENROUTER_API_KEY", "HF_TOKEN",
              "HUGGINGFACEHUB_API_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "GITHUB_TOKEN", "EARFUL_TOKEN")
_SECRET_NAME = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|SECRET_KEY|PASSWORD|PASSWD|CREDENTIALS?)$", re.I)
_PREFIXED = re.compile("|".join((
    r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",                  # OpenAI / Anthropic
    r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}",       # GitHub
    r"\bhf_[A-Za-z0-9]{20,}",                                   # Hugging Face
    r"\bAKIA[0-9A-Z]{16}\b",                                    # AWS access key id
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",                        # Slack
    r"\bAIza[0-9A-Za-z_\-]{30,}",                               # Google
    r"(?i:\bbearer)\s+[A-Za-z0-9._~+/=\-]{8,}",                 # Authorization headers
)))
_GENERIC = re.compile("|".join((
    r"\b[0-9a-fA-F]{32,}\b",                                    # long hex (item ids are 16 hex digits: kept)
    r"(?<![A-Za-z0-9+/_\-])(?=[A-Za-z0-9+/_\-]*\d)(?=[A-Za-z0-9+/_\-]*[A-Za-z])[A-Za-z0-9+/_\-]{40,}={0,2}",
)))

_REMEMBERED: set[str] = set()
_LOCK = threading.Lock()


def remember_secret(value) -> None:
    """Add a key Earful resolved (a provider's API key, a web token) to the exact values `redact` removes."""
    if hasattr(value, "get_secret_value"):      # pydantic SecretStr (langchain's api keys)
        value = value.get_secret_value()
    if isinstance(value, str) and len(value) >= MIN_SECRET_LEN:
        with _LOCK:
            _REMEMBERED.add(value)


def remember_model_keys(chat_model) -> None:
    """The key a langchain chat model was built with, whatever its provider calls the attribute."""
    for attr in ("openai_api_key", "anthropic_api_key", "api_key", "google_api_key", "groq_api_key",
                 "mistral_api_key"):
        remember_secret(getattr(chat_model, attr, None))


def secret_values(settings=None, environ=None) -> list[str]:
    """Every exact secret value known now, longest first (so a key is masked whole, not a prefix of it)."""
    env = os.environ if environ is None else environ
    names = set(WELL_KNOWN) | {n for n in env if _SECRET_NAME.search(n)}
    if settings is not None:
        llm = getattr(settings, "llm", None)
        if llm is not None and getattr(llm, "api_key_env", None):
            names.add(llm.api_key_env)
    values = {env.get(n) for n in names}
    if settings is not None and getattr(getattr(settings, "web", None), "token", None):
        values.add(settings.web.token)
    with _LOCK:
        values |= _REMEMBERED
    return sorted((v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LEN), key=len, reverse=True)


@lru_cache(maxsize=16)
def _alternation(values: tuple) -> re.Pattern:
    return re.compile("|".join(map(re.escape, values))) if values else re.compile(r"(?!)")


def secret_pattern(settings=None, environ=None) -> re.Pattern:
    """One compiled pattern of every exact secret value known now; pass it to `redact` when redacting many strings."""
    return _alternation(tuple(secret_values(settings, environ)))


def redact(text, settings=None, *, generic: bool = True, environ=None, pattern: re.Pattern | None = None):
    """`text` with every secret value and anything key-shaped replaced by ``[REDACTED]``.

    Non-strings pass through unchanged. ``generic=False`` leaves long hex / base64-like strings alone (provider-shaped
    keys and exact values are still masked): used for result-table cells, where an md5 is more likely data than a key.
    `pattern` (from `secret_pattern`) saves looking the secret values up again for each of many strings.
    """
    if not isinstance(text, str) or not text:
        return text
    text = (pattern or secret_pattern(settings, environ)).sub(MASK, text)
    text = _PREFIXED.sub(MASK, text)
    return _GENERIC.sub(MASK, text) if generic else text


def redact_obj(obj, settings=None, *, generic: bool = True, pattern: re.Pattern | None = None):
    """`redact` over every string inside nested dicts / lists / tuples (JSON-like data)."""
    pattern = pattern or secret_pattern(settings)
    if isinstance(obj, str):
        return redact(obj, generic=generic, pattern=pattern)
    if isinstance(obj, dict):
        return {k: redact_obj(v, generic=generic, pattern=pattern) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v, generic=generic, pattern=pattern) for v in obj)
    return obj


# -- data out of error text ---------------------------------------------------------------------------------------
_QUOTED = re.compile(r"""'((?:[^'\\\n]|\\.|'')*)'|"((?:[^"\\\n]|\\.)*)"|`([^`\n]*)`""")
_IDENT = re.compile(r"^[A-Za-z_][\w.]*$")
_SIGNATURE = re.compile(r"^[A-Za-z_]\w*\((?:[A-Z][A-Z0-9_\[\]]*(?:, ?)?)*\)$")     # 'lower(INTEGER)': a type error


def scrub_values(text, keep=()) -> str:
    """Error text with quoted literals replaced by ``'<value>'``, except literals the model wrote or names it knows.

    `keep`: strings that may stay (the program's own code, the schema card's view and column names). A literal is
    kept when it occurs in the code, or when it is an identifier (``"reviews.text"``) whose parts are all known names.
    """
    if not isinstance(text, str) or not text:
        return text
    keep_text = "\n".join(str(k) for k in keep)
    names = {w.lower() for k in keep for w in re.findall(r"[A-Za-z_]\w*", str(k))}

    removed: list[str] = []

    def sub(m):
        inner = next(g for g in m.groups() if g is not None)
        if inner == "" or (inner in keep_text and len(inner) < 200) or _SIGNATURE.match(inner):
            return m.group(0)
        if m.group(3) is not None and re.fullmatch(r"\w{1,16}", inner):     # polars' `str` to `i64`
            return m.group(0)
        if _IDENT.match(inner) and all(p.lower() in names for p in inner.split(".")):
            return m.group(0)
        removed.append(inner)
        q = m.group(0)[0]
        return f"{q}<value>{q}"

    text = _QUOTED.sub(sub, text)
    for value in sorted(set(removed), key=len, reverse=True):   # strptime echoes the value again, unquoted
        if len(value) >= 3:
            text = text.replace(value, "<value>")
    return text
