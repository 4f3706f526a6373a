"""Where an input column is stored when its name is one of Earful's own (``text``, ``item_id``, ``rating``, ...).

The rule: in a source's view, ``item_id``, ``text``, ``created_at``, ``rating``, ``author`` and the derived columns
(``topic``, ``topic_id``, each taxonomy and ``<taxonomy>_confidence``) always mean Earful's values. An input column
with one of those names keeps the name only where its values *are* Earful's values for every row of the source:
the text column itself when it is plain text (stored once, in ``items.text``), a numeric ``rating`` that is the
rating, a typed timestamp ``created_at`` that is the time, a text ``author`` that is the author. Any other such
column is stored, and shown in the view, as ``input_<name>``, and the ingest summary says so; when a later file breaks
"for every row", the earlier files' column of that name moves to ``input_<name>`` too. So nothing shadows anything
and nothing is lost: ``text`` is always the text that Earful searches, classifies and counts, and the input's own
column is one name away.

Design decision: the raw table ``src_<source>`` uses the same names as the view (the question-answering fast path
reads the raw table for questions about original columns), so the renaming happens when the raw table is written,
not in the view.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from earful.ingest.detect import NUMERIC_TYPES, STRING_TYPES, Detection, _base

EARFUL_COLUMNS = ("item_id", "text", "created_at", "rating", "author")
PREFIX = "input_"


@dataclass
class ColumnPlan:
    """How this file's columns are stored: ``renames`` (staged name -> stored name, only the changed ones) and
    ``moves`` (an earlier file's column -> its new name), with one note per change for the ingest summary."""

    renames: dict[str, str] = field(default_factory=dict)
    moves: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def stored(self, col: str) -> str:
        return self.renames.get(col, col)


def _is_earfuls(col: str, det: Detection, types: dict[str, str], text_once: bool) -> bool:
    """Whether this file's `col` holds exactly the values Earful derives for the canonical column of that name."""
    low, base = col.lower(), _base(types.get(col, ""))
    if low == "text":
        return text_once and col == det.text
    if low == "rating":
        return col == det.rating and base in NUMERIC_TYPES
    if low == "created_at":
        return col == det.time and det.time_kind == "timestamp"
    if low == "author":
        return col == det.author and base in STRING_TYPES
    return False  # item_id and the derived columns are never the input's


def plan_columns(cols: list[str], types: dict[str, str], det: Detection, *, raw_cols: list[str] | None,
                 derived: set[str], text_once: bool, source: str) -> ColumnPlan:
    """The `ColumnPlan` for a file with staged columns `cols` going into a source whose raw table has `raw_cols`
    (None: the source is new). `derived`: lower-case names of the derived view columns (topic, taxonomies)."""
    plan = ColumnPlan()
    reserved = set(EARFUL_COLUMNS) | {d.lower() for d in derived}
    raw_by_low = {c.lower(): c for c in raw_cols or []}
    here = {c.lower(): c for c in cols}
    taken = set(raw_by_low) | set(here)

    def target(name: str, fresh: bool = False) -> str:
        """input_<name>: the raw table's column of that name when there is one (unless `fresh`: a column to rename
        needs a name not in use), else a new free name."""
        if not fresh and (PREFIX + name).lower() in raw_by_low:
            return raw_by_low[(PREFIX + name).lower()]
        t = PREFIX + name
        while t.lower() in taken:
            t += "_"
        taken.add(t.lower())
        raw_by_low[t.lower()] = t  # the file's column and an earlier file's column of that name meet there
        return t

    # an earlier file's column with an Earful name moves to input_<name> unless this file provides it as Earful's
    # values too (a raw column 'text' only an older Earful wrote: the text itself is stored once, in items.text)
    for low in sorted(reserved & set(raw_by_low)):
        col, old = here.get(low), raw_by_low[low]
        if low != "text" and col is not None and _is_earfuls(col, det, types, text_once):
            continue
        new = target(old, fresh=(PREFIX + low) in raw_by_low)
        plan.moves.append((old, new))
        plan.notes.append(f"column '{old}' of the earlier files of '{source}' is now '{new}': '{low}' in the view "
                          f"is Earful's own column")
    moved = {old.lower() for old, _ in plan.moves}
    for col in cols:
        low = col.lower()
        if low not in reserved:
            continue
        if _is_earfuls(col, det, types, text_once) and (
                low == "text" or raw_cols is None or (low in raw_by_low and low not in moved)):
            continue  # Earful's values under Earful's name, for every row so far
        new = target(col)
        plan.renames[col] = new
        plan.notes.append(f"column '{col}' is kept as '{new}': '{low}' in the view of '{source}' is Earful's own "
                          f"column")
    return plan
