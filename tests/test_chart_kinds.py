"""Chart kinds are a plugin registry: bar and line register through the ``register_chart_kinds`` hook like a
plugin's kind does; a kind a plugin registers is accepted by the LLM agent's ``ChartSpec``, offered in its JSON
schema and drawn (plotly figure + PNG); an unknown kind is a clear error."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from earful import charts
from earful.errors import EarfulError, InputError
from earful.plugins import hookimpl, manager
from earful.qa_agent.agent import ChartSpec, LLMAgent, Plan

COLUMNS = ["app", "reviews"]
ROWS = [["VLC", 2110], ["Firefox", 1700], ["Signal", 45]]


def draw_dots(table: charts.ChartTable, out_dir=None) -> dict:
    """A plugin's chart kind: one dot per x value (a plotly scatter in markers mode)."""
    ((name, ys),) = table.series.items()
    fig = {"data": [{"type": "scatter", "mode": "markers", "name": name, "x": table.x, "y": ys}],
           "layout": {"title": {"text": table.title}}}
    png = None
    if out_dir is not None:
        path = charts.png_path(out_dir, table.title, fig)
        with charts.png_axes(path, (6, 4), table.title, table.x_title, table.y_title) as ax:
            ax.plot(range(len(ys)), ys, "o")
        png = str(path)
    return {"title": table.title, "plotly": fig, "png": png}


class DotsPlugin:
    @hookimpl
    def register_chart_kinds(self, register):
        register(charts.ChartKind("dots", draw_dots, about="one dot per category"))


def _refill() -> None:
    """Ask the hooks again (after a test plugin joined or left the manager)."""
    charts.CHART_KINDS._hooked.clear()
    charts.CHART_KINDS._state = "empty"


@pytest.fixture
def dots_plugin():
    plugin = DotsPlugin()
    manager().register(plugin, name="test-chart-kinds-plugin")
    _refill()
    try:
        yield plugin
    finally:
        manager().unregister(plugin)
        _refill()


def test_builtin_kinds_register_through_the_hook():
    from earful.plugins import call_hook

    seen = []
    call_hook("register_chart_kinds", register=lambda kind, name=None, **_: seen.append(name or kind.name))
    assert seen[:2] == ["bar", "line"] and charts.chart_kind_names()[:2] == ["bar", "line"]
    assert charts.chart_kind("bar").draw is charts.draw_bar
    assert charts.kind_for_trace("bar").name == "bar" and charts.kind_for_trace("scatter").name == "line"


def test_builtin_kinds_draw_a_result_table(tmp_path):
    table = charts.ChartTable.from_table(COLUMNS, ROWS, "app", "reviews")
    bar = charts.draw("bar", table, out_dir=tmp_path)
    assert bar["title"] == "reviews by app"
    assert bar["plotly"]["data"] == [{"type": "bar", "x": ["VLC", "Firefox", "Signal"], "y": [2110, 1700, 45]}]
    assert open(bar["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    line = charts.draw("line", table)
    assert [t["y"] for t in line["plotly"]["data"]] == [[2110, 1700, 45]] and line["png"] is None
    with pytest.raises(InputError, match="no column 'stars'"):
        charts.ChartTable.from_table(COLUMNS, ROWS, "app", "stars")


def test_a_plugin_chart_kind_is_accepted_by_chartspec_and_drawn(dots_plugin, tmp_path):
    assert "dots" in charts.chart_kind_names()
    spec = ChartSpec(type="dots", x="app", y="reviews", title="Reviews per app")
    assert spec.type == "dots"
    schema = Plan.model_json_schema()
    assert "dots" in schema["$defs"]["ChartSpec"]["properties"]["type"]["enum"]   # offered to the model

    # the LLM agent draws the plan's chart with the plugin's kind, from the program's result table
    plan = Plan(code="SELECT app, reviews FROM t", chart=spec)
    res = SimpleNamespace(charts=[], tables=[{"columns": COLUMNS, "rows": ROWS}])
    (chart,) = LLMAgent()._charts(plan, res, SimpleNamespace(output_dir=str(tmp_path)))
    assert chart.title == "Reviews per app"
    assert chart.plotly["data"][0]["mode"] == "markers" and chart.plotly["data"][0]["y"] == [2110, 1700, 45]
    assert open(chart.png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_unknown_chart_kind_is_a_clear_error():
    with pytest.raises(ValidationError) as e:
        ChartSpec(type="dots", x="app", y="reviews")           # not registered without the plugin
    assert "unknown chart kind 'dots'" in str(e.value) and "bar, line" in str(e.value)
    with pytest.raises(InputError) as e:
        charts.draw("pie", charts.ChartTable("t", ["a"], {"n": [1]}))
    assert "unknown chart kind 'pie'" in str(e.value) and "register_chart_kinds" in e.value.hint


def test_a_kind_that_draws_no_figure_is_named():
    with pytest.raises(EarfulError, match="chart kind 'broken' drew NoneType"):
        charts.draw(charts.ChartKind("broken", lambda table, out_dir: None), charts.ChartTable("t", [], {"n": []}))


def test_a_line_over_years_has_a_category_axis():
    """Years came back from SQL as '2012', '2013': plotly read them as numbers and ticked '2,012.5' between them."""
    from earful.charts import line

    fig = line("Reviews per year", ["2012", "2013", "2014"], {"reviews": [20, 63, 56]})["plotly"]
    assert fig["layout"]["xaxis"]["type"] == "category"
    dated = line("Reviews per month", ["2014-01", "2014-02"], {"reviews": [1, 2]})["plotly"]
    assert "type" not in dated["layout"]["xaxis"]          # months stay a date axis
