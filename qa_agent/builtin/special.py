"""Question kinds the built-in engine answers by calling another stage's code, not by compiling SQL: "top complaints"
(aspects ranked by negative mentions, `earful.topics.complaints.top_complaints`) and subject profiles ("where is X
weakest?", "which model is weakest at coding?", "profile A against B", `earful.qa_agent.profiles.build_profile`).

Design decision: each kind is recognised by a strict pattern, and every word of the question must be accounted for
by it; anything else falls through to the ordinary parser (which answers or declines as before). A kind that is
recognised but cannot be answered exactly (no aspects fitted, no category column, an unknown subject) declines and
names the command that makes it answerable; it never guesses. The topics stage sits beside this one in the layers
contract, so its module is named by a string and imported on use (as `earful.plugins` loads the stages); without
that stage installed the kind declines.
"""
from __future__ import annotations

import importlib
import re

from earful.qa_agent.base import Answer, AskContext, ResultTable, Step
from earful.qa_agent.builtin.timeparse import NUMW, time_phrases

COMPLAINTS_MODULE = "earful.topics.complaints"
ASPECT_NOTE = ("(Complaints ranked by aspect, counted in negative mentions with quotes, need mentions and aspect "
               "topics: run `earful topics mentions`, then `earful topics aspects fit`.)")
COMPLAIN = re.compile(r"\b(complain(?:t|ts|s|ed|ing)?)\b", re.I)
COUNTING = re.compile(r"\b(how many|how much|count|number|share|percent|percentage|fraction|proportion|average|"
                      r"mean|median|rating|ratings|score|stars?)\b", re.I)
RANKING = re.compile(r"\b(top|most|main|biggest|commonest|common|frequent|worst)\b|^\s*what (?:do|does|did) .*"
                     r"\bcomplain|^\s*(?:what|which) (?:are|were) (?:the )?(?:user |customer )?complaints\b", re.I)
FILLER = {"what", "whats", "are", "is", "the", "top", "most", "main", "biggest", "common", "commonest", "frequent",
          "users", "customers", "people", "reviewers", "do", "does", "did", "complain", "complaints", "complaint",
          "me", "show", "list", "give", "which", "our", "of", "s", "there", "have", "has", "been", "recent",
          "usually", "mostly", "often", "things", "and", "praise", "were", "was", "had"}
ABOUT = re.compile(r"\b(?:about|with|on|regarding)\s+(?:the\s+)?([a-z][a-z0-9 '.\-]*)$")


# -- top complaints ------------------------------------------------------------------------------------------------
def complaints_intent(question: str) -> bool:
    """'What are the top 5 complaints since March?', 'what do users complain about most?' (not 'how many ...')."""
    return bool(COMPLAIN.search(question) and RANKING.search(question)) and not COUNTING.search(question)


_FOLLOW_LEAD = re.compile(r"^\s*(?:and|but|ok|okay|so)?\s*(?:((?:what|how)\s+about)|then)?\s*", re.I)
_TIME_START = r"(?:in|since|before|after|until|during|from|for|between|on|the|last|past|previous)\b"


def complaints_followup(question: str, history: list[dict]) -> tuple[str, dict] | None:
    """A follow-up of a top-complaints answer ("and in 2015?", "what about since April?", "and about AcDisplay?") as
    (a whole complaints question with the earlier n, the earlier plan: `complaints_answer` keeps its period and
    subject where the follow-up names none), or None when the last answered turn was no complaints ranking or the
    question asks something of its own (it then goes the usual way)."""
    if COMPLAIN.search(question) or COUNTING.search(question):
        return None
    last = next((t.get("plan") for t in reversed(history or []) if isinstance(t, dict) and t.get("plan")), None)
    if not isinstance(last, dict) or last.get("kind") != "complaints":
        return None
    lead = _FOLLOW_LEAD.match(question.strip())
    rest = question.strip()[lead.end():].strip()
    if not rest or len(rest.split()) > 8:
        return None
    if re.match(r"(?:19|20)\d\d\b|q[1-4]\b", rest, re.I):                       # "and 2015?", "what about Q2 2016?"
        rest = "in " + rest
    elif lead.group(1) and not re.match(_TIME_START, rest, re.I):                 # "what about AcDisplay?"
        rest = "about " + rest
    about = "" if re.match(r"(?i)about\b", rest) or not last.get("aspect") else f" about {last['aspect']}"
    return f"top {int(last.get('n') or 5)} complaints {rest}{about}", last


def no_aspects(db_path) -> bool:
    """True when the workspace has no mentions or no fitted aspects (so 'top complaints' can only count labels)."""
    from earful.errors import NotFoundError
    from earful.store import Store

    try:
        mod = importlib.import_module(COMPLAINTS_MODULE)
    except ModuleNotFoundError:
        return True
    try:
        with Store(db_path, read_only=True) as store:
            mod._require_aspects(store, None)
    except NotFoundError:
        return True
    return False


def _complaints_request(question: str, view) -> dict | None:
    """The period, n and aspect words of a complaints question, or None when a word is left unaccounted for."""
    q = question.strip().rstrip("?.! ").lower().replace("\u2019", "'")
    since = until = None
    when = []
    for start, end, preds, words in sorted(time_phrases(q, view), reverse=True) if view is not None else []:
        if not preds or len(preds) != 1:
            return None
        since, until = preds[0].start, preds[0].end
        when.append(words)
        q = q[:start] + " " + q[end:]
    q = re.sub(r"\s+", " ", q).strip()
    aspect = None
    m = ABOUT.search(q)
    if m and m.group(1).strip() not in ("most", "the most"):
        aspect = m.group(1).strip()
        q = q[:m.start()].strip()
    bad = re.search(r"(?:^|[^a-z0-9])(-\s*\d+|\d+\s*[-/.]\s*\d+)", q)
    if bad:     # "top -3", "in 2016-13" (a date part left unread): never read as some other number
        part = bad.group(1).replace(" ", "")
        said = next((w.strip("?.!,;:") for w in question.split() if part in w), part)
        return {"error": f"'{said}' is neither a number of complaints (the top N, N from 1) nor a date Earful can "
                         "read (2016-03-01, March 2016, Q1 2016)"}
    q = re.sub(r"\babout\b", " ", q)
    n, words = None, re.findall(r"[a-z0-9]+", q)
    for w in words:
        if w.isdigit() or w in NUMW:
            if n is not None:
                return None
            n = int(w) if w.isdigit() else NUMW[w]
        elif w not in FILLER:
            return None
    if n == 0:
        return {"error": "The top 0 complaints is an empty list: ask for the top N with N from 1"}
    return {"since": since, "until": until, "n": n or 5, "aspect": aspect, "when": when, "subject": None}


def _subject(view, phrase: str) -> tuple[str, object] | None:
    """(column, value) when `phrase` names one value of a category column of the view ("AcDisplay", "signal" for
    "Signal Private Messenger": the value itself, or the first words of exactly one value), else None."""
    words = phrase.lower().split()
    for col in view.columns if view is not None else []:
        if col.kind != "category" or col.canonical:
            continue
        exact = [v for v, _ in col.values if str(v).lower() == phrase.lower()]
        starts = [v for v, _ in col.values if str(v).lower().split()[:len(words)] == words]
        if exact or len(starts) == 1:
            return col.name, (exact or starts)[0]
    return None


def _complaints_source(store, card) -> tuple[str | None, object]:
    names = [r[0] for r in store.rows("SELECT DISTINCT source FROM mention_items WHERE aspect_id >= 0")]
    if len(names) != 1:
        return None, None
    return names[0], card.view(names[0])


def complaints_answer(question: str, card, ctx: AskContext, engine: str, earlier: dict | None = None) -> Answer | None:
    """The aspect answer, or None when the workspace has no mentions/aspects or the question is not one we read
    whole (the caller then answers as before and adds `ASPECT_NOTE` when there are no aspects). `earlier`: the plan
    of the answer a follow-up follows, whose period and subject hold unless the follow-up names its own."""
    try:
        mod = importlib.import_module(COMPLAINTS_MODULE)
    except ModuleNotFoundError:
        return None
    from earful.errors import NotFoundError
    from earful.store import Store

    try:
        with Store(ctx.db_path, read_only=True) as store:
            mod._require_aspects(store, None)
            source, view = _complaints_source(store, card)
            if source is None:
                return None
            req = _complaints_request(question, view)
            if req is None:
                return None
            if "error" in req:
                return Answer(status="declined", engine=engine, answer=req["error"] + ".")
            if req["aspect"]:
                req["subject"] = _subject(view, req["aspect"])
                if req["subject"]:
                    req["aspect"] = None
            if earlier:
                if req["since"] is None and req["until"] is None:
                    req["since"], req["until"] = earlier.get("since"), earlier.get("until")
                if not req["aspect"] and not req["subject"] and earlier.get("subject"):
                    req["subject"] = tuple(earlier["subject"])
            n = 10_000 if req["aspect"] else req["n"]
            rows = mod.top_complaints(store, since=req["since"], until=req["until"], n=n, source=source,
                                      subject=req["subject"])
            sql = mod.ranking_sql(since=req["since"], until=req["until"], n=n, source=source, subject=req["subject"])
    except NotFoundError:
        return None
    period = _period(req) + (f" in items where {req['subject'][0]} is '{req['subject'][1]}'"
                             if req["subject"] else "")
    if req["aspect"]:
        words = req["aspect"].rstrip("s")
        rows = [r for r in rows if words in (r["aspect"] or "").lower()]
        if not rows:
            return Answer(status="declined", engine=engine, answer=(
                f"No aspect named like '{req['aspect']}' has negative mentions{period}. "
                "`earful topics aspects list` shows the aspects."))
        rows = rows[:req["n"]]
    if not rows:
        return Answer(status="answered", engine=engine, answer=f"No negative mentions of any aspect{period}.",
                      tables=[ResultTable("complaints", _COLS, [])])
    return _complaints_compose(rows, req, period, ctx, sql)


_COLS = ["rank", "aspect", "negative mentions", "all mentions", "negative share", "items with a complaint",
         "positive mentions"]


def _period(req) -> str:
    lo, hi = req["since"], req["until"]
    if lo and hi:
        return f" from {lo} to before {hi}"
    return f" from {lo} on" if lo else f" before {hi}" if hi else ""


def _complaints_compose(rows, req, period, ctx, sql: str) -> Answer:
    from earful.qa_agent.builtin.answer import _bar

    table = ResultTable("complaints", _COLS, [[r["rank"], r["aspect"], r["negative"], r["mentions"],
                                                r["negative_share"], r["items_negative"], r["positive"]] for r in rows])
    quotes = ResultTable("quotes", ["aspect", "polarity", "item_id", "created_at", "text"],
                         [[r["aspect"], pol, q["item_id"], q["created_at"], q["text"]]
                          for r in rows for pol, key in (("negative", "quotes"), ("positive", "praise"))
                          for q in r[key]])
    what = (f"Complaints about aspects named like '{req['aspect']}'{period}, with their rank among all aspects"
            if req["aspect"] else f"Top {len(rows)} complaints{period}, aspects")
    head = (f"{what} ranked by negative mentions (counts are of mentions: a review can mention several aspects, "
            f"each with its own sentiment): ")
    body = "; ".join(f"{r['rank']}. {r['aspect']}: {r['negative']:,} negative of {r['mentions']:,} mentions "
                     f"({r['negative_share']:.0%}), in {r['items_negative']:,} items" for r in rows)
    first = next((q for r in rows for q in r["quotes"]), None)
    text = head + body + "." + (f" For example, on {rows[0]['aspect']}: \"{_clip(first['text'])}\" "
                                f"({first['item_id']})." if first else "")
    chart = _bar(f"Negative mentions per aspect{period}", [r["aspect"] for r in rows], [r["negative"] for r in rows],
                 "negative mentions", "aspect", ctx.output_dir)
    ids = list(dict.fromkeys(q["item_id"] for r in rows for q in r["quotes"]))
    return Answer(status="answered", answer=text, engine="builtin", tables=[table, quotes], charts=[chart],
                  steps=[Step("sql", sql, True, None)], item_ids=ids, conversation_id=ctx.conversation_id,
                  plan={"kind": "complaints", "since": req["since"], "until": req["until"], "n": req["n"],
                        "aspect": req["aspect"], "subject": list(req["subject"]) if req["subject"] else None},
                  notes=["counts are of mentions (sentences and clauses), not reviews"] + [
                      f"'{w}' read from the data's latest date" for w in req["when"]])


def _clip(text: str, k: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= k else text[:k - 1].rstrip() + "\u2026"


# -- profiles ------------------------------------------------------------------------------------------------------
_KIND = {"weakest": "weakness", "worst": "weakness", "strongest": "strength", "best": "strength"}
WHERE = re.compile(r"^(?:where|in (?:what|which) (?:categor(?:y|ies)|areas?|tasks?)) (?:is|are|does) (?P<s>.+?) "
                   r"(?:the )?(?P<k>weakest|strongest|worst|best)(?: at)?$")
WHO = re.compile(r"^which (?P<noun>[a-z_][a-z0-9_ ]*?) (?:is|are|does|performs?) (?:the )?(?P<k>weakest|strongest|"
                 r"worst|best) (?:at|in|on|for) (?P<c>.+)$")
PAIR = re.compile(r"^profile (?P<a>.+?) (?:against|vs\.?|versus|and|with) (?P<b>.+)$")
SCORE_NAMES = ("score", "rating", "stars", "grade", "judge_score")
CATEGORY_NAMES = ("category", "task_category", "task", "task_type", "primary_tag", "categories")


def profile_intent(question: str) -> dict | None:
    q = " ".join(question.strip().rstrip("?.! ").replace("\u2019", "'").split())
    for kind, rx in (("where", WHERE), ("who", WHO), ("pair", PAIR)):
        m = rx.match(q.lower())
        if m:
            # the subject names keep the question's own spelling: cut them from the original by position
            return {"kind": kind, **{k: q[m.start(k):m.end(k)].strip() for k in m.groupdict() if m.group(k)}}
    return None


def _subject_column(card, store, names: list[str]):
    """(view, column, canonical names) where every name is a value of one text/category column; else None."""
    found = []
    for v in card.views:
        for c in v.columns:
            if c.kind not in ("category", "text", "id") or c.name in (v.text_column, "item_id"):
                continue
            canon = []
            for nm in names:
                hit = store.rows(f'SELECT DISTINCT CAST("{c.name}" AS VARCHAR) FROM "{v.name}" '
                                 f'WHERE lower(CAST("{c.name}" AS VARCHAR)) = lower(?)', [nm])
                if len(hit) != 1:
                    break
                canon.append(hit[0][0])
            if len(canon) == len(names):
                found.append((v, c.name, canon))
    return found[0] if len(found) == 1 else None


def _col(view, names, kinds):
    by = {c.name.lower(): c for c in view.columns if c.kind in kinds}
    return next((by[n].name for n in names if n in by), None)


def profile_answer(question: str, card, ctx: AskContext, engine: str) -> Answer | None:
    """A profile answer or a decline that says what is missing; None when the question is not a profile kind."""
    intent = profile_intent(question)
    if intent is None:
        return None
    from earful.store import Store

    with Store(ctx.db_path, read_only=True) as store:
        if intent["kind"] == "who":
            noun = intent["noun"].rstrip("s").replace(" ", "_")
            hits = [(v, c.name) for v in card.views for c in v.columns
                    if c.name.lower() in (noun, noun + "s") and c.kind in ("category", "text", "id")]
            if len(hits) != 1:
                return None
            view, subj = hits[0]
            names = []
        else:
            names = [intent["s"]] if intent["kind"] == "where" else [intent["a"], intent["b"]]
            found = _subject_column(card, store, names)
            if found is None:
                return None
            view, subj, names = found
    score = _col(view, SCORE_NAMES, ("numeric",))
    if score is None:
        return _decline(engine, f"a profile of '{subj}' needs a numeric score or rating column in {view.name}; "
                                "there is none (`earful profile --label-share COLUMN=VALUE` profiles a label's share)")
    cat = _col(view, CATEGORY_NAMES, ("category", "text"))
    if cat is None:
        return _decline(engine, (
            f"where a subject is strong or weak needs categories, and {view.name} has no category or task column. "
            f"Give a tree: `earful profile --source {view.name} --subject-column {subj} --score-column {score} "
            "--tree FILE --labels TAXONOMY` (or `--category-column COLUMN`)"))
    from earful.errors import InputError
    from earful.qa_agent.profiles import build_profile

    try:
        prof = build_profile(ctx.db_path, view.name, subj, score, category_column=cat,
                             subjects=names if intent["kind"] == "pair" else None, quotes=2)
        if intent["kind"] == "who":
            return _who(prof, intent, view, subj, score, cat, engine, ctx)
        if intent["kind"] == "pair":
            return _pair(prof, names, view, subj, score, cat, engine, ctx)
        return _where(prof, names[0], _KIND[intent["k"]], view, subj, score, cat, engine, ctx)
    except InputError as exc:
        return _decline(engine, str(exc).rstrip("."))


def _decline(engine: str, why: str) -> Answer:
    return Answer(status="declined", engine=engine, answer=f"I can't answer this exactly: {why}.")


def _f(x, d=2):
    return None if x is None else round(float(x), d)


def _p(p) -> str:
    return "n/a" if p is None else "< 0.0001" if p < 1e-4 else f"{p:.2g}"


def _basis(view, subj, score, cat) -> str:
    return f" (mean {score} per {subj} and {cat} in {view.name}; 95% intervals; Holm-corrected tests)"


def _where(prof, subject, kind, view, subj, score, cat, engine, ctx) -> Answer:
    from earful.qa_agent.builtin.answer import _bar

    sign = 1 if kind == "strength" else -1
    rows = [r for r in prof.node_rows(subject) if r["depth"] > 0 and r["effect"] is not None]
    rows.sort(key=lambda r: -sign * r["effect"])
    found = prof.weaknesses(subject) if kind == "weakness" else prof.strengths(subject)
    cols = ["category", "items", "mean", "lo", "hi", "rank", "overall mean", "others' mean", "effect", "p_adj",
            "finding"]
    overall = next(r for r in prof.node_rows(subject) if r["depth"] == 0)
    table = ResultTable("profile", cols, [[r["node"], r["n"], _f(r["mean"]), _f(r["lo"]), _f(r["hi"]),
                                           _f(r["rank"], 1), _f(overall["mean"]), _f(r["others_mean"]),
                                           _f(r["effect"]), _f(r["p_adj"], 4), r["finding"]] for r in rows])
    text = prof.statement(subject, kind) + "."
    if rows and not found:
        r = rows[0]
        word = "lowest" if kind == "weakness" else "highest"
        text += (f" Its {word} effect, not significant, is {r['node']} (mean {r['mean']:.2f} over {r['n']} items; "
                 f"its overall mean {overall['mean']:.2f}).")
    text += _basis(view, subj, score, cat)
    quotes, ids = _finding_quotes(found)
    chart = _bar(f"{subject}: effect per category ({score}, vs its overall standing)", [r["node"] for r in rows],
                 [r["effect"] for r in rows], "effect", cat, ctx.output_dir)
    return Answer(status="answered", answer=text, engine=engine, tables=[table] + quotes, charts=[chart],
                  item_ids=ids, conversation_id=ctx.conversation_id, plan=_plan("profile_where", view, subj, score,
                                                                                cat, subject=subject, find=kind))


def _finding_quotes(found) -> tuple[list, list]:
    rows = [[f.node, f.kind, q.item_id, q.text] for f in found for q in f.quotes]
    ids = list(dict.fromkeys(r[2] for r in rows))
    return ([ResultTable("quotes", ["category", "finding", "item_id", "text"], rows)] if rows else []), ids


def _plan(kind, view, subj, score, cat, **extra) -> dict:
    return {"kind": kind, "source": view.name, "subject_column": subj, "score_column": score,
            "category_column": cat, **extra}


def _who(prof, intent, view, subj, score, cat, engine, ctx) -> Answer:
    from earful.qa_agent.builtin.answer import _bar

    res = prof.weakest_subject(intent["c"])
    ranking = res["ranking"] if _KIND[intent["k"]] == "weakness" else list(reversed(res["ranking"]))
    if not ranking:
        return _decline(engine, f"no items in {res['node']}")
    a = ranking[0]
    word = "lowest" if _KIND[intent["k"]] == "weakness" else "highest"
    text = (f"At {res['node']}, {a['subject']} has the {word} mean {score}: {a['mean']:.2f} (95% {a['lo']:.2f} to "
            f"{a['hi']:.2f}, {a['n']} items).")
    if len(ranking) > 1:
        b = ranking[1]
        overlap = a["hi"] >= b["lo"] if word == "lowest" else b["hi"] >= a["lo"]
        text += f" Next: {b['subject']} ({b['mean']:.2f}, 95% {b['lo']:.2f} to {b['hi']:.2f})" + (
            "; the intervals overlap, so these two are not told apart." if overlap else ".")
    text += _basis(view, subj, score, cat)
    table = ResultTable("ranking", [subj, "items", "mean", "lo", "hi", "rank"],
                        [[r["subject"], r["n"], _f(r["mean"]), _f(r["lo"]), _f(r["hi"]), _f(r["rank"], 1)]
                         for r in ranking])
    chart = _bar(f"Mean {score} at {res['node']}", [r["subject"] for r in ranking], [r["mean"] for r in ranking],
                 score, subj, ctx.output_dir)
    return Answer(status="answered", answer=text, engine=engine, tables=[table], charts=[chart],
                  conversation_id=ctx.conversation_id,
                  plan=_plan("profile_who", view, subj, score, cat, node=res["node"], find=_KIND[intent["k"]]))


def _pair(prof, names, view, subj, score, cat, engine, ctx) -> Answer:
    from earful.qa_agent.builtin.answer import _bar

    comp = prof.comparison
    a, b = names
    rows = comp.rows
    table = ResultTable("comparison", ["category", f"items {a}", f"items {b}", f"mean {a}", f"mean {b}",
                                       "difference", comp.effect_name, "p_adj", "significant"],
                        [[r["node"], r["n"][a], r["n"][b], _f(r["means"][a]), _f(r["means"][b]),
                          _f(r["difference"]), _f(r["effect"]), _f(r["p_adj"], 4), r["significant"]] for r in rows])
    root = next(r for r in rows if r["depth"] == 0)
    sig = [r for r in rows if r["significant"] and r["depth"] > 0]
    text = (f"{a} against {b}: overall mean {score} {root['means'][a]:.2f} vs {root['means'][b]:.2f} (difference "
            f"{root['difference']:+.2f}, {comp.test}, p_adj {_p(root['p_adj'])}). ")
    text += ("They differ significantly in " + "; ".join(
        f"{r['node']} ({r['means'][a]:.2f} vs {r['means'][b]:.2f})" for r in sig[:5]) + "."
             if sig else "No category differs significantly after correction.")
    text += " " + prof.statement(a, "weakness") + ". " + prof.statement(b, "weakness") + "."
    text += _basis(view, subj, score, cat)
    quotes, ids = _finding_quotes([f for f in prof.findings if f.subject in names])
    labels = [r["node"] for r in rows if r["depth"] > 0]
    chart = _bar(f"{a} minus {b}: difference in mean {score} per {cat}", labels,
                 [r["difference"] for r in rows if r["depth"] > 0], "difference", cat, ctx.output_dir)
    return Answer(status="answered", answer=text, engine=engine, tables=[table] + quotes, charts=[chart],
                  item_ids=ids, conversation_id=ctx.conversation_id,
                  plan=_plan("profile_pair", view, subj, score, cat, subjects=names))


__all__ = ["ASPECT_NOTE", "complaints_answer", "complaints_followup", "complaints_intent", "no_aspects",
           "profile_answer", "profile_intent"]
