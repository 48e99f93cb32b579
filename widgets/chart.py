"""A Plotly chart that updates in place (components v2), for every chart the pages show.

Streamlit 1.67 derives a Plotly chart's element id from a hash of its figure, so a chart whose figure
changed is unmounted and drawn from scratch (`Plotly.newPlot`); this element keeps its id (its key),
and its JS hands the new figure to `Plotly.react`, which redraws only what changed. The figure
travels as `fig.to_json()` writes it (numpy arrays as base64 typed arrays). plotly.js itself is the installed
plotly package's own copy, served once per tab and cached by the browser (`Cache-Control: public`)
from Streamlit's component file route: inline, it would travel in every element's message.
"""
from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec
from plotly.io.json import to_json_plotly

NAME = "netlens_chart"
PLOTLY_JS = "plotly.min.js"
_HERE = Path(__file__).parent
_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
_chart = st.components.v2.component(
    NAME,
    html='<div class="netlens-chart"><div class="plot"></div><button type="button" class="fullscreen"></button></div>',
    css=(_HERE / "chart.css").read_text(encoding="utf-8"),
    js=(_HERE / "chart.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # plotly.js writes its styles (modebar, hover labels) into the document's head
)


def _plotly_url() -> str:
    """Where Streamlit serves plotly.js: `<baseUrlPath>/component/<name>/plotly.min.js`, a v1
    component's file route, registered (once per runtime; AppTest makes a runtime per test) here."""
    component = st.components.v1.declare_component("plotly", path=str(_PLOTLY_DIR))
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"{'/' + base if base else ''}/component/{component.name}/{PLOTLY_JS}"


def _plain(value):
    """`value` with every dict and list copied and every numpy array as plotly's typed-array spec
    (except under the keys plotly leaves as they are, such as "range")."""
    if isinstance(value, dict):
        return {k: v if is_skipped_key(k) else _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return to_typed_array_spec(value) if is_homogeneous_array(value) else value


def figure_json(fig: go.Figure) -> str:
    """`fig.to_json()`, the same string at half the cost: plotly's `to_dict` deep-copies every numpy
    array before encoding it; this reads the figure's own property dicts (plotly's `_data` and
    `_layout`) and copies only the containers."""
    out = {"data": [_plain({k: v for k, v in trace.items() if k != "uid"}) for trace in fig._data],
           "layout": _plain(fig._layout)}
    if fig.frames:
        out["frames"] = [_plain(frame._props) for frame in fig._frame_objs]
    return to_json_plotly(out)


def plotly_chart(fig: go.Figure, config: dict, labels: dict[str, str], key: str) -> None:
    """Mount (or update in place) the chart under `key`: `fig` as it is (no Streamlit theme), the
    width of its container, the height its layout sets (Plotly's 450 px if none), with plotly.js
    `config` and the fullscreen control's `labels` ("open", "close") in the user's language."""
    _chart(key=key, data={"figure": figure_json(fig), "config": config, "labels": labels, "plotly": _plotly_url()},
           width="stretch")
