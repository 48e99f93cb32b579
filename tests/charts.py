"""The app's charts as tests read them: in AppTest, what each `widgets.chart` element was given and its
figure; in a browser, the selector of a drawn chart."""
from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go

from widgets.chart import NAME, SENT, joined

CHART = ".netlens-chart .js-plotly-plot"  # a chart that plotly.js has drawn


def charts(at) -> list[dict]:
    """What every chart of the AppTest run was given, in page order: "traces" (each trace's JSON, or
    None where the session's last message under the chart's "key" carried the same), "layout" and
    "frames" (JSON), "version" and "base" (the numbers of this message and of the one it builds on),
    "config" (plotly.js's), "labels" (the fullscreen control's), "plotly" (where plotly.js is served)."""
    return [json.loads(element.proto.json) for element in at.get("bidi_component")
            if element.proto.component_name == NAME]


def _arrays(value):
    """Plotly's typed-array specs ({"dtype", "bdata", "shape"}) in `value` as numpy arrays."""
    if isinstance(value, dict):
        if set(value) <= {"dtype", "bdata", "shape"} and "bdata" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]))
            shape = value.get("shape")
            return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
        return {k: _arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arrays(v) for v in value]
    return value


def figure_json(at, chart: dict) -> str:
    """The whole JSON of `chart` (one of `charts(at)`), its None traces read from what the session
    holds for its key: the traces of the message before, as the browser does."""
    held = at.session_state[SENT].charts[chart["key"]][1]
    traces = [held[i] if trace is None else trace for i, trace in enumerate(chart["traces"])]
    return joined(traces, chart["layout"], chart["frames"])


def figures(at) -> list[go.Figure]:
    """The figure of every chart the AppTest run shows, in page order, its arrays as numpy arrays."""
    return [go.Figure(_arrays(json.loads(figure_json(at, chart)))) for chart in charts(at)]
