"""Figures of the CNN page. A layer's channels are tiled into one heatmap (a mosaic with gaps), so a
grid of 16 feature maps is one trace on one shared colour scale: cheap to draw on every stroke and
honest to compare. Signed values (before ReLU, kernels, products) use the diverging scale centred
on 0; values after ReLU use the sequential scale from 0."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explain.conv import ConvStep, PoolWindow
from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, TEN_CLASSES, sequential, style, subplots
from explain.i18n import t

ACCENT = CATEGORICAL[3]  # vermillion: the chosen position, window and winner wherever they appear


def _mosaic(tiles: np.ndarray, cols: int, gap_x: int, gap_y: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiles (n, h, w) laid out row by row in `cols` columns -> z (H, W) with NaN in the gaps, and
    customdata (H, W, 3) holding (tile, row, col) of each pixel for the hover text."""
    n, h, w = tiles.shape
    rows = math.ceil(n / cols)
    z = np.full((rows * (h + gap_y) - gap_y, cols * (w + gap_x) - gap_x), np.nan, np.float32)
    custom = np.full(z.shape + (3,), -1, np.int32)
    rr, cc = np.mgrid[0:h, 0:w]
    for k in range(n):
        top, left = (k // cols) * (h + gap_y), (k % cols) * (w + gap_x)
        z[top:top + h, left:left + w] = tiles[k]
        custom[top:top + h, left:left + w] = np.stack([np.full_like(rr, k), rr, cc], axis=-1)
    return z, custom


def _image_axes(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    """Square pixels, row 0 at the top, no axis decoration."""
    fig.update_xaxes(visible=False, constrain="domain", row=row, col=col)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x" if row is None else None,
                     constrain="domain", row=row, col=col)


def _scale(signed: bool, values: np.ndarray, projector: bool) -> dict:
    top = float(np.nanmax(np.abs(values))) or 1.0
    if signed:
        return dict(colorscale=DIVERGING, zmid=0, zmin=-top, zmax=top)
    return dict(colorscale=sequential(projector), zmin=0, zmax=top)


def feature_grid(maps: np.ndarray, title: str, signed: bool, cols: int, lang: str, projector: bool,
                 height: int = 300) -> go.Figure:
    """Every channel of a layer's output `maps` (H, W, C) as one tiled heatmap, `cols` tiles per
    row, each tile labelled with its channel number; `signed` picks the diverging scale (before ReLU)."""
    h, w, c = maps.shape
    gap_x, gap_y = max(1, w // 8), max(2, math.ceil(h * 0.25))
    z, custom = _mosaic(maps.transpose(2, 0, 1), cols, gap_x, gap_y)
    fig = go.Figure(go.Heatmap(
        z=z, customdata=custom, hoverongaps=False, **_scale(signed, maps, projector),
        colorbar=dict(thickness=10, len=0.9),
        hovertemplate=t("cnn.fig.hover_map", lang) + "<extra></extra>"))
    # All labels in one assignment: add_annotation re-validates every earlier label each time.
    fig.update_layout(annotations=[dict(x=(k % cols) * (w + gap_x) - 0.5, y=(k // cols) * (h + gap_y) - 0.5,
                                        text=str(k), showarrow=False, xanchor="left", yanchor="bottom",
                                        font=dict(size=20 if projector else 11)) for k in range(c)])
    fig.update_layout(title=title)
    _image_axes(fig)
    fig.update_yaxes(range=[z.shape[0] - 0.5, -gap_y - 0.5], autorange=False)
    return style(fig, projector, height=height)


def kernel_grid(kernel: np.ndarray, cols: int, lang: str, projector: bool, height: int = 300) -> go.Figure:
    """The kernels of a conv layer, (F, F, C_in, C_out). With one input channel they are tiled like
    the feature maps (`cols` per row, tile k makes map k); with several, row i holds every output
    channel's slice for input channel i (columns are output channels)."""
    f, _, c_in, c_out = kernel.shape
    gap = 1
    if c_in == 1:
        fig = feature_grid(kernel[:, :, 0, :], t("cnn.fig.kernels", lang), True, cols, lang, projector, height)
        fig.update_traces(hovertemplate=t("cnn.fig.hover_kernel1", lang) + "<extra></extra>")
        return fig
    tiles = kernel.transpose(2, 3, 0, 1).reshape(c_in * c_out, f, f)
    z, custom = _mosaic(tiles, c_out, gap, gap)
    # customdata's tile index k = input * c_out + output: give the hover both.
    custom = np.stack([custom[..., 0] // c_out, custom[..., 0] % c_out, custom[..., 1], custom[..., 2]], axis=-1)
    custom[z != z] = -1
    fig = go.Figure(go.Heatmap(z=z, customdata=custom, hoverongaps=False, **_scale(True, kernel, projector),
                               colorbar=dict(thickness=10, len=0.9),
                               hovertemplate=t("cnn.fig.hover_kernel", lang) + "<extra></extra>"))
    centres = [(f - 1) / 2 + k * (f + gap) for k in range(max(c_in, c_out))]
    fig.update_layout(title=t("cnn.fig.kernels_multi", lang, c_in=c_in, c_out=c_out))
    fig.update_xaxes(tickvals=centres[:c_out], ticktext=[str(k) for k in range(c_out)], side="top",
                     title_text=t("cnn.fig.out_channel", lang), showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(tickvals=centres[:c_in], ticktext=[str(k) for k in range(c_in)], autorange="reversed",
                     title_text=t("cnn.fig.in_channel", lang), scaleanchor="x", showgrid=False, zeroline=False,
                     constrain="domain")
    return style(fig, projector, height=height)


def _styled(fig: go.Figure, projector: bool, height: int) -> go.Figure:
    """The app's style, with room above the plots for their subplot titles."""
    style(fig, projector, height=height)
    fig.update_layout(margin=dict(t=56 if projector else 36))
    return fig


def _cell_box(fig: go.Figure, top: float, left: float, size: float, width: float, row=None, col=None) -> None:
    fig.add_shape(type="rect", x0=left - 0.5, x1=left + size - 0.5, y0=top - 0.5, y1=top + size - 0.5,
                  line=dict(color=ACCENT, width=width), row=row, col=col)


def conv_locator_figure(step: ConvStep, input_map: np.ndarray, output_map: np.ndarray, lang: str,
                        projector: bool) -> go.Figure:
    """Where the computed value comes from and goes: the input (H, W) with the kernel's window
    (drawn into the zero padding of a 'same' layer) and the feature map (H', W') with the position."""
    size = step.patch.shape[0]
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.06,
                        subplot_titles=[t("cnn.fig.input", lang), t("cnn.fig.map", lang)])
    hover = "%{z:.4f}<extra></extra>"
    fig.add_trace(go.Heatmap(z=input_map, showscale=False, hovertemplate=hover, **_input_scale(step, input_map, projector)), 1, 1)
    fig.add_trace(go.Heatmap(z=output_map, showscale=False, hovertemplate=hover,
                             **_scale(True, output_map, projector)), 1, 2)
    width = 4 if projector else 2.5
    _cell_box(fig, step.top, step.left, size, width, 1, 1)
    _cell_box(fig, step.row, step.col, 1, width, 1, 2)
    for k in (1, 2):
        _image_axes(fig, 1, k)
        fig.update_yaxes(scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    # A 'same'-padded input is drawn with room for its border of zeros, so the window never leaves the chart.
    margin = (size - 1) // 2 if step.layer == "conv1" else 0
    fig.update_xaxes(range=[-margin - 0.5, input_map.shape[1] + margin - 0.5], row=1, col=1)
    fig.update_yaxes(range=[input_map.shape[0] + margin - 0.5, -margin - 0.5], autorange=False, row=1, col=1)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    return _styled(fig, projector, 250)


def _input_scale(step: ConvStep, input_map: np.ndarray, projector: bool) -> dict:
    """conv1 reads the digit itself (grey, 0..1); conv2 reads ReLU-ed pool1 values (sequential)."""
    return dict(colorscale=DIGIT, zmin=0, zmax=1) if step.layer == "conv1" else _scale(False, input_map, projector)


def conv_numbers_figure(step: ConvStep, input_map: np.ndarray, in_channel: int, lang: str,
                        projector: bool) -> go.Figure:
    """The three (F, F) grids of one convolution value for input channel `in_channel`, every cell
    printed: the input patch (cells in the zero padding say so), the kernel, and their products."""
    patch, kernel, products = (a[:, :, in_channel] for a in (step.patch, step.kernel, step.products))
    size = patch.shape[0]
    fig = subplots(rows=1, cols=3, horizontal_spacing=0.03,
                        subplot_titles=[t("cnn.fig.patch", lang), t("cnn.fig.kernel", lang),
                                        t("cnn.fig.products", lang)])
    rows, cols = np.mgrid[0:size, 0:size]
    padded = ((step.top + rows < 0) | (step.top + rows >= input_map.shape[0])
              | (step.left + cols < 0) | (step.left + cols >= input_map.shape[1]))
    numbers = lambda a: np.char.mod("%.2f", a)  # the hover and the sum below give the exact values
    text = dict(texttemplate="%{text}", textfont=dict(size=20 if projector else 11), showscale=False,
                hovertemplate="%{z:.6f}<extra></extra>")
    fig.add_trace(go.Heatmap(z=patch, text=np.where(padded, t("cnn.fig.pad", lang), numbers(patch)), **text,
                             **_input_scale(step, input_map, projector)), 1, 1)
    for k, values in ((2, kernel), (3, products)):
        fig.add_trace(go.Heatmap(z=values, text=numbers(values), **text, **_scale(True, values, projector)), 1, k)
    for k in (1, 2, 3):
        _image_axes(fig, 1, k)
        fig.update_yaxes(scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    return _styled(fig, projector, 300)


def pool_figure(before: np.ndarray, after: np.ndarray, window: PoolWindow, lang: str, projector: bool) -> go.Figure:
    """Max pooling of one channel: the ReLU map `before` (H, W) with its 2x2 windows drawn, the
    chosen window boxed and its winner marked, beside the pooled map `after` (H/2, W/2) with the
    resulting cell boxed. Values are printed where they stay legible."""
    size = window.window.shape[0]
    fig = subplots(rows=1, cols=2, column_widths=[before.shape[1], after.shape[1] * 1.6],
                        horizontal_spacing=0.08,
                        subplot_titles=[t("cnn.fig.pool_before", lang, h=before.shape[0], w=before.shape[1]),
                                        t("cnn.fig.pool_after", lang, h=after.shape[0], w=after.shape[1])])
    scale = _scale(False, before, projector)
    legible = after.shape[0] <= 7  # 5x5 pooled maps (and their 10x10 inputs) can carry every number
    numbers = lambda a: np.char.mod("%.1f" if projector else "%.2f", a) if legible else None
    text = dict(texttemplate="%{text}", textfont=dict(size=20 if projector else 11)) if legible else {}
    fig.add_trace(go.Heatmap(z=before, showscale=False, hovertemplate="%{z:.4f}<extra></extra>",
                             text=numbers(before), **text, **scale), 1, 1)
    fig.add_trace(go.Heatmap(z=after, hovertemplate="%{z:.4f}<extra></extra>", text=numbers(after), **text,
                             colorbar=dict(thickness=10, len=0.9), **scale), 1, 2)
    # The windows' borders as one line trace (None breaks the line): 30 add_shape calls cost 100-200 ms
    # a rerun, as each re-validates every shape before it.
    grid = dict(color="rgba(255,255,255,0.55)", width=1)
    xs, ys = [], []
    for k in range(0, before.shape[0] + 1, size):
        xs += [-0.5, before.shape[1] - 0.5, None, k - 0.5, k - 0.5, None]
        ys += [k - 0.5, k - 0.5, None, -0.5, before.shape[0] - 0.5, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=grid, name="windows", hoverinfo="skip",
                             showlegend=False), 1, 1)
    width = 4 if projector else 3
    _cell_box(fig, window.top, window.left, size, width, 1, 1)
    r, c = window.top + window.winner[0], window.left + window.winner[1]
    fig.add_trace(go.Scatter(x=[c], y=[r], mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(symbol="star", size=16 if projector else 12, color=ACCENT,
                                         line=dict(color="white", width=1))), 1, 1)
    _cell_box(fig, window.row, window.col, 1, width, 1, 2)
    for k in (1, 2):
        _image_axes(fig, 1, k)
        fig.update_yaxes(scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    _styled(fig, projector, 330)
    return fig.update_traces(line=grid, selector=dict(name="windows"))  # thin also in projector mode


def softmax_figure(logits: np.ndarray, probabilities: np.ndarray, lang: str, projector: bool) -> go.Figure:
    """The output layer's logits z (10,) and their softmax g(z) (10,), one bar per digit, the
    winning digit in the accent colour."""
    digits = [str(k) for k in range(10)]
    best = int(np.argmax(probabilities))
    colours = [ACCENT if k == best else TEN_CLASSES[0] for k in range(10)]
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=[t("cnn.fig.logits", lang), t("cnn.fig.softmax", lang)])
    # In projector mode the numbers would not fit above the bars: the table beside the chart has them.
    fig.add_trace(go.Bar(x=digits, y=logits, marker_color=colours,
                         text=None if projector else np.char.mod("%.2f", logits),
                         textposition="outside", cliponaxis=False, showlegend=False,
                         textfont=dict(size=11),
                         hovertemplate="z_%{x} = %{y:.4f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=digits, y=probabilities, marker_color=colours,
                         text=[f"{p:.1%}" if p >= 0.001 else "" for p in probabilities], textposition="outside",
                         cliponaxis=False, showlegend=False, textfont=dict(size=20 if projector else 11),
                         hovertemplate="g(z_%{x}) = %{y:.6f}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text=t("cnn.fig.digit", lang), type="category")
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=2)
    # Plotly shrinks text outside narrow bars to nothing; keep it at a readable size.
    fig.update_layout(uniformtext=dict(minsize=20 if projector else 11, mode="show"))
    span = float(logits.max() - min(logits.min(), 0))
    fig.update_yaxes(range=[min(logits.min(), 0) - 0.12 * span, logits.max() + 0.15 * span], row=1, col=1)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    return _styled(fig, projector, 280)
