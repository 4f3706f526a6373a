"""The README's console outputs are what a fresh run prints (#16), checked by docs/readme_outputs.py.

Blocks marked ``fresh`` (small workspaces from the bundled files: ingest, sql, embed of 3 texts, similar, status,
ask on the built-in engine, errors) are rerun here and must match, run ids and seconds masked. Blocks marked
``demo`` need the full demo (minutes), so here they must carry the hash of the demo inputs they were generated
from: changing the demo data, the embedding or topic code or a library pin fails this suite until `make readme`.
The generator itself is checked on a small README of its own: it writes what runs print, and its check fails on a
changed number but not on a new run id.
"""
from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT


def _generator():
    """docs/readme_outputs.py, a script outside the package, loaded as a module."""
    if "readme_outputs" not in sys.modules:
        spec = importlib.util.spec_from_file_location("readme_outputs", ROOT / "docs" / "readme_outputs.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["readme_outputs"] = mod      # dataclasses look their module up while the class is made
        spec.loader.exec_module(mod)
    return sys.modules["readme_outputs"]


SMALL = """# t

<!-- readme-output: fresh ws=t -->
```console
$ earful --db w.duckdb ingest tests/data/reviews.csv --source r --json | head -c 41
old output
$ earful --db w.duckdb sql "SELECT count(*) AS n, max(rating) AS top FROM r" --csv
n,top
1,1
$ earful --db w.duckdb sql "DELETE FROM items"
```

<!-- readme-output: fresh ws=t hide=1 lines=2 -->
```console
$ earful --db w.duckdb sql "SELECT 1 AS x" --csv
$ earful --db w.duckdb sql "SELECT text FROM r ORDER BY item_id" --csv
```

<!-- readme-output: demo inputs=000000000000 -->
```console
$ earful --db demo.duckdb topics list
(left alone without a demo workspace)
```
"""


@pytest.mark.slow
def test_generator_writes_real_output_and_check_fails_only_on_real_differences(tmp_path):
    g = _generator()
    text = g.generate(SMALL, {"fresh"})
    lines = text.split("\n")
    assert '{"added": 5, "duplicates": 0, "quarantine' in lines       # the real summary, cut by the command's head
    assert "n,top" in lines and "5,5.0" in lines and "old output" not in text
    assert any(ln.startswith("error: refused: DELETE") for ln in lines)   # stderr of a failing command is shown
    assert "x" not in lines                                         # hide=1: the first command's output not shown
    second = lines[lines.index('$ earful --db w.duckdb sql "SELECT text FROM r ORDER BY item_id" --csv') + 1:]
    assert second[0] == "text" and second[2] == "..." and second[3] == "```"   # lines=2
    assert "(left alone without a demo workspace)" in text          # demo blocks are only written by make readme
    readme = tmp_path / "README.md"
    readme.write_text(text)
    assert g.main(["--check", "--readme", str(readme)]) == 1        # the demo block's recorded inputs are stale
    assert g.stale_demo_blocks(text) == [text.split("\n").index("<!-- readme-output: demo inputs=000000000000 -->") + 1]
    current = text.replace("inputs=000000000000", f"inputs={g.demo_inputs_hash()}")
    assert g.check(current) == []
    problems = g.check(current.replace("5,5.0", "5,4.0"))             # a changed number fails, with a diff
    assert len(problems) == 1 and "-5,4.0" in problems[0] and "+5,5.0" in problems[0]


def test_masking_hides_only_what_varies_between_runs():
    g = _generator()
    a = "conversation 236a5fb6d1b1 (follow up with --conversation 236a5fb6d1b1)\n│ seconds │ 45.3 │\nin 45.3s"
    b = "conversation f162e3f909a4 (follow up with --conversation f162e3f909a4)\n│ seconds │ 51.0 │\nin 9s"
    assert g.masked(a) == g.masked(b)
    assert g.masked("66 topics, item 6117b7b9197f981a") != g.masked("73 topics, item 6117b7b9197f981a")
    assert g.masked("item 6117b7b9197f981a") != g.masked("item 6117b7b9197f981b")


def test_readme_demo_blocks_were_generated_from_the_current_demo_inputs():
    """A change to what decides the demo's topics (data, embedding and topic code, pins) needs `make readme`."""
    g = _generator()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = [b for b in g.parse(text.split("\n")) if b.tier == "demo"]
    assert demo, "the README's topics transcript is marked as a demo block"
    assert g.stale_demo_blocks(text) == [], "README demo outputs are stale: run `make readme`"


@pytest.mark.slow
def test_readme_fresh_blocks_are_what_a_fresh_run_prints():
    g = _generator()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len([b for b in g.parse(text.split("\n")) if b.tier == "fresh"]) >= 4
    fresh = g.generate(text, {"fresh"})
    problems = [] if g.masked(fresh) == g.masked(text) else g.check(text)
    assert not problems, "\n".join(problems) + "\n(run `.venv/bin/python docs/readme_outputs.py` to rewrite them)"
