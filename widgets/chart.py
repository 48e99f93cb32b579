"""A Plotly chart that updates in place (components v2), for every chart the pages show.

Streamlit 1.67 derives a Plotly chart's element id from a hash of its figure, so a chart whose figure
changed is unmounted and drawn from scratch (`Plotly.newPlot`); this element keeps its id (its key),
and its JS hands the new figure to `Plotly.react`, which redraws only what changed. The figure
travels as `fig.to_json()` writes it (numpy arrays as base64 typed arrays). plotly.js itself is the installed
plotly package's own copy, served once per tab and cached by the browser (`Cache-Control: public`)
from Streamlit's component file route: inline, it would travel in every element's message.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec
from plotly.io.json import to_json_plotly

NAME = "netlens_chart"
SENT = "_netlens_charts"  # session state: what the browser holds (`Sent`)
PLOTLY_JS = "plotly.min.js"
_HERE = Path(__file__).parent
_ASSETS = _HERE / "assets"
_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
_chart = st.components.v2.component(
    NAME,
    html='<div class="netlens-chart"><div class="plot"></div><button type="button" class="fullscreen"></button></div>',
    css=(_HERE / "chart.css").read_text(encoding="utf-8"),
    # Only a loader: the chart's code (assets/chart.js) inline would travel in every chart's every message.
    js=("export default c => (window.__netlensChart ||= import(new URL(c.data.code, document.baseURI).href)"
        ".catch(e => { window.__netlensChart = null; throw e; })).then(m => m.default(c));"),
    isolate_styles=False,  # plotly.js writes its styles (modebar, hover labels) into the document's head
)


@dataclass
class Sent:
    """What this session's browser holds of each chart: its key -> (the number of the last message
    sent, that message's trace JSON). Numbers are prefixed by the session's own random id, so that
    a tab that outlives its session (the server restarted) never takes a new message for one it has."""

    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    charts: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    def forget(self, key: str) -> None:
        """The browser lacks what the last message under `key` built on: the next one carries every trace."""
        number, _ = self.charts.get(key, (0, []))
        self.charts[key] = (number, [])


def _served(name: str, directory: Path, file: str) -> str:
    """Where Streamlit serves `file` of `directory`: `<baseUrlPath>/component/<name>/<file>`, a v1
    component's file route (the browser caches it: `Cache-Control: public`), registered here, once
    per runtime (AppTest makes a runtime per test)."""
    component = st.components.v1.declare_component(name, path=str(directory))
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"{'/' + base if base else ''}/component/{component.name}/{file}"


def _plain(value):
    """`value` with every dict and list copied and every numpy array as plotly's typed-array spec
    (except under the keys plotly leaves as they are, such as "range")."""
    if isinstance(value, dict):
        return {k: v if is_skipped_key(k) else _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return to_typed_array_spec(value) if is_homogeneous_array(value) else value


def figure_parts(fig: go.Figure, shapes: Sequence[dict] = ()) -> tuple[list[str], str, str | None]:
    """`fig` as plotly's own JSON in parts: each trace's, the layout's (with `shapes` after the
    figure's own) and the frames' (None without frames). Read from the figure's own property dicts
    (plotly's `_data`, `_layout`): plotly's `to_dict` deep-copies every numpy array before encoding
    it, at twice the cost. The traces' JSON is kept on the figure: a page that shows one figure
    built once under changing shapes (the Recurrent page's timestep) encodes its traces once."""
    if (traces := fig.__dict__.get("_netlens_traces")) is None:
        traces = [to_json_plotly(_plain({k: v for k, v in trace.items() if k != "uid"})) for trace in fig._data]
        fig.__dict__["_netlens_traces"] = traces
    layout = {**fig._layout, "shapes": [*fig._layout.get("shapes", ()), *shapes]} if shapes else fig._layout
    frames = to_json_plotly([_plain(frame._props) for frame in fig._frame_objs]) if fig.frames else None
    return traces, to_json_plotly(_plain(layout)), frames


def joined(traces: list[str], layout: str, frames: str | None) -> str:
    """The figure's JSON from its parts (`figure_parts`), as `fig.to_json()` writes it."""
    tail = f',"frames":{frames}' if frames else ""
    return '{"data":[' + ",".join(traces) + '],"layout":' + layout + tail + "}"


def figure_json(fig: go.Figure) -> str:
    """`fig.to_json()`, the same string at half the cost."""
    return joined(*figure_parts(fig))


def plotly_chart(fig: go.Figure, config: dict, labels: dict[str, str], key: str, shapes: Sequence[dict] = ()) -> None:
    """Mount (or update in place) the chart under `key`: `fig` as it is (no Streamlit theme), the
    width of its container, the height its layout sets (Plotly's 450 px if none), with plotly.js
    `config` and the fullscreen control's `labels` ("open", "close") in the user's language, and
    `shapes` (plotly layout shape dicts) drawn after the figure's own.

    A trace whose JSON is the one this session last sent under `key` travels as null: moving the
    Recurrent page's timestep changes an outline, not its eleven heatmaps (200 KiB a move before).
    The browser keeps each chart's traces by key for the tab (`assets/chart.js`); one that does not hold the
    version a message builds on (a message it never got) asks for the whole figure, and gets it.
    """
    traces, layout, frames = figure_parts(fig, shapes)
    sent = st.session_state.setdefault(SENT, Sent())
    number, before = sent.charts.get(key, (0, []))
    sent.charts[key] = (number + 1, traces)
    data = {"key": key, "version": f"{sent.session}-{number + 1}", "base": f"{sent.session}-{number}",
            "traces": [None if i < len(before) and before[i] == trace else trace for i, trace in enumerate(traces)],
            "layout": layout, "frames": frames, "config": config, "labels": labels,
            "plotly": _served("plotly", _PLOTLY_DIR, PLOTLY_JS), "code": _served("assets", _ASSETS, "chart.js")}
    _chart(key=key, data=data, width="stretch", on_missing_change=lambda: sent.forget(key))
