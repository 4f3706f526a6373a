"""`make demo` step for topics: fit BERTopic on the demo reviews, then split them into mentions, fit aspect topics
over those, and show the topics and the top complaints.

Design decision: the demo runs the same `fit_topics`, `segment`, `score_polarity` and `fit_aspects` the CLI runs,
with offline labels and the lexicon's polarity (no LLM), so what it prints is what a user gets from ``earful topics
fit``, ``earful topics mentions`` and ``earful topics aspects fit`` on the embedded defaults. Aspects fit on a sample
of mentions about as large as the item count (`topics.aspects.fit_cap`), which keeps the demo within minutes and
leaves the workspace ready for "What are the top 5 complaints since March?".
"""
from __future__ import annotations


def run(store, console) -> None:
    from earful.cli.common import rich_table
    from earful.topics.fit import fit_topics
    from earful.topics.report import topic_list
    from earful.topics.timeline import ARROWS

    source = "reviews" if "reviews" in store.sources() else None
    console.rule("topics: BERTopic over the stored MiniLM vectors (offline labels)")
    res = fit_topics(store, source=source)
    console.print(f"fitted {res['topics']} topics on {res['items']} items in {res['seconds']}s; outliers "
                  f"{res['outlier_rate_raw']:.1%} before reassignment, {res['outlier_rate']:.1%} after")
    doc = topic_list(store, n_examples=1)
    rows = [[t["id"], t["name"], t["size"], f"{t['share']:.1%}", ARROWS[t["trend"]],
             (f"({t['examples'][0]['item_id']}) {t['examples'][0]['text'][:70]}" if t["examples"] else "")]
            for t in doc["topics"][:12]]
    console.print(rich_table(["id", "name", "size", "share", "trend", "example"], rows,
                             title=f"top topics of {len(doc['topics'])}"))
    console.print("more: earful topics list | show ID | rename/merge/split/delete | over-time | trends | charts")
    aspects(store, console, source)


def aspects(store, console, source: str | None = None, backend: str = "bertopic-aspects",
            backend_params: dict | None = None) -> None:
    """Mentions (sentences and clauses, each with its polarity), aspect topics over them, and the top complaints."""
    from earful.topics.aspects import fit_aspects
    from earful.topics.complaints import format_complaints, top_complaints
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    console.rule("aspects: topics over mentions, each mention with its own polarity")
    seg = segment(store, source=source)
    pol = score_polarity(store, source=source)
    console.print(f"{seg['mentions']} mentions from {seg['items_segmented']} items in {seg['seconds']}s; polarity "
                  f"(lexicon): {pol['negative']} negative, {pol['neutral']} neutral, {pol['positive']} positive")
    res = fit_aspects(store, source=source, backend=backend, backend_params=backend_params, progress=True)
    console.print(f"fitted {res['aspects']} aspects in {res['seconds']}s: {res['general']} general mentions (only "
                  f"evaluative words) apart; {res['fitted_on']} clustered, {res['embedded']} mention texts embedded "
                  f"({res['embed_seconds']}s), {res['by_text']} assigned from their words")
    console.print("top 5 complaints (aspects by negative mentions, all dates):")
    for line in format_complaints(top_complaints(store, n=5, source=source, quotes=1, praise_quotes=0), width=80):
        console.print(line, markup=False, highlight=False)
    console.print('more: earful topics aspects list | earful topics complaints --since 2016-03-01 | '
                  'earful ask "What are the top 5 complaints since March?"')
