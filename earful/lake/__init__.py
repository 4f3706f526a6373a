"""The lake: a workspace as a Hive-partitioned Parquet dataset, a DuckDB catalog of views over it, and the model
stages run over it by one code path on one machine (``--engine local``) or a Ray cluster (``--engine ray``).

Design decision: Parquet on a path or object store is the interchange format; workers never open a ``.duckdb`` file
(DuckDB allows one writer process). DuckDB stays the SQL layer: `earful.lake.catalog` makes a catalog database whose
tables are views with ``read_parquet(..., hive_partitioning = true)``. Each model stage is a class whose constructor
loads its model and whose ``__call__(pa.Table) -> pa.Table`` is pure (`earful.lake.stages`); only
`earful.lake.runner` knows the engine.

Layout (``ROOT`` is a folder or a URL pyarrow can open)::

    _lake.json                                   manifest: which partitions are current
    meta/<table>.parquet                         small workspace tables (sources, taxonomies, topics, models, ...)
    items/source=<s>/date=<d>/part-*.parquet     canonical items (item_id, text, created_at, rating, ...)
    raw/source=<s>/date=<d>/part-*.parquet       each source's original columns, keyed by item_id
    embeddings/model=<m>/part-*.parquet          (content_hash, vector), append-only
    labels/taxonomy=<t>/model=<v>/part-*.parquet
    topics/run=<r>/part-*.parquet                topic assignments
    rollups/<name>/source=<s>/month=<YYYY-MM>/part-0.parquet
"""
