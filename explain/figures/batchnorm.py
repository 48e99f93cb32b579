"""Figures of batch normalisation: one channel's values over a mini-batch before and after the layer,
the batch's statistics beside the moving ones, and the digit's answer in training and inference mode."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.batchnorm import BNLayer
from explain.figures import panels
from explain.figures.theme import CATEGORICAL, style
from explain.i18n import t

BATCH, MOVING = CATEGORICAL[0], CATEGORICAL[3]     # blue: this mini-batch; vermillion: moving averages
BINS = 40


def _vline(k: int, x: float, colour: str, dash: str) -> dict:
    return dict(type="line", x0=x, x1=x, y0=0, y1=1, xref=panels.axes(k)[0], yref="paper",
                line=dict(color=colour, width=2.5, dash=dash))


def histogram_figure(layer: BNLayer, channel: int, lang: str, projector: bool) -> go.Figure:
    """Channel `channel` of a training-mode run: every value it takes over the mini-batch (all positions
    of all digits for a conv layer, one per digit for a dense one) before the layer (with the batch
    mean and the moving mean marked) and after it (with beta, the batch mean of the output, marked).
    Binned here (BINS equal bins from the smallest value to the largest): a conv channel of a batch of
    64 digits takes 50,000 values, 1.2 MB sent to the browser for Plotly to bin."""
    before = layer.batch_inputs[..., channel].ravel()
    after = layer.batch_outputs[..., channel].ravel()
    layout = panels.row([1, 1], [t("layers.bnfig.before", lang, layer=layer.layer_name, channel=channel),
                                 t("layers.bnfig.after", lang, layer=layer.layer_name)], 0.08)
    for axis in ("xaxis", "xaxis2"):
        layout[axis]["title"] = dict(text=t("layers.bnfig.value", lang))
    layout["yaxis"]["title"] = dict(text=t("layers.bnfig.count", lang))
    layout.update(showlegend=True, legend=dict(orientation="h", y=-0.3), bargap=0.05)
    layout["shapes"] = [_vline(1, float(layer.mean[channel]), BATCH, "solid"),
                        _vline(1, float(layer.moving_mean[channel]), MOVING, "dash"),
                        _vline(2, float(layer.beta[channel]), BATCH, "solid")]
    data = [_bars(before), dict(_bars(after), xaxis="x2", yaxis="y2"),
            # Legend entries for the marker lines (shapes have none).
            dict(type="scatter", x=[None], y=[None], mode="lines", line=dict(color=BATCH, width=2.5),
                 name=t("layers.bnfig.batch_mean", lang)),
            dict(type="scatter", x=[None], y=[None], mode="lines", line=dict(color=MOVING, width=2.5, dash="dash"),
                 name=t("layers.bnfig.moving_mean", lang))]
    return _panels(data, layout, projector)


def _bars(values: np.ndarray) -> dict:
    """A histogram of `values` (n,) as BINS bars, each over its bin (a 5% gap between them); the hover
    gives the bin's range and count."""
    counts, edges = np.histogram(values, bins=BINS)
    return dict(type="bar", x=(edges[:-1] + edges[1:]) / 2, y=counts, width=0.95 * np.diff(edges),
                customdata=np.stack([edges[:-1], edges[1:]], axis=1), marker=dict(color=CATEGORICAL[5]),
                showlegend=False, hovertemplate="%{customdata[0]:.3f} – %{customdata[1]:.3f}: %{y}<extra></extra>")


def _panels(data: list[dict], layout: dict, projector: bool) -> go.Figure:
    """Two panels with their titles above them: room at the top for the titles."""
    fig = style(go.Figure(data=data, layout=layout), projector, height=320)
    fig.update_layout(margin=dict(t=64 if projector else 40))
    return fig


def statistics_figure(layer: BNLayer, lang: str, projector: bool) -> go.Figure:
    """Per channel (x axis): the batch's mean and variance (training mode) beside the layer's moving
    mean and variance (inference mode)."""
    channels = np.arange(layer.channels)
    layout = panels.row([1, 1], [t("layers.bnfig.means", lang, layer=layer.layer_name),
                                 t("layers.bnfig.variances", lang, layer=layer.layer_name)], 0.08)
    for axis in ("xaxis", "xaxis2"):
        layout[axis]["title"] = dict(text=t("layers.bnfig.channel", lang))
    layout.update(legend=dict(orientation="h", y=-0.3))
    marker = dict(size=7)
    data = []
    for k, (batch, moving) in enumerate(((layer.mean, layer.moving_mean), (layer.variance, layer.moving_variance)),
                                        start=1):
        x, y = panels.axes(k)
        data += [dict(type="scatter", mode="markers", x=channels, y=batch, xaxis=x, yaxis=y, showlegend=k == 1,
                      name=t("layers.bnfig.batch", lang), marker=dict(marker, color=BATCH), legendgroup="batch",
                      hovertemplate="%{x}: %{y:.4f}<extra></extra>"),
                 dict(type="scatter", mode="markers", x=channels, y=moving, xaxis=x, yaxis=y, showlegend=k == 1,
                      name=t("layers.bnfig.moving", lang), legendgroup="moving",
                      marker=dict(marker, color=MOVING, symbol="diamond-open", line=dict(width=2)),
                      hovertemplate="%{x}: %{y:.4f}<extra></extra>")]
    return _panels(data, layout, projector)


def modes_figure(inference: np.ndarray, training: np.ndarray, size: int, lang: str, projector: bool) -> go.Figure:
    """The digit's ten probabilities alone in inference mode and in training mode within its batch."""
    digits = np.arange(10)
    data = [dict(type="bar", x=digits, y=inference, name=t("layers.bnfig.alone", lang), marker=dict(color=MOVING),
                 hovertemplate="%{y:.4f}<extra></extra>"),
            dict(type="bar", x=digits, y=training, name=t("layers.bnfig.in_batch", lang, n=size),
                 marker=dict(color=BATCH), hovertemplate="%{y:.4f}<extra></extra>")]
    layout = dict(barmode="group", xaxis=dict(tickmode="linear", dtick=1), yaxis=dict(range=[0, 1.02]),
                  title=t("layers.bnfig.modes_title", lang), legend=dict(orientation="h", y=-0.15))
    return style(go.Figure(data=data, layout=layout), projector, height=320)


def sweep_figure(sizes: tuple[int, ...], probabilities: np.ndarray, inference: np.ndarray, lang: str,
                 projector: bool) -> go.Figure:
    """The probability of the digit's inference-mode answer in training mode, for `probabilities`
    (len(sizes), repeats, 10) from random mini-batches of each size, with the inference value as a line."""
    answer = int(np.argmax(inference))
    repeats = probabilities.shape[1]
    p = probabilities[:, :, answer]
    data = [dict(type="scatter", mode="markers", x=np.repeat(sizes, repeats), y=p.ravel(), marker=dict(color=BATCH,
                 size=8, opacity=0.7), name=t("layers.bnfig.one_batch", lang),
                 hovertemplate=t("layers.bnfig.hover_sweep", lang) + "<extra></extra>"),
            dict(type="scatter", mode="lines", x=[sizes[0], sizes[-1]], y=[inference[answer]] * 2,
                 line=dict(color=MOVING, dash="dash", width=2.5), name=t("layers.bnfig.alone", lang), hoverinfo="skip")]
    layout = dict(title=t("layers.bnfig.sweep_title", lang, digit=answer),
                  xaxis=dict(type="log", tickvals=list(sizes), title=dict(text=t("layers.bnfig.batch_size", lang))),
                  yaxis=dict(range=[-0.02, 1.02], title=dict(text=t("layers.bnfig.probability", lang, digit=answer))),
                  legend=dict(orientation="h", y=-0.3))
    return style(go.Figure(data=data, layout=layout), projector, height=340)
