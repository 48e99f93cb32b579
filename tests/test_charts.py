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
from widgets.chart import figure_json


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
    assert len(shown) == 10    # every chart of the page, each under its own name
    x = to_mnist(load_mnist().test.x[7])
    expected = keras.ops.convert_to_numpy(models["cnn"](x[None]))[0]
    np.testing.assert_allclose(shown["netlens-softmax"].data[1].y, expected, atol=1e-6)


def test_every_chart_has_a_fullscreen_control_in_the_users_language(monkeypatch):
    at = app_on_page(monkeypatch, "pages/cnn.py", lang="zh")
    assert {json.dumps(chart["labels"], ensure_ascii=False) for chart in charts(at)} == \
        {json.dumps({"open": "全屏", "close": "退出全屏"}, ensure_ascii=False)}
    assert all(chart["plotly"].endswith("/plotly.min.js") for chart in charts(at))
