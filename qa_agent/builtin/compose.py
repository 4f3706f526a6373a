"""The built-in engine's number format, kept importable here for `qa_agent.agent` (answers are worded by
answer.py now; this module goes once agent.py imports `fmt` from there)."""
from earful.qa_agent.builtin.answer import fmt

__all__ = ["fmt"]
