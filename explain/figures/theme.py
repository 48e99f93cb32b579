"""How every chart looks, in the normal and the projector style. Colour scales are perceptually
uniform and colour-blind-safe (viridis / cividis for magnitudes, a blue-red diverging scale centred
on 0 for signed values); the projector style thickens lines and enlarges text for a lecture hall."""
from __future__ import annotations

import json
from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.basevalidators import ColorscaleValidator
from plotly.subplots import make_subplots



def _scale(name: str) -> list[list]:
    """Plotly's colour scale `name` as the [[position, colour], ...] list its validation writes into
    a figure: a trace dict sent without validation (a scrub slider's frames) then carries the same."""
    return [list(stop) for stop in ColorscaleValidator("colorscale", "heatmap").validate_coerce(name)]


SEQUENTIAL = _scale("Viridis")
SEQUENTIAL_PROJECTOR = _scale("Cividis")
DIVERGING = _scale("RdBu_r")     # negative blue, zero white, positive red
DIGIT = _scale("gray")           # the digit itself: black background, white ink
# Okabe-Ito: eight colours distinguishable under the common colour-vision deficiencies.
CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TEN_CLASSES = CATEGORICAL + ["#999999", "#882255"]
FONT = "Noto Sans CJK SC, Noto Sans, PingFang SC, Microsoft YaHei, sans-serif"

# Assigning `template=` on each figure re-validates the whole template (about 10 ms a figure, on
# every rerun); as the default it gives the same figure JSON for a fraction of that.
pio.templates.default = "plotly_white"


def sequential(projector: bool) -> list[list]:
    return SEQUENTIAL_PROJECTOR if projector else SEQUENTIAL


def _look(projector: bool, height: int | None, titled: bool) -> tuple[dict, dict, dict]:
    """The app's look as what it sets: (the layout's properties, an annotation's, an axis's); in
    projector mode text is at least 20 px (lines and markers: `_trace_look`)."""
    base = 20 if projector else 13
    layout = dict(font=dict(size=base, family=FONT), title=dict(font=dict(size=base + 4)), colorway=CATEGORICAL,
                  margin=dict(l=10, r=10, t=50 if titled else 20, b=10))
    if height:
        layout["height"] = int(height * (1.25 if projector else 1))
    if not projector:
        return layout, {}, {}
    return layout, dict(font=dict(size=base)), dict(tickfont=dict(size=base), title=dict(font=dict(size=base)))


def _trace_look(projector: bool, kind: str, mode: str | None) -> dict:
    """A trace's part of the look: in projector mode, thick lines and large markers."""
    look = {}
    if projector and kind == "scatter":
        look["line"] = dict(width=4)
    if projector and mode == "markers":
        look["marker"] = dict(size=12)
    return look


def style(fig: go.Figure, projector: bool = False, height: int | None = None) -> go.Figure:
    """Apply the app's look (`_look`) to a figure built otherwise (subplots filled by `add_trace`), in
    place, with plotly's own update calls; `figure` merges the same look into the dicts instead."""
    layout, note, axis = _look(projector, height, bool(fig.layout.title.text))
    fig.update_layout(layout)
    for trace in fig.data:
        if look := _trace_look(projector, trace.type, getattr(trace, "mode", None)):
            trace.update(look)
    if projector:
        fig.update_annotations(note)
        fig.update_xaxes(axis)
        fig.update_yaxes(axis)
    return fig


def _merged(d: dict, key: str, value: dict) -> None:
    """d[key] updated with `value`, nested dicts merged (as plotly's update_layout does)."""
    old = d.get(key)
    old = {"text": old} if isinstance(old, str) and key == "title" else dict(old or {})
    for k, v in value.items():
        if isinstance(v, dict) and isinstance(old.get(k), (dict, str)):
            _merged(old, k, v)
        else:
            old[k] = v
    d[key] = old


def figure(data: list[dict], layout: dict, projector: bool = False, height: int | None = None,
           margin: dict | None = None, coded: list[dict] = (), validate: bool = True) -> go.Figure:
    """`style(go.Figure(data=data, layout=layout), projector, height)`, its margins then updated with
    `margin` (e.g. {"t": 40}), the same figure, with the look merged into the dicts first: plotly then
    validates every property once, in one construction, instead of again in each `update_*` call (half
    a chart's build time on every rerun). `data` are trace dicts with their "type"; `layout` may use
    only nested dicts (no "magic underscore" keys). `coded` traces come after `data`, untouched by the
    look: their line widths or marker sizes show a value (an attention weight), which the projector's
    uniform widths would erase. `validate=False` skips plotly's checks of every property (plotly's own
    `_validate`), for a figure built once for each value of a slider (28 of them: 250-450 ms validated,
    80-160 ms not), whose builder a test runs validated: plotly writes the same JSON either way."""
    layout = dict(layout)
    title = layout.get("title")
    look, note, axis = _look(projector, height, bool(title.get("text") if isinstance(title, dict) else title))
    look["margin"].update(margin or {})
    for key, value in look.items():
        if isinstance(value, dict) and key != "margin":
            _merged(layout, key, value)
        else:
            layout[key] = value
    data = [dict(trace) for trace in data]
    for trace in data:
        for key, value in _trace_look(projector, trace.get("type", "scatter"), trace.get("mode")).items():
            _merged(trace, key, value)
    if projector and "annotations" in layout:   # (an empty list would stay in an unvalidated figure)
        layout["annotations"] = [dict(a) for a in layout["annotations"]]
        for annotation in layout["annotations"]:
            _merged(annotation, "font", note["font"])
    if projector:
        for name in sorted({"xaxis", "yaxis", *(k for k in layout if k.rstrip("0123456789") in ("xaxis", "yaxis"))}):
            _merged(layout, name, axis)
    return go.Figure(data=[*data, *coded], layout=layout, _validate=validate)


@lru_cache(maxsize=128)
def _grid(spec: str) -> dict:
    fig = make_subplots(**json.loads(spec))
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # the default template is applied again to each new figure
    # As JSON: each figure takes a fresh copy, and json.loads makes it in a fraction of deepcopy's time.
    return {"layout": json.dumps(layout), "_grid_ref": fig._grid_ref, "_grid_str": fig._grid_str}


def _grid_of(subplot_titles: list[str] | None, kwargs: dict) -> dict:
    marks = None if subplot_titles is None else [f"\x00{k}" for k in range(len(subplot_titles))]
    return _grid(json.dumps({**kwargs, "subplot_titles": marks}, sort_keys=True, default=lambda a: a.tolist()))


def grid(subplot_titles: list[str] | None = None, **kwargs) -> dict:
    """The layout dict of `plotly.subplots.make_subplots(...)` (a fresh copy, its titles filled in),
    for a figure built from dicts by `figure`: traces name their axes themselves ("x3", "y3"; axes are
    numbered row by row over the non-empty cells, from the top left).

    make_subplots validates each axis and title one assignment at a time (20-50 ms a figure on a
    busy 2-core machine, several figures per stroke); the grid's layout is built once per shape. Titles
    change with the data, so they are filled into the copy; empty ones get no annotation, as in
    make_subplots. `kwargs` must be JSON-serialisable (numpy numbers and arrays are converted).
    """
    layout = json.loads(_grid_of(subplot_titles, kwargs)["layout"])
    if subplot_titles is not None:
        annotations = []
        for note in layout.get("annotations", []):
            text = note.get("text")
            if isinstance(text, str) and text.startswith("\x00"):
                note["text"] = subplot_titles[int(text[1:])]
                if not note["text"]:
                    continue
            annotations.append(note)
        layout["annotations"] = annotations
    return layout


def subplots(subplot_titles: list[str] | None = None, **kwargs) -> go.Figure:
    """`plotly.subplots.make_subplots(...)`, the same figure at a tenth of the cost on every rerun
    (2-6 ms): the layout of `grid`, in one construction, with the grid that `add_trace(row=, col=)` reads."""
    spec = _grid_of(subplot_titles, kwargs)
    return go.Figure({"data": [], "layout": grid(subplot_titles, **kwargs), "_grid_ref": spec["_grid_ref"],
                      "_grid_str": spec["_grid_str"]})
