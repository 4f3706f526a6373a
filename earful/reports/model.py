"""What a report is made of: sections of tables (and charts), and findings that cite one table row each.

Design decision: a finding's text is written from the cells of the row it cites, and `check_finding` then proves
it: every number in the text (outside quoted names) must be a number shown in that row. A finding that fails the
check is dropped and noted, never printed; the headline list is made only of checked findings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w])")
_QUOTED = re.compile(r"'[^']*'")


@dataclass
class Table:
    id: str                 # HTML anchor (unique in the report)
    title: str
    columns: list[str]
    rows: list[list[str]]   # cells as shown
    note: str = ""


@dataclass
class Finding:
    text: str
    table: str              # Table.id it cites
    row: int                # index of the row in that table
    kind: str = "info"      # "significant" (a tested change), "alert" (a monitor's threshold), "info"
    p: float = 1.0          # for ordering the headlines

    def to_json(self) -> dict:
        return {"text": self.text, "table": self.table, "row": self.row, "kind": self.kind}


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)     # earful.charts figures {title, plotly, png}
    findings: list[Finding] = field(default_factory=list)
    html_extra: str = ""    # extra HTML (a saved question's rendered answer)
    md_extra: str = ""
    data: dict[str, Any] = field(default_factory=dict)   # the numbers behind the tables, for --json


def numbers(text: str) -> list[str]:
    """The numbers written in `text` outside quoted names, normalised ('1,234' -> '1234')."""
    return [n.replace(",", "").lstrip("+-") for n in _NUMBER.findall(_QUOTED.sub("", text))]


def check_finding(finding: Finding, tables: dict[str, Table]) -> str | None:
    """None when every number in the finding is shown in the row it cites; else what is wrong."""
    table = tables.get(finding.table)
    if table is None or not 0 <= finding.row < len(table.rows):
        return f"cites a missing table row ({finding.table} #{finding.row})"
    shown = set()
    for cell in table.rows[finding.row]:
        shown.update(numbers(str(cell)))
    missing = [n for n in numbers(finding.text) if n not in shown]
    return f"numbers not in its table row: {', '.join(missing)}" if missing else None
