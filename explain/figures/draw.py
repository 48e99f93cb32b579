"""Figures of the Draw page: the preprocessing strip (what became of the drawing before any model
saw it) and every model's ten probabilities."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.figures.theme import CATEGORICAL, DIGIT, style, subplots
from explain.i18n import t
from explain.preprocess import BOX, CENTRE, Steps

ACCENT = CATEGORICAL[3]
MAX_SHOWN = 112  # the ink panel is downsampled to at most this many pixels a side: it is a thumbnail


def _gray(fig: go.Figure, z: np.ndarray, col: int, hover: str) -> None:
    fig.add_trace(go.Heatmap(z=z, colorscale=DIGIT, zmin=0, zmax=1, showscale=False,
                             hovertemplate=hover + "<extra></extra>"), 1, col)


def steps_figure(steps: Steps | None, x28: np.ndarray, lang: str, projector: bool) -> go.Figure:
    """The drawing's way to the model input: ink with its crop box, the crop scaled into the 20x20
    box, and the (28, 28) input centred by centre of mass (marked +). With no `steps` (a test-split
    sample is already prepared) only the (28, 28) input `x28` is shown."""
    hover = t("draw.fig.hover_pixel", lang)
    if steps is None:
        fig = subplots(rows=1, cols=1, subplot_titles=[t("draw.fig.final", lang)])
        _gray(fig, x28, 1, hover)
        panels = 1
    else:
        fig = subplots(rows=1, cols=3, horizontal_spacing=0.04,
                            subplot_titles=[t("draw.fig.ink", lang), t("draw.fig.fitted", lang, box=BOX),
                                            t("draw.fig.final", lang)])
        step = max(1, int(np.ceil(max(steps.ink.shape) / MAX_SHOWN)))
        _gray(fig, steps.ink[::step, ::step], 1, hover)
        top, bottom, left, right = (v / step for v in steps.box)
        fig.add_shape(type="rect", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5,
                      line=dict(color=ACCENT, width=3 if projector else 2), row=1, col=1)
        # The fitted digit inside its 20x20 box, so the box's empty margin shows the aspect ratio kept.
        fh, fw = steps.fitted.shape
        boxed = np.zeros((BOX, BOX), np.float32)
        boxed[(BOX - fh) // 2:(BOX - fh) // 2 + fh, (BOX - fw) // 2:(BOX - fw) // 2 + fw] = steps.fitted
        _gray(fig, boxed, 2, hover)
        fig.add_shape(type="rect", x0=-0.5, x1=BOX - 0.5, y0=-0.5, y1=BOX - 0.5,
                      line=dict(color=ACCENT, width=2, dash="dot"), row=1, col=2)
        _gray(fig, x28, 3, hover)
        panels = 3
    ys, xs = np.mgrid[0:28, 0:28]
    mass = float(x28.sum()) or 1.0
    fig.add_trace(go.Scatter(x=[float((x28 * xs).sum() / mass)], y=[float((x28 * ys).sum() / mass)],
                             mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(symbol="cross-thin", size=14, line=dict(color=ACCENT, width=3))),
                  1, panels)
    fig.add_shape(type="rect", x0=CENTRE - 10 - 0.5, x1=CENTRE + 10 - 0.5, y0=CENTRE - 10 - 0.5,
                  y1=CENTRE + 10 - 0.5, line=dict(color="rgba(230,159,0,0.8)", width=1, dash="dot"),
                  row=1, col=panels)
    for k in range(1, panels + 1):
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=k)
        fig.update_yaxes(visible=False, autorange="reversed", constrain="domain",
                         scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    fig.update_annotations(font=dict(size=20 if projector else 13))
    style(fig, projector, height=140)
    fig.update_layout(margin=dict(t=40 if projector else 30))
    return fig


def probabilities_figure(probabilities: dict[str, np.ndarray], lang: str, projector: bool) -> go.Figure:
    """One bar chart per model (name -> (10,) probabilities), side by side on a shared 0..1 axis,
    each titled with the model's answer and its probability; the answer's bar is highlighted."""
    names = list(probabilities)
    titles = []
    for name in names:
        p = probabilities[name]
        best = int(np.argmax(p))
        titles.append(t("draw.fig.answer", lang, model=t(f"draw.fig.short.{name}", lang), digit=best, p=float(p[best])))
    fig = subplots(rows=1, cols=max(1, len(names)), shared_yaxes=True, horizontal_spacing=0.025,
                        subplot_titles=titles)
    digits = [str(k) for k in range(10)]
    for k, name in enumerate(names, start=1):
        p = probabilities[name]
        best = int(np.argmax(p))
        fig.add_trace(go.Bar(x=digits, y=p, showlegend=False,
                             marker_color=[ACCENT if d == best else CATEGORICAL[0] for d in range(10)],
                             hovertemplate=t("draw.fig.hover_prob", lang) + "<extra></extra>"), 1, k)
    # Ten 20 px labels do not fit under a projector's narrow panel: every third digit there.
    fig.update_xaxes(type="category", dtick=3 if projector else 1, tickangle=0, tickfont=dict(size=20 if projector else 10))
    fig.update_yaxes(range=[0, 1], tickformat=".0%", dtick=0.5 if projector else 0.25)
    fig.update_layout(bargap=0.15)
    fig.update_annotations(font=dict(size=20 if projector else 12))
    style(fig, projector, height=300)
    fig.update_layout(margin=dict(t=110 if projector else 72))
    return fig
