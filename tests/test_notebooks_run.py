"""The bundled notebooks run top to bottom in a real Jupyter kernel (nbclient + ipykernel) on the bundled data.

Each notebook is executed against the notebooks' sample workspace (``EARFUL_NOTEBOOK_DB``, built once per session by
`earful.notebook.sample`), and fails on any cell error, on an Earful error a magic printed instead of raising, and
on outputs that are missing what the cell is there to show. The committed notebooks have cell ids and no outputs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow      # a kernel per notebook, and the sample workspace embeds 300 reviews

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["quickstart", "app_reviews", "model_profiles"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from earful.notebook.sample import sample_workspace

    return sample_workspace(tmp_path_factory.getbasetemp() / "nb-sample" / "sample.duckdb", reviews=300)


def run(name: str) -> dict:
    """Execute notebooks/NAME.ipynb in a fresh kernel (cwd: notebooks/); {cell id: cell} after the run."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{name} cell {cell.id}: {out.get('ename')}: {out.get('evalue')}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "error:" not in out.text, f"{name} cell {cell.id}: {out.text}"
    return {c.id: c for c in nb.cells}


def html_of(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs if "data" in o)


def text_of(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs if "data" in o)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_have_cell_ids_and_no_outputs(name):
    import nbformat

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_quick_tour_runs(sample, monkeypatch):
    monkeypatch.setenv("EARFUL_NOTEBOOK_DB", str(sample))
    cells = run("quickstart")
    assert str(sample) in text_of(cells["pick-workspace"])             # the sample, not a demo workspace
    for cid in ("ask", "follow-up", "new-conversation", "ask-magic", "ask-magic-new"):
        assert 'class="earful-answer earful-answered"' in html_of(cells[cid]), cid
    assert "Plotly.newPlot" in html_of(cells["ask"]) and "<pre><code" in html_of(cells["ask"])
    assert "Figure" in text_of(cells["answer-parts"])
    assert "avg_rating" in html_of(cells["sql-magic"]) and "avg_rating" in html_of(cells["sql-magic-var"])
    assert html_of(cells["topic-charts"]).count("Plotly.newPlot") == 4


def test_app_review_analysis_runs(sample, monkeypatch):
    monkeypatch.setenv("EARFUL_NOTEBOOK_DB", str(sample))
    cells = run("app_reviews")
    assert "trend" in html_of(cells["trends"]) and "p_value" in html_of(cells["trends"])
    assert "lo" in html_of(cells["shares"]) and "hi" in html_of(cells["shares"])
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in cells["shares-chart"].outputs)
    assert "earful-answered" in html_of(cells["evidence"])
    assert "shape: (0," not in text_of(cells["evidence-items"])      # the quoted reviews were found
    assert html_of(cells["topic-charts"]).count("Plotly.newPlot") == 4


def test_model_profile_walk_through_runs(sample, monkeypatch):
    monkeypatch.setenv("EARFUL_NOTEBOOK_DB", str(sample))
    cells = run("model_profiles")
    assert html_of(cells["profile"]).count("Plotly.newPlot") == 2
    assert "gemma-2b-it" in html_of(cells["weakest-at"])
    assert "shape: (8," in text_of(cells["weakest-at"])               # every model ranked at the node
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in cells["heatmap"].outputs)
