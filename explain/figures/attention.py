"""Figures of the attention page. Rows of the digit are tokens, so every y axis here is "image row",
drawn top to bottom (row 0 at the top) to line up with the digit itself.

Every figure is written as plain trace and layout dicts and turned into a Figure once
(`theme.figure`): plotly's `add_trace(row=, col=)`, `update_*axes` and `add_shape` calls validate
every property one by one, about 100 ms of every move of the query-row slider. Panel k of a grid
draws on the axes `panels.axes(k)`; layout entries are set with `_axis`. The charts that follow the
query row are built once for each of the 28 rows, unvalidated (`theme.figure(validate=False)`: 1 s of
plotly's checks for a head's rows); a test builds each validated and compares."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from explain.attention import LayerNormStep, OrderTest, WorkedExample
from explain.figures import panels
from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, figure, grid, sequential
from explain.i18n import t

ACCENT = CATEGORICAL[3]     # vermillion: the query row, wherever it appears
ROW_TICKS = dict(tickmode="array", tickvals=[0, 5, 10, 15, 20, 27])
SPARSE_TICKS = dict(tickmode="array", tickvals=[0, 10, 20])   # small panels at projector font size


ROWS_DOWN = dict(range=[27.5, -0.5], **ROW_TICKS)   # image rows top to bottom, lined up with the digit


def _axis(layout: dict, letter: str, k: int, **settings) -> None:
    """Merge `settings` into panel k's x or y axis (`letter`) of a layout dict; `title` is its text."""
    name = f"{letter}axis" if k == 1 else f"{letter}axis{k}"
    if "title" in settings:
        settings["title"] = dict(text=settings["title"])
    layout[name] = {**layout.get(name, {}), **settings}


def _row_axes(layout: dict, count: int, **extra) -> None:
    """Every y axis of `count` panels in image rows, top to bottom."""
    for k in range(1, count + 1):
        _axis(layout, "y", k, **{**ROWS_DOWN, **extra})


def _outline(row: int, k: int) -> dict:
    """A box around image row `row` across the whole width of panel k."""
    x, y = panels.axes(k)
    return dict(type="rect", x0=0, x1=1, y0=row - 0.5, y1=row + 0.5, xref=f"{x} domain", yref=y,
                line=dict(color=ACCENT, width=3), fillcolor="rgba(0,0,0,0)")


def _digit(x28: np.ndarray, name: str, k: int = 1) -> dict:
    x, y = panels.axes(k)
    return dict(type="heatmap", z=x28, colorscale=DIGIT, zmin=0, zmax=1, showscale=False, name=name,
                hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>", xaxis=x, yaxis=y)


def _weighted_lines(lines: list[tuple[Sequence[float], Sequence[float], float]], strongest: float, projector: bool,
                    k: int, curve: bool = False) -> list[dict]:
    """Lines through the points (x, y) in panel k whose width and opacity show an attention weight, as
    path shapes below the traces: as traces (20-30 of them) plotly.js would validate, lay out and draw
    each one again on every query-row move, and the projector look (`theme.figure`) would give them
    all the same width. Not layer "between": plotly.js 4.1 leaves those on screen when a redraw has
    fewer shapes. With `curve`, each line's three points are a quadratic Bézier's start, control point
    and end (SVG "Q"): the arc in three points instead of two dozen, which every row's picture carries."""
    scale = 1.5 if projector else 1.0
    x_axis, y_axis = panels.axes(k)

    def path(x, y) -> str:
        points = [f"{a:.3f},{b:.3f}" for a, b in zip(x, y)]
        return f"M{points[0]}Q{points[1]} {points[2]}" if curve else "M" + "L".join(points)

    return [dict(type="path", path=path(x, y), xref=x_axis,
                 yref=y_axis, line=dict(color=ACCENT, width=scale * (1 + 12 * w)),
                 opacity=0.25 + 0.75 * w / strongest, layer="below") for x, y, w in lines]


def _shades(weights: np.ndarray, projector: bool) -> list[str]:
    """Each weight (0..1) as its colour on the sequential scale (the head grid's), for the bars drawn
    as shapes, which take a colour each."""
    return sample_colorscale(sequential(projector), np.clip(weights, 0, 1).tolist())


def _bars(at: np.ndarray, lengths: np.ndarray, horizontal: bool = False, width: float = 0.8) -> str:
    """Bars from 0 to each of `lengths` at the positions `at` (x, or y if `horizontal`), `width` wide, as
    one SVG path in data coordinates: one shape instead of a bar trace, which plotly.js would draw
    again, with every other trace of the figure, on every query-row move."""
    half = width / 2
    if horizontal:
        return "".join(f"M0,{a - half:g}H{v:.7g}V{a + half:g}H0Z" for a, v in zip(at, lengths))
    return "".join(f"M{a - half:g},0V{v:.7g}H{a + half:g}V0Z" for a, v in zip(at, lengths))


def _span(values: np.ndarray, pad: float = 0.05) -> list[float]:
    """An axis range holding 0 and every one of `values`, `pad` of its length to spare either side."""
    low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
    return [low - pad * (high - low), high + pad * (high - low)]


def _panel_title(text: str, k: int, projector: bool) -> dict:
    """Panel k's title, as make_subplots places and sizes it, as the label of an invisible line along
    the panel's top: a title that changes with the query row, as an annotation, would be a "calc" edit
    in plotly.js (the whole plot drawn again, 20-40 ms a move); a shape's label is drawn with the shapes."""
    x, y = panels.axes(k)
    return dict(type="line", x0=0, x1=1, xref=f"{x} domain", y0=1, y1=1, yref=f"{y} domain", line=dict(width=0),
                label=dict(text=text, textposition="middle", yanchor="bottom", padding=0,
                           font=dict(size=20 if projector else 16)))


def _at_row(template: str, letter: str, row: int) -> str:
    """A hover template telling the value of `row` from each point's customdata (every row's value,
    (points, rows)) where `template` tells the point's own coordinate `letter` ("%{y:.3f}")."""
    return template.replace("%{" + letter, f"%{{customdata[{row}]")


def _cells(colours: Sequence[str], k: int) -> list[dict]:
    """A row of cells (x 0..n-1, y 0) in panel k, each filled with its colour: a vector that changes with
    the query row, drawn with the shapes instead of as a heatmap plotly.js would draw again."""
    x, y = panels.axes(k)
    return [dict(type="rect", x0=d - 0.5, x1=d + 0.5, y0=-0.5, y1=0.5, xref=x, yref=y, fillcolor=colour,
                 line=dict(width=0)) for d, colour in enumerate(colours)]


def _hover_bars(every: np.ndarray, span: list[float], template: str, k: int) -> dict:
    """Invisible horizontal bars across panel k's `span`, one a key row, whose hover tells `template`
    with each key row's value for every query row, `every` (query, key): bars drawn as shapes still
    tell their numbers on hover, and a row move changes the template alone (`widgets.chart`)."""
    x, y = panels.axes(k)
    rows = every.shape[1]
    return dict(type="bar", x=np.full(rows, span[1] - span[0]), base=span[0], y=np.arange(rows), orientation="h",
                customdata=every.T.astype(np.float32), marker=dict(opacity=0), hovertemplate=template,
                showlegend=False, xaxis=x, yaxis=y)


def _weight_bars(weights: np.ndarray, span: list[float], projector: bool, k: int, width: float = 0.85) -> list[dict]:
    """One rectangle a key row in panel k, from 0 to its weight, in its colour on the sequential scale;
    none for a weight under 1/500 of the axis `span` (under a third of a pixel: a shape costs plotly.js
    0.1-0.2 ms a move; the hover still tells it)."""
    x, y = panels.axes(k)
    least = (span[1] - span[0]) / 500
    return [dict(type="rect", x0=0, x1=float(w), y0=j - width / 2, y1=j + width / 2, xref=x, yref=y,
                 fillcolor=colour, line=dict(width=0))
            for j, (w, colour) in enumerate(zip(weights, _shades(weights, projector))) if w >= least]


def row_focus(x28: np.ndarray, scores: np.ndarray, query: int, head: int, lang: str,
              projector: bool = False) -> go.Figure:
    """Where query row `query` looks: arcs from it to every key row (width = weight), the digit with
    the query row outlined and the key rows tinted by weight, and one bar per key row. `scores`
    (query, key) is the head's matrix: the bars keep one scale for every query row, and what changes
    with the row is drawn as shapes (the hover tells the row's weights from every row's)."""
    weights = scores[query]
    layout = grid(rows=1, cols=3, shared_yaxes=True, column_widths=[0.14, 0.56, 0.30], horizontal_spacing=0.02)
    strongest = float(weights.max())
    span = [0.0, float(scores.max()) * 1.45]
    rows = np.arange(28)
    hover_bar = _at_row(t("attention.fig.hover_bar", lang), "x", query) + "<extra></extra>"
    data = [_digit(x28, "digit", 2), _hover_bars(scores, span, hover_bar, 3)]
    bars = _weight_bars(weights, span, projector, 3)
    top = max(range(len(bars)), key=lambda b: bars[b]["x1"])
    bars[top]["label"] = dict(text=f"{strongest:.2f}", textposition="middle right", xanchor="left", padding=4,
                              font=dict(size=20 if projector else 12))
    # The key rows tinted on the drawing itself, strongest row most opaque (rows under 1% of it unseen).
    tint = [dict(type="rect", x0=-0.5, x1=27.5, y0=j - 0.5, y1=j + 0.5, xref="x2", yref="y2", line=dict(width=0),
                 fillcolor=f"rgba(86,180,233,{0.7 * w / strongest:.3f})")
            for j, w in enumerate(weights) if w >= 0.01 * strongest]
    layout["shapes"] = [_outline(query, 2), *tint, *bars]
    _axis(layout, "x", 1, visible=False, range=[-1.05, 0.1])
    _axis(layout, "x", 2, visible=False, scaleanchor="y2", constrain="domain")
    _axis(layout, "x", 3, title=t("attention.fig.weight", lang), range=span, nticks=3 if projector else 5)
    _row_axes(layout, 3)
    _axis(layout, "y", 1, title=t("attention.fig.key_row", lang))
    layout.update(title=dict(text=t("attention.fig.focus_title", lang, query=query, head=head + 1)))
    arcs = []
    for key in np.flatnonzero(weights >= 0.01):
        bend = 0.15 + 0.85 * abs(key - query) / 27   # the control point: the arc's bulge grows with the distance
        arcs.append(((0, -bend, 0), (query, (query + key) / 2, key), float(weights[key])))
    layout["shapes"] += _weighted_lines(arcs, strongest, projector, 1, curve=True)
    keys = dict(type="scatter", x=np.zeros(28), y=rows, mode="markers", showlegend=False,
                marker=dict(size=6 if projector else 4, color=ACCENT), customdata=scores.T.astype(np.float32),
                hovertemplate=_at_row(t("attention.fig.hover_key", lang), "customdata", query) + "<extra></extra>",
                xaxis="x", yaxis="y")
    return figure(data, layout, projector, 350, coded=[keys], validate=False)


GRID_GAP = 3   # empty columns between the head grid's tiles


def _tile_starts(heads: int, keys: int) -> list[int]:
    """The first column of each tile of the head grid: the heads', then their mean's."""
    return [k * (keys + GRID_GAP) for k in range(heads + 1)]


def head_tile(x, keys: int = 28) -> int | None:
    """Which tile of `head_grid` holds column `x` (0.. the heads', then their mean's), None in a gap."""
    if not isinstance(x, (int, float)):
        return None
    column = int(round(x))
    tile, at = divmod(column, keys + GRID_GAP)
    return tile if column >= 0 and at < keys else None


def grid_outlines(query: int, heads: int, keys: int = 28) -> list[dict]:
    """The query row's outline in every tile of `head_grid` (`heads` heads of `keys` key rows, and their mean)."""
    return [dict(type="rect", x0=x0 - 0.5, x1=x0 + keys - 0.5, y0=query - 0.5, y1=query + 0.5, xref="x", yref="y",
                 line=dict(color=ACCENT, width=3), fillcolor="rgba(0,0,0,0)") for x0 in _tile_starts(heads, keys)]


def head_grid(scores: np.ndarray, query: int | None, head: int, lang: str, projector: bool = False) -> go.Figure:
    """Every head's (query, key) weight matrix and their mean, side by side on one colour scale, the
    query row outlined (none if `query` is None: the page draws `grid_outlines` over one figure for every
    row) and the selected head's title marked. `scores` (heads, query, key).

    One heatmap of the tiles (gaps of NaN) on one pair of axes, its customdata the key row of each
    cell: redrawn on every query-row move, five subplots cost plotly.js twice the time of one."""
    heads, rows, keys = scores.shape
    names = [t("attention.head_n", lang, n=h + 1) for h in range(heads)] + [t("attention.fig.mean", lang)]
    names[head] = f"<b>▶ {names[head]}</b>"
    tiles = np.concatenate([scores, scores.mean(0, keepdims=True)])
    left = _tile_starts(heads, keys)
    z = np.full((rows, left[-1] + keys), np.nan, np.float32)
    key_of = np.zeros(z.shape, np.int8)  # 0 in the gaps (never hovered), not -1: base64 "/", which plotly escapes
    for tile, x0 in zip(tiles, left):
        z[:, x0:x0 + keys] = tile
        key_of[:, x0:x0 + keys] = np.arange(keys)
    ticks = (SPARSE_TICKS if projector else ROW_TICKS)["tickvals"]
    data = [dict(type="heatmap", z=z, customdata=key_of, hoverongaps=False, zmin=0, zmax=float(scores.max()),
                 colorscale=sequential(projector), colorbar=dict(thickness=12, len=0.9),
                 hovertemplate=t("attention.fig.hover_cell", lang) + "<extra></extra>")]
    plain = dict(showgrid=False, zeroline=False, constrain="domain")
    layout = dict(title=dict(text=t("attention.fig.grid_title", lang)),
                  xaxis=dict(range=[-0.5, z.shape[1] - 0.5], tickmode="array",
                             tickvals=[x0 + v for x0 in left for v in ticks],
                             ticktext=[str(v) for _ in left for v in ticks],
                             title=dict(text=t("attention.fig.key_row", lang)), **plain),
                  yaxis=dict(ROWS_DOWN, scaleanchor="x", title=dict(text=t("attention.fig.query_row", lang)), **plain,
                             **(SPARSE_TICKS if projector else {})),
                  annotations=[dict(text=name, x=x0 + (keys - 1) / 2, y=1.0, xref="x", yref="paper", xanchor="center",
                                    yanchor="bottom", showarrow=False, font=dict(size=16))
                               for name, x0 in zip(names, left)],
                  shapes=[] if query is None else grid_outlines(query, heads, keys))
    # Fixed margins for the axis labels: the wide mosaic fills the width, which automargin leaves to the plot.
    margin = dict(t=95, l=85, b=70) if projector else dict(t=70, l=60, b=50)
    return figure(data, layout, projector, 280, margin)


def worked_figure(examples: Sequence[WorkedExample], row: int, lang: str, projector: bool = False) -> go.Figure:
    """softmax(q·k_j / sqrt(d_k)) then Σ_j w_j v_j for query row `row`, left to right, one line per key
    row j: the query (1, d_k) above the keys (key, d_k), the three per-key columns, the values (key, d_v)
    with the weighted sum (1, d_v) below them. `examples` (query,) holds every query row's of the head:
    one scale for every row, and what changes with the row (q, the columns, the sum) drawn as shapes
    over hover targets that hold every row's numbers."""
    ex = examples[row]
    root = float(np.sqrt(ex.d_k))
    titles = [t("attention.fig.col_keys", lang), t("attention.fig.col_dots", lang),
              t("attention.fig.col_scaled", lang, root=f"{root:g}"), t("attention.fig.col_softmax", lang),
              t("attention.fig.col_values", lang)]
    # Panels, numbered over the non-empty cells: 1 q, 2-6 the second row's columns, 7 the output.
    layout = grid(rows=3, cols=5, row_heights=[0.07, 0.84, 0.09], vertical_spacing=0.045,
                  column_widths=[0.27, 0.13, 0.13, 0.15, 0.27], horizontal_spacing=0.025,
                  specs=[[{}, None, None, None, None], [{}, {}, {}, {}, {}], [None] * 4 + [{}]],
                  subplot_titles=[""] + titles + [t("attention.fig.out", lang)])
    # One colour scale for every query row of the head (the output, a weighted mean of values, lies within
    # it): the keys and values then draw the same on every row, and a row move sends only what changed.
    span = float(max(np.abs(ex.keys).max(), np.abs(ex.values).max(), np.abs(ex.queries).max()))
    hover_vec = t("attention.fig.hover_vec", lang) + "<extra></extra>"
    hover_row = _at_row(hover_vec.replace("%{y}", str(row)), "z", row)   # q's and the sum's: the query row's
    hover_bar = _at_row(t("attention.fig.hover_bar", lang), "x", row) + "<extra></extra>"

    def colours(v: np.ndarray) -> list[str]:
        return sample_colorscale(DIVERGING, np.clip((v + span) / (2 * span), 0, 1).tolist())

    def heat(z: np.ndarray, k: int) -> dict:
        x, y = panels.axes(k)
        return dict(type="heatmap", z=z, hovertemplate=hover_vec, colorscale=DIVERGING, zmid=0, zmin=-span,
                    zmax=span, showscale=False, xaxis=x, yaxis=y)

    def cells_hover(every: np.ndarray, k: int) -> dict:   # every (query, d): each row's vector
        x, y = panels.axes(k)
        return dict(type="scatter", x=np.arange(every.shape[1]), y=np.zeros(every.shape[1]), mode="markers",
                    marker=dict(symbol="square", size=14, opacity=0), customdata=every.T.astype(np.float32),
                    hovertemplate=hover_row, xaxis=x, yaxis=y)

    every = {name: np.stack([getattr(e, name) for e in examples])   # (query, key) or (query, d)
             for name in ("q", "dots", "scaled", "weights", "output")}
    spans = {name: _span(every[name]) for name in ("dots", "scaled")}
    spans["weights"] = [0.0, float(every["weights"].max()) * 1.15]
    data = [cells_hover(every["q"], 1), heat(ex.keys, 2),
            *(_hover_bars(every[name], spans[name], hover_bar, k)
              for k, name in ((3, "dots"), (4, "scaled"), (5, "weights"))),
            heat(ex.values, 6), cells_hover(every["output"], 7)]
    strongest = int(np.argmax(ex.weights))
    layout["shapes"] = [_outline(strongest, k) for k in range(2, 7)]
    for k, name in ((3, "dots"), (4, "scaled")):
        x, y = panels.axes(k)
        layout["shapes"].append(dict(type="path", path=_bars(np.arange(len(ex.weights)), getattr(ex, name), True, 0.85),
                                     xref=x, yref=y, fillcolor=CATEGORICAL[0], line=dict(width=0)))
    layout["shapes"] += [*_weight_bars(ex.weights, spans["weights"], projector, 5),
                         *_cells(colours(ex.q), 1), *_cells(colours(ex.output), 7),
                         _panel_title(t("attention.fig.q", lang, row=row), 1, projector)]
    for k in range(2, 7):
        _axis(layout, "y", k, **ROWS_DOWN, showticklabels=k == 2)
    _axis(layout, "y", 2, title=t("attention.fig.key_row", lang))
    for k in (1, 7):
        _axis(layout, "y", k, visible=False, range=[-0.5, 0.5])
        _axis(layout, "x", k, visible=False, range=[-0.5, len(ex.q) - 0.5])
    for k in (2, 6):
        _axis(layout, "x", k, showticklabels=False)
    for k, name in ((3, "dots"), (4, "scaled"), (5, "weights")):   # three ticks: one range for every row is wide
        _axis(layout, "x", k, range=spans[name], nticks=3 if projector or k < 5 else 5)
    layout.update(showlegend=False, bargap=0.15,
                  title=dict(text=t("attention.fig.worked_title", lang, head=ex.head + 1, row=row)))
    return figure(data, layout, projector, 560, {"t": 110 if projector else 85}, validate=False)  # room for the title


def positional_figure(table: np.ndarray, dims: tuple[int, ...], lang: str, projector: bool = False) -> go.Figure:
    """The sinusoidal table (positions, depth) the model adds to its row tokens, and a few of its
    columns as curves over the 28 positions: low dimensions wave fast, high ones slowly."""
    layout = grid(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
                  subplot_titles=[t("attention.fig.pe_table", lang), t("attention.fig.pe_curves", lang)])
    data = [dict(type="heatmap", z=table, colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1,
                 showscale=False,   # the title names the colours; a bar here collides with the curves
                 hovertemplate=t("attention.fig.hover_pe", lang) + "<extra></extra>", xaxis="x", yaxis="y")]
    data += [dict(type="scatter", x=np.arange(len(table)), y=table[:, d], mode="lines+markers", marker=dict(size=4),
                  line=dict(color=CATEGORICAL[i % len(CATEGORICAL)]), xaxis="x2", yaxis="y2",
                  name=t("attention.fig.pe_dim", lang, dim=d, kind="sin" if d % 2 == 0 else "cos"))
             for i, d in enumerate(dims)]
    _axis(layout, "y", 1, **ROWS_DOWN, title=t("attention.fig.position", lang))
    _axis(layout, "x", 1, title=t("attention.fig.dimension", lang))
    _axis(layout, "x", 2, title=t("attention.fig.position", lang), **ROW_TICKS)
    layout["legend"] = dict(title=dict(text=t("attention.fig.dimension", lang)), orientation="h", x=1,
                            xanchor="right", y=-0.3, yanchor="top")
    return figure(data, layout, projector, 360, {"t": 85 if projector else 65})  # two-line subplot titles


def order_figure(x28: np.ndarray, test: OrderTest, lang: str, projector: bool = False) -> go.Figure:
    """The digit and the same digit with its rows reordered, each titled with what the model (with
    its position table) says about it."""
    titles = []
    for k, name in enumerate(("attention.fig.original", "attention.fig.permuted")):
        p = test.probs[0, k]
        titles.append(t(name, lang, digit=int(p.argmax()), prob=100 * float(p.max())))
    layout = grid(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    data = [_digit(x28, "original", 1), _digit(x28[test.order], "permuted", 2)]
    for k in (1, 2):
        _axis(layout, "x", k, visible=False, scaleanchor=panels.axes(k)[1], constrain="domain")
        _axis(layout, "y", k, **ROWS_DOWN, showticklabels=k == 1)
    _axis(layout, "y", 1, title=t("attention.fig.image_row", lang))
    return figure(data, layout, projector, 300, {"t": 80 if projector else 60})  # two-line titles


CHAIN_X = -1.2   # where `recurrence_figure` draws the LSTM's chain, left of attention's fan (0: queries, 1: keys)


def recurrence_figure(weights: np.ndarray, query: int, lang: str, projector: bool = False) -> go.Figure:
    """Left: the LSTM's chain, row t reaches the state only after rows 0..t-1 (27 steps from row 0 to
    row 27). Right: attention, the query row joined to every key row at once, line width = weight.
    One pair of axes for both: the query dot moves with the row, which plotly.js draws by drawing the
    whole plot again, and two subplots cost it a third more than one."""
    rows = np.arange(28)
    hover_key = t("attention.fig.hover_key", lang) + "<extra></extra>"
    data = [dict(type="scatter", x=np.full(28, CHAIN_X), y=rows, mode="lines+markers",
                 line=dict(color=CATEGORICAL[0], width=2),
                 marker=dict(size=9, symbol="triangle-down", color=CATEGORICAL[0]),
                 hovertemplate=t("attention.fig.hover_step", lang) + "<extra></extra>")]
    data += [dict(type="scatter", x=np.full(28, x), y=rows, mode="markers", customdata=weights,
                  marker=dict(size=7, color="#555555"), hovertemplate=hover_key) for x in (0, 1)]
    titles = [dict(text=text, x=x, y=1.0, xref="x", yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                   font=dict(size=16))
              for text, x in ((t("attention.fig.chain", lang), CHAIN_X),
                              (t("attention.fig.fan", lang, query=query), 0.5))]
    layout = dict(xaxis=dict(range=[CHAIN_X - 0.75, 1.3], showgrid=False, zeroline=False, tickvals=[0, 1],
                             ticktext=[t("attention.fig.queries", lang), t("attention.fig.keys", lang)]),
                  yaxis=dict(ROWS_DOWN, title=dict(text=t("attention.fig.image_row", lang))), annotations=titles,
                  showlegend=False)
    lines = [((0, 1), (query, key), float(weights[key])) for key in np.flatnonzero(weights >= 0.005)]
    layout["shapes"] = _weighted_lines(lines, float(weights.max()), projector, 1)
    query_dot = dict(type="scatter", x=[0], y=[query], mode="markers", marker=dict(size=14, color=ACCENT),
                     hoverinfo="skip", showlegend=False)
    return figure(data, layout, projector, 430, {"t": 80 if projector else 60},   # two-line titles
                  coded=[query_dot], validate=False)


STAGES = ("tokens", "attended", "norm1", "ffn", "norm2")   # the lines of `residual_figure`


def residual_figure(norms: dict[str, np.ndarray], row: int, lang: str, projector: bool = False) -> go.Figure:
    """Length of every row's vector (y) over the 28 rows (x) at the stages of the encoder block:
    what passes by (x, then LayerNorm's outputs) against what each sub-layer adds (MHA(x), FFN), the
    chosen row marked. `norms` as `explain.attention.row_norms` gives them, name -> (rows,)."""
    dashes = {"attended": "dot", "ffn": "dot"}
    data = [dict(type="scatter", x=np.arange(len(norms[name])), y=norms[name], mode="lines+markers",
                 name=t(f"attention.fig.stage.{name}", lang), marker=dict(size=5),
                 line=dict(color=CATEGORICAL[i], dash=dashes.get(name, "solid")),
                 hovertemplate=t("attention.fig.hover_norm", lang) + "<extra></extra>")
            for i, name in enumerate(STAGES)]
    layout = dict(shapes=[dict(type="line", x0=row, x1=row, xref="x", y0=0, y1=1, yref="y domain",
                               line=dict(color=ACCENT, width=3))],
                  xaxis=dict(title=dict(text=t("attention.fig.image_row", lang)), **ROW_TICKS),
                  yaxis=dict(title=dict(text=t("attention.fig.length", lang)), rangemode="tozero"),
                  title=dict(text=t("attention.fig.residual_title", lang, row=row)),
                  legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"))
    return figure(data, layout, projector, 420 if projector else 360, validate=False)


def layer_norm_figure(steps: Sequence[LayerNormStep], layer: str, row: int, lang: str,
                      projector: bool = False) -> go.Figure:
    """Row `row`'s `depth` numbers entering layer normalisation (its mean as a line, one standard
    deviation either side shaded), after (x - mean) / sqrt(var + eps), and after gamma, beta: the
    layer's output row. `steps` (rows,) holds every row's step: the panels keep one range for every
    row, and the bars are shapes over hover points that hold every row's numbers, so that a row move
    redraws shapes and a hover template alone."""
    step = steps[row]
    titles = ["", t("attention.fig.ln_normalised", lang), t("attention.fig.ln_after", lang, layer=layer)]
    layout = grid(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    depth = len(step.before)
    dims = np.arange(depth)
    hover = _at_row(t("attention.fig.hover_dim", lang), "y", row) + "<extra></extra>"
    data, bars = [], []
    for k, name in enumerate(("before", "normalised", "after"), start=1):
        x, y = panels.axes(k)
        every = np.stack([getattr(s, name) for s in steps])   # (rows, depth)
        data.append(dict(type="scatter", x=dims, y=np.zeros(depth), customdata=every.T.astype(np.float32),
                         mode="markers", marker=dict(opacity=0), hovertemplate=hover, showlegend=False,
                         xaxis=x, yaxis=y))
        bars.append(dict(type="path", path=_bars(dims, every[row]), xref=x, yref=y, fillcolor=CATEGORICAL[0],
                         line=dict(width=0)))
        _axis(layout, "x", k, title=t("attention.fig.dimension", lang), range=[-0.5, depth - 0.5],
              tickvals=[0, 16, 32, 48, depth - 1] if not projector else [0, 32, depth - 1])
        _axis(layout, "y", k, range=_span(every))
    sd = float(np.sqrt(step.variance))
    layout["shapes"] = [*bars, _panel_title(t("attention.fig.ln_before", lang, mean=step.mean, var=step.variance),
                                            1, projector)]
    for k, (centre, spread) in ((1, (step.mean, sd)), (2, (0.0, 1.0))):
        x, y = panels.axes(k)
        layout["shapes"] += [dict(type="rect", x0=0, x1=1, xref=f"{x} domain", y0=centre - spread, y1=centre + spread,
                                  yref=y, fillcolor=CATEGORICAL[1], opacity=0.15, line=dict(width=0)),
                             dict(type="line", x0=0, x1=1, xref=f"{x} domain", y0=centre, y1=centre, yref=y,
                                  line=dict(color=ACCENT, width=2))]
    layout.update(title=dict(text=t("attention.fig.ln_title", lang, layer=layer, row=row)), hovermode="x")
    return figure(data, layout, projector, 340 if projector else 300, {"t": 95 if projector else 75}, validate=False)
