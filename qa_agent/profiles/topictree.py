"""A profile's category tree built from the workspace's fitted topics (``--tree topics``): the topics are the leaves,
grouped under the clusters of the stored topic hierarchy, and each item reaches its topic through its assignment.

Design decision: this reads the topics stage's tables (``topics``, ``topic_assignments``, ``topic_hierarchy``) with
SQL through the store, never by importing ``earful.topics`` (an import-linter contract keeps the stages apart). The
hierarchy is a binary agglomerative tree, too deep to read, so it is cut: starting from its root, the merge with the
largest distance is split again until there are about ``1.3 * sqrt(topics)`` groups (2 to 10); a group is named by
the hierarchy's stored name (its two largest topics' names joined), and a group of one topic is that topic under the
root. Outlier items (topic -1) and items with no assignment are in no category: they count in ``(all)`` only and
the profile's notes say how many. Topics fitted over one text field (``earful topics fit --source S --field
weaknesses``: WildBench's weakness topics) are read the same way; the tree's origin names the field, and items with
no text in that field (never assigned) are counted apart from items ingested after the fit.
"""
from __future__ import annotations

import math

import numpy as np

from earful.errors import NotFoundError
from earful.qa_agent.profiles.tree import ROOT, Node, Tree, _add

MAX_GROUPS = 10
MIN_TOPICS_TO_GROUP = 5   # fewer topics than this stay flat: groups of one or two topics add nothing


def no_categories_error(source: str) -> NotFoundError:
    """The error for a profile with no categories at all: it lists the three ways to give them."""
    return NotFoundError(
        f"no categories for the profile of '{source}': no --tree, --category-column or --labels was given, and its "
        f"items have no fitted topics",
        hint=f"give categories one of three ways: (1) --category-column COL, whose values are the categories "
             f"(optionally placed in --tree FILE|wildbench); (2) --labels TAXONOMY, the classify stage's labels "
             f"(after 'earful classify run --taxonomy TAXONOMY --source {source}'); (3) fit topics with "
             f"'earful topics fit --source {source}', then --tree topics (the default once topics are fitted)")


def topics_fitted(store, source: str) -> int:
    """How many items of `source` have a topic assignment (0 when topics were never fitted)."""
    if not (store.table_exists("topic_assignments") and store.table_exists("topics")):
        return 0
    from earful.store.sql import quote_ident

    return int(store.scalar(f"SELECT count(*) FROM topic_assignments a WHERE a.item_id IN "
                            f"(SELECT item_id FROM {quote_ident(source)})") or 0)


def fitted_field(store) -> tuple[str, str] | None:
    """(source, column) of the text field the latest topic fit was over (``topics fit --field``), else None."""
    import json

    if not store.table_exists("topic_runs"):
        return None
    rows = store.rows("SELECT source, params FROM topic_runs ORDER BY fitted_at DESC LIMIT 1")
    column = json.loads(rows[0][1] or "{}").get("field") if rows else None
    return (rows[0][0], column) if column and rows[0][0] else None


def n_groups(n_topics: int) -> int:
    """How many top-level groups a hierarchy over `n_topics` topics is cut into (1: no grouping)."""
    if n_topics < MIN_TOPICS_TO_GROUP:
        return 1
    return max(2, min(MAX_GROUPS, round(1.3 * math.sqrt(n_topics)), n_topics - 1))


def _cut(hier: dict[int, tuple], topic_ids: set[int], k: int) -> list[list[int]]:
    """The hierarchy cut into at most `k` groups of topic ids: split the widest merge first."""
    inside = [nid for nid, h in hier.items() if set(h[3]) & topic_ids]
    if not inside or k <= 1:
        return [[t] for t in sorted(topic_ids)]
    root = max(inside, key=lambda nid: (len(hier[nid][3]), nid))
    groups = [root]
    while len(groups) < k:
        splittable = [g for g in groups if g in hier]
        if not splittable:
            break
        widest = max(splittable, key=lambda g: hier[g][2])
        groups.remove(widest)
        groups += [hier[widest][0], hier[widest][1]]
    out = [[t for t in (hier[g][3] if g in hier else [g]) if t in topic_ids] for g in groups]
    covered = {t for grp in out for t in grp}
    out += [[t] for t in sorted(topic_ids - covered)]     # a topic the (stale) hierarchy does not hold: on its own
    return [grp for grp in out if grp]


def topic_tree(store) -> tuple[Tree, dict[int, str]]:
    """(the tree over the active topics, topic id -> the name of its node). Node names are unique in the tree."""
    if not store.table_exists("topics"):
        raise NotFoundError("no topics are fitted in this workspace", hint="run 'earful topics fit --source SOURCE'")
    rows = store.rows("SELECT topic_id, name, size, keywords FROM topics WHERE status = 'active' AND topic_id >= 0 "
                      "ORDER BY topic_id")
    if not rows:
        raise NotFoundError("no active topics in this workspace", hint="run 'earful topics fit --source SOURCE'")
    name = {t: (str(n).strip() if n and str(n).strip() else f"topic {t}") for t, n, _, _ in rows}
    size = {t: int(s or 0) for t, _, s, _ in rows}
    keywords = {t: ", ".join(k or []) for t, _, _, k in rows}
    hier: dict[int, tuple] = {}
    if store.table_exists("topic_hierarchy"):
        for nid, left, right, dist, members, gname in store.rows(
                "SELECT node_id, left_id, right_id, distance, topic_ids, name FROM topic_hierarchy"):
            hier[int(nid)] = (int(left), int(right), float(dist or 0.0), [int(m) for m in members or []], gname)
    groups = _cut(hier, set(name), n_groups(len(name)))
    group_name = {}
    for grp in groups:
        if len(grp) > 1:
            node = next((nid for nid, h in hier.items() if set(h[3]) == set(grp)), None)
            stored = hier[node][4] if node is not None else None
            top = sorted(grp, key=lambda t: (-size[t], t))[:2]
            group_name[tuple(grp)] = str(stored).strip() if stored else " & ".join(name[t] for t in top)
    # unique names: a topic whose name is also another node's gets its id appended
    counts: dict[str, int] = {}
    for n in [*name.values(), *group_name.values()]:
        counts[n.lower()] = counts.get(n.lower(), 0) + 1
    leaf = {t: (n if counts[n.lower()] == 1 and n != ROOT else f"{n} (topic {t})") for t, n in name.items()}
    nodes = [Node(name=ROOT, path=(), parent=None)]
    for grp in sorted(groups, key=lambda g: (-sum(size[t] for t in g), min(g))):
        parent = 0
        if len(grp) > 1:
            parent = _add(nodes, 0, group_name[tuple(grp)],
                          description="topics: " + "; ".join(name[t] for t in sorted(grp, key=lambda t: -size[t])))
        for t in sorted(grp, key=lambda t: (-size[t], t)):
            _add(nodes, parent, leaf[t], description=keywords[t])
    field = fitted_field(store)
    over = f" over the {field[1]} texts of {field[0]}" if field else ""
    return Tree(nodes, origin=f"topics (fitted topics{over} under their topic-hierarchy groups)"), leaf


def topic_categories(store, source: str, item_ids) -> tuple[Tree, np.ndarray, list[str]]:
    """(the topic tree, each item's category, notes): the category is its topic's node name, or None for an outlier
    (topic -1), an item with no assignment, or one whose topic is no longer active (merged or deleted)."""
    if not topics_fitted(store, source):
        raise no_categories_error(source)
    tree, leaf = topic_tree(store)
    ids = [str(i) for i in item_ids]
    assigned = dict(store.rows("SELECT item_id, topic_id FROM topic_assignments WHERE item_id IN (SELECT unnest(?))",
                               [ids]))
    category = np.array([leaf.get(assigned.get(i)) if assigned.get(i) is not None else None for i in ids],
                        dtype=object)
    outliers = sum(1 for i in ids if assigned.get(i) == -1)
    unassigned = sum(1 for i in ids if i not in assigned)
    stale = sum(1 for i in ids if i in assigned and assigned[i] != -1 and assigned[i] not in leaf)
    notes = []
    field = fitted_field(store)
    if field and field[0] == source and unassigned:   # items with no text in the field were never assigned
        from earful.store.sql import quote_ident

        col = quote_ident(field[1])
        blank = int(store.scalar(f"SELECT count(*) FROM {quote_ident(source)} WHERE item_id IN (SELECT unnest(?)) "
                                 f"AND ({col} IS NULL OR trim({col}) = '')", [ids]) or 0)
        unassigned -= blank
        if blank:
            notes.append(f"{blank} items have no {field[1]} text (the topics are over {field[1]}): in no category, "
                         f"counted in (all) only")
    if outliers:
        notes.append(f"{outliers} items are topic outliers (topic -1): in no category, counted in (all) only")
    if unassigned:
        notes.append(f"{unassigned} items have no topic assignment (fitted after the topics?): in no category, "
                     f"counted in (all) only; 'earful topics assign --source {source}' assigns them")
    if stale:
        notes.append(f"{stale} items are assigned to a topic that is no longer active: in no category")
    return tree, category, notes
