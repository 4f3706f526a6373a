"""Classification stage: label every item with user-defined taxonomies (offline models, few-shot LLM, cascade).

Entry points: `classify.base` (Taxonomy, Classifier interface, registry), `classify.workspace` (train / run against
the store), `classify.evaluate` (k-fold metrics, error-aware shares), `classify.cli` (`earful classify ...`).
"""
