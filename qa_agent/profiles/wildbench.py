"""WildBench's category tree: its five published groups over its twelve task tags, with a description per tag.

The mapping is WildBench's own (``task_group_new`` in allenai/WildBench's evaluation scripts), as published with its
per-category scores: Creative Tasks = Creative Writing, Role playing, Brainstorming, Editing, Others; Planning &
Reasoning = Planning, Reasoning; Math & Data Analysis = Math, Data Analysis; Information/Advice seeking =
Information seeking, Advice seeking; Coding & Debugging = Coding & Debugging. WildBench gives a task a primary tag and
secondary tags and counts it in every group they reach; a profile puts each task in one node (its primary tag, or
the one label the classify stage gives it), so its group scores are computed over fewer, disjoint tasks.

The shared critiques carry no tags (they live with the prompts, which are not shared), so they reach the tree
through the classify stage: `taxonomy_yaml()` is the twelve tags as a taxonomy whose descriptions and examples the
offline classifiers read. Best measured: each task labelled once from its 8 responses and 8 critiques together
(`earful.classify.unit_text.label_units(store, taxonomy_yaml(...), "outputs", "session_id", with_sources=
["critiques"])`, every item of the task gets the label, then ``--labels ... --unit-column session_id``); labelling
each response (``earful classify run``) and letting the 8 vote agrees far less with hand labels. How well each
agrees with hand labels, and with WildBench's published scores, is measured by ``bench/profiles_wildbench.py``.
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

# How a *response* to each kind of task tends to open (written by hand, generic: no text from the dataset). The
# offline zero-shot classifier compares an item with the mean of its label's description and examples, and the
# items here are responses, not prompts, so response-like examples give it prototypes in the items' own register.
EXAMPLES = {
    "Creative Writing": ["Once upon a time, in a small village by the sea, there lived a girl who",
                         "Title: The Last Light\n\nChapter 1\n\nThe storm rolled over the hills as",
                         "Beneath the silver moon the roses sleep, / and whispers drift across the deep",
                         "Here is a short story about a detective who"],
    "Role playing": ["*smiles and leans across the counter* Well, traveller, what brings you to my tavern?",
                     "As your Dungeon Master I describe the scene: you step into a dark cave and",
                     "Sure, I will stay in character as your interviewer. First question:",
                     "(in character) Elementary, my dear Watson. The mud on his boots tells me"],
    "Brainstorming": ["Here are 10 ideas for your project:\n1.", "Some possible names for your bakery: 1. Rise & Shine",
                      "Here are some creative suggestions you could consider:"],
    "Editing": ["Here is the revised version of your text with improved grammar and flow:",
                "I corrected the spelling and punctuation errors in your paragraph:",
                "Here is a more concise and professional version of your email:", "Paraphrased version:"],
    "Others": ["Hello! How can I help you today?", "I'm sorry, but I can't assist with that request.",
               "Thank you, I'm glad you enjoyed it!"],
    "Planning": ["Here is a 7-day itinerary for your trip:\nDay 1:", "Step 1: Define your goals. Step 2: Set a budget.",
                 "Here is a weekly study schedule that fits your time:", "Project plan:\nPhase 1 (weeks 1-2):"],
    "Reasoning": ["Let's analyse the argument step by step. The first premise states that",
                  "To determine who is telling the truth, consider each statement in turn:",
                  "The answer to the riddle is the shadow, because",
                  "Based on the symptoms and the test results, the most likely explanation is"],
    "Math": ["To solve the equation 2x + 3 = 11, subtract 3 from both sides: 2x = 8, so x = 4.",
             "Let's compute the probability: P(A and B) = P(A) * P(B | A) = 3/8.",
             "The derivative of f(x) = x^2 sin(x) is f'(x) = 2x sin(x) + x^2 cos(x).",
             "Proof: suppose n is an even integer, so n = 2k for some integer k."],
    "Data Analysis": ["Based on the data in the table, average sales rose 12% from Q1 to Q2.",
                      "Here are the summary statistics of the dataset: mean, median, standard deviation",
                      "The regression results show a significant positive coefficient for",
                      "To analyse this spreadsheet, group the rows by region and compare the totals:"],
    "Information seeking": ["The French Revolution began in 1789 when", "Photosynthesis is the process by which plants",
                            "Here is an overview of how blockchain technology works:",
                            "The main differences between the two theories are"],
    "Advice seeking": ["It's understandable to feel anxious about this; here are some tips that may help:",
                       "I'd recommend talking to your doctor before you change your medication.",
                       "Here are some suggestions for improving your relationship with your manager:",
                       "If you are considering a career change, start by"],
    "Coding & Debugging": ["Here is a Python function that does this:\n```python\ndef",
                           "The error occurs because the variable is not defined before the loop; fix it by",
                           "```javascript\nconst app = express();\napp.get('/', (req, res) =>",
                           "You can use the following SQL query: SELECT name, COUNT(*) FROM orders GROUP BY name"],
}


def wildbench_tree() -> Tree:
    """The two-level tree (five groups, twelve tags) with the tags' descriptions."""
    return tree_from_spec(GROUPS, origin="WildBench task groups")


def taxonomy_yaml(name: str = "wildbench_tasks", examples: bool = True, groups: bool = False) -> str:
    """The twelve tags as a classify taxonomy (YAML), with the response-like `EXAMPLES`, for `earful classify run
    --taxonomy FILE`; with `groups`, the five groups instead (each described by its tags' descriptions and examples),
    so items are labelled with a top-level node directly."""
    import yaml

    if groups:
        labels = [{"name": group, "description": "; ".join(tags.values()),
                   "examples": [e for tag in tags for e in EXAMPLES.get(tag, [])] if examples else []}
                  for group, tags in GROUPS.items()]
    else:
        labels = [{"name": tag, "description": desc, "examples": EXAMPLES.get(tag, []) if examples else []}
                  for tags in GROUPS.values() for tag, desc in tags.items()]
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
