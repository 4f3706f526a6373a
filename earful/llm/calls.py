"""`call_llm`: one cached, logged, retried call to a chat model; `call_llm_many` runs many under a concurrency limit.

Design decision: the cache key is sha256 over (model id, prompt version, normalised messages, schema name), and the
cache *is* the call log (`llm_calls` in the store): a hit is the newest successful row with that key, and the hit
itself is logged too (``cached = true``), so `earful llm log` shows what was paid for and what was not.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from earful.errors import ExecutionError
from earful.llm.redact import redact, redact_obj, remember_model_keys

_STORE_LOCK = threading.RLock()   # one DuckDB connection is shared by call_llm_many's threads
_RETRYABLE = re.compile(r"RateLimit|Timeout|TimedOut|APIConnection|ServiceUnavailable|Overloaded|InternalServer")


@dataclass
class LLMReply:
    text: str
    parsed: Any = None               # a `schema` instance when a schema was given and the reply parsed
    cached: bool = False
    model: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0
    call_id: str = ""
    parse_error: str | None = None


def model_id(chat_model) -> str:
    """A stable id for a chat model, e.g. 'openai:gpt-4o-mini', 'openai-compatible:smollm2@http://...',
    'fake-list-chat-model'."""
    kind = getattr(chat_model, "_llm_type", None) or type(chat_model).__name__
    name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    kind = {"openai-chat": "openai", "azure-openai-chat": "azure_openai", "anthropic-chat": "anthropic",
            "chat-ollama": "ollama"}.get(kind, kind)
    base = getattr(chat_model, "openai_api_base", None)
    if base and kind == "openai":
        kind = "openai-compatible"
    out = f"{kind}:{name}" if isinstance(name, str) and name else str(kind)
    return f"{out}@{base}" if base else out


def normalise_messages(messages) -> list[dict]:
    """Accept [(role, text)], [{role, content}] or langchain messages; return [{role, content}] (for hashing/logs)."""
    out = []
    for m in messages:
        if isinstance(m, tuple):
            role, content = m
        elif isinstance(m, dict):
            role, content = m["role"], m["content"]
        else:
            role = {"human": "user", "ai": "assistant"}.get(m.type, m.type)
            content = m.content
        out.append({"role": str(role), "content": content if isinstance(content, str) else json.dumps(content)})
    return out


def _to_langchain(msgs: list[dict]):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    cls = {"system": SystemMessage, "user": HumanMessage, "human": HumanMessage,
           "assistant": AIMessage, "ai": AIMessage}
    return [cls.get(m["role"], HumanMessage)(content=m["content"]) for m in msgs]


def cache_key(model: str, prompt_version: str, msgs: list[dict], schema=None) -> str:
    blob = json.dumps({"m": model, "v": prompt_version, "msgs": msgs, "s": schema.__name__ if schema else None},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def parse_json_text(text: str):
    """The first JSON object in a model's text (tolerates ```json fences and chatter around it)."""
    fence = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidates = [fence.group(1)] if fence else []
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:text.rfind("}") + 1])
    for c in candidates:
        try:
            return json.loads(c)
        except ValueError:
            try:  # raw_decode stops at the end of the first object
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except ValueError:
                continue
    raise ValueError("no JSON object found in the reply")


def _validate(schema, data):
    return schema.model_validate(data) if hasattr(schema, "model_validate") else data


def _usage(msg) -> tuple[int | None, int | None]:
    meta = getattr(msg, "usage_metadata", None) or {}
    return meta.get("input_tokens"), meta.get("output_tokens")


def _invoke(chat_model, lc_msgs, schema):
    """One model call. Returns (text, parsed_or_None, parse_error, input_tokens, output_tokens)."""
    if schema is not None:
        try:
            runnable = chat_model.with_structured_output(schema, method="function_calling", include_raw=True)
        except (NotImplementedError, TypeError, ValueError):
            runnable = None  # fakes and some local models: no tool calling -> parse JSON from text below
        if runnable is not None:
            out = runnable.invoke(lc_msgs)
            raw = out.get("raw")
            tin, tout = _usage(raw)
            text = raw.content if isinstance(getattr(raw, "content", None), str) else ""
            if out.get("parsed") is not None:
                parsed = out["parsed"]
                text = text or json.dumps(parsed.model_dump() if hasattr(parsed, "model_dump") else parsed)
                return text, parsed, None, tin, tout
            calls = getattr(raw, "tool_calls", None) or []
            if calls and not text:
                text = json.dumps(calls[0].get("args", {}))
            return (text, *_parse_fallback(schema, text), tin, tout)
    msg = chat_model.invoke(lc_msgs)
    text = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
    tin, tout = _usage(msg)
    if schema is None:
        return text, None, None, tin, tout
    return (text, *_parse_fallback(schema, text), tin, tout)


def _parse_fallback(schema, text):
    try:
        return _validate(schema, parse_json_text(text)), None
    except Exception as exc:  # noqa: BLE001 - any parse/validation failure is reported, not raised
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def is_retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return bool(_RETRYABLE.search(type(exc).__name__)) or status in (408, 429, 500, 502, 503, 504)


def _lookup(store, key: str, schema):
    if store is None:
        return None
    with _STORE_LOCK:
        if not store.table_exists("llm_calls"):
            return None
        rows = store.rows("SELECT response, input_tokens, output_tokens FROM llm_calls WHERE cache_key = ? "
                          "AND outcome = 'ok' AND NOT cached ORDER BY created_at DESC LIMIT 1", [key])
    if not rows:
        return None
    text, tin, tout = rows[0]
    if schema is None:
        return text, None, tin, tout
    parsed, err = _parse_fallback(schema, text)
    return (text, parsed, tin, tout) if err is None else None


def _log(store, row: dict) -> None:
    if store is None or getattr(store, "read_only", False):
        return
    cols = list(row)
    with _STORE_LOCK:
        if not store.table_exists("llm_calls"):
            return
        store.con.execute(f"INSERT INTO llm_calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                          [row[c] for c in cols])


def call_llm(store, chat_model, messages, *, prompt_version: str, purpose: str, schema=None,
             conversation_id: str | None = None, use_cache: bool = True, retries: int = 3,
             backoff_s: float = 0.5) -> LLMReply:
    """Call `chat_model` once (or answer from the cache), with retries on rate limits/timeouts; log it in `store`.

    `messages`: [(role, text)] / [{role, content}] / langchain messages. With `schema` (a pydantic model) the reply is
    parsed through tool calling (``method="function_calling"``; llama.cpp rejects json_schema), else from JSON in the
    text; a reply that does not parse comes back with ``parsed=None`` and ``parse_error`` set, for a repair loop.
    Secrets are redacted (`earful.llm.redact`) from the messages before they are hashed, sent or logged, and from
    the reply and error text that is logged. Raises ExecutionError when the model keeps failing.
    """
    remember_model_keys(chat_model)
    msgs = redact_obj(normalise_messages(messages))
    mid = model_id(chat_model)
    key = cache_key(mid, prompt_version, msgs, schema)
    row = {"call_id": uuid.uuid4().hex, "created_at": datetime.now(UTC), "conversation_id": conversation_id,
           "purpose": purpose, "prompt_version": prompt_version, "model": mid, "cache_key": key,
           "messages": json.dumps(msgs, ensure_ascii=False)}
    hit = _lookup(store, key, schema) if use_cache else None
    if hit is not None:
        text, parsed, tin, tout = hit
        _log(store, {**row, "response": text, "input_tokens": tin, "output_tokens": tout, "latency_ms": 0.0,
                     "cached": True, "outcome": "ok", "error": None})
        return LLMReply(text, parsed, True, mid, tin, tout, 0.0, row["call_id"])
    lc_msgs = _to_langchain(msgs)
    t0 = time.perf_counter()
    attempt = 0
    while True:
        try:
            text, parsed, perr, tin, tout = _invoke(chat_model, lc_msgs, schema)
            break
        except Exception as exc:  # noqa: BLE001 - classified below, logged, re-raised as ExecutionError
            if is_retryable(exc) and attempt < retries:
                time.sleep(backoff_s * (2 ** attempt))
                attempt += 1
                continue
            ms = (time.perf_counter() - t0) * 1000
            _log(store, {**row, "response": None, "input_tokens": None, "output_tokens": None, "latency_ms": ms,
                         "cached": False, "outcome": "error",
                         "error": redact(f"{type(exc).__name__}: {exc}")[:2000]})
            raise ExecutionError(f"the LLM call ({purpose}, {mid}) failed after {attempt + 1} attempt(s): "
                                 f"{type(exc).__name__}: {redact(str(exc))[:300]}",
                                 hint="check the model name, the server / key, or try again later") from exc
    ms = (time.perf_counter() - t0) * 1000
    outcome = "ok" if perr is None else "unparsed"
    _log(store, {**row, "response": redact(text), "input_tokens": tin, "output_tokens": tout, "latency_ms": ms,
                 "cached": False, "outcome": outcome, "error": redact(perr)})
    return LLMReply(text, parsed, False, mid, tin, tout, ms, row["call_id"], perr)


def call_llm_many(store, chat_model, batch, *, prompt_version: str, purpose: str, schema=None,
                  concurrency: int = 4, return_exceptions: bool = False, progress=None, **kw) -> list:
    """`call_llm` over many message lists with at most `concurrency` in flight; results in input order.

    With ``return_exceptions=True`` a failed call yields its EarfulError in place of an LLMReply instead of
    stopping the batch. `progress`, when given, is called with the number of finished calls.
    """
    done = 0
    lock = threading.Lock()

    def one(msgs):
        nonlocal done
        try:
            return call_llm(store, chat_model, msgs, prompt_version=prompt_version, purpose=purpose, schema=schema,
                            **kw)
        except Exception as exc:  # noqa: BLE001
            if not return_exceptions:
                raise
            return exc
        finally:
            with lock:
                done += 1
                if progress:
                    progress(done)

    with ThreadPoolExecutor(max_workers=max(1, int(concurrency))) as pool:
        return list(pool.map(one, list(batch)))
