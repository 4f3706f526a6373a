"""Earful: ask anything of your natural-language feedback.

The shared core lives here (errors, config, the DuckDB store, embeddings, LLM providers, CLI); the four stages
(`ingest`, `classify`, `topics`, `qa_agent`) are top-level packages that read and write only through the store.
Importing this package sets ``HF_HUB_OFFLINE=1`` so that nothing ever reaches for a model hub.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

__version__ = "0.1.0"
