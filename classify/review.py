"""Human review: export the least-confident labels to CSV; import the corrected CSV as gold labels.

Design decision: an imported correction becomes gold (origin 'review') *and* replaces the item's label with method
'human' and probability 1, so it shows at once in the views and joins retrieval examples and the next training.
"""
from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from earful.classify.base import load_taxonomy
from earful.errors import InputError, NotFoundError

COLUMNS = ["item_id", "text", "predicted", "probability", "label"]


def export_review(store, taxonomy: str, path: Path, n: int = 50, source: str | None = None) -> dict:
    where = "AND i.source = ?" if source else ""
    rows = store.rows(f"""
        SELECT l.item_id, i.text, l.label, l.probability FROM classify_labels l JOIN items i ON i.item_id = l.item_id
        WHERE l.taxonomy = ? AND l.method <> 'human' {where}
          AND l.item_id NOT IN (SELECT item_id FROM classify_gold WHERE taxonomy = ? AND origin = 'review')
        ORDER BY l.probability ASC, l.item_id LIMIT ?""", [taxonomy] + ([source] if source else []) + [taxonomy, n])
    if not rows:
        raise NotFoundError(f"nothing to review for taxonomy '{taxonomy}'",
                            hint=f"run 'earful classify run --taxonomy {taxonomy}' first")
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for item_id, text, label, prob in rows:
            w.writerow([item_id, text, label, f"{prob:.3f}", label])
    return {"exported": len(rows), "path": str(path),
            "next": f"fix the 'label' column, then: earful classify review --taxonomy {taxonomy} --import {path}"}


def import_review(store, taxonomy: str, path: Path) -> dict:
    tax = load_taxonomy(taxonomy, store)
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"item_id", "label"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path} lacks column(s) {', '.join(sorted(missing))}",
                             hint="keep the header written by --export")
        rows = [(r["item_id"].strip(), r["label"].strip()) for r in reader if r.get("label", "").strip()]
    bad = sorted({lab for _, lab in rows if lab not in tax.label_names})
    if bad:
        raise InputError(f"label(s) not in taxonomy '{tax.name}': {', '.join(bad[:10])}",
                         hint=f"use one of: {', '.join(tax.label_names)}")
    known = {r[0] for r in store.rows("SELECT item_id FROM items")}
    unknown = [i for i, _ in rows if i not in known]
    if unknown:
        raise InputError(f"{len(unknown)} item_id(s) not in the workspace, e.g. {unknown[0]}")
    now = datetime.now(UTC)
    changed = 0
    with store.transaction() as con:
        for item_id, label in rows:
            before = store.rows("SELECT label FROM classify_labels WHERE item_id = ? AND taxonomy = ?",
                                [item_id, tax.name])
            changed += int(bool(before) and before[0][0] != label)
            con.execute("INSERT OR REPLACE INTO classify_gold (item_id, taxonomy, label, origin, added_at) "
                        "VALUES (?, ?, ?, 'review', ?)", [item_id, tax.name, label, now])
            con.execute("INSERT OR REPLACE INTO classify_labels (item_id, taxonomy, label, labels, probability, "
                        "method, model_version, reason, labelled_at) VALUES (?, ?, ?, ?, 1.0, 'human', NULL, "
                        "'reviewed', ?)", [item_id, tax.name, label, [label], now])
    store.refresh_views()
    return {"imported": len(rows), "corrected": changed, "taxonomy": tax.name}
