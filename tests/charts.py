"""The app's charts as tests read them: in AppTest, what each `widgets.chart` element was given and its
figure; in a browser, the selector of a drawn chart."""
from __future__ import annotations

import base64
import json
import re

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


def _set_path(layout: dict, path: str, value) -> None:
    """Plotly.relayout's `path` ("shapes[3].y0") in `layout` set to `value` (None deletes it)."""
    keys = [int(k) if k.isdigit() else k for part in path.split(".") for k in re.findall(r"[^\[\]]+", part)]
    at = layout
    for key, after in zip(keys, keys[1:]):
        if isinstance(at, dict) and at.get(key) is None:
            at[key] = [] if isinstance(after, int) else {}
        at = at[key]
    if value is None:
        at.pop(keys[-1], None)
    else:
        at[keys[-1]] = value


def figure_json(at, chart: dict) -> str:
    """The whole JSON of `chart` (one of `charts(at)`) as the browser draws it: its None traces, layout
    and scrub frames read from what the session holds for its key, the message before's, and, for a
    chart that follows a scrub slider, its first picture with the frame for the server's value."""
    held = at.session_state[SENT].charts[chart["key"]][1]
    traces = [held[i] if trace is None else trace for i, trace in enumerate(chart["traces"])]
    layout = chart["layout"] or held[len(traces)]
    if chart.get("scrub"):
        frames = json.loads(chart["scrub"]["frames"] or held[len(traces) + 1])
        frame = frames[str(chart["scrub"]["value"])]
        for i, trace in frame["traces"].items():
            traces[int(i)] = trace
        for i, attributes in frame["restyle"].items():
            traces[int(i)] = json.dumps({**json.loads(traces[int(i)]), **attributes})
        parsed = json.loads(layout)
        for path, value in frame["relayout"].items():
            _set_path(parsed, path, value)
        layout = json.dumps(parsed)
    return joined(traces, layout, chart["frames"])


def figures(at) -> list[go.Figure]:
    """The figure of every chart the AppTest run shows, in page order, its arrays as numpy arrays."""
    return [go.Figure(_arrays(json.loads(figure_json(at, chart)))) for chart in charts(at)]
