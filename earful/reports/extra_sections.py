"""Two report sections from later stages: "Top complaints" (aspects, from `earful.topics.complaints`) and "Profiles"
(who got worse where, from the subject profiles' statistics), registered after the built-in ones.

Design decision: each section is the stage's own API run on the report's two periods, plus one test per row between
them. A complaint's change is the change in its *share of all mentions* (negative mentions of the aspect / every
mention in the period), so a busier week is not a spike; a subject's change is the change in its mean rating in a
category (or overall), by Welch's t-test on the profile cell sums. Either way Holm's correction runs over every row
tested, and only a significant change becomes a headline, written from the cells of the row it cites.
"""
from __future__ import annotations

from datetime import UTC, datetime, time

from earful.reports.model import Finding, Section, Table
from earful.reports.sections import GROUP_COLUMNS, ReportContext, _grouped_bar, _slug, register_section
from earful.reports.stats import ALPHA, fmt_p, holm, p_text, pct, two_proportions, welch
from earful.store import quote_ident

MAX_COMPLAINTS = 10          # complaint rows shown (every significantly changed aspect is shown too)
QUOTES, PRAISE = 2, 1        # quotes per complaint, praise quotes beside them
CATEGORY_COLUMNS = ("category", "task_category", "categories", "area", "feature", "component")
MIN_PER_PERIOD = 5           # a profile cell is tested with at least this many ratings in each period
PROFILE_MIN_ITEMS = 10       # the current period's profile tests a category with at least this many items


def _clip(text: str, n: int = 240) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _utc(d) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


# -- top complaints -------------------------------------------------------------------------------------------------
def _has_aspects(store) -> bool:
    if not (store.table_exists("mentions") and store.table_exists("aspects")):
        return False
    return bool(store.scalar("SELECT count(*) FROM aspects WHERE status = 'active'")) and bool(
        store.scalar("SELECT count(*) FROM mentions WHERE aspect_id >= 0"))


def complaints(ctx: ReportContext) -> Section | None:
    """Aspects ranked by negative mentions in the current period, with negative share, change against the previous
    period (share of all mentions, two-proportion z-test, Holm over every aspect), quotes and praise beside them."""
    from earful.errors import NotFoundError
    from earful.topics.complaints import top_complaints

    if not _has_aspects(ctx.store):
        return None
    cond, params = ctx.where("m")
    rows = ctx.store.rows(f"""SELECT m.aspect_id, {ctx.win('m.created_at')} AS w, count(*),
                                     count(*) FILTER (WHERE m.polarity = 'negative')
                              FROM mention_items m WHERE {cond} GROUP BY ALL""", params)
    base = {"previous": 0, "current": 0}          # every mention in each period: the share's denominator
    neg: dict[int, list[int]] = {}
    for aid, w, n, k in rows:
        base[w] += n
        if aid is not None and aid >= 0 and k:
            neg.setdefault(aid, [0, 0])[0 if w == "previous" else 1] += k
    if not neg:
        return None
    n1, n2 = base["previous"], base["current"]
    tested = {}
    for aid, (k1, k2) in neg.items():
        z, p = two_proportions(k1, n1, k2, n2)
        tested[aid] = {"k1": k1, "k2": k2, "z": z, "p": p}
    for aid, adj in zip(list(tested), holm([t["p"] for t in tested.values()])):
        tested[aid].update(p_holm=adj, significant=adj < ALPHA)
    prev_rank = {aid: r for r, aid in enumerate(sorted((a for a in neg if neg[a][0]),
                                                       key=lambda a: (-neg[a][0], a)), 1)}
    ranked_now = sorted((a for a in neg if neg[a][1]), key=lambda a: -neg[a][1])
    sig_now = [a for a in ranked_now if tested[a]["significant"]]
    depth = max([MAX_COMPLAINTS] + [ranked_now.index(a) + 1 for a in sig_now])
    try:
        top = top_complaints(ctx.store, _utc(ctx.period.start), _utc(ctx.period.end), n=depth, source=ctx.source,
                             quotes=QUOTES, praise_quotes=PRAISE) if ranked_now else []
    except NotFoundError:
        return None
    shown = [r for r in top if r["rank"] <= MAX_COMPLAINTS or tested[r["aspect_id"]]["significant"]]
    table = Table("complaints", f"Top complaints: {n1} mentions before, {n2} now (counts are mentions)",
                  ["rank", "aspect", "negative mentions", "mentions", "negative share", "positive mentions",
                   "previous rank", "previous negative", "share of all mentions before", "share now", "change",
                   "p (Holm)", "trend"], [])
    quotes = Table("complaints-quotes", "What people say: complaints, with praise of the same aspect beside them",
                   ["aspect", "side", "item id", "quote"], [])
    sec = Section("complaints", "Top complaints",
                  "Aspects (`earful topics aspects`) ranked by negative mentions in this period. The change is in "
                  "the aspect's negative mentions as a share of all mentions, flagged only when a two-proportion "
                  "z-test is significant at 5% after Holm's correction over every aspect complained about in either "
                  "period. Quotes are the most negative mentions; praise is the most positive of the same aspect.")
    for r in shown:
        t = tested[r["aspect_id"]]
        s1 = pct(t["k1"] / n1) if n1 else "n/a"
        s2 = pct(t["k2"] / n2) if n2 else "n/a"
        change = f"{100 * (t['k2'] / n2 - t['k1'] / n1) + 0.0:+.1f} pp".replace("-0.0 ", "+0.0 ") if n1 and n2 \
            else "n/a"
        trend = ("rising" if t["z"] > 0 else "falling") if t["significant"] else "stable"
        was = prev_rank.get(r["aspect_id"])
        table.rows.append([str(r["rank"]), r["aspect"], str(r["negative"]), str(r["mentions"]),
                           pct(r["negative_share"]), str(r["positive"]), str(was) if was else "new",
                           str(t["k1"]), s1, s2, change, fmt_p(t["p_holm"]), trend])
        if t["significant"]:
            row = len(table.rows) - 1
            new = t["z"] > 0 and r["rank"] <= 3 and (was is None or was > 3)     # entered the top three
            verb = "rose" if t["z"] > 0 else "fell"
            sec.findings.append(Finding(
                f"Complaints about '{r['aspect']}' ({'a new top complaint, ' if new else ''}rank {r['rank']})"
                f" {verb} from {s1} to {s2} of all mentions, {r['negative']} negative mentions now "
                f"(Holm-corrected {p_text(t['p_holm'])}).", table.id, row, "significant", t["p_holm"]))
        for side, qs in (("complaint", r["quotes"]), ("praise", r["praise"])):
            for q in qs:
                quotes.rows.append([r["aspect"], side, q["item_id"], _clip(q["text"])])
    # a complaint that fell away entirely (none this period) is still news when the test says so
    for aid in (a for a in neg if not neg[a][1] and tested[a]["significant"]):
        t = tested[aid]
        name = ctx.store.scalar("SELECT name FROM aspects WHERE aspect_id = ?", [aid])
        table.rows.append(["-", name, "0", "-", "-", "-", str(prev_rank.get(aid, "-")), str(t["k1"]),
                           pct(t["k1"] / n1), pct(0), f"{-100 * t['k1'] / n1:+.1f} pp", fmt_p(t["p_holm"]),
                           "falling"])
    sec.tables.append(table)
    if quotes.rows:
        sec.tables.append(quotes)
    top12 = shown[:12]
    sec.charts.append(_grouped_bar("Negative mentions per aspect", [r["aspect"][:40] for r in top12],
                                   [tested[r["aspect_id"]]["k1"] for r in top12],
                                   [tested[r["aspect_id"]]["k2"] for r in top12], "negative mentions"))
    sec.data = {"mentions": base, "complaints": [{**r, **tested[r["aspect_id"]]} for r in shown]}
    return sec


# -- profiles -------------------------------------------------------------------------------------------------------
def _columns(store, source: str) -> dict[str, str]:
    return {r[0].lower(): r[0] for r in store.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [source])}


def _cells(subject_idx, node, y, n_subjects, tree):
    from earful.qa_agent.profiles.stats import cell_sums

    return cell_sums(subject_idx, node, y, n_subjects, tree.descendants(), with_hist=False)


def _weakest_now(subject, y, category, tree) -> list[list[str]]:
    """Per subject, the category where it stands lowest against its own overall standing in the current period:
    the subject profile (`profile_from_arrays`, interaction test, Holm) and its `Profile.weakest`."""
    from earful.qa_agent.profiles.profile import profile_from_arrays

    if len(y) == 0 or len(tree.nodes) < 3:
        return []
    prof = profile_from_arrays(subject, y, category, tree, intervals=False, min_items=PROFILE_MIN_ITEMS)
    out = []
    for name in prof.subjects:
        low = prof.weakest(name, k=1)["lowest_effects"]
        if low and low[0]["p_adj"] is not None:
            r = low[0]
            out.append([name, r["node"], str(r["n"]), f"{r['mean']:.2f}", f"{r['others_mean']:.2f}",
                        f"{r['effect']:+.2f}", fmt_p(r["p_adj"]), "yes" if r["finding"] == "weakness" else "no"])
    return out


def _profile_rows(ctx: ReportContext, src: str, subj_col: str, cat_col: str | None) -> tuple[list[dict], list]:
    """Per (subject, category or overall): n, mean and sd in each period, Welch's test, Holm over all of them; and
    each subject's weakest category now (with a category column)."""
    import numpy as np

    from earful.errors import InputError
    from earful.qa_agent.profiles.profile import factorize, node_index
    from earful.qa_agent.profiles.tree import tree_from_values

    cond, params = ctx.where()
    cat = f"CAST(v.{quote_ident(cat_col)} AS VARCHAR)" if cat_col else "NULL"
    rows = ctx.store.rows(f"""SELECT CAST(v.{quote_ident(subj_col)} AS VARCHAR), {cat}, i.rating, {ctx.win()}
                              FROM items i JOIN {quote_ident(src)} v ON v.item_id = i.item_id
                              WHERE i.rating IS NOT NULL AND v.{quote_ident(subj_col)} IS NOT NULL AND {cond}""",
                          params)
    if not rows:
        return [], []
    subject = np.array([r[0] for r in rows], dtype=object)
    category = np.array([r[1] if cat_col else "(overall)" for r in rows], dtype=object)
    y = np.array([float(r[2]) for r in rows])
    cur = np.array([r[3] == "current" for r in rows])
    try:
        tree = tree_from_values(category, cat_col or "category")
    except InputError:                      # no category values at all: overall only
        tree = tree_from_values(["(overall)"])
        category = np.full(len(y), "(overall)", dtype=object)
    names, s_idx = factorize(subject)
    node, _ = node_index(tree, category)
    before = _cells(s_idx[~cur], node[~cur], y[~cur], len(names), tree)
    now = _cells(s_idx[cur], node[cur], y[cur], len(names), tree)
    nodes = [0] + ([v for v in range(1, len(tree.nodes))] if cat_col else [])
    out = []
    for s, name in enumerate(names):
        for v in nodes:
            a = (int(before.n[s, v]), float(before.mean[s, v]), float(np.sqrt(before.var[s, v])))
            b = (int(now.n[s, v]), float(now.mean[s, v]), float(np.sqrt(now.var[s, v])))
            if a[0] < MIN_PER_PERIOD or b[0] < MIN_PER_PERIOD:
                continue
            t, p = welch(a[1], a[2], a[0], b[1], b[2], b[0])
            out.append({"subject": str(name), "category": "overall" if v == 0 else tree.nodes[v].label,
                        "previous": a, "current": b, "t": t, "p": p})
    for r, adj in zip(out, holm([r["p"] for r in out])):
        r["p_holm"], r["significant"] = adj, adj < ALPHA
    weakest = _weakest_now(subject[cur], y[cur], category[cur], tree) if cat_col else []
    return out, weakest


def profiles(ctx: ReportContext) -> Section | None:
    """Per subject (an app/product/model column), the mean rating now against the previous period, per category
    when the source has a category column, else overall: who got worse where."""
    sec = Section("profiles", "Profiles: who got worse where",
                  f"Per subject, its mean rating in each period, per category (or overall with no category "
                  f"column); cells with at least {MIN_PER_PERIOD} ratings in both periods are tested with Welch's "
                  "t-test, and a change is flagged only when significant at 5% after Holm's correction over every "
                  "cell of the table. A category where a subject got significantly worse is a headline (a subject "
                  "worse overall is one already, from the rating shifts).")
    for src in [ctx.source] if ctx.source else ctx.store.sources():
        cols = _columns(ctx.store, src)
        subj = next((cols[c] for c in GROUP_COLUMNS if c in cols), None)
        if subj is None:
            continue
        cat = next((cols[c] for c in CATEGORY_COLUMNS if c in cols), None)
        tested, weakest = _profile_rows(ctx, src, subj, cat)
        if not tested:
            continue
        tested.sort(key=lambda r: (not r["significant"], r["p_holm"] if r["significant"] else 0,
                                   r["subject"], r["category"] != "overall", r["category"]))
        table = Table(f"profiles-{_slug(src)}", f"Source '{src}': mean rating per {subj}"
                      + (f" and {cat}" if cat else ""),
                      [subj, cat or "category", "previous n", "previous mean", "current n", "current mean", "change",
                       "p (Holm)", "verdict"], [])
        for j, r in enumerate(tested):
            (n1, m1, _), (n2, m2, _) = r["previous"], r["current"]
            verdict = ("worse" if r["t"] < 0 else "better") if r["significant"] else "no significant change"
            table.rows.append([r["subject"], r["category"], str(n1), f"{m1:.2f}", str(n2), f"{m2:.2f}",
                               f"{m2 - m1:+.2f}", fmt_p(r["p_holm"]), verdict])
            if r["significant"] and r["t"] < 0 and r["category"] != "overall":   # overall: the ratings section's
                sec.findings.append(Finding(
                    f"{subj} '{r['subject']}' got worse in '{r['category']}': mean rating {m1:.2f} to {m2:.2f} "
                    f"(Holm-corrected {p_text(r['p_holm'])}).", table.id, j, "significant", r["p_holm"]))
        sec.tables.append(table)
        if weakest:
            sec.tables.append(Table(
                f"profiles-{_slug(src)}-weakest", f"Source '{src}': each {subj}'s weakest {cat} this period",
                [subj, f"weakest {cat}", "n", "mean", "others' mean", "effect", "p (Holm)", "significant weakness"],
                weakest, note="effect: the subject x category interaction of the profile (`earful profile`); "
                f"categories with at least {PROFILE_MIN_ITEMS} items are tested"))
        sec.data[src] = {"subject_column": subj, "category_column": cat, "cells": tested, "weakest_now": weakest}
    return sec if sec.tables else None


register_section(complaints)
register_section(profiles)
