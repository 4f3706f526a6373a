"""Feedbacker-style subject profiles: where each model, app or product is strong and weak, with significance and quotes.

The API the question engine, the agent, the notebook and reports call:

- ``build_profile(db_path, source, subject_column, score_column=None, *, label_share=None, tree=None,
  category_column=None, ...) -> Profile``
- ``Profile.weakest(subject)`` ("where is X weakest?"), ``Profile.weakest_subject(node)`` ("which model is weakest
  at coding?"), ``Profile.compare([a, b])`` ("profile A against B"), ``Profile.statement(subject, kind)``,
  ``Profile.node_rows()``, ``Profile.to_json()``, ``Profile.frames()`` (polars), and
  ``earful.qa_agent.profiles.html.profile_figures(profile)`` / ``profile_html(profile)``.
"""
from __future__ import annotations

from pathlib import Path

from earful.qa_agent.profiles.profile import Comparison, Finding, Profile, Quote, add_quotes, profile_from_arrays
from earful.qa_agent.profiles.tree import Node, Tree, load_tree, tree_from_spec, tree_from_values

__all__ = ["build_profile", "profile_from_arrays", "Profile", "Finding", "Comparison", "Quote", "Tree", "Node",
           "load_tree", "tree_from_spec", "tree_from_values"]


def _wildbench_tree() -> Tree:
    from earful.qa_agent.profiles.wildbench import wildbench_tree

    return wildbench_tree()


BUILTIN_TREES = {"wildbench": _wildbench_tree}   # --tree NAME: trees that ship with Earful


def build_profile(db_path, source: str, subject_column: str, score_column: str | None = None, *,
                  label_share: tuple[str, str] | str | None = None, tree: Tree | dict | str | Path | None = None,
                  category_column: str | None = None, labels: str | None = None, unit_column: str | None = None,
                  category_source: str | None = None, subjects: list[str] | None = None, min_items: int = 20,
                  alpha: float = 0.05, correction: str = "holm", n_boot: int = 1000, seed: int = 0,
                  higher_is_better: bool = True, quotes: int = 3, strength_column: str | None = None,
                  weakness_column: str | None = None) -> Profile:
    """Profile the subjects in `subject_column` of `source` (a workspace file or an open Store).

    The measure is `score_column` (numeric; bootstrap intervals) or `label_share` ``(column, value)`` or
    ``"column=value"`` (the share of items with that label; Wilson intervals). Items reach the `tree` (a `Tree`, a
    nested dict, a built-in name such as ``"wildbench"``, or a JSON/YAML file, Feedbacker's ``cata_tree.json``
    included) through `category_column` (a column of the source, or
    of `category_source`) or `labels` (a classify taxonomy's labels); with a `unit_column` every item of one unit
    takes the unit's majority category. With no tree, the category values are the tree. ``tree="topics"`` is
    the workspace's fitted topics grouped under their topic-hierarchy clusters, each item placed by its topic
    assignment (see `topictree`); ``tree="auto"`` is that when no category option is given, and an error naming
    the three ways to give categories when no topics are fitted. `subjects` chooses which
    subjects are reported and compared (all are used for the statistics). Quotes come from `weakness_column` /
    `strength_column`, by default the ``weaknesses`` / ``strengths`` columns when the source has them (WildBench),
    else ``text``.
    """
    from earful.errors import InputError
    from earful.qa_agent.profiles import data
    from earful.store import Store

    if isinstance(label_share, str):
        if "=" not in label_share:
            raise InputError(f"--label-share '{label_share}' must be COLUMN=VALUE", hint="e.g. feedback_type=bug")
        label_share = tuple(x.strip() for x in label_share.split("=", 1))
    by_topics = isinstance(tree, str) and tree in ("topics", "auto")
    if by_topics and (category_column is not None or labels is not None or category_source is not None):
        if tree == "topics":
            raise InputError("--tree topics places items by their topic assignment; it takes no --category-column, "
                             "--labels or --category-source",
                             hint="drop those options, or give a --tree FILE instead")
        by_topics, tree = False, None   # "auto" with a category option: that option decides
    if by_topics:
        pass
    elif isinstance(tree, str) and tree in BUILTIN_TREES:
        tree = BUILTIN_TREES[tree]()
    elif isinstance(tree, dict):
        tree = tree_from_spec(tree)
    elif tree is not None and not isinstance(tree, Tree):
        tree = load_tree(tree)
    if tree is not None and not by_topics and category_column is None and labels is None:
        raise InputError("a tree needs a way for items to reach its nodes",
                         hint="add --category-column COL (values name the nodes) or --labels TAXONOMY")
    own = not hasattr(db_path, "query")
    store = Store(db_path, read_only=True) if own else db_path
    try:
        items = data.load_items(store, source, subject_column, score_column, label_share, category_column, labels,
                                unit_column, category_source, None)
        if by_topics:   # --tree topics, or "auto" (the CLI's default): the fitted topics under their groups
            from earful.qa_agent.profiles import topictree

            auto = tree == "auto"
            tree, items.category, topic_notes = topictree.topic_categories(store, source, items.item_id)
            items.notes = items.notes + topic_notes + (
                ["categories: the fitted topics (the default when no --tree, --category-column or --labels is "
                 "given)"] if auto else [])
        elif category_column is None and labels is None:   # no categories: one node, the overall standing only
            import numpy as np

            tree = tree_from_values(["(uncategorised)"])
            items.category = np.full(len(items.y), "(uncategorised)", dtype=object)
        measure = "score" if score_column else f"share of {label_share[0]} = {label_share[1]}"
        prof = profile_from_arrays(items.subject, items.y, items.category, tree, subjects=subjects,
                                   min_items=min_items, alpha=alpha, correction=correction, n_boot=n_boot, seed=seed,
                                   higher_is_better=higher_is_better, proportion=label_share is not None or None,
                                   source=source, subject_column=subject_column, measure=measure, notes=items.notes,
                                   unit=items.unit)
        if by_topics:   # the topic notes already say why items are in no category
            prof.notes = [n for n in prof.notes if not n.endswith("in no category: missing")]
        if quotes:
            cols = {c.lower() for c in data.columns_of(store, source)}
            w = weakness_column or ("weaknesses" if "weaknesses" in cols else "text")
            s = strength_column or ("strengths" if "strengths" in cols else "text")
            add_quotes(prof, store, items.item_id, items.y, k=quotes, strength_column=s,
                       weakness_column=w)
        prof.params.update({"category_column": category_column, "labels": labels, "unit_column": unit_column,
                            "category_source": category_source, "tree": prof.tree.origin})
        return prof
    finally:
        if own:
            store.close()
