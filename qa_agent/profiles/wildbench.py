"""WildBench's category tree: its five published groups over its twelve task tags, with a description per tag.

The mapping is WildBench's own (``task_group_new`` in allenai/WildBench's evaluation scripts), as published with its
per-category scores: Creative Tasks = Creative Writing, Role playing, Brainstorming, Editing, Others; Planning &
Reasoning = Planning, Reasoning; Math & Data Analysis = Math, Data Analysis; Information/Advice seeking =
Information seeking, Advice seeking; Coding & Debugging = Coding & Debugging. WildBench gives a task a primary tag and
secondary tags and counts it in every group they reach; a profile puts each task in one node (its primary tag, or
the one label the classify stage gives it), so its group scores are computed over fewer, disjoint tasks.

The shared critiques carry no tags (they live with the prompts, which are not shared), so they reach the tree
through the classify stage: `TAXONOMY_YAML` is the twelve tags as a taxonomy whose descriptions the offline
zero-shot classifier reads; labelled from the judged responses (``model_outputs.jsonl.gz`` ingested as a source) and
made one per task with ``--unit-column session_id`` (the majority over the task's 8 responses).
"""
from __future__ import annotations

from earful.qa_agent.profiles.tree import Tree, tree_from_spec

GROUPS = {
    "Creative Tasks": {
        "Creative Writing": "writes a story, poem, song, script or other creative text",
        "Role playing": "plays a character or persona in a conversation or game",
        "Brainstorming": "lists ideas, names, suggestions or options",
        "Editing": "rewrites, proofreads, paraphrases, shortens or translates a given text",
        "Others": "chit-chat or a request that fits no other category",
    },
    "Planning & Reasoning": {
        "Planning": "makes a plan, schedule, itinerary, outline or step-by-step strategy",
        "Reasoning": "analyses an argument, puzzle, riddle or situation and reasons to a conclusion",
    },
    "Math & Data Analysis": {
        "Math": "solves a mathematics problem with calculations, equations or proofs",
        "Data Analysis": "analyses data, tables, statistics or spreadsheets",
    },
    "Information/Advice seeking": {
        "Information seeking": "explains facts, concepts or knowledge the user asked about",
        "Advice seeking": "gives personal, health, career or relationship advice and recommendations",
    },
    "Coding & Debugging": {
        "Coding & Debugging": "writes, explains or fixes program code",
    },
}

# the published mapping, tag -> group
TAG_TO_GROUP = {tag: group for group, tags in GROUPS.items() for tag in tags}


def wildbench_tree() -> Tree:
    """The two-level tree (five groups, twelve tags) with the tags' descriptions."""
    return tree_from_spec(GROUPS, origin="WildBench task groups")


def taxonomy_yaml(name: str = "wildbench_tasks") -> str:
    """The twelve tags as a classify taxonomy (YAML), for `earful classify run --taxonomy FILE`."""
    import yaml

    labels = [{"name": tag, "description": desc} for tags in GROUPS.values() for tag, desc in tags.items()]
    return yaml.safe_dump({"name": name, "description": "WildBench task tags (what the user asked for)",
                           "labels": labels}, sort_keys=False, allow_unicode=True)


def strongest_and_weakest(prof, subjects: list[str] | None = None) -> list[dict]:
    """Per subject, the top-level group with its highest and lowest mean (and the gap of each to the subject's
    overall mean), as WildBench's per-category table would be read."""
    out = []
    for name in subjects or prof.subjects:
        s = prof.all_subjects.index(name)
        top = [v for v in prof.tree.top if prof.n[s, v] > 0]
        if not top:
            continue
        by_mean = sorted(top, key=lambda v: prof.mean[s, v])
        lo, hi = by_mean[0], by_mean[-1]
        out.append({"subject": name,
                    "weakest": prof.tree.nodes[lo].name, "weakest_mean": round(float(prof.mean[s, lo]), 3),
                    "strongest": prof.tree.nodes[hi].name, "strongest_mean": round(float(prof.mean[s, hi]), 3),
                    "overall": round(float(prof.mean[s, 0]), 3),
                    "means": {prof.tree.nodes[v].name: round(float(prof.mean[s, v]), 3) for v in top}})
    return out
