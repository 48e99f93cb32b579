"""The in-place chart element (`widgets.chart`) and the figures' one-pass build: the JSON it sends is
plotly's own `to_json`, the app's look built into the dicts is plotly's `update_layout` result, and
what the CNN page's chart is given is Keras's answer for the digit."""
from __future__ import annotations

import json

import keras
import numpy as np
import plotly.graph_objects as go
import pytest

from explain.data import load_mnist
from explain.figures.theme import figure, style
from explain.preprocess import to_mnist
from tests.apptest import app_on_page
from tests.charts import charts, figures
from tests.charts import figure_json as drawn_json
from widgets.chart import SENT, figure_json, figure_parts, joined


def test_a_figure_travels_as_plotlys_own_json_with_numpy_arrays_as_typed_arrays():
    z, custom = np.arange(12, dtype=np.float32).reshape(3, 4), np.ones((3, 4, 2), np.int8)
    fig = go.Figure(data=[go.Heatmap(z=z, customdata=custom),
                          go.Scatter(x=np.arange(5), y=np.linspace(0, 1, 5), uid="drop-me")],
                    layout=dict(title="t", xaxis=dict(range=np.array([0.0, 3.0]))),
                    frames=[go.Frame(data=[go.Bar(y=np.array([2.0, 1.0]))])])
    assert figure_json(fig) == fig.to_json()
    sent = json.loads(figure_json(fig))
    assert sent["data"][0]["z"]["dtype"] == "f4"            # base64, not a list of numbers
    assert sent["layout"]["xaxis"]["range"] == [0.0, 3.0]    # plotly leaves "range" a list
    assert "uid" not in sent["data"][1]


@pytest.mark.parametrize("projector", [False, True])
def test_the_look_merged_into_the_dicts_is_plotlys_update_layout_result(projector):
    """theme.figure against theme.style, which applies the look with plotly's own update_* calls."""
    def spec():
        data = [dict(type="scatter", x=[0, 1], y=[1, 0], line=dict(dash="dot")),
                dict(type="scatter", x=[0, 1], y=[0, 1], mode="markers", marker=dict(color="red")),
                dict(x=[1, 2], y=[2, 1]),  # a scatter by plotly's default
                dict(type="heatmap", z=[[0, 1]], xaxis="x2", yaxis="y2")]
        layout = dict(title=dict(text="a title"), annotations=[dict(text="panel", font=dict(color="blue"))],
                      xaxis=dict(title=dict(text="x")), xaxis2=dict(domain=[0.5, 1]), yaxis2=dict(tickformat=".0%"),
                      font=dict(color="black"))
        return data, layout

    expected = style(go.Figure(data=spec()[0], layout=spec()[1]), projector, height=200)
    expected.update_layout(margin=dict(t=44))
    assert json.loads(figure(*spec(), projector, 200, {"t": 44}).to_json()) == json.loads(expected.to_json())


def test_the_cnn_pages_softmax_chart_is_given_kerass_probabilities_for_the_digit(monkeypatch, models):
    at = app_on_page(monkeypatch, "pages/cnn.py", lang="en", sample="7")
    shown = {chart["config"]["toImageButtonOptions"]["filename"]: fig for chart, fig in zip(charts(at), figures(at))}
    assert len(shown) == 7    # every chart of the page, each under its own name; conv2's tab is closed
    x = to_mnist(load_mnist().test.x[7])
    expected = keras.ops.convert_to_numpy(models["cnn"](x[None]))[0]
    np.testing.assert_allclose(shown["netlens-softmax"].data[1].y, expected, atol=1e-6)


def _tab_charts(at) -> dict:
    """The CNN page's feature-map tabs' charts by their download name (not the arithmetic's)."""
    return {chart["config"]["toImageButtonOptions"]["filename"]: fig for chart, fig in zip(charts(at), figures(at))
            if chart["config"]["toImageButtonOptions"]["filename"].endswith(("-maps", "-kernels"))}


def test_the_cnn_page_sends_only_the_open_tabs_feature_maps_and_the_other_tab_when_opened(monkeypatch, models):
    """conv2's kernels and maps are built and sent when its tab is opened (then conv1's are not)."""
    at = app_on_page(monkeypatch, "pages/cnn.py", lang="en", sample="7")
    assert set(_tab_charts(at)) == {"netlens-conv1-kernels", "netlens-conv1-maps", "netlens-conv1-relu1-maps"}
    key = next(k for k in at.session_state if k.startswith("cnn_maps_"))
    at.session_state[key] = at.tabs[1].label      # what a click on the tab sets
    at.run()
    shown = _tab_charts(at)
    assert set(shown) == {"netlens-conv2-kernels", "netlens-conv2-maps", "netlens-conv2-relu2-maps"}
    x = to_mnist(load_mnist().test.x[7])
    relu2 = keras.Model(models["cnn"].inputs[0], models["cnn"].get_layer("relu2").output)
    maps = keras.ops.convert_to_numpy(relu2(x[None]))[0]    # (10, 10, 16), tiled 4 to a row
    z = np.asarray(shown["netlens-conv2-relu2-maps"].data[0].z, dtype=float)
    np.testing.assert_allclose(z[:10, :10], maps[:, :, 0], atol=1e-5)
    np.testing.assert_allclose(z[:10, 11:21], maps[:, :, 1], atol=1e-5)   # one column of gap (10 // 8)


def test_every_chart_has_a_fullscreen_control_in_the_users_language(monkeypatch):
    at = app_on_page(monkeypatch, "pages/cnn.py", lang="zh")
    assert {json.dumps(chart["labels"], ensure_ascii=False) for chart in charts(at)} == \
        {json.dumps({"open": "全屏", "close": "退出全屏"}, ensure_ascii=False)}
    assert all(chart["plotly"].endswith("/plotly.min.js") for chart in charts(at))


def _two_traces_script():
    """A page with one chart: a heatmap and a line, the outline at session_state["row"], the line's
    values scaled by session_state["scale"]."""
    import numpy as np
    import plotly.graph_objects as go
    import streamlit as st

    from widgets.chart import plotly_chart

    row, scale = st.session_state.setdefault("row", 1), st.session_state.setdefault("scale", 1.0)
    fig = go.Figure([go.Heatmap(z=np.arange(12.0).reshape(3, 4)), go.Scatter(y=scale * np.arange(4.0))],
                    layout=dict(shapes=[dict(type="rect", x0=-0.5, x1=3.5, y0=row - 0.5, y1=row + 0.5)]))
    st.session_state["expected"] = fig.to_json()
    plotly_chart(fig, {}, {"open": "open", "close": "close"}, key="chart-test")


def _message(at) -> tuple[dict, str]:
    (chart,) = charts(at)
    return chart, at.session_state["expected"]


def test_a_trace_the_browser_holds_travels_as_null_and_the_message_builds_on_the_one_before():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_two_traces_script, default_timeout=30)
    at.run()
    first, expected = _message(at)
    assert None not in first["traces"]
    assert joined(first["traces"], first["layout"], first["frames"]) == expected

    at.session_state["row"] = 2             # only the outline moves: both traces are the browser's already
    at.run()
    second, expected = _message(at)
    assert second["traces"] == [None, None] and second["base"] == first["version"] != second["version"]
    assert joined(first["traces"], second["layout"], second["frames"]) == expected
    assert json.loads(second["layout"])["shapes"][0]["y0"] == 1.5

    at.session_state["scale"] = 2.0         # the line changes, the heatmap and the layout do not
    at.run()
    third, expected = _message(at)
    assert third["traces"][0] is None and third["traces"][1] is not None and third["base"] == second["version"]
    assert third["layout"] is None
    assert joined([first["traces"][0], third["traces"][1]], second["layout"], third["frames"]) == expected


def test_a_browser_missing_what_a_message_builds_on_gets_every_trace_next():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_two_traces_script, default_timeout=30)
    at.run()
    at.session_state["row"] = 2
    at.run()
    assert _message(at)[0]["traces"] == [None, None]
    at.session_state[SENT].forget("chart-test")   # what the element's "missing" trigger calls
    at.session_state["row"] = 3
    at.run()
    chart, expected = _message(at)
    assert None not in chart["traces"] and joined(chart["traces"], chart["layout"], chart["frames"]) == expected


def test_figure_json_is_plotlys_to_json_joined_from_its_parts():
    fig = go.Figure([go.Bar(y=np.array([1.0, 2.0]))], layout=dict(title="t"), frames=[go.Frame(data=[go.Bar(y=[3])])])
    assert joined(*figure_parts(fig)) == figure_json(fig) == fig.to_json()


def _picture(fig: go.Figure, shapes) -> dict:
    """What plotly itself writes for `fig` with `shapes` after its own."""
    return json.loads(go.Figure(fig).update_layout(shapes=[*fig.layout.shapes, *shapes]).to_json())


def _drawn_over(base: dict, *frames: dict) -> dict:
    """`base` with each frame of `frames` swapped in after the other, as assets/chart.js draws them."""
    from tests.charts import _set_path
    figure = json.loads(json.dumps(base))
    for frame in frames:
        for i, trace in frame["traces"].items():
            figure["data"][int(i)] = json.loads(trace)
        for i, attributes in frame["restyle"].items():
            figure["data"][int(i)].update(attributes)
        for path, value in frame["relayout"].items():
            _set_path(figure["layout"], path, value)
    return figure


def _line(scale: float, title: str) -> go.Figure:
    return go.Figure([go.Heatmap(z=np.arange(6.0).reshape(2, 3)), go.Scatter(y=scale * np.arange(3.0))],
                     layout=dict(title=title, shapes=[dict(type="line", x0=0, x1=1, y0=0, y1=0)]))


def test_any_scrub_frame_drawn_over_any_other_gives_its_own_picture():
    from widgets.chart import Scrub, scrub_frames

    heat = _line(1.0, "t")
    outline = [dict(type="rect", x0=s - 0.5, x1=s + 0.5, y0=0, y1=1, line=dict(color="red")) for s in range(4)]
    moving = {s: (heat, [outline[s]]) for s in range(4)}                     # one figure, its outline moving
    changing = {s: (_line(1.0 + s, f"row {s}"), outline[:s]) for s in range(4)}   # traces, title, shape count
    hovering = {s: (_line(1.0, "t").update_traces(hovertemplate=f"row {s}: %{{customdata[{s}]}}", selector=1), [])
                for s in range(4)}                                                 # a hover template alone
    for pictures in (moving, changing, hovering):
        frames = json.loads(scrub_frames(Scrub("g", 0, pictures)))
        assert sorted(frames) == ["0", "1", "2", "3"]
        base = _picture(*pictures[0])
        for before in pictures:
            for value, picture in pictures.items():
                assert _drawn_over(base, frames[str(before)], frames[str(value)]) == _picture(*picture), (before, value)
    frames = json.loads(scrub_frames(Scrub("g", 0, moving)))
    assert all(frame["traces"] == {} for frame in frames.values())                 # the heatmap never travels
    assert set(frames["2"]["relayout"]) == {"shapes[1].x0", "shapes[1].x1"}        # nor what stays put
    frames = json.loads(scrub_frames(Scrub("g", 0, hovering)))
    assert all(frame["traces"] == {} and frame["relayout"] == {} for frame in frames.values())   # no data travel
    assert frames["2"]["restyle"] == {"1": {"hovertemplate": "row 2: %{customdata[2]}"}}
    with pytest.raises(ValueError, match="no picture for its value 7"):
        Scrub("g", 7, moving)


def _scrubbed_script():
    """A page with one chart following a scrub slider's value, session_state["g"]."""
    import numpy as np
    import plotly.graph_objects as go
    import streamlit as st

    from widgets.chart import Scrub, plotly_chart

    fig = go.Figure([go.Heatmap(z=np.arange(6.0).reshape(2, 3))])
    pictures = {s: (fig, [dict(type="rect", x0=s - 0.5, x1=s + 0.5, y0=0, y1=1)]) for s in range(3)}
    value = st.session_state.setdefault("g", 1)
    plotly_chart(Scrub("g", value, pictures), {}, {"open": "open", "close": "close"}, key="chart-scrub")


def test_a_scrubbed_charts_move_carries_only_the_value():
    from streamlit.testing.v1 import AppTest

    from tests.charts import figure_json

    at = AppTest.from_function(_scrubbed_script, default_timeout=30)
    at.run()
    (first,) = charts(at)
    assert None not in first["traces"] and first["layout"] and first["scrub"]["frames"]
    at.session_state["g"] = 2               # the slider moved: the tab holds the figure and every frame
    at.run()
    (second,) = charts(at)
    assert second["traces"] == [None] and second["layout"] is None and second["scrub"] == {
        "group": "g", "value": 2, "frames": None, "click": None, "clickTraces": None}
    fig = go.Figure([go.Heatmap(z=np.arange(6.0).reshape(2, 3))])
    assert json.loads(figure_json(at, second)) == _picture(fig, [dict(type="rect", x0=1.5, x1=2.5, y0=0, y1=1)])


def test_the_cnn_arithmetic_charts_hold_every_rows_picture_as_the_figure_builders_draw_it(monkeypatch, models):
    """The two arithmetic charts follow the Row slider in the browser: what each message draws for the
    server's row (its first picture with that row's frame) is the figure builders' own for that row."""
    from explain import conv
    from explain.figures import cnn as figures

    at = app_on_page(monkeypatch, "pages/cnn.py", lang="en", sample="7")
    model, x28 = models["cnn"], to_mnist(load_mnist().test.x[7])
    tr = conv.trace(model, x28)
    layer = conv.plan(model).convs[0]
    row_key = next(k for k in at.session_state if k.startswith("cnn_arith_row_") and k.endswith(f"_{layer}"))
    channel, col = 0, at.session_state[row_key.replace("_row_", "_col_")]
    source = tr.maps[conv.plan(model).source[layer]][:, :, 0]
    for row in (at.session_state[row_key], 0, 5, tr.before[layer].shape[0] - 1):
        at.session_state[row_key] = row
        at.run()
        sent = {chart["key"]: json.loads(drawn_json(at, chart)) for chart in charts(at)}
        step = conv.conv_step(model, tr, layer, channel, row, col)
        assert (step.row, step.col) == (row, col)
        where = figures.conv_locator_figure(step, source, tr.before[layer][:, :, channel], "en", False)
        numbers = figures.conv_numbers_figure(step, source, 0, "en", False)
        assert sent[f"chart-{layer}-position"] == json.loads(where.to_json()), row
        assert sent[f"chart-{layer}-arithmetic"] == json.loads(numbers.to_json()), row


def test_the_pooling_chart_holds_every_rows_window_as_the_figure_builder_draws_it(monkeypatch, models):
    from explain import conv
    from explain.figures import cnn as figures

    at = app_on_page(monkeypatch, "pages/cnn.py", lang="en", sample="7")
    model, x28 = models["cnn"], to_mnist(load_mnist().test.x[7])
    tr, p = conv.trace(model, x28), conv.plan(model)
    layer = p.pools[0]
    row_key = next(k for k in at.session_state if k.startswith("cnn_pool_row_") and k.endswith(f"_{layer}"))
    col = at.session_state[row_key.replace("_row_", "_col_")]
    for row in (at.session_state[row_key], 0, tr.maps[layer].shape[0] - 1):
        at.session_state[row_key] = row
        at.run()
        (chart,) = [c for c in charts(at) if c["key"] == f"chart-{layer}-window"]
        window = conv.pool_window(model, tr, layer, 0, row, col)
        expected = figures.pool_figure(tr.maps[p.source[layer]][:, :, 0], tr.maps[layer][:, :, 0], window, "en", False)
        assert json.loads(drawn_json(at, chart)) == json.loads(expected.to_json()), row
