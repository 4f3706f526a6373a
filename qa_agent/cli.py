"""`earful ask` and `earful conversations`: the CLI contract other tools depend on.

``earful [--db W] ask "QUESTION" [--json] [--conversation ID] [--llm SPEC]``. With ``--json`` it prints one JSON
object (`Answer.to_json()`: status, answer, engine, steps, tables, charts, conversation_id, item_ids, notes, plan);
without, the answer, the tables, the code and where charts were written. Every answer belongs to a conversation
kept in the workspace; pass its id back with ``--conversation`` to ask a follow-up.
"""
from __future__ import annotations

import sys

import typer
from rich.markup import escape

from earful.cli.common import JSON_OPTION, console, emit, print_json, rich_table, state


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)
    app.command("conversations")(conversations_cmd)


def ask_cmd(ctx: typer.Context, question: str = typer.Argument(..., help="a question in plain language"),
            as_json: bool = typer.Option(False, "--json", help="print one JSON object (the reply contract)"),
            conversation: str = typer.Option(None, "--conversation", help="continue this conversation id"),
            llm: str = typer.Option(None, "--llm", help="chat model for this question, e.g. openai:gpt-4o-mini"),
            base_url: str = typer.Option(None, "--llm-base-url",
                                         help="server URL for --llm openai-compatible:MODEL (llama.cpp, vLLM)"),
            save: str = typer.Option(None, "--save", metavar="NAME",
                                     help="keep the question and its SQL as monitor NAME (see 'earful monitors')")):
    """Ask a question of the workspace; get an answer, its tables, charts and the code that produced them."""
    from pathlib import Path

    from earful.qa_agent.ask import ask, load_history
    from earful.qa_agent.base import AskContext

    st = state(ctx)
    llm_over = {k: v for k, v in (("model", llm), ("base_url", base_url)) if v}
    settings = st.settings(llm=llm_over) if llm_over else st.settings()
    db = settings.db
    if not Path(db).exists():
        from earful.errors import NotFoundError
        raise NotFoundError(f"no workspace at {db}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    if conversation and not load_history(db, conversation):   # a typo must not start a new conversation silently
        from earful.errors import NotFoundError
        raise NotFoundError(f"no conversation '{conversation}' in {db}",
                            hint="list them with 'earful conversations', or leave out --conversation to start one")
    actx = AskContext(db_path=db, settings=settings, conversation_id=conversation,
                      output_dir=str(Path(db).resolve().parent / "earful-output"))
    ans = ask(question, actx)
    if save is not None:   # before printing: a question that cannot be a monitor (or an empty name) is an error
        from earful.monitors import save as save_monitor

        with st.store() as store:
            save_monitor(store, save, question, ans.to_json())
    if as_json:
        print_json(ans.to_json())
        if ans.status == "error":
            sys.exit(1)   # not typer.Exit: main() runs click with standalone_mode=False, which drops its code
        return
    console.print(ans.answer, style="bold" if ans.status == "answered" else None, markup=False, highlight=False)
    for t in ans.tables:
        console.print(rich_table(t.columns, t.rows[:50], title=t.name))
        if len(t.rows) > 50:
            console.print(f"[dim]... {len(t.rows) - 50} more rows (use --json for all)[/]")
    for s in ans.steps:
        console.print(f"[dim]{s.language}{'' if s.ok and not s.error else ' (' + escape(str(s.error)) + ')'}:[/]")
        console.print(s.code, highlight=False, markup=False)
    for c in ans.charts:
        if c.png:
            console.print(f"chart '{c.title}' written to {c.png}")
    for n in ans.notes:
        console.print(f"[yellow]note:[/] {escape(str(n))}")
    if ans.conversation_id:
        cid = ans.conversation_id
        console.print(f"[dim]conversation {cid} (follow up with --conversation {cid})[/]")
    if ans.status == "error":
        sys.exit(1)


def conversations_cmd(ctx: typer.Context,
                      show: str = typer.Option(None, "--show", help="print this conversation's turns"),
                      limit: int = typer.Option(20, "--limit", help="how many recent conversations"),
                      as_json: bool = JSON_OPTION):
    """List recent conversations kept in the workspace, or show one's questions and answers."""
    from earful.qa_agent.ask import list_conversations, load_history

    db = state(ctx).settings().db
    if show:
        turns = load_history(db, show)
        if not turns:
            from earful.errors import NotFoundError
            raise NotFoundError(f"no conversation '{show}' in {db}", hint="list them with 'earful conversations'")
        emit(turns, as_json=as_json, columns=["#", "engine", "question", "answer"],
             rows=[[i + 1, t["engine"], t["question"], t["answer"]] for i, t in enumerate(turns)], title=show)
        return
    convs = list_conversations(db, limit)
    emit(convs, as_json=as_json, columns=["conversation_id", "turns", "updated_at", "title"],
         rows=[[c["conversation_id"], c["turns"], c["updated_at"], c["title"]] for c in convs])
