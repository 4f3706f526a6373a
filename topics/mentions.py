"""Mentions: each item split into sentences, and sentences into clauses at contrastive conjunctions, with offsets.

Design decision: segmentation is a pure function (`split`) of the text returning exact ``(start, end)`` character
spans, so ``text[start:end]`` is the mention verbatim and the store can always quote it back from the item. A
sentence is cut before "but", "however", "except" and "although" when both sides keep at least two words ("good game,
but ridiculously hard" -> "good game" | "but ridiculously hard"; "nothing but ads" stays whole), and a sentence that
opens with "although" is cut at its first comma. `segment` is a rerunnable stage: it segments the items that have no
mentions of the current `SEGMENTER` version and leaves the others (and their polarity and aspects) alone; an item
segmented by an earlier version keeps its mentions when the current one gives it the same spans (most items), so a
new version costs no re-embedding of what it did not change. Ingest stays per item.
"""
from __future__ import annotations

import re
import time
import unicodedata
import uuid
from dataclasses import dataclass

import numpy as np

SEGMENTER = "rules-v2"     # stored with every mention; a new version re-segments on the next run (items whose spans
                           # it changes; rules-v2: CJK full stops end sentences, trailing emoji join their sentence)
CONTRAST = ("but", "however", "except", "although")
_CJK_END = "\u3002\uff01\uff1f"    # 。！？ end a sentence with no space after them
_SENT_END = re.compile(r"(?:[.!?\u2026" + _CJK_END + r"]+[\"')\]\u201d\u300d\u300f]*|\n)\s*|\s*\n\s*")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|approx|no|v)|\b[a-z])\.$", re.I)
_CONJ = re.compile(r"\b(" + "|".join(CONTRAST) + r")\b", re.I)
_NO_SPLIT_BEFORE_BUT = {"nothing", "anything", "all", "everything", "last", "none", "anyone", "everyone"}
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_TRIM = " \t\r\n,;:-\u2013\u2014"
MIN_WORDS = 2
_LEAD_SYMBOLS = re.compile(r"([^\w\s]+)\s+(?=\w)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str       # "sentence" (a whole sentence) or "clause" (part of one, cut at a contrastive conjunction)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: cut after ., !, ?, … (and closing quotes/brackets) followed by space or the end, after 。！？
    (no space follows them in Chinese or Japanese), and at line breaks; not after common abbreviations or a single
    letter ("e.g.", "v."), nor inside numbers ("2.5")."""
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        end = m.end()
        if end >= len(text):
            break
        g = m.group(0)
        body = text[start:m.start() + len(g.rstrip())]
        cjk = any(c in _CJK_END for c in g)
        if "\n" not in g and not cjk and (not g[-1:].isspace() or _ABBREV.search(body.rstrip("\"')]\u201d"))):
            continue
        spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = end
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        s, e = _trimmed(text, s, e)
        if e > s:
            out.append((s, e))
    return out


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _cuts(text: str, s: int, e: int) -> list[int]:
    """Positions inside the sentence text[s:e] where a clause starts (at a contrastive conjunction)."""
    sent = text[s:e]
    cuts = []
    for m in _CONJ.finditer(sent):
        word = m.group(1).lower()
        before = sent[:m.start()]
        prev = _WORD.findall(before)
        if word == "but" and prev and prev[-1].lower() in _NO_SPLIT_BEFORE_BUT:
            continue
        if word == "although" and not before.strip():
            comma = sent.find(",", m.end())
            if comma > 0:
                cuts.append(s + comma + 1)
            continue
        cuts.append(s + m.start())
    return cuts


def _symbolic(part: str) -> bool:
    """Whether a part holds a symbol (an emoji, "♥", "+1"'s sign): it says something, unlike bare punctuation."""
    return any(unicodedata.category(c)[0] == "S" for c in part)


def split(text: str) -> list[Span]:
    """Mention spans of one text, in order: its sentences, each cut into clauses at contrastive conjunctions when
    every part keeps at least `MIN_WORDS` words. A part without a letter or digit joins the mention before it when
    it holds a symbol ("Crashes every time. 😡😡": one mention, the emoji with it; the next mention when it opens the
    text) and is dropped when it is bare punctuation ("!!!"); a text with no letter or digit but something other
    than white space ("😡", "👍👍", "?!") is one mention, so every non-blank item has a mention (an emoji carries
    polarity; such a mention is general, never an aspect)."""
    out: list[Span] = []
    text = text or ""
    pending = None                       # start of symbols before the first mention with words
    for s, e in sentences(text):
        bounds = [s]
        for c in _cuts(text, s, e):
            if _words(text[bounds[-1]:c]) >= MIN_WORDS and _words(text[c:e]) >= MIN_WORDS:
                bounds.append(c)
        bounds.append(e)
        parts = [_trimmed(text, a, b) for a, b in zip(bounds, bounds[1:])]
        kind = "sentence" if len(parts) == 1 else "clause"
        lead = _LEAD_SYMBOLS.match(text, parts[0][0], parts[0][1])
        if out and lead and _symbolic(lead.group(1)):     # "Crashes. 😡😡 Then fine.": the emoji end the first
            out[-1] = Span(out[-1].start, lead.end(1), out[-1].kind)
            parts[0] = (lead.end(), parts[0][1])
        for a, b in parts:
            if b <= a:
                continue
            if _WORD.search(text[a:b]):
                out.append(Span(a if pending is None else pending, b, kind))
                pending = None
            elif _symbolic(text[a:b]):
                if out:
                    out[-1] = Span(out[-1].start, b, out[-1].kind)
                elif pending is None:
                    pending = a
    if not out and text.strip():
        start = len(text) - len(text.lstrip())
        out.append(Span(start, len(text.rstrip()), "sentence"))
    return out


# -- the stage --------------------------------------------------------------------------------------------------------
def segment(store, *, source: str | None = None, rebuild: bool = False, batch: int = 50_000) -> dict:
    """Split every item that has no mentions of the current segmenter into mentions (all items with `rebuild`), drop
    the mentions of items that are gone. Returns counts; running it twice adds nothing the second time."""
    from earful.topics import model as M

    t0 = time.perf_counter()
    where, params = ("AND i.source = ?", [source]) if source else ("", [])
    if source:
        store.source_info(source)
    with store.transaction() as con:
        gone = con.execute("DELETE FROM mentions WHERE item_id NOT IN (SELECT item_id FROM items)").fetchall()
        if rebuild:
            con.execute(f"DELETE FROM mentions WHERE item_id IN (SELECT item_id FROM items i WHERE true {where})",
                        params)
    resegmented = _upgrade(store, where, params)
    todo = store.rows(f"""SELECT i.item_id, i.text FROM items i WHERE NOT EXISTS
                          (SELECT 1 FROM mentions m WHERE m.item_id = i.item_id) {where} ORDER BY i.item_id""", params)
    added = 0
    for b in range(0, len(todo), batch):
        rows = []
        for item_id, text in todo[b:b + batch]:
            for seq, sp in enumerate(split(text)):
                rows.append((f"{item_id}:{seq}", item_id, seq, sp.start, sp.end, text[sp.start:sp.end], sp.kind))
        added += len(rows)
        with store.transaction() as con:
            _insert(con, rows, M.now())
    total = store.scalar(f"SELECT count(*) FROM mentions m JOIN items i USING (item_id) WHERE true {where}", params)
    seconds = time.perf_counter() - t0
    _log_run(store, "segment", source, {"segmenter": SEGMENTER, "rebuild": rebuild}, added, seconds)
    return {"items_segmented": len(todo), "mentions_added": added, "mentions": int(total or 0),
            "removed_for_gone_items": int(gone[0][0]) if gone else 0, "segmenter": SEGMENTER,
            "resegmented": resegmented, "seconds": round(seconds, 1)}


def _upgrade(store, where: str, params: list, batch: int = 50_000) -> int:
    """Mentions of an earlier segmenter: an item whose spans the current one gives unchanged keeps its mentions (and
    their polarity, vectors and aspects; only the version is updated); the mentions of an item whose spans change
    are deleted, so the caller segments it again. Returns how many items change."""
    from earful.topics import model as M

    old = store.rows(f"""SELECT m.item_id, any_value(i.text), list(m.start_char ORDER BY m.seq),
                                list(m.end_char ORDER BY m.seq)
                         FROM mentions m JOIN items i USING (item_id)
                         WHERE m.segmenter <> ? {where} GROUP BY m.item_id""", [SEGMENTER] + params)
    if not old:
        return 0
    import pyarrow as pa

    same, changed = [], []
    for item_id, text, starts, ends in old:
        spans = [(sp.start, sp.end) for sp in split(text)]
        (same if spans == list(zip(starts, ends)) else changed).append(item_id)
    with store.transaction() as con:
        for ids, sql in ((same, "UPDATE mentions SET segmenter = ?, segmented_at = ? WHERE item_id IN "
                                "(SELECT item_id FROM _upgrade_ids)"),
                         (changed, "DELETE FROM mentions WHERE item_id IN (SELECT item_id FROM _upgrade_ids)")):
            for b in range(0, len(ids), batch):
                con.register("_upgrade_ids", pa.table({"item_id": pa.array(ids[b:b + batch], pa.string())}))
                con.execute(sql, [SEGMENTER, M.now()] if sql.startswith("UPDATE") else [])
                con.unregister("_upgrade_ids")
    return len(changed)


def _insert(con, rows: list[tuple], now) -> None:
    import pyarrow as pa

    if not rows:
        return
    cols = list(zip(*rows))
    tbl = pa.table({"mention_id": pa.array(cols[0], pa.string()), "item_id": pa.array(cols[1], pa.string()),
                    "seq": pa.array(cols[2], pa.int32()), "start_char": pa.array(cols[3], pa.int32()),
                    "end_char": pa.array(cols[4], pa.int32()), "text": pa.array(cols[5], pa.string()),
                    "kind": pa.array(cols[6], pa.string())})
    con.register("_new_mentions", tbl)
    con.execute("""INSERT INTO mentions (mention_id, item_id, seq, start_char, end_char, text, content_hash, kind,
                                         segmenter, segmented_at)
                   SELECT mention_id, item_id, seq, start_char, end_char, text, md5(text), kind, ?, ?
                   FROM _new_mentions""", [SEGMENTER, now])
    con.unregister("_new_mentions")


def _log_run(store, stage: str, source: str | None, params: dict, n: int, seconds: float) -> str:
    import json

    from earful.topics import model as M

    run_id = uuid.uuid4().hex[:12]
    store.con.execute("INSERT INTO mention_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [run_id, stage, source, json.dumps(params, default=str), n, seconds, M.now()])
    return run_id


def require_mentions(store, source: str | None = None) -> int:
    """How many mentions there are (of `source`); none is an error that says to segment first."""
    from earful.errors import NotFoundError

    n = store.scalar("SELECT count(*) FROM mentions m JOIN items i USING (item_id)"
                     + (" WHERE i.source = ?" if source else ""), [source] if source else [])
    if not n:
        raise NotFoundError("no mentions yet", hint="run 'earful topics mentions' first (it splits items into "
                                                     "mentions and scores their polarity)")
    return int(n)


# -- mention vectors (the shared embeddings cache, keyed by md5 of the text) -----------------------------------------
def embed_mentions(store, embedder=None, *, chunk: int = 4096, progress: bool = False,
                   mention_ids: list[str] | None = None, skip_general: bool = True) -> dict:
    """Embed the mention texts not yet cached for the embedder's model: all of them, or those of `mention_ids`.

    A mention made only of evaluative or generic words ("Love it!!!") is never clustered, so it is not embedded
    (unless `skip_general` is False); a one-sentence item's mention is its text, already cached by `embed_items`.
    Each distinct text is embedded once."""
    from earful.embeddings import Embedder, _arrow_vectors, _progress
    from earful.topics.aspects import is_general

    embedder = embedder or Embedder()
    sel = ""
    if mention_ids is not None:
        import pyarrow as pa

        store.con.register("_want_mentions", pa.table({"mention_id": pa.array(list(mention_ids), pa.string())}))
        sel = "AND mention_id IN (SELECT mention_id FROM _want_mentions)"
    try:
        todo = store.rows(f"""SELECT content_hash, any_value(text) FROM mentions WHERE content_hash NOT IN
                              (SELECT content_hash FROM embeddings WHERE model_id = ?) {sel}
                              GROUP BY content_hash ORDER BY content_hash""", [embedder.model_id])
    finally:
        if sel:
            store.con.unregister("_want_mentions")
    skipped = 0
    if skip_general:
        before = len(todo)
        todo = [(h, t) for h, t in todo if not is_general(t)]
        skipped = before - len(todo)
    bar = _progress(len(todo), progress)
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        table = _arrow_vectors([h for h, _ in part], embedder.model_id, embedder.encode([t for _, t in part]))
        with store.transaction() as con:
            con.register("_new_vectors", table)
            con.execute("INSERT INTO embeddings (content_hash, model_id, vector) "
                        "SELECT content_hash, model_id, vector::FLOAT[] FROM _new_vectors")
            con.unregister("_new_vectors")
        bar(len(part))
    bar(None)
    return {"embedded": len(todo), "general_skipped": skipped}


def mention_vectors(store, model_id: str, where: str = "", params: list | None = None):
    """(mention ids, texts, matrix) of mentions with a cached vector of `model_id`, ordered by mention id;
    `where` is an extra SQL condition over ``mentions m`` and ``items i``."""
    tbl = store.query(f"""SELECT m.mention_id, m.text, e.vector FROM mentions m JOIN items i USING (item_id)
                          JOIN embeddings e ON e.content_hash = m.content_hash AND e.model_id = ?
                          {'WHERE ' + where if where else ''} ORDER BY m.mention_id""", [model_id] + (params or []))
    ids = tbl.column("mention_id").to_pylist()
    if not ids:
        return [], [], np.zeros((0, 0), dtype=np.float32)
    flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return ids, tbl.column("text").to_pylist(), flat.reshape(len(ids), -1).astype(np.float32, copy=False)
