"""Earful: ask anything of your natural-language feedback.

The shared core lives here (errors, config, the DuckDB store, embeddings, LLM providers, CLI); the four stages
(`ingest`, `classify`, `topics`, `qa_agent`) install inside this package (``earful.ingest``, ...) and read and write
only through the store. Importing Earful changes nothing in the process: the programs Earful runs as (the CLI,
``make demo``) call `earful.config.apply_process_env` for their offline, quiet environment.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext earful`` in Jupyter/IPython: the ``%%ask``, ``%earful_sql`` and ``%earful_db`` magics."""
    from earful.notebook import load_ipython_extension as load

    load(ipython)
