"""LLM and agent tables: the call log (which is also the cache), conversations with their turns, and agent runs.

`llm_calls.cache_key` = sha256(model id, prompt version, messages, schema); a cache hit is logged as its own row
with ``cached = true`` so token totals count only what was paid for.
"""
from __future__ import annotations


def migrate(con) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS llm_calls (
        call_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ, conversation_id VARCHAR, purpose VARCHAR,
        prompt_version VARCHAR, model VARCHAR, cache_key VARCHAR, messages VARCHAR, response VARCHAR,
        input_tokens INTEGER, output_tokens INTEGER, latency_ms DOUBLE, cached BOOLEAN, outcome VARCHAR,
        error VARCHAR)""")
    con.execute("CREATE INDEX IF NOT EXISTS llm_calls_key ON llm_calls (cache_key)")
    con.execute("""CREATE TABLE IF NOT EXISTS conversations (
        conversation_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, title VARCHAR)""")
    con.execute("""CREATE TABLE IF NOT EXISTS conversation_turns (
        conversation_id VARCHAR, turn INTEGER, created_at TIMESTAMPTZ, question VARCHAR, engine VARCHAR,
        status VARCHAR, answer VARCHAR, plan VARCHAR, steps VARCHAR, reply VARCHAR,
        PRIMARY KEY (conversation_id, turn))""")
    con.execute("""CREATE TABLE IF NOT EXISTS agent_runs (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ, conversation_id VARCHAR, question VARCHAR,
        engine VARCHAR, model VARCHAR, status VARCHAR, attempts INTEGER, latency_ms DOUBLE, sandbox VARCHAR,
        notes VARCHAR)""")
