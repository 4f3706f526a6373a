"""Suggested next questions, made from what this workspace holds: its columns, its labels and its topics.

Design decision: suggestions are templates over the schema card (`earful.qa_agent.schema_card.build_schema_card`)
and the label and topic tables, phrased the way the built-in engine understands ("How many reviews per app?"), so
a click is answered without a model. Only a category column's *name* and a topic's or label's name appear; no
review text is ever put into a suggestion.
"""
from __future__ import annotations

MAX = 8


def _noun(view: str) -> str:
    """'reviews' for a source named reviews/app_reviews; else 'items'."""
    word = view.rsplit("_", 1)[-1].lower()
    return word if word.endswith("s") and word.isalpha() else "items"


def _taxonomies_and_topics(db_path: str) -> tuple[list[str], bool]:
    """The taxonomies that label some item (each is a column of the views), and whether any topic is active."""
    from earful.qa_agent.ask import workspace_lock
    from earful.store.readonly import connect_read_only

    with workspace_lock(db_path).shared():
        con = connect_read_only(str(db_path))
        try:
            have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'main'").fetchall()}
            taxonomies = [r[0] for r in con.execute(
                "SELECT taxonomy FROM classify_labels GROUP BY taxonomy ORDER BY count(*) DESC LIMIT 2").fetchall()
            ] if "classify_labels" in have else []
            topics = bool(con.execute("SELECT count(*) FROM topics WHERE status = 'active' AND topic_id >= 0"
                                      ).fetchall()[0][0]) if "topics" in have else False
        finally:
            con.close()
    return taxonomies, topics


def suggest(db_path: str) -> list[str]:
    """Up to `MAX` questions: counts per category column, averages of numeric ones, a trend over time, counts per
    label (taxonomy) and per topic when the workspace has them."""
    from earful.qa_agent.schema_card import build_schema_card

    card = build_schema_card(str(db_path))
    taxonomies, topics = _taxonomies_and_topics(db_path)
    derived = {t.lower() for t in taxonomies} | {"topic", "topic_id"}
    out: list[str] = []
    extra: list[str] = []
    for view in card.views[:2]:
        noun = _noun(view.name)
        cats = [c for c in view.columns if c.kind == "category" and not c.canonical and c.shareable
                and c.name.lower() not in derived and c.name != view.time_column
                and not any(w in c.name.lower() for w in ("date", "time"))]
        nums = [c for c in view.columns if c.kind == "numeric" and c.name != "item_id"
                and not c.name.endswith("_confidence")]
        for c in cats[:2]:
            out.append(f"How many {noun} per {c.name}?")
        if view.time_column:
            out.append(f"How many {noun} per month?")
        for n in nums[:1]:
            out.append(f"What is the average {n.name} per {cats[0].name}?" if cats else
                       f"What is the average {n.name}?")
        extra.append(f"How many {noun} mention price?")
        for t in taxonomies:                 # the workspace's own words: its labels and topics
            out.append(f"How many {noun} per {t}?")
        if topics:
            out += [f"How many {noun} per topic?", "Which topics are the largest?"]
    return list(dict.fromkeys(out + extra))[:MAX]
