"""Topics stage: BERTopic topics over the stored embeddings, readable labels, human edits, stable ids, trends.

Public API (import from the submodules; nothing heavy is imported here):
``topics.fit.fit_topics(store, source=, where=, ...)``, ``topics.assign.assign_new(store)`` (run after ingest when
``topics.assign.has_model(store)``), ``topics.assign.drift(store)``, ``topics.edits.edit(store, op, ids, value)``,
``topics.timeline.over_time / trends / breakdown``, ``topics.report.topic_list / topic_detail / hierarchy / charts``.
SQL for the agent: view ``topic_items(item_id, source, created_at, topic_id, topic, score, method)``, tables
``topics``, ``topic_assignments``, ``topic_hierarchy``, ``topic_lineage``, and columns ``topic_id``/``topic`` in
every source's view.
"""
