"""Figures of the CNN page. A layer's channels are tiled into one heatmap (a mosaic with gaps), so a
grid of 16 feature maps is one trace on one shared colour scale: cheap to draw on every stroke and
honest to compare. Signed values (before ReLU, kernels, products) use the diverging scale centred
on 0; values after ReLU use the sequential scale from 0. Every figure is built from dicts in one
constructor call (see `explain.figures.panels`), without plotly's checks (`_figure`): the page
rebuilds about ten of them per rerun."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explain.conv import ConvStep, PoolWindow
from explain.figures import panels
from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, TEN_CLASSES, figure, sequential
from explain.i18n import t

ACCENT = CATEGORICAL[3]  # vermillion: the chosen position, window and winner wherever they appear
COLORBAR = dict(thickness=10, len=0.9)


def _mosaic(tiles: np.ndarray, cols: int, gap_x: int, gap_y: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiles (n, h, w) laid out row by row in `cols` columns -> z (H, W) with NaN in the gaps, and
    customdata (H, W, 3) holding (tile, row, col) of each pixel for the hover text, 0 in the gaps
    (never hovered: hoverongaps=False). Not -1: its bytes are "/" in base64, which plotly's JSON
    writes as "\\u002f": a quarter of the conv1 grid's message (83 -> 64 kB on every new digit)."""
    n, h, w = tiles.shape
    rows = math.ceil(n / cols)
    z = np.full((rows * (h + gap_y) - gap_y, cols * (w + gap_x) - gap_x), np.nan, np.float32)
    # int8 (every tile, row and column index is below 128): the hover data is sent to the browser on
    # every stroke, and int32 made it three quarters of the CNN page's figure payload.
    custom = np.zeros(z.shape + (3,), np.int8)
    rr, cc = np.mgrid[0:h, 0:w]
    for k in range(n):
        top, left = (k // cols) * (h + gap_y), (k % cols) * (w + gap_x)
        z[top:top + h, left:left + w] = tiles[k]
        custom[top:top + h, left:left + w] = np.stack([np.full_like(rr, k), rr, cc], axis=-1)
    return z, custom


def _scale(signed: bool, values: np.ndarray, projector: bool) -> dict:
    top = float(np.nanmax(np.abs(values))) or 1.0
    if signed:
        return dict(colorscale=DIVERGING, zmid=0, zmin=-top, zmax=top)
    return dict(colorscale=sequential(projector), zmin=0, zmax=top)


def _figure(data: list[dict], layout: dict, projector: bool, height: int, top: int | None = None) -> go.Figure:
    """One construction in the app's style, `top` px above the plots for panel titles. Unvalidated
    (`theme.figure(validate=False)`): a new drawing rebuilds six of these, and plotly's checks were
    half their build time (copying every map twice); a test validates each builder's figure."""
    return figure(data, layout, projector, height, None if top is None else {"t": int(top * 1.5) if projector else top},
                  validate=False)


def _box(k: int, top: float, left: float, size: float, projector: bool) -> dict:
    """An accent-coloured square of `size` cells with its top-left cell at (`top`, `left`), in panel k."""
    return dict(type="rect", x0=left - 0.5, x1=left + size - 0.5, y0=top - 0.5, y1=top + size - 0.5,
                line=dict(color=ACCENT, width=4 if projector else 2.5), **panels.refs(k))


def feature_grid(maps: np.ndarray, title: str, signed: bool, cols: int, lang: str, projector: bool,
                 height: int = 300) -> go.Figure:
    """Every channel of a layer's output `maps` (H, W, C) as one tiled heatmap, `cols` tiles per
    row, each tile labelled with its channel number; `signed` picks the diverging scale (before ReLU)."""
    h, w, c = maps.shape
    gap_x, gap_y = max(1, w // 8), max(2, math.ceil(h * 0.25))
    z, custom = _mosaic(maps.transpose(2, 0, 1), cols, gap_x, gap_y)
    heatmap = dict(type="heatmap", z=z, customdata=custom, hoverongaps=False, colorbar=COLORBAR,
                   hovertemplate=t("cnn.fig.hover_map", lang) + "<extra></extra>", **_scale(signed, maps, projector))
    labels = [dict(x=(k % cols) * (w + gap_x) - 0.5, y=(k // cols) * (h + gap_y) - 0.5, text=str(k),
                   showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=20 if projector else 11))
              for k in range(c)]
    layout = dict(title=title, annotations=labels, xaxis=dict(visible=False, constrain="domain"),
                  yaxis=dict(visible=False, constrain="domain", scaleanchor="x",
                             range=[z.shape[0] - 0.5, -gap_y - 0.5]))
    return _figure([heatmap], layout, projector, height)


def kernel_grid(kernel: np.ndarray, cols: int, lang: str, projector: bool, height: int = 300) -> go.Figure:
    """The kernels of a conv layer, (F, F, C_in, C_out). With one input channel they are tiled like
    the feature maps (`cols` per row, tile k makes map k); with several, row i holds every output
    channel's slice for input channel i (columns are output channels)."""
    f, _, c_in, c_out = kernel.shape
    if c_in == 1:
        fig = feature_grid(kernel[:, :, 0, :], t("cnn.fig.kernels", lang, f=f), True, cols, lang, projector, height)
        fig.data[0].hovertemplate = t("cnn.fig.hover_kernel1", lang) + "<extra></extra>"
        return fig
    gap = 1
    z, custom = _mosaic(kernel.transpose(2, 3, 0, 1).reshape(c_in * c_out, f, f), c_out, gap, gap)
    # customdata's tile index k = input * c_out + output: give the hover both.
    custom = np.stack([custom[..., 0] // c_out, custom[..., 0] % c_out, custom[..., 1], custom[..., 2]], axis=-1)
    heatmap = dict(type="heatmap", z=z, customdata=custom, hoverongaps=False, colorbar=COLORBAR,
                   hovertemplate=t("cnn.fig.hover_kernel", lang) + "<extra></extra>", **_scale(True, kernel, projector))
    centres = [(f - 1) / 2 + k * (f + gap) for k in range(max(c_in, c_out))]
    plain = dict(showgrid=False, zeroline=False, constrain="domain")
    layout = dict(title=t("cnn.fig.kernels_multi", lang, f=f, c_in=c_in, c_out=c_out),
                  xaxis=dict(tickvals=centres[:c_out], ticktext=[str(k) for k in range(c_out)], side="top",
                             title=dict(text=t("cnn.fig.out_channel", lang)), **plain),
                  yaxis=dict(tickvals=centres[:c_in], ticktext=[str(k) for k in range(c_in)], autorange="reversed",
                             title=dict(text=t("cnn.fig.in_channel", lang)), scaleanchor="x", **plain))
    return _figure([heatmap], layout, projector, height)


def _input_scale(step: ConvStep, input_map: np.ndarray, projector: bool) -> dict:
    """The first convolution reads the digit itself (grey, 0..1); later ones read feature maps
    (sequential from 0, or diverging when they hold negative values, e.g. after tanh)."""
    if step.reads_digit:
        return dict(colorscale=DIGIT, zmin=0, zmax=1)
    return _scale(bool((input_map < 0).any()), input_map, projector)


def locator_boxes(step: ConvStep, projector: bool) -> list[dict]:
    """`conv_locator_figure`'s shapes: the kernel's window on the input, the position on the map."""
    return [_box(1, step.top, step.left, step.patch.shape[0], projector), _box(2, step.row, step.col, 1, projector)]


def conv_locator_figure(step: ConvStep, input_map: np.ndarray, output_map: np.ndarray, lang: str,
                        projector: bool, boxes: bool = True) -> go.Figure:
    """Where the computed value comes from and goes: the input (H, W) with the kernel's window
    (drawn into the zero padding of a 'same' layer) and the feature map (H', W') with the position;
    without `boxes`, the two maps alone (for a page that draws `locator_boxes` over them)."""
    layout = panels.row([1, 1], [t("cnn.fig.input", lang), t("cnn.fig.map", lang)], 0.06, image=True)
    # A 'same'-padded input is drawn with room for its border of zeros, so the window never leaves the chart.
    before, after = step.pad
    layout["xaxis"]["range"] = [-before - 0.5, input_map.shape[1] + after - 0.5]
    layout["yaxis"].update(range=[input_map.shape[0] + after - 0.5, -before - 0.5], autorange=False)
    layout["shapes"] = locator_boxes(step, projector) if boxes else []
    hover = "%{z:.4f}<extra></extra>"
    data = [dict(type="heatmap", z=input_map, showscale=False, hovertemplate=hover,
                 **_input_scale(step, input_map, projector)),
            dict(type="heatmap", z=output_map, showscale=False, hovertemplate=hover, xaxis="x2", yaxis="y2",
                 **_scale(True, output_map, projector))]
    return _figure(data, layout, projector, 250, top=36)


def conv_numbers_figure(step: ConvStep, input_map: np.ndarray, in_channel: int, lang: str,
                        projector: bool) -> go.Figure:
    """The three (F, F) grids of one convolution value for input channel `in_channel`, every cell
    printed: the input patch (cells in the zero padding say so), the kernel, and their products."""
    layout = panels.row([1, 1, 1], [t("cnn.fig.patch", lang), t("cnn.fig.kernel", lang), t("cnn.fig.products", lang)],
                        0.03, image=True)
    return _figure(conv_numbers_traces(step, input_map, in_channel, lang, projector), layout, projector, 300, top=36)


def conv_numbers_traces(step: ConvStep, input_map: np.ndarray, in_channel: int, lang: str,
                        projector: bool) -> list[dict]:
    """`conv_numbers_figure`'s traces as plotly dicts: what changes when the window moves (a
    figure for each of 28 rows took 170 ms to build; these dicts, 28 times, a few)."""
    patch, kernel, products = (a[:, :, in_channel] for a in (step.patch, step.kernel, step.products))
    size = patch.shape[0]
    rows, cols = np.mgrid[0:size, 0:size]
    padded = ((step.top + rows < 0) | (step.top + rows >= input_map.shape[0])
              | (step.left + cols < 0) | (step.left + cols >= input_map.shape[1]))
    def numbers(a):  # the hover and the sum below give the exact values
        return np.char.mod("%.2f", a)

    text = dict(texttemplate="%{text}", textfont=dict(size=20 if projector else 11), showscale=False,
                hovertemplate="%{z:.6f}<extra></extra>")
    data = [dict(type="heatmap", z=patch, text=np.where(padded, t("cnn.fig.pad", lang), numbers(patch)), **text,
                 **_input_scale(step, input_map, projector))]
    for k, values in ((2, kernel), (3, products)):
        x, y = panels.axes(k)
        data.append(dict(type="heatmap", z=values, text=numbers(values), xaxis=x, yaxis=y, **text,
                         **_scale(True, values, projector)))
    return data


def pool_boxes(window: PoolWindow, projector: bool) -> list[dict]:
    """`pool_figure`'s moving shapes: the chosen window on the input, the resulting cell on the map."""
    size = window.window.shape[0]
    return [_box(1, window.top, window.left, size, projector), _box(2, window.row, window.col, 1, projector)]


def pool_figure(before: np.ndarray, after: np.ndarray, window: PoolWindow, lang: str, projector: bool,
                boxes: bool = True) -> go.Figure:
    """Pooling of one channel: the layer's input `before` (H, W) with its F x F windows drawn, the
    chosen window boxed (and, for max pooling, its winner starred), beside the pooled map `after`
    (H/F, W/F) with the resulting cell boxed. Values are printed where they stay legible. Without
    `boxes`, the grid alone (for a page that draws `pool_boxes` over it)."""
    layout = panels.row([before.shape[1], after.shape[1] * 1.6],
                        [t("cnn.fig.pool_before", lang, h=before.shape[0], w=before.shape[1]),
                         t("cnn.fig.pool_after", lang, h=after.shape[0], w=after.shape[1])], 0.08, image=True)
    layout["shapes"] = pool_boxes(window, projector) if boxes else []
    return _figure(pool_traces(before, after, window, projector), layout, projector, 330, top=36)


def _window_lines(shape: tuple[int, int], size: int) -> dict:
    """The edges of every `size` x `size` window over a (H, W) map, as one line trace: as shapes, its
    30 lines (28 x 28 in 2 x 2 windows) took plotly.py and plotly.js longer to build and draw."""
    h, w = shape
    x, y = [], []
    for k in range(0, h + 1, size):
        x += [-0.5, w - 0.5, None]
        y += [k - 0.5, k - 0.5, None]
    for k in range(0, w + 1, size):
        x += [k - 0.5, k - 0.5, None]
        y += [-0.5, h - 0.5, None]
    return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color="rgba(255,255,255,0.55)", width=1),
                hoverinfo="skip", showlegend=False)


def pool_traces(before: np.ndarray, after: np.ndarray, window: PoolWindow, projector: bool) -> list[dict]:
    """`pool_figure`'s traces as plotly dicts (the two maps, the max's winner as a star, the window
    edges over the input), for a page whose chart follows the window's row in the browser."""
    scale = _scale(bool((before < 0).any()), before, projector)
    legible = after.shape[0] <= 7  # 5x5 pooled maps (and their 10x10 inputs) can carry every number

    def text(a):
        return dict(text=np.char.mod("%.1f" if projector else "%.2f", a), texttemplate="%{text}",
                    textfont=dict(size=20 if projector else 11)) if legible else {}

    r, c = window.top + window.winner[0], window.left + window.winner[1]
    data = [dict(type="heatmap", z=before, showscale=False, hovertemplate="%{z:.4f}<extra></extra>",
                 **text(before), **scale),
            dict(type="heatmap", z=after, hovertemplate="%{z:.4f}<extra></extra>", colorbar=COLORBAR,
                 xaxis="x2", yaxis="y2", **text(after), **scale)]
    if window.kind == "max":  # an average has no winner
        data.append(dict(type="scatter", x=[c], y=[r], mode="markers", hoverinfo="skip", showlegend=False,
                         marker=dict(symbol="star", size=16 if projector else 12, color=ACCENT,
                                     line=dict(color="white", width=1))))
    data.append(_window_lines(before.shape, window.window.shape[0]))
    return data


def softmax_figure(logits: np.ndarray, probabilities: np.ndarray, lang: str, projector: bool) -> go.Figure:
    """The output layer's logits z (10,) and their softmax g(z) (10,), one bar per digit, the
    winning digit in the accent colour."""
    digits = [str(k) for k in range(10)]
    best = int(np.argmax(probabilities))
    colours = [ACCENT if k == best else TEN_CLASSES[0] for k in range(10)]
    bar = dict(type="bar", x=digits, marker=dict(color=colours), textposition="outside", cliponaxis=False,
               showlegend=False, textfont=dict(size=20 if projector else 11))
    # In projector mode the logits would not fit above the bars: the table beside the chart has them.
    data = [dict(bar, y=logits, text=None if projector else np.char.mod("%.2f", logits),
                 hovertemplate="z_%{x} = %{y:.4f}<extra></extra>"),
            dict(bar, y=probabilities, text=[f"{p:.1%}" if p >= 0.001 else "" for p in probabilities],
                 xaxis="x2", yaxis="y2", hovertemplate="g(z_%{x}) = %{y:.6f}<extra></extra>")]
    layout = panels.row([1, 1], [t("cnn.fig.logits", lang), t("cnn.fig.softmax", lang)], 0.1)
    low, high = min(float(logits.min()), 0.0), float(logits.max())
    span = high - low
    axis = dict(title=dict(text=t("cnn.fig.digit", lang)), type="category")
    layout["xaxis"].update(axis)
    layout["xaxis2"].update(axis)
    layout["yaxis"]["range"] = [low - 0.12 * span, high + 0.15 * span]
    layout["yaxis2"].update(range=[0, 1.15], tickformat=".0%")
    # Plotly shrinks text outside narrow bars to nothing; keep it at a readable size.
    layout["uniformtext"] = dict(minsize=20 if projector else 11, mode="show")
    return _figure(data, layout, projector, 280, top=36)
