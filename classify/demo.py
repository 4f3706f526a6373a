"""`make demo` step: label the bundled reviews with the ready-made `feedback_type` taxonomy (self-trained, no gold).

Design decision: the demo uses a taxonomy that needs no gold labels, so it runs on any fresh workspace in seconds
using the embeddings the demo already cached; shares are printed with the interval basis spelled out.
"""
from __future__ import annotations


def run(store, console) -> None:
    from earful.classify.evaluate import shares
    from earful.classify.runner import prepare
    from earful.classify.workspace import label_items
    from earful.cli.common import rich_table

    console.rule("classify: feedback type (self-trained from the label descriptions, no gold)")
    tax, clf, version, features, extra = prepare(store, "feedback_type", "offline")
    r = label_items(store, tax, clf, method=clf.name, version=version, features=features, extra_names=extra)
    console.print(f"labelled {r['labelled']} new item(s) with {clf.name} ({version})")
    s = shares(store, "feedback_type")
    console.print(rich_table(["label", "share", "95% low", "95% high"],
                             [[d["label"], f"{d['share']:.1%}", f"{d['low']:.1%}", f"{d['high']:.1%}"]
                              for d in s["labels"]]))
    console.print(f"interval: {s['basis']}", highlight=False)
