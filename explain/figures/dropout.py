"""Figures of dropout: the thinned networks' masks and answers, and which weights an SGD step through
one thinned network changed. Dropped values are left white (blank) on the sequential scales (white is
in neither viridis nor cividis) and grey on the diverging one (whose 0 is white), so "exactly zero
because dropped" never looks like "small"."""
from __future__ import annotations

import base64
import io
import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from explain.dropout import SGDStep, ThinnedNetworks
from explain.figures import panels
from explain.figures.theme import CATEGORICAL, DIVERGING, sequential, style
from explain.i18n import t

DROPPED = "#ffffff"             # on viridis / cividis
DROPPED_DIVERGING = "#8c8c8c"   # on the red-blue scale, where white is 0
ACCENT = CATEGORICAL[3]
COLORBAR = dict(thickness=10, len=0.9)


def _dropped_layer(dropped: np.ndarray, hover: str, colour: str = DROPPED, **more) -> dict:
    """A heatmap that paints the True cells of `dropped` in `colour` and leaves the others transparent."""
    return dict(type="heatmap", z=np.where(dropped, 1.0, np.nan), colorscale=[[0, colour], [1, colour]],
                showscale=False, hoverongaps=False, hovertemplate=hover + "<extra></extra>", **more)


def masks_figure(tn: ThinnedNetworks, lang: str, projector: bool) -> go.Figure:
    """Row 0: the layer's input at inference (units,); row k: thinned network k's values, the kept
    ones scaled by 1 / (1 - rate), the dropped ones white. Columns are the hidden units."""
    n, units = tn.masks.shape
    z = np.vstack([tn.activations[None], tn.hidden])
    dropped = np.vstack([np.zeros((1, units), bool), ~tn.masks])
    rows = np.arange(n + 1)
    every = max(1, math.ceil(n / (8 if projector else 16)))     # labels at least 20 px apart in projector mode
    ticks = [0] + list(range(every, n + 1, every))
    values = dict(type="heatmap", z=np.where(dropped, np.nan, z), y=rows, colorscale=sequential(projector), zmin=0,
                  zmax=float(z.max()) or 1.0, colorbar=COLORBAR, hoverongaps=False,
                  hovertemplate=t("layers.fig.hover_value", lang) + "<extra></extra>")
    layout = dict(title=t("layers.fig.masks_title", lang, n=n, units=units, layer=tn.layer_name),
                  xaxis=dict(title=dict(text=t("layers.fig.unit", lang)), showgrid=False),
                  yaxis=dict(autorange="reversed", showgrid=False, tickmode="array", tickvals=ticks,
                             ticktext=[t("layers.fig.inference_row", lang)] + [t("layers.fig.mask_row", lang, k=k)
                                                                             for k in ticks[1:]]))
    data = [values, _dropped_layer(dropped, t("layers.fig.hover_dropped", lang), y=rows)]
    return style(go.Figure(data=data, layout=layout), projector, height=150 + min(n + 1, 33) * 12)


def answers_figure(tn: ThinnedNetworks, lang: str, projector: bool) -> go.Figure:
    """For each digit 0-9: every thinned network's probability (points), their average (bar) and
    the inference-mode probability (diamond)."""
    n = len(tn.probabilities)
    jitter = (np.random.default_rng(0).random(n) - 0.5) * 0.5
    digits = np.arange(10)
    data = [dict(type="bar", x=digits, y=tn.average, name=t("layers.fig.average", lang, n=n),
                 marker=dict(color=CATEGORICAL[5]), hovertemplate="%{y:.4f}<extra></extra>"),
            dict(type="scatter", mode="markers", x=(digits[None, :] + jitter[:, None]).ravel(),
                 y=tn.probabilities.ravel(), name=t("layers.fig.each", lang),
                 customdata=np.repeat(np.arange(1, n + 1), 10), marker=dict(size=6, color=CATEGORICAL[0], opacity=0.6),
                 hovertemplate=t("layers.fig.hover_each", lang) + "<extra></extra>"),
            dict(type="scatter", mode="markers", x=digits, y=tn.inference, name=t("layers.fig.inference", lang),
                 marker=dict(symbol="diamond", size=12, color=ACCENT, line=dict(color="white", width=1)),
                 hovertemplate="%{y:.4f}<extra></extra>")]
    layout = dict(title=t("layers.fig.answers_title", lang, layer=tn.layer_name),
                  xaxis=dict(tickmode="linear", dtick=1),
                  yaxis=dict(range=[0, 1.02]),
                  legend=dict(orientation="h", y=-0.12), bargap=0.35)
    return style(go.Figure(data=data, layout=layout), projector, height=340)


def updates_figure(steps: list[SGDStep], lang: str, projector: bool) -> go.Figure:
    """Step k (rows) x hidden unit (columns): the size of the change of the unit's weights in step
    k; units dropped in that step are white (their change is exactly 0)."""
    change = np.stack([s.unit_change for s in steps])
    dropped = np.stack([~s.mask for s in steps])
    rows = [t("layers.fig.step_row", lang, k=k + 1) for k in range(len(steps))]
    data = [dict(type="heatmap", z=np.where(dropped, np.nan, change), y=rows, colorscale=sequential(projector),
                 zmin=0, colorbar=COLORBAR, hoverongaps=False,
                 hovertemplate=t("layers.fig.hover_change", lang) + "<extra></extra>"),
            _dropped_layer(dropped, t("layers.fig.hover_step_dropped", lang), y=rows)]
    layout = dict(title=t("layers.fig.updates_title", lang),
                  xaxis=dict(title=dict(text=t("layers.fig.unit", lang)), showgrid=False),
                  yaxis=dict(autorange="reversed", showgrid=False))
    return style(go.Figure(data=data, layout=layout), projector, height=150 + 34 * len(steps))


def _montage(x: np.ndarray, cols: int) -> str:
    """Digits (n, 28, 28) in [0, 1] tiled `cols` to a row with a clear pixel between them, as a PNG
    data URL (grey levels, white ink on black): a picture with no numbers to hover over, which as a
    heatmap of 128 digits' float32 pixels sent 600 KB to the browser, as a PNG about 30 KB."""
    n = len(x)
    rows = math.ceil(n / cols)
    out = np.zeros((rows * 29 - 1, cols * 29 - 1, 2), np.uint8)        # grey, alpha
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = np.stack(
            [np.rint(np.clip(x[k], 0, 1) * 255), np.full((28, 28), 255)], axis=-1)
    png = io.BytesIO()
    Image.fromarray(out, "LA").save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()


def step_figure(x_batch: np.ndarray, step: SGDStep, kernel: str, kept: int, dropped: int | None, lang: str,
                projector: bool) -> go.Figure:
    """One step: the mini-batch's digits (batch, 28, 28); the change of the 784 incoming weights of
    the kept unit `kept`, as a 28x28 image; the same for the dropped unit `dropped` (all exactly 0)."""
    change = step.changes[kernel]
    cols = min(8, len(x_batch))
    shown = [(kept, "layers.fig.kept_unit")] + ([(dropped, "layers.fig.dropped_unit")] if dropped is not None else [])
    titles = [t("layers.fig.batch", lang, n=len(x_batch))] + [t(key, lang, unit=unit) for unit, key in shown]
    layout = panels.row([1] * len(titles), titles, 0.05, image=True)
    data = [dict(type="image", source=_montage(x_batch, cols), hoverinfo="skip")]
    top = max(float(np.abs(change[:, [u for u, _ in shown]]).max()), 1e-12)
    for k, (unit, _) in enumerate(shown, start=2):
        x, y = panels.axes(k)
        data.append(dict(type="heatmap", z=change[:, unit].reshape(28, 28), colorscale=DIVERGING, zmid=0,
                         zmin=-top, zmax=top, xaxis=x, yaxis=y, showscale=k == 2, colorbar=COLORBAR,
                         hovertemplate=t("layers.fig.hover_delta", lang) + "<extra></extra>"))
    # A frame around each weight image: the dropped unit's is all white (every change exactly 0).
    layout["shapes"] = [dict(type="rect", x0=-0.5, x1=27.5, y0=-0.5, y1=27.5, line=dict(color="#999999", width=1),
                             **panels.refs(k)) for k in range(2, len(titles) + 1)]
    fig = style(go.Figure(data=data, layout=layout), projector, height=300)
    fig.update_layout(margin=dict(t=64 if projector else 40))
    return fig


def outgoing_figure(step: SGDStep, kernel: str, k: int, lang: str, projector: bool) -> go.Figure:
    """The change in step `k` of the next layer's kernel (units, outputs), drawn outputs x units:
    the columns of units dropped in that step are grey, every change in them exactly 0."""
    change = step.changes[kernel].T
    dropped = np.broadcast_to(~step.mask, change.shape)
    top = float(np.abs(change).max()) or 1.0
    data = [dict(type="heatmap", z=np.where(dropped, np.nan, change), colorscale=DIVERGING, zmid=0, zmin=-top,
                 zmax=top, colorbar=COLORBAR, hoverongaps=False,
                 hovertemplate=t("layers.fig.hover_outgoing", lang) + "<extra></extra>"),
            _dropped_layer(dropped, t("layers.fig.hover_outgoing_dropped", lang), DROPPED_DIVERGING)]
    layout = dict(title=t("layers.fig.outgoing_title", lang, k=k, layer=kernel.split("/")[0]),
                  xaxis=dict(title=dict(text=t("layers.fig.unit", lang)), showgrid=False),
                  yaxis=dict(title=dict(text=t("layers.fig.output_unit", lang)), tickmode="linear",
                             dtick=3 if projector else 1, autorange="reversed", showgrid=False))
    return style(go.Figure(data=data, layout=layout), projector, height=280)
