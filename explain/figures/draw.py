"""Figures of the Draw page: the preprocessing strip (what became of the drawing before any model
saw it) and every model's ten probabilities. Both are rebuilt on every stroke, so they are built
from dicts in one constructor call (see `explain.figures.panels`)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.figures import panels
from explain.figures.theme import CATEGORICAL, DIGIT, figure
from explain.i18n import strings, t
from explain.preprocess import BOX, CENTRE, Steps

ACCENT = CATEGORICAL[3]
MAX_SHOWN = 112  # the ink panel is downsampled to at most this many pixels a side: it is a thumbnail


def steps_figure(steps: Steps | None, x28: np.ndarray, lang: str, projector: bool) -> go.Figure:
    """The drawing's way to the model input: ink with its crop box, the crop scaled into the 20x20
    box, and the (28, 28) input centred by centre of mass (marked +). With no `steps` (a test-split
    sample is already prepared) only the (28, 28) input `x28` is shown."""
    gray = dict(type="heatmap", colorscale=DIGIT, zmin=0, zmax=1, showscale=False,
                hovertemplate=t("draw.fig.hover_pixel", lang) + "<extra></extra>")
    line = dict(color=ACCENT, width=3 if projector else 2)
    if steps is None:
        images, titles, shapes = [x28], [t("draw.fig.final", lang)], []
    else:
        step = max(1, int(np.ceil(max(steps.ink.shape) / MAX_SHOWN)))
        top, bottom, left, right = (v / step for v in steps.box)
        # The fitted digit inside its 20x20 box, so the box's empty margin shows the aspect ratio kept.
        fh, fw = steps.fitted.shape
        boxed = np.zeros((BOX, BOX), np.float32)
        boxed[(BOX - fh) // 2:(BOX - fh) // 2 + fh, (BOX - fw) // 2:(BOX - fw) // 2 + fw] = steps.fitted
        images = [steps.ink[::step, ::step], boxed, x28]
        titles = [t("draw.fig.ink", lang), t("draw.fig.fitted", lang, box=BOX), t("draw.fig.final", lang)]
        shapes = [dict(type="rect", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5, line=line,
                       **panels.refs(1)),
                  dict(type="rect", x0=-0.5, x1=BOX - 0.5, y0=-0.5, y1=BOX - 0.5, line=dict(line, dash="dot"),
                       **panels.refs(2))]
    last = len(images)
    x_last, y_last = panels.axes(last)
    data = [dict(gray, z=z, xaxis=panels.axes(k)[0], yaxis=panels.axes(k)[1]) for k, z in enumerate(images, start=1)]
    ys, xs = np.mgrid[0:28, 0:28]
    mass = float(x28.sum()) or 1.0
    data.append(dict(type="scatter", x=[float((x28 * xs).sum() / mass)], y=[float((x28 * ys).sum() / mass)],
                     xaxis=x_last, yaxis=y_last, mode="markers", showlegend=False, hoverinfo="skip",
                     marker=dict(symbol="cross-thin", size=14, line=dict(color=ACCENT, width=3))))
    # Where MNIST's 20x20 box sits in the 28x28 input, around the centre of mass.
    shapes.append(dict(type="rect", x0=CENTRE - 10.5, x1=CENTRE + 9.5, y0=CENTRE - 10.5, y1=CENTRE + 9.5,
                       line=dict(color="rgba(230,159,0,0.8)", width=1, dash="dot"), **panels.refs(last)))
    layout = panels.row([1] * last, titles, 0.04, image=True)
    layout["shapes"] = shapes
    for note in layout["annotations"]:
        note["font"] = dict(note.get("font", {}), size=20 if projector else 13)
    return figure(data, layout, projector, 140, {"t": 40 if projector else 30})


def probabilities_figure(probabilities: dict[str, np.ndarray], lang: str, projector: bool) -> go.Figure:
    """One bar chart per model (name -> (10,) probabilities), side by side on a shared 0..1 axis,
    each titled with the model's answer and its probability; the answer's bar is highlighted."""
    digits = [str(k) for k in range(10)]
    titles, data = [], []
    for k, (name, p) in enumerate(probabilities.items(), start=1):
        best = int(np.argmax(p))
        titles.append(t("draw.fig.answer", lang, model=t(f"draw.fig.short.{name}", lang), digit=best, p=float(p[best])))
        x, y = panels.axes(k)
        data.append(dict(type="bar", x=digits, y=p, xaxis=x, yaxis=y, showlegend=False,
                         marker=dict(color=[ACCENT if d == best else CATEGORICAL[0] for d in range(10)]),
                         hovertemplate=t("draw.fig.hover_prob", lang) + "<extra></extra>"))
    layout = panels.row([1] * max(1, len(data)), titles, 0.025)
    # Ten 20 px labels do not fit under a projector's narrow panel: every third digit there.
    ticks = dict(type="category", dtick=3 if projector else 1, tickangle=0, tickfont=dict(size=20 if projector else 10))
    for k in range(1, len(data) + 1):
        layout["xaxis" if k == 1 else f"xaxis{k}"].update(ticks)
        layout["yaxis" if k == 1 else f"yaxis{k}"].update(range=[0, 1], tickformat=".0%",
                                                           dtick=0.5 if projector else 0.25, showticklabels=k == 1)
    layout["bargap"] = 0.15
    for note in layout["annotations"]:
        note["font"] = dict(note.get("font", {}), size=20 if projector else 12)
    return figure(data, layout, projector, 300, {"t": 110 if projector else 72})


def probability_bars(probabilities: dict[str, np.ndarray], lang: str, projector: bool) -> dict:
    """What `widgets.bars` shows (the in-place twin of `probabilities_figure`): per model (name ->
    (10,) probabilities) its short name, answer, the answer's probability as text, the ten
    probabilities and their hover texts; the 0/50/100% ticks and the two bar colours. Six models on
    a projector are `narrow`: a long name there is shortened (`draw.bars.narrow.*`; `full` keeps it)."""
    narrow = projector and len(probabilities) > 5
    models = []
    for name, p in probabilities.items():
        p = [float(v) for v in p]
        best = int(np.argmax(p))
        full = t(f"draw.fig.short.{name}", lang)
        title = t(f"draw.bars.narrow.{name}", lang) if narrow and f"draw.bars.narrow.{name}" in strings(lang) else full
        models.append(dict(name=name, title=title, full=full, answer=best,
                           answer_text=f"{p[best]:.0%}", p=p,
                           hover=[t("draw.bars.hover", lang, digit=d, p=v) for d, v in enumerate(p)]))
    ticks = [dict(at=v, text=f"{v:.0%}") for v in (0.0, 0.5, 1.0)]
    return dict(models=models, ticks=ticks, projector=projector, narrow=narrow,
                colors=dict(bar=CATEGORICAL[0], best=ACCENT))
