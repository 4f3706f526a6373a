"""Regenerate the README's marked console blocks from real runs, or check that they are current (``--check``).

A block is marked by one HTML comment on the line before its fence::

    <!-- readme-output: fresh ws=main lines=16 hide=1 -->
    ```console
    $ earful --db demo.duckdb sql "SELECT 1"
    ...output...
    ```

Every ``$ `` line is run by bash in a scratch folder (links to the repo's ``examples/``, ``tests/`` and ``.venv/``;
``earful`` on PATH; no ``EARFUL_*`` variables or ``earful.toml`` of yours; 100 columns), and the lines up to the
next ``$ `` line are replaced by what it printed (stdout and stderr, without the progress lines). Options:

- tier ``fresh``: the block's commands start from an empty scratch folder, shared by the fresh blocks with the
  same ``ws=NAME`` in README order (cheap: small files, ingest, sql, describe, ask on the built-in engine, errors).
  ``--check`` reruns these and fails on any difference; the test suite runs it (tests/test_readme_outputs.py).
- tier ``demo``: the commands run on a copy of a fresh ``make demo`` workspace (``--demo-db``; embedding and topics
  over the 7,753 demo reviews, minutes); all demo blocks share that copy in README order. ``make readme`` builds a
  fresh demo workspace and rewrites them. Writing one records ``inputs=HASH``: a hash of what decides the demo's
  topics (the demo data, the embedding and topic-fitting code, the pinned libraries, `DEMO_INPUTS`). ``--check``
  cannot afford the demo, so it checks that hash instead: a change to those inputs fails it until
  ``make readme`` is run.
- a ``--conversation ID`` argument is given the id of the conversation an earlier command of the block started.
- ``lines=N`` keeps the first N lines of each command's output and adds ``...``; ``hide=1,3`` runs the block's first
  and third commands without showing their output.

Design decision: what varies from run to run without being wrong (random run and conversation ids, seconds,
timestamps: `VOLATILE`) is written as printed but compared masked, so a check fails only on a real difference.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARK = re.compile(r"^<!-- readme-output: (?P<opts>[^>]*?)\s*-->$")
WIDTH = 100
TIMEOUT_S = 900
# what decides the demo workspace's topics and the demo blocks' outputs: a change here means `make readme`
DEMO_INPUTS = ["examples/data/urr_app_reviews.csv", "constraints.txt", "earful/demo.py", "earful/embeddings.py",
               "earful/embedding_parts.py", "topics/fit.py", "topics/bertopic_backend.py", "topics/keywords.py",
               "topics/labels.py", "topics/model.py", "topics/base.py", "topics/edits.py", "topics/report.py",
               "topics/timeline.py", "topics/assign.py", "topics/cli.py", "docs/readme_outputs.py",
               # the demo's aspects and the top-complaints answer
               "topics/demo.py", "topics/mentions.py", "topics/polarity.py", "topics/polarity_lexicon.txt",
               "topics/aspects.py", "topics/aspect_assign.py", "topics/aspect_stopwords.txt", "topics/complaints.py",
               "qa_agent/builtin/special.py"]
# progress lines (earful.cli.progress, plain form on stderr): never part of a block
PROGRESS = re.compile(r"^[a-z][a-z ]*: (\[ *\d+\.\ds\] |\d+/\d+ .*elapsed$|\d+ \S+ to do \(ready after )")
CONVERSATION_OUT = re.compile(r"^conversation ([0-9a-f]{12})\b")
CONVERSATION_ARG = re.compile(r"(--conversation[ =])[0-9a-f]{12}\b")
# printed as is, compared masked: run/conversation ids, durations, clock times
VOLATILE = [(re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
            (re.compile(r"\b\d+(\.\d+)?s\b"), "<secs>"),
            (re.compile(r"(seconds\W+)\d+(\.\d+)?"), r"\1<n>"),
            (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?"), "<time>")]


class ReadmeError(Exception):
    """A marked block cannot be generated (bad marker, missing demo workspace, a command that timed out)."""


@dataclass
class Block:
    start: int                     # index of the marker line
    end: int                       # index of the closing fence
    tier: str
    opts: dict = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    @property
    def ws(self) -> str:
        return self.opts.get("ws", "main") if self.tier == "fresh" else "demo"


def parse(lines: list[str]) -> list[Block]:
    """The marked blocks of a README's lines."""
    blocks = []
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        if not m:
            i += 1
            continue
        words = m.group("opts").split()
        if not words or words[0] not in ("fresh", "demo"):
            raise ReadmeError(f"line {i + 1}: a readme-output marker starts with 'fresh' or 'demo'")
        opts = dict(w.split("=", 1) for w in words[1:])
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise ReadmeError(f"line {i + 1}: a readme-output marker must stand right before a ``` fence")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].rstrip() == "```"), None)
        if end is None:
            raise ReadmeError(f"line {i + 2}: the marked block is not closed")
        cmds = [ln[2:] for ln in lines[i + 2:end] if ln.startswith("$ ")]
        blocks.append(Block(i, end, words[0], opts, cmds))
        i = end + 1
    return blocks


def demo_inputs_hash() -> str:
    h = hashlib.sha256()
    for rel in DEMO_INPUTS:
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes() + b"\0")
    return h.hexdigest()[:12]


def scratch(demo_db: Path | None = None) -> Path:
    """A folder where the commands see the repo's data and venv, and (for demo blocks) a copy of the demo db."""
    d = Path(tempfile.mkdtemp(prefix="earful-readme-"))
    for name in ("examples", "tests", ".venv"):
        (d / name).symlink_to(ROOT / name)
    if demo_db is not None:
        shutil.copy(demo_db, d / "demo.duckdb")
    return d


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    env.update(PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}", COLUMNS=str(WIDTH), LINES="50",
               NO_COLOR="1", TERM="dumb", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
    return env


def run_command(cmd: str, cwd: Path) -> list[str]:
    """What `cmd` prints (stdout and stderr as they interleave, progress lines dropped, trailing spaces cut)."""
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=environment(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise ReadmeError(f"'{cmd}' ran past {TIMEOUT_S} s") from exc
    out = [ln.rstrip() for ln in p.stdout.splitlines() if not PROGRESS.match(ln)]
    while out and not out[-1]:
        out.pop()
    return out


def render(block: Block, cwd: Path) -> list[str]:
    """The block's new body: each command and its output, as the options say."""
    hide = {int(x) for x in block.opts.get("hide", "").split(",") if x}
    limit = int(block.opts["lines"]) if "lines" in block.opts else None
    body, conversation = [], None
    for k, cmd in enumerate(block.commands, 1):
        if conversation:   # a follow-up names the conversation the block's earlier answer started
            cmd = CONVERSATION_ARG.sub(rf"\g<1>{conversation}", cmd)
        out = run_command(cmd, cwd)
        for line in out:
            m = CONVERSATION_OUT.search(line)
            conversation = m.group(1) if m else conversation
        body.append(f"$ {cmd}")
        if k in hide:
            continue
        if limit is not None and len(out) > limit:
            out = out[:limit] + ["..."]
        body += out
    return body


def marker(block: Block) -> str:
    opts = {**block.opts}
    if block.tier == "demo":
        opts["inputs"] = demo_inputs_hash()
    words = [block.tier] + [f"{k}={v}" for k, v in opts.items()]
    return f"<!-- readme-output: {' '.join(words)} -->"


def generate(text: str, tiers: set[str], demo_db: Path | None = None) -> str:
    """The README text with the blocks of `tiers` regenerated (other blocks untouched)."""
    lines = text.split("\n")
    blocks = [b for b in parse(lines) if b.tier in tiers]
    if any(b.tier == "demo" for b in blocks) and (demo_db is None or not Path(demo_db).exists()):
        raise ReadmeError(f"no demo workspace at {demo_db}: run `make readme` (it runs the demo first)")
    folders: dict[str, Path] = {}
    new: dict[int, tuple[Block, list[str]]] = {}
    try:
        for b in blocks:
            if b.ws not in folders:
                folders[b.ws] = scratch(demo_db if b.tier == "demo" else None)
            new[b.start] = (b, render(b, folders[b.ws]))
    finally:
        for d in folders.values():
            shutil.rmtree(d, ignore_errors=True)
    out, i = [], 0
    while i < len(lines):
        if i in new:
            b, body = new[i]
            out += [marker(b), lines[i + 1]] + body + ["```"]
            i = b.end + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def masked(text: str) -> str:
    for pattern, repl in VOLATILE:
        text = pattern.sub(repl, text)
    return text


def stale_demo_blocks(text: str) -> list[int]:
    """Line numbers of demo blocks whose recorded inputs hash is not the current one."""
    current = demo_inputs_hash()
    return [b.start + 1 for b in parse(text.split("\n")) if b.tier == "demo" and b.opts.get("inputs") != current]


def check(text: str) -> list[str]:
    """Problems with a README's text: fresh blocks that differ from a rerun (as a diff), stale demo blocks."""
    problems = []
    fresh = generate(text, {"fresh"})
    if masked(fresh) != masked(text):
        diff = difflib.unified_diff(text.split("\n"), fresh.split("\n"), "README.md", "regenerated", lineterm="", n=1)
        problems.append("README outputs differ from a fresh run (run `python docs/readme_outputs.py`):\n"
                        + "\n".join(diff))
    for line in stale_demo_blocks(text):
        problems.append(f"README.md:{line}: this demo block was generated from other demo inputs (data, embedding "
                        "or topic code, library pins); run `make readme`")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail when a fresh block differs or a demo block is stale")
    ap.add_argument("--tier", choices=["fresh", "demo", "all"], default="fresh", help="which blocks to rewrite")
    ap.add_argument("--demo-db", type=Path, help="a fresh `make demo` workspace (for --tier demo/all)")
    ap.add_argument("--readme", type=Path, default=README)
    a = ap.parse_args(argv)
    text = a.readme.read_text(encoding="utf-8")
    try:
        if a.check:
            problems = check(text)
            for p in problems:
                print(p, file=sys.stderr)
            return 1 if problems else 0
        tiers = {"fresh", "demo"} if a.tier == "all" else {a.tier}
        new = generate(text, tiers, a.demo_db)
    except ReadmeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if new != text:
        a.readme.write_text(new, encoding="utf-8")
    print(f"{a.readme}: {len([b for b in parse(new.split(chr(10))) if b.tier in tiers])} blocks regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
