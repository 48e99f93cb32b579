"""A Plotly chart that updates in place (components v2), for every chart the pages show.

Streamlit 1.67 derives a Plotly chart's element id from a hash of its figure, so a chart whose figure
changed is unmounted and drawn from scratch (`Plotly.newPlot`); this element keeps its id (its key),
and its JS hands the new figure to `Plotly.react`, which redraws only what changed. The figure
travels as `fig.to_json()` writes it (numpy arrays as base64 typed arrays). plotly.js itself is the installed
plotly package's own copy, served once per tab and cached by the browser (`Cache-Control: public`)
from Streamlit's component file route: inline, it would travel in every element's message.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec
from plotly.io._json import _safe, _swap_json
from plotly.io.json import to_json_plotly

from widgets.served import LOADER, code, served

NAME = "netlens_chart"
SENT = "_netlens_charts"  # session state: what the browser holds (`Sent`)
KEPT_FRAMES = 16  # scrub charts whose frames a session keeps ready (a page shows at most eight)
PLOTLY_JS = "plotly.min.js"
_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
_chart = st.components.v2.component(
    NAME,
    html='<div class="netlens-chart"><div class="plot"></div><button type="button" class="fullscreen"></button></div>',
    js=LOADER,  # assets/chart.js and chart.css, served once per tab (`widgets.served`)
    isolate_styles=False,  # plotly.js writes its styles (modebar, hover labels) into the document's head
)


@dataclass
class Sent:
    """What this session's browser holds of each chart: its key -> (the number of the last message
    sent, that message's parts: each trace's JSON, the layout's, the scrub frames' or None).
    Numbers are prefixed by the session's own random id, so that a tab that outlives its session
    (the server restarted) never takes a new message for one it has."""

    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    charts: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    frames: dict[str, tuple[list, list, str]] = field(default_factory=dict)  # key -> figures, shapes, frames

    def scrub_frames(self, key: str, scrub: Scrub) -> str:
        """`scrub_frames(scrub)`, made again only when a picture's figure or its `traces` (the same
        objects) or shapes (equal) changed since the last call under `key`: 15-30 ms a chart, on
        every move otherwise."""
        # No `traces` compares as None: each Scrub made without them holds a new empty dict.
        figures = [*(fig for fig, _ in scrub.pictures.values()), scrub.traces or None]
        shapes = [(value, list(shapes)) for value, (_, shapes) in scrub.pictures.items()]
        before = self.frames.pop(key, None)  # put back last: the least recently shown go first
        if before and len(before[0]) == len(figures) and all(a is b for a, b in zip(before[0], figures)) \
                and before[1] == shapes:
            self.frames[key] = before
            return before[2]
        self.frames[key] = (figures, shapes, scrub_frames(scrub))
        while len(self.frames) > KEPT_FRAMES:  # they hold their figures: per-unit keys would pile up
            del self.frames[next(iter(self.frames))]
        return self.frames[key][2]

    def forget(self, key: str) -> None:
        """The browser lacks what the last message under `key` built on: the next one carries every trace."""
        number, _ = self.charts.get(key, (0, []))
        self.charts[key] = (number, [])


@dataclass(frozen=True)
class Scrub:
    """Every picture of a chart that follows a scrub slider (`widgets.scrub`) in the browser: `group`
    is the slider's key, `value` its value on the server, `pictures` maps each of its values to the
    (figure, shapes) that `plotly_chart` would show for it."""

    group: str
    value: int
    pictures: Mapping[int, tuple[go.Figure, Sequence[dict]]]
    # Per value, plotly trace dicts (as a figure builder writes them) replacing that picture's figure's
    # traces, encoded without plotly's validation: a figure for each of the CNN arithmetic's 28 rows
    # took 170 ms to build, most of it validating and copying plotly's template.
    traces: Mapping[int, Sequence[dict]] = field(default_factory=dict)
    click: str | None = None  # "x" or "y": a click on the chart takes the slider to that coordinate (rounded)
    click_traces: tuple[int, ...] | None = None  # only a click on these traces does (None: any)

    def __post_init__(self):
        if self.value not in self.pictures:
            raise ValueError(f"Scrub {self.group!r}: no picture for its value {self.value!r}; "
                             f"pictures are for {sorted(self.pictures)}")


def _layout_paths(fig: go.Figure, shapes: Sequence[dict], same_figure: bool, whole_shapes: bool) -> dict:
    """A picture's layout as Plotly.relayout paths -> values: each shape field ("shapes[3].y0") or,
    with `whole_shapes`, the shapes as one list; and, unless every picture is `same_figure`, each
    other top-level attribute whole."""
    every = [*fig._layout.get("shapes", ()), *shapes]
    paths = {} if same_figure else {key: value for key, value in fig._layout.items() if key != "shapes"}
    if whole_shapes:
        return {**paths, "shapes": every}
    return {**paths, **{f"shapes[{i}].{name}": value for i, shape in enumerate(every) for name, value in shape.items()}}


def _differs(a, b) -> bool:
    try:
        return bool(a != b)
    except ValueError:  # numpy arrays: compared whole
        return _json(_plain(a)) != _json(_plain(b))


def _json(value) -> str:
    """`value` (`_plain`'s) as plotly writes it: plain Python by the standard library, the same text
    (3-5x faster: plotly's encoder asks of every object whether it is a data frame), anything else
    (numpy scalars, NaN, which plotly writes as null) by plotly's."""
    try:
        return _safe(json.dumps(value, separators=(",", ":"), allow_nan=False), _swap_json)  # plotly's escapes
    except (TypeError, ValueError):
        return to_json_plotly(_plain(value))


# A trace's hover template, in a trace's JSON (plotly writes it at the top level, once).
_HOVER = re.compile(r'"hovertemplate":("(?:[^"\\]|\\.)*")')
# More moving shape fields than this, and a frame relays out the shapes as one list: plotly.js draws each
# field's shape again (28 bars' two fields: 20-30 ms; the list of them at once: 4-9 ms).
FIELD_PATHS = 12


def _restyled(traces: list[str], sent: str) -> list[str] | None:
    """Each picture's hover template of one trace (`traces`, as JSON) when the pictures differ from the
    message's (`sent`) in it alone, else None: such a trace is restyled, which plotly.js draws nothing
    again for (a chart drawing a row's numbers as shapes tells them on hover through it)."""
    base = _HOVER.sub('"hovertemplate":null', sent)
    templates = []
    for trace in traces:
        found = _HOVER.findall(trace)
        if len(found) != 1 or _HOVER.sub('"hovertemplate":null', trace) != base:
            return None
        templates.append(json.loads(found[0]))
    return templates


def scrub_frames(scrub: Scrub) -> str:
    """`scrub`'s pictures as what the browser swaps in for each value: JSON {value: {"traces": {index:
    trace JSON as a string}, "restyle": {index: {"hovertemplate": template}}, "relayout": {path: value}}}
    holding every trace, hover template and layout path that differs between any two pictures, so that
    any frame drawn over any other gives its own picture. Pictures of one figure under moving shapes
    (the Recurrent page's outlines) differ in shape fields alone; a trace whose hover template alone
    differs (`_restyled`) travels as that template."""
    pictures = list(scrub.pictures.items())
    traces = {value: [_json(_plain(trace)) for trace in scrub.traces[value]] if value in scrub.traces
              else figure_parts(fig)[0] for value, (fig, _) in pictures}
    first_value, (first_fig, _) = pictures[0]
    sent = figure_parts(first_fig)[0]  # the message's traces, which every frame is drawn over
    counts = {len(t) for t in traces.values()} | {len(sent)}
    if len(counts) > 1:
        raise ValueError(f"Scrub {scrub.group!r}: every picture must have as many traces, got {sorted(counts)}")
    changing = sorted({i for t in traces.values() for i, trace in enumerate(t) if trace != sent[i]})
    templates = {i: found for i in changing if (found := _restyled([t[i] for t in traces.values()], sent[i]))}
    swapping = [i for i in changing if i not in templates]
    same_figure = all(fig is first_fig for fig, _ in scrub.pictures.values())
    shape_counts = {len(fig._layout.get("shapes", ())) + len(shapes) for fig, shapes in scrub.pictures.values()}
    moving = _moving(pictures, same_figure, whole_shapes := len(shape_counts) > 1)
    if not whole_shapes and sum(path.startswith("shapes[") for path in moving[1]) > FIELD_PATHS:
        moving = _moving(pictures, same_figure, True)
    paths, moved = moving
    frames = []
    for k, (value, _) in enumerate(pictures):
        swapped = ",".join(f'"{i}":{json.dumps(traces[value][i])}' for i in swapping)  # as strings: compared
        restyle = _json({str(i): {"hovertemplate": found[k]} for i, found in templates.items()})
        relayout = _json({path: paths[value].get(path) for path in moved})
        frames.append(f'"{value}":{{"traces":{{{swapped}}},"restyle":{restyle},"relayout":{relayout}}}')
    return "{" + ",".join(frames) + "}"


def _moving(pictures: list, same_figure: bool, whole_shapes: bool) -> tuple[dict, list[str]]:
    """Each picture's layout paths (`_layout_paths`) and those whose value differs between any two."""
    paths = {value: _layout_paths(fig, shapes, same_figure, whole_shapes) for value, (fig, shapes) in pictures}
    first = paths[pictures[0][0]]
    every = dict.fromkeys(path for fields in paths.values() for path in fields)
    return paths, [path for path in every
                   if any(_differs(fields.get(path), first.get(path)) for fields in paths.values())]


_SCALARS = (str, int, float, bool, type(None))


def _plain(value):
    """`value` with every dict and list copied and every numpy array as plotly's typed-array spec
    (except under the keys plotly leaves as they are, such as "range")."""
    if isinstance(value, _SCALARS):  # most leaves (a colour scale's stops): plotly's array test costs 2 µs each
        return value
    if isinstance(value, dict):
        return {k: v if is_skipped_key(k) else _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "USO":  # text: plotly's encoder writes a list too
        return _plain(value.tolist())
    return to_typed_array_spec(value) if is_homogeneous_array(value) else value


def figure_parts(fig: go.Figure, shapes: Sequence[dict] = ()) -> tuple[list[str], str, str | None]:
    """`fig` as plotly's own JSON in parts: each trace's, the layout's (with `shapes` after the
    figure's own) and the frames' (None without frames). Read from the figure's own property dicts
    (plotly's `_data`, `_layout`): plotly's `to_dict` deep-copies every numpy array before encoding
    it, at twice the cost. The traces' JSON is kept on the figure: a page that shows one figure
    built once under changing shapes (the Recurrent page's timestep) encodes its traces once."""
    if (traces := fig.__dict__.get("_netlens_traces")) is None:
        traces = [_json(_plain({k: v for k, v in trace.items() if k != "uid"})) for trace in fig._data]
        fig.__dict__["_netlens_traces"] = traces
    layout = {**fig._layout, "shapes": [*fig._layout.get("shapes", ()), *shapes]} if shapes else fig._layout
    frames = _json([_plain(frame._props) for frame in fig._frame_objs]) if fig.frames else None
    return traces, _json(_plain(layout)), frames


def joined(traces: list[str], layout: str, frames: str | None) -> str:
    """The figure's JSON from its parts (`figure_parts`), as `fig.to_json()` writes it."""
    tail = f',"frames":{frames}' if frames else ""
    return '{"data":[' + ",".join(traces) + '],"layout":' + layout + tail + "}"


def figure_json(fig: go.Figure) -> str:
    """`fig.to_json()`, the same string at half the cost."""
    return joined(*figure_parts(fig))


def plotly_chart(fig: go.Figure | Scrub, config: dict, labels: dict[str, str], key: str,
                 on_click: Callable[[dict], None] | None = None) -> None:
    """Mount (or update in place) the chart under `key`: `fig` as it is (no Streamlit theme), the
    width of its container, the height its layout sets (Plotly's 450 px if none), with plotly.js
    `config` and the fullscreen control's `labels` ("open", "close") in the user's language.

    A trace (or layout) whose JSON is the one this session last sent under `key` travels as null: moving the
    Recurrent page's timestep changes an outline, not its eleven heatmaps (200 KiB a move before).
    The browser keeps each chart's traces by key for the tab (`assets/chart.js`); one that does not hold the
    version a message builds on (a message it never got) asks for the whole figure, and gets it.

    `fig` may be a `Scrub` instead: a chart that follows a scrub slider in the browser. Its message
    then holds the first value's picture, the frames that make every other (`scrub_frames`) and the
    server's value, all of which stay the same while only the value moves: a move's message carries
    nothing but that value, and the browser, which drew that picture when the thumb moved, draws
    nothing again. A value's picture that differs from the one drawn in shapes, other layout entries
    and hover templates alone is drawn by Plotly.relayout (or Plotly.update), in a few ms; one whose
    trace data differ, by Plotly.react, which draws the whole plot again (10-70 ms). A `Scrub`
    chart's `click` axis ("x" or "y") moves its slider to the value of the point clicked, in the tab,
    before the server hears of it.

    `on_click(point)` runs before the next rerun when a point is clicked: `point` holds the clicked
    point's "x", "y" and "curve" (its trace's index), as plotly.js gave them.
    """
    scrub, shapes = (fig, ()) if isinstance(fig, Scrub) else (None, ())
    if scrub:
        fig, shapes = next(iter(scrub.pictures.values()))  # its first picture's shapes drawn after the figure's
    traces, layout, frames = figure_parts(fig, shapes)
    sent = st.session_state.setdefault(SENT, Sent())
    held = [*traces, layout, sent.scrub_frames(key, scrub) if scrub else None]  # each null when the tab has it
    number, before = sent.charts.get(key, (0, []))
    sent.charts[key] = (number + 1, held)
    parts = [None if i < len(before) and before[i] == part else part for i, part in enumerate(held)]
    n = len(traces)
    data = {"key": key, "version": f"{sent.session}-{number + 1}", "base": f"{sent.session}-{number}",
            "traces": parts[:n], "layout": parts[n], "frames": frames, "config": config, "labels": labels,
            "scrub": {"group": scrub.group, "value": scrub.value, "frames": parts[n + 1], "click": scrub.click,
                      "clickTraces": scrub.click_traces}
            if scrub else None, "clicks": on_click is not None,
            "plotly": served("plotly", _PLOTLY_DIR, PLOTLY_JS), "code": code("chart")}
    def clicked() -> None:
        point = (st.session_state.get(key) or {}).get("click")
        if on_click and isinstance(point, dict):
            on_click(point)

    _chart(key=key, data=data, width="stretch", on_missing_change=lambda: sent.forget(key), on_click_change=clicked)
