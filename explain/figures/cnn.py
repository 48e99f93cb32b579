"""Figures of the CNN page. A layer's channels are tiled into one heatmap (a mosaic with gaps), so a
grid of 16 feature maps is one trace on one shared colour scale: cheap to draw on every stroke and
honest to compare. Signed values (before ReLU, kernels, products) use the diverging scale centred
on 0; values after ReLU use the sequential scale from 0."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explain.conv import ConvStep, PoolWindow
from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, TEN_CLASSES, sequential, style
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
    for k in range(c):
        fig.add_annotation(x=(k % cols) * (w + gap_x) - 0.5, y=(k // cols) * (h + gap_y) - 0.5,
                           text=str(k), showarrow=False, xanchor="left", yanchor="bottom",
                           font=dict(size=11))
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


def _cell_box(fig: go.Figure, top: float, left: float, size: float, width: float, row=None, col=None,
              dash: str | None = None) -> None:
    fig.add_shape(type="rect", x0=left - 0.5, x1=left + size - 0.5, y0=top - 0.5, y1=top + size - 0.5,
                  line=dict(color=ACCENT, width=width, dash=dash), row=row, col=col)


def conv_figure(step: ConvStep, input_map: np.ndarray, output_map: np.ndarray, in_channel: int,
                lang: str, projector: bool) -> go.Figure:
    """One convolution value, left to right: the input (H, W) with the kernel's window, the window's
    values (padding marked), the kernel, their element-wise products (all for input channel
    `in_channel`), and the feature map (H', W') with the computed position."""
    patch, kernel, products = (a[:, :, in_channel] for a in (step.patch, step.kernel, step.products))
    size = patch.shape[0]
    titles = [t("cnn.fig.input", lang), t("cnn.fig.patch", lang), t("cnn.fig.kernel", lang),
              t("cnn.fig.products", lang), t("cnn.fig.map", lang)]
    fig = make_subplots(rows=1, cols=5, subplot_titles=titles, horizontal_spacing=0.03,
                        column_widths=[1.15, 1, 1, 1, 1.15])
    rows, cols = np.mgrid[0:size, 0:size]
    padded = ((step.top + rows < 0) | (step.top + rows >= input_map.shape[0])
              | (step.left + cols < 0) | (step.left + cols >= input_map.shape[1]))
    pad_word = t("cnn.fig.pad", lang)
    digits = 2 if projector else 3
    numbers = lambda a: np.char.mod(f"%.{digits}f", a)
    patch_text = np.where(padded, pad_word, numbers(patch))
    hover = "%{z:.5f}<extra></extra>"
    input_scale = dict(colorscale=DIGIT, zmin=0, zmax=1) if step.layer == "conv1" else \
        _scale(False, input_map, projector)
    fig.add_trace(go.Heatmap(z=input_map, showscale=False, hovertemplate=hover, **input_scale), 1, 1)
    fig.add_trace(go.Heatmap(z=patch, text=patch_text, texttemplate="%{text}", showscale=False,
                             hovertemplate=hover, **input_scale), 1, 2)
    for k, values in ((3, kernel), (4, products)):
        fig.add_trace(go.Heatmap(z=values, text=numbers(values), texttemplate="%{text}", showscale=False,
                                 hovertemplate=hover, **_scale(True, values, projector)), 1, k)
    fig.add_trace(go.Heatmap(z=output_map, showscale=False, hovertemplate=hover,
                             **_scale(True, output_map, projector)), 1, 5)
    width = 4 if projector else 2.5
    _cell_box(fig, step.top, step.left, size, width, 1, 1)
    _cell_box(fig, step.row, step.col, 1, width, 1, 5)
    pad = -step.top if step.top < 0 else 0
    for k in range(1, 6):
        _image_axes(fig, 1, k)
        fig.update_yaxes(scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    # The 'same'-padded input is drawn with room for its border of zeros, so the window never leaves the chart.
    margin = max(pad, 2 if step.layer == "conv1" else 0)
    fig.update_xaxes(range=[-margin - 0.5, input_map.shape[1] + margin - 0.5], row=1, col=1)
    fig.update_yaxes(range=[input_map.shape[0] + margin - 0.5, -margin - 0.5], autorange=False, row=1, col=1)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    return style(fig, projector, height=260)


def pool_figure(before: np.ndarray, after: np.ndarray, window: PoolWindow, lang: str, projector: bool) -> go.Figure:
    """Max pooling of one channel: the ReLU map `before` (H, W) with its 2x2 windows drawn, the
    chosen window boxed and its winner marked, beside the pooled map `after` (H/2, W/2) with the
    resulting cell boxed. Values are printed where they stay legible."""
    size = window.window.shape[0]
    fig = make_subplots(rows=1, cols=2, column_widths=[before.shape[1], after.shape[1] * 1.6],
                        horizontal_spacing=0.08,
                        subplot_titles=[t("cnn.fig.pool_before", lang, h=before.shape[0], w=before.shape[1]),
                                        t("cnn.fig.pool_after", lang, h=after.shape[0], w=after.shape[1])])
    scale = _scale(False, before, projector)
    small = before.shape[0] <= 10
    digits = 2
    fig.add_trace(go.Heatmap(z=before, showscale=False, hovertemplate="%{z:.4f}<extra></extra>",
                             text=np.char.mod(f"%.{digits}f", before) if small else None,
                             texttemplate="%{text}" if small else None, **scale), 1, 1)
    fig.add_trace(go.Heatmap(z=after, hovertemplate="%{z:.4f}<extra></extra>",
                             text=np.char.mod(f"%.{digits}f", after), texttemplate="%{text}",
                             colorbar=dict(thickness=10, len=0.9), **scale), 1, 2)
    grid = dict(color="rgba(255,255,255,0.55)", width=1)
    for k in range(0, before.shape[0] + 1, size):
        fig.add_shape(type="line", x0=-0.5, x1=before.shape[1] - 0.5, y0=k - 0.5, y1=k - 0.5, line=grid, row=1, col=1)
        fig.add_shape(type="line", y0=-0.5, y1=before.shape[0] - 0.5, x0=k - 0.5, x1=k - 0.5, line=grid, row=1, col=1)
    width = 4 if projector else 3
    _cell_box(fig, window.top, window.left, size, width, 1, 1)
    r, c = window.top + window.winner[0], window.left + window.winner[1]
    fig.add_trace(go.Scatter(x=[c], y=[r], mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(symbol="star", size=16 if projector else 12, color=ACCENT,
                                         line=dict(color="white", width=1))), 1, 1)
    if not small:  # the chosen window's four values, printed next to it
        for (i, j), v in np.ndenumerate(window.window):
            fig.add_annotation(x=window.left + j, y=window.top + i, text=f"{v:.2f}", showarrow=False,
                               font=dict(size=9, color="white"), row=1, col=1)
    _cell_box(fig, window.row, window.col, 1, width, 1, 2)
    for k in (1, 2):
        _image_axes(fig, 1, k)
        fig.update_yaxes(scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    fig.update_annotations(selector=dict(xref="paper"), font=dict(size=20 if projector else 13))
    return style(fig, projector, height=330)


def softmax_figure(logits: np.ndarray, probabilities: np.ndarray, lang: str, projector: bool) -> go.Figure:
    """The output layer's logits z (10,) and their softmax g(z) (10,), one bar per digit, the
    winning digit in the accent colour."""
    digits = [str(k) for k in range(10)]
    best = int(np.argmax(probabilities))
    colours = [ACCENT if k == best else TEN_CLASSES[0] for k in range(10)]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=[t("cnn.fig.logits", lang), t("cnn.fig.softmax", lang)])
    fig.add_trace(go.Bar(x=digits, y=logits, marker_color=colours, text=np.char.mod("%.2f", logits),
                         textposition="outside", cliponaxis=False, showlegend=False,
                         hovertemplate="z_%{x} = %{y:.4f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=digits, y=probabilities, marker_color=colours,
                         text=[f"{p:.1%}" if p >= 0.001 else "" for p in probabilities], textposition="outside",
                         cliponaxis=False, showlegend=False,
                         hovertemplate="g(z_%{x}) = %{y:.6f}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text=t("cnn.fig.digit", lang), type="category")
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=2)
    span = float(logits.max() - min(logits.min(), 0))
    fig.update_yaxes(range=[min(logits.min(), 0) - 0.12 * span, logits.max() + 0.15 * span], row=1, col=1)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    return style(fig, projector, height=280)
