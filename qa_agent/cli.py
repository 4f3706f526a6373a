"""`earful ask`: the CLI contract other tools depend on.

``earful [--db W] ask "QUESTION" [--json] [--conversation ID] [--llm SPEC]``. With ``--json`` it prints one JSON
object (`Answer.to_json()`); without, the answer, the tables, the code and where charts were written.
"""
from __future__ import annotations

import typer

from earful.cli.common import console, print_json, rich_table, state


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)


def ask_cmd(ctx: typer.Context, question: str = typer.Argument(..., help="a question in plain language"),
            as_json: bool = typer.Option(False, "--json", help="print one JSON object (the reply contract)"),
            conversation: str = typer.Option(None, "--conversation", help="continue this conversation id"),
            llm: str = typer.Option(None, "--llm", help="chat model for this question, e.g. openai:gpt-4o-mini")):
    """Ask a question of the workspace; get an answer, its tables, charts and the code that produced them."""
    from pathlib import Path

    from qa_agent.ask import ask
    from qa_agent.base import AskContext

    st = state(ctx)
    settings = st.settings(llm={"model": llm} if llm else None)
    db = settings.db
    if not Path(db).exists():
        from earful.errors import NotFoundError
        raise NotFoundError(f"no workspace at {db}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    actx = AskContext(db_path=db, settings=settings, conversation_id=conversation,
                      output_dir=str(Path(db).resolve().parent / "earful-output"))
    ans = ask(question, actx)
    if as_json:
        print_json(ans.to_json())
        return
    console.print(f"[bold]{ans.answer}[/]" if ans.status == "answered" else ans.answer)
    for t in ans.tables:
        console.print(rich_table(t.columns, t.rows[:50], title=t.name))
    for s in ans.steps:
        console.print(f"[dim]{s.language}{'' if s.ok else ' (failed: ' + str(s.error) + ')'}:[/]")
        console.print(s.code, highlight=False, markup=False)
    for c in ans.charts:
        if c.png:
            console.print(f"chart '{c.title}' written to {c.png}")
    for n in ans.notes:
        console.print(f"[yellow]note:[/] {n}")
    if ans.conversation_id:
        console.print(f"[dim]conversation {ans.conversation_id} (follow up with --conversation {ans.conversation_id})[/]")
    if ans.status == "error":
        raise typer.Exit(1)
