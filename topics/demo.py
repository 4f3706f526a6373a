"""`make demo` step for topics: fit BERTopic on the demo reviews, then show the topics, trends and a refit's ids.

Design decision: the demo runs the same `fit_topics` the CLI runs, with offline labels (no LLM), so what it prints
is what a user gets from ``earful topics fit`` on the embedded defaults.
"""
from __future__ import annotations


def run(store, console) -> None:
    from earful.cli.common import rich_table
    from earful.topics.fit import fit_topics
    from earful.topics.report import topic_list
    from earful.topics.timeline import ARROWS

    console.rule("topics: BERTopic over the stored MiniLM vectors (offline labels)")
    res = fit_topics(store, source="reviews" if "reviews" in store.sources() else None)
    console.print(f"fitted {res['topics']} topics on {res['items']} items in {res['seconds']}s; outliers "
                  f"{res['outlier_rate_raw']:.1%} before reassignment, {res['outlier_rate']:.1%} after")
    doc = topic_list(store, n_examples=1)
    rows = [[t["id"], t["name"], t["size"], f"{t['share']:.1%}", ARROWS[t["trend"]],
             (f"({t['examples'][0]['item_id']}) {t['examples'][0]['text'][:70]}" if t["examples"] else "")]
            for t in doc["topics"][:12]]
    console.print(rich_table(["id", "name", "size", "share", "trend", "example"], rows,
                             title=f"top topics of {len(doc['topics'])}"))
    console.print("more: earful topics list | show ID | rename/merge/split/delete | over-time | trends | charts")
