"""Figures of the attention page. Rows of the digit are tokens, so every y axis here is "image row",
drawn top to bottom (row 0 at the top) to line up with the digit itself."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.attention import LayerNormStep, OrderTest, WorkedExample
from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, sequential, style, subplots
from explain.i18n import t

ACCENT = CATEGORICAL[3]     # vermillion: the query row, wherever it appears
ROW_TICKS = dict(tickmode="array", tickvals=[0, 5, 10, 15, 20, 27])
SPARSE_TICKS = dict(tickmode="array", tickvals=[0, 10, 20])   # small panels at projector font size


def _rows_axis(fig: go.Figure, row: int | None = None, col: int | None = None, **extra) -> None:
    """Image rows top to bottom, so the axis lines up with the digit."""
    fig.update_yaxes(range=[27.5, -0.5], **ROW_TICKS, row=row, col=col, **extra)


def _outline_row(fig: go.Figure, row: int, axis: int) -> None:
    """A box around image row `row` across the whole width of subplot axis number `axis`."""
    n = "" if axis == 1 else axis
    fig.add_shape(type="rect", x0=0, x1=1, y0=row - 0.5, y1=row + 0.5, xref=f"x{n} domain",
                  yref=f"y{n}", line=dict(color=ACCENT, width=3), fillcolor="rgba(0,0,0,0)")


def _digit(x28: np.ndarray, name: str) -> go.Heatmap:
    return go.Heatmap(z=x28, colorscale=DIGIT, zmin=0, zmax=1, showscale=False, name=name,
                      hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")


def _weighted_lines(fig: go.Figure, lines: list[tuple[np.ndarray, np.ndarray, float]], strongest: float,
                    projector: bool, col: int) -> None:
    """Lines whose width and opacity show an attention weight; added after `style`, which would
    otherwise give every line the same projector width."""
    scale = 1.5 if projector else 1.0
    fig.add_traces([go.Scatter(x=x, y=y, mode="lines", showlegend=False, hoverinfo="skip",
                               line=dict(color=ACCENT, width=scale * (1 + 12 * w)),
                               opacity=0.25 + 0.75 * w / strongest) for x, y, w in lines],
                   rows=1, cols=col)   # one call: adding traces one by one is plotly's slow path


def row_focus(x28: np.ndarray, weights: np.ndarray, query: int, head: int, lang: str,
              projector: bool = False) -> go.Figure:
    """Where query row `query` looks: arcs from it to every key row (width = weight), the digit with
    the query row outlined and the key rows tinted by weight, and one bar per key row. `weights` (key,)
    is one row of the head's matrix."""
    fig = subplots(rows=1, cols=3, shared_yaxes=True, column_widths=[0.14, 0.56, 0.30],
                        horizontal_spacing=0.02)
    strongest = float(weights.max())
    fig.add_trace(_digit(x28, "digit"), row=1, col=2)
    # The key rows tinted on the drawing itself, strongest row most opaque.
    fig.add_trace(go.Heatmap(z=np.repeat(weights[:, None], 28, axis=1), zmin=0, zmax=strongest, showscale=False,
                             colorscale=[[0, "rgba(86,180,233,0)"], [1, "rgba(86,180,233,0.7)"]], hoverinfo="skip"),
                  row=1, col=2)
    _outline_row(fig, query, 2)
    fig.add_trace(go.Bar(x=weights, y=np.arange(28), orientation="h", showlegend=False,
                         marker=dict(color=weights, colorscale=sequential(projector), cmin=0, cmax=1),
                         text=[f"{w:.2f}" if w == strongest else "" for w in weights],
                         textposition="outside", cliponaxis=False, constraintext="none",
                         textfont_size=20 if projector else 12,
                         hovertemplate=t("attention.fig.hover_bar", lang) + "<extra></extra>"),
                  row=1, col=3)
    fig.update_xaxes(visible=False, range=[-1.05, 0.1], row=1, col=1)
    fig.update_xaxes(visible=False, row=1, col=2, scaleanchor="y2", constrain="domain")
    fig.update_xaxes(title_text=t("attention.fig.weight", lang), range=[0, strongest * 1.45],
                     nticks=3 if projector else 5, row=1, col=3)
    _rows_axis(fig)
    fig.update_yaxes(title_text=t("attention.fig.key_row", lang), row=1, col=1)
    fig.update_layout(title=t("attention.fig.focus_title", lang, query=query, head=head + 1), bargap=0.15)
    style(fig, projector, height=350)
    arcs = []
    s = np.linspace(0, 1, 24)
    for key in np.flatnonzero(weights >= 0.01):
        bend = 0.15 + 0.85 * abs(key - query) / 27
        arcs.append((-2 * bend * s * (1 - s), query + (key - query) * s, float(weights[key])))  # Bézier
    _weighted_lines(fig, arcs, strongest, projector, col=1)
    fig.add_trace(go.Scatter(x=np.zeros(28), y=np.arange(28), mode="markers", showlegend=False,
                             marker=dict(size=(3 + 9 * weights / strongest) * (1.5 if projector else 1), color=ACCENT),
                             customdata=weights,
                             hovertemplate=t("attention.fig.hover_key", lang) + "<extra></extra>"),
                  row=1, col=1)
    return fig


def head_grid(scores: np.ndarray, query: int, head: int, lang: str, projector: bool = False) -> go.Figure:
    """Every head's (query, key) weight matrix and their mean, side by side on one colour scale, the
    query row outlined and the selected head's title marked. `scores` (heads, query, key)."""
    heads = scores.shape[0]
    names = [t("attention.head_n", lang, n=h + 1) for h in range(heads)] + [t("attention.fig.mean", lang)]
    names[head] = f"<b>▶ {names[head]}</b>"
    fig = subplots(rows=1, cols=heads + 1, subplot_titles=names, horizontal_spacing=0.02,
                        shared_yaxes=True)
    panels = list(scores) + [scores.mean(0)]
    for i, panel in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=panel, zmin=0, zmax=float(scores.max()), colorscale=sequential(projector),
                                 showscale=i == len(panels), colorbar=dict(thickness=12, len=0.9),
                                 hovertemplate=t("attention.fig.hover_cell", lang) + "<extra></extra>"),
                      row=1, col=i)
        _outline_row(fig, query, i)
        fig.update_xaxes(scaleanchor="y" if i == 1 else f"y{i}", constrain="domain", row=1, col=i,
                         **(SPARSE_TICKS if projector else ROW_TICKS))
    _rows_axis(fig)
    if projector:
        fig.update_yaxes(**SPARSE_TICKS)
    fig.update_yaxes(title_text=t("attention.fig.query_row", lang), row=1, col=1)
    fig.update_xaxes(title_text=t("attention.fig.key_row", lang), row=1, col=1)
    fig.update_layout(title=t("attention.fig.grid_title", lang))
    return style(fig, projector, height=280).update_layout(margin_t=95 if projector else 70)  # title + panel titles


def worked_figure(ex: WorkedExample, lang: str, projector: bool = False) -> go.Figure:
    """softmax(q·k_j / sqrt(d_k)) then Σ_j w_j v_j, left to right, one line per key row j: the query
    (1, d_k) above the keys (key, d_k), the three per-key columns, the values (key, d_v) with the
    weighted sum (1, d_v) below them."""
    root = float(np.sqrt(ex.d_k))
    titles = [t("attention.fig.col_keys", lang), t("attention.fig.col_dots", lang),
              t("attention.fig.col_scaled", lang, root=f"{root:g}"), t("attention.fig.col_softmax", lang),
              t("attention.fig.col_values", lang)]
    fig = subplots(rows=3, cols=5, row_heights=[0.07, 0.84, 0.09], vertical_spacing=0.045,
                        column_widths=[0.27, 0.13, 0.13, 0.15, 0.27], horizontal_spacing=0.025,
                        specs=[[{}, None, None, None, None], [{}, {}, {}, {}, {}], [None] * 4 + [{}]],
                        subplot_titles=[t("attention.fig.q", lang, row=ex.row)] + titles
                        + [t("attention.fig.out", lang)])
    span = float(max(np.abs(ex.keys).max(), np.abs(ex.values).max(), np.abs(ex.q).max()))
    vec = dict(colorscale=DIVERGING, zmid=0, zmin=-span, zmax=span, showscale=False)
    hover_vec = t("attention.fig.hover_vec", lang) + "<extra></extra>"
    fig.add_trace(go.Heatmap(z=ex.q[None], hovertemplate=hover_vec, **vec), row=1, col=1)
    fig.add_trace(go.Heatmap(z=ex.keys, hovertemplate=hover_vec, **vec), row=2, col=1)
    rows = np.arange(len(ex.weights))
    hover_bar = t("attention.fig.hover_bar", lang) + "<extra></extra>"
    for col, values in ((2, ex.dots), (3, ex.scaled)):
        fig.add_trace(go.Bar(x=values, y=rows, orientation="h", marker_color=CATEGORICAL[0],
                             hovertemplate=hover_bar), row=2, col=col)
    fig.add_trace(go.Bar(x=ex.weights, y=rows, orientation="h", hovertemplate=hover_bar,
                         marker=dict(color=ex.weights, colorscale=sequential(projector), cmin=0, cmax=1)),
                  row=2, col=4)
    fig.add_trace(go.Heatmap(z=ex.values, hovertemplate=hover_vec, **vec), row=2, col=5)
    fig.add_trace(go.Heatmap(z=ex.output[None], hovertemplate=hover_vec, **vec), row=3, col=5)
    strongest = int(np.argmax(ex.weights))
    for col in range(1, 6):   # axes are numbered over the non-empty cells: row 2, column c is axis c + 1
        _rows_axis(fig, row=2, col=col, showticklabels=col == 1)
        _outline_row(fig, strongest, col + 1)
    fig.update_yaxes(title_text=t("attention.fig.key_row", lang), row=2, col=1)
    for row, col in ((1, 1), (3, 5)):
        fig.update_yaxes(visible=False, row=row, col=col)
        fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_xaxes(showticklabels=False, row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=2, col=5)
    fig.update_xaxes(range=[0, float(ex.weights.max()) * 1.15], row=2, col=4)
    for col in (2, 3, 4):
        fig.update_xaxes(nticks=3 if projector else 5, row=2, col=col)
    fig.update_layout(showlegend=False, bargap=0.15,
                      title=t("attention.fig.worked_title", lang, head=ex.head + 1, row=ex.row))
    style(fig, projector, height=560)
    return fig.update_layout(margin_t=110 if projector else 85)  # room for the title above q's own


def positional_figure(table: np.ndarray, dims: tuple[int, ...], lang: str, projector: bool = False) -> go.Figure:
    """The sinusoidal table (positions, depth) the model adds to its row tokens, and a few of its
    columns as curves over the 28 positions: low dimensions wave fast, high ones slowly."""
    fig = subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
                        subplot_titles=[t("attention.fig.pe_table", lang), t("attention.fig.pe_curves", lang)])
    fig.add_trace(go.Heatmap(z=table, colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1,
                             showscale=False,   # the title names the colours; a bar here collides with the curves
                             hovertemplate=t("attention.fig.hover_pe", lang) + "<extra></extra>"), row=1, col=1)
    for i, d in enumerate(dims):
        kind = "sin" if d % 2 == 0 else "cos"
        fig.add_trace(go.Scatter(x=np.arange(len(table)), y=table[:, d], mode="lines+markers",
                                 marker=dict(size=4), line=dict(color=CATEGORICAL[i % len(CATEGORICAL)]),
                                 name=t("attention.fig.pe_dim", lang, dim=d, kind=kind)), row=1, col=2)
    _rows_axis(fig, row=1, col=1, title_text=t("attention.fig.position", lang))
    fig.update_xaxes(title_text=t("attention.fig.dimension", lang), row=1, col=1)
    fig.update_xaxes(title_text=t("attention.fig.position", lang), **ROW_TICKS, row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=-0.3, yanchor="top",
                                  title_text=t("attention.fig.dimension", lang)))
    return style(fig, projector, height=360).update_layout(margin_t=85 if projector else 65)  # two-line subplot titles


def order_figure(x28: np.ndarray, test: OrderTest, lang: str, projector: bool = False) -> go.Figure:
    """The digit and the same digit with its rows reordered, each titled with what the model (with
    its position table) says about it."""
    titles = []
    for k, name in enumerate(("attention.fig.original", "attention.fig.permuted")):
        p = test.probs[0, k]
        titles.append(t(name, lang, digit=int(p.argmax()), prob=100 * float(p.max())))
    fig = subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    fig.add_trace(_digit(x28, "original"), row=1, col=1)
    fig.add_trace(_digit(x28[test.order], "permuted"), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(visible=False, scaleanchor="y" if col == 1 else f"y{col}", constrain="domain",
                         row=1, col=col)
        _rows_axis(fig, row=1, col=col, showticklabels=col == 1)
    fig.update_yaxes(title_text=t("attention.fig.image_row", lang), row=1, col=1)
    return style(fig, projector, height=300).update_layout(margin_t=80 if projector else 60)  # two-line titles


def recurrence_figure(weights: np.ndarray, query: int, lang: str, projector: bool = False) -> go.Figure:
    """Left: the LSTM's chain, row t reaches the state only after rows 0..t-1 (27 steps from row 0 to
    row 27). Right: attention, the query row joined to every key row at once, line width = weight."""
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=[t("attention.fig.chain", lang), t("attention.fig.fan", lang, query=query)])
    rows = np.arange(28)
    fig.add_trace(go.Scatter(x=np.zeros(28), y=rows, mode="lines+markers", line=dict(color=CATEGORICAL[0], width=2),
                             marker=dict(size=9, symbol="triangle-down", color=CATEGORICAL[0]),
                             hovertemplate=t("attention.fig.hover_step", lang) + "<extra></extra>"), row=1, col=1)
    for x in (0, 1):
        fig.add_trace(go.Scatter(x=np.full(28, x), y=rows, mode="markers", customdata=weights,
                                 marker=dict(size=7, color="#555555"),
                                 hovertemplate=t("attention.fig.hover_key", lang) + "<extra></extra>"), row=1, col=2)
    fig.update_xaxes(visible=False, range=[-1, 1], row=1, col=1)
    fig.update_xaxes(range=[-0.3, 1.3], showgrid=False, zeroline=False, tickvals=[0, 1],
                     ticktext=[t("attention.fig.queries", lang), t("attention.fig.keys", lang)], row=1, col=2)
    _rows_axis(fig)
    fig.update_yaxes(title_text=t("attention.fig.image_row", lang), row=1, col=1)
    fig.update_layout(showlegend=False)
    style(fig, projector, height=430).update_layout(margin_t=80 if projector else 60)  # two-line titles
    lines = [(np.array([0, 1]), np.array([query, key]), float(weights[key]))
             for key in np.flatnonzero(weights >= 0.005)]
    _weighted_lines(fig, lines, float(weights.max()), projector, col=2)
    fig.add_trace(go.Scatter(x=[0], y=[query], mode="markers", marker=dict(size=14, color=ACCENT), hoverinfo="skip",
                             showlegend=False), row=1, col=2)
    return fig


STAGES = ("tokens", "attended", "norm1", "ffn", "norm2")   # the lines of `residual_figure`


def residual_figure(norms: dict[str, np.ndarray], row: int, lang: str, projector: bool = False) -> go.Figure:
    """Length of every row's vector (y) over the 28 rows (x) at the stages of the encoder block:
    what passes by (x, then LayerNorm's outputs) against what each sub-layer adds (MHA(x), FFN), the
    chosen row marked. `norms` as `explain.attention.row_norms` gives them, name -> (rows,)."""
    fig = go.Figure()
    dashes = {"attended": "dot", "ffn": "dot"}
    for i, name in enumerate(STAGES):
        fig.add_trace(go.Scatter(x=np.arange(len(norms[name])), y=norms[name], mode="lines+markers",
                                 name=t(f"attention.fig.stage.{name}", lang), marker=dict(size=5),
                                 line=dict(color=CATEGORICAL[i], dash=dashes.get(name, "solid")),
                                 hovertemplate=t("attention.fig.hover_norm", lang) + "<extra></extra>"))
    fig.add_vline(x=row, line=dict(color=ACCENT, width=3))
    fig.update_xaxes(title_text=t("attention.fig.image_row", lang), **ROW_TICKS)
    fig.update_yaxes(title_text=t("attention.fig.length", lang), rangemode="tozero")
    fig.update_layout(title=t("attention.fig.residual_title", lang, row=row),
                      legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"))
    return style(fig, projector, height=420 if projector else 360)


def layer_norm_figure(step: LayerNormStep, layer: str, row: int, lang: str, projector: bool = False) -> go.Figure:
    """One row's `depth` numbers entering layer normalisation (its mean as a line, one standard
    deviation either side shaded), after (x - mean) / sqrt(var + eps), and after gamma, beta: the
    layer's output row."""
    titles = [t("attention.fig.ln_before", lang, mean=step.mean, var=step.variance),
              t("attention.fig.ln_normalised", lang), t("attention.fig.ln_after", lang, layer=layer)]
    fig = subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    dims = np.arange(len(step.before))
    hover = t("attention.fig.hover_dim", lang) + "<extra></extra>"
    for col, values in enumerate((step.before, step.normalised, step.after), start=1):
        fig.add_trace(go.Bar(x=dims, y=values, marker_color=CATEGORICAL[0], hovertemplate=hover,
                             showlegend=False), row=1, col=col)
        fig.update_xaxes(title_text=t("attention.fig.dimension", lang), row=1, col=col,
                         tickvals=[0, 16, 32, 48, len(dims) - 1] if not projector else [0, 32, len(dims) - 1])
    sd = float(np.sqrt(step.variance))
    for col, (centre, spread) in ((1, (step.mean, sd)), (2, (0.0, 1.0))):
        fig.add_hrect(y0=centre - spread, y1=centre + spread, fillcolor=CATEGORICAL[1], opacity=0.15,
                      line_width=0, row=1, col=col)
        fig.add_hline(y=centre, line=dict(color=ACCENT, width=2), row=1, col=col)
    fig.update_layout(title=t("attention.fig.ln_title", lang, layer=layer, row=row), bargap=0.1)
    return style(fig, projector, height=340 if projector else 300).update_layout(margin_t=95 if projector else 75)
