"""`make demo` step: ask the bundled workspace a few everyday questions, with no LLM, and show answer, SQL, charts."""
from __future__ import annotations

from pathlib import Path

from rich.markup import escape

DEMO_QUESTIONS = [
    'How many reviews mention "battery"?',
    "Which app has the lowest average rating?",
    "How many 1-star reviews are there per year?",
    "What share of reviews mention crash, in percent?",
]


def run(db_path, console) -> None:
    """Runs after the demo has closed its own connection: answers read the workspace from a separate process."""
    from earful.cli.common import rich_table
    from earful.config import load_settings
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext

    settings = load_settings(overrides={"db": str(db_path), "llm": {"model": "none"}})
    out = str(Path(db_path).resolve().parent / "earful-output")
    console.rule("answers (built-in engine, no LLM)")
    for q in DEMO_QUESTIONS:
        ans = ask(q, AskContext(db_path=str(db_path), settings=settings, output_dir=out))
        console.print(f"[bold]Q:[/] {escape(q)}\n[bold]A:[/] {escape(ans.answer)}  "
                      f"[dim]({ans.status}, {ans.engine})[/]", highlight=False)
        for t in ans.tables[:1]:
            if len(t.rows) > 1:
                console.print(rich_table(t.columns, t.rows[:8], title=f"{t.name} ({len(t.rows)} rows)"))
        for s in ans.steps:
            console.print(f"[dim]{s.language}: {escape(s.code)}[/]", highlight=False, markup=True)
        for c in ans.charts:
            if c.png:
                console.print(f"[dim]chart: {c.png}[/]")
