"""Figures of the fitting page: the MLP's computational graph with its forward values, reverse-mode
gradients and forward-mode tangents; both losses as the model grows confidently wrong; the loss
along SGD steps; the weights' histogram with and without a penalty. Each is built from the numbers
`explain.fitting` and `explain.autodiff` computed, so a test can read them back from the figure."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.autodiff import Node
from explain.figures import panels
from explain.figures.theme import CATEGORICAL, DIVERGING, style
from explain.fitting import WrongLogitSweep
from explain.i18n import t

ACCENT, SE, CE = CATEGORICAL[3], CATEGORICAL[1], CATEGORICAL[0]
DIVERGED = 20.0        # a cross-entropy above this (chance is ln 10 = 2.3) is drawn on a log axis
# The two-layer MLP's nodes: what each computes, and which component the drawn path follows.
FORMULA = {"x": "x", "z1": "z¹ = W¹ᵀx + b¹", "a1": "h = ReLU(z¹)", "z2": "z² = W²ᵀh + b²",
           "a2": "p = softmax(z²)", "L": "L = −log p[y]"}
SYMBOL = {"x": "x[i]", "z1": "z¹[j]", "a1": "h[j]", "z2": "z²[y]", "a2": "p[y]", "L": "L"}
# Boxes in a snake of two columns and three rows (x -> z1, down to h, left to z2, down to p, right to
# L), so each box has half the width for its numbers at the projector's text size.
PLACE = {"x": (0, 2), "z1": (1, 2), "a1": (1, 1), "z2": (0, 1), "a2": (0, 0), "L": (1, 0)}
HALF_WIDTH, HALF_HEIGHT = 0.36, 0.3      # of a box, in axis units: where the arrows start and end
EDGE = ["W¹[i,j]", "ReLU′(z¹[j])", "W²[j,y]", "p[y](1 − p[y])", "−1/p[y]"]


def component(node: Node, pixel: int, unit: int, label: int) -> int | None:
    """Which entry of `node` the drawn path follows: pixel i of x, unit j of z1 and h, class y of z2 and p."""
    return {"x": pixel, "z1": unit, "a1": unit, "z2": label, "a2": label}.get(node.name)


def _entry(array: np.ndarray, index: int | None) -> float:
    return float(array if index is None else array[index])


def graph_figure(nodes: list[Node], tangents: dict[str, np.ndarray], edges: list[float], revealed: int,
                 pixel: int, unit: int, label: int, lang: str, projector: bool = False) -> go.Figure:
    """The six nodes as boxes, each with its forward value, its tangent d(node)/dx[i] (forward mode)
    and, for the last `revealed` nodes (the backward pass plays from L back to x), dL/d(node). `edges`
    are the five local derivatives along the path (`autodiff.path_derivatives`)."""
    if [n.name for n in nodes] != list(FORMULA):
        raise ValueError(f"graph_figure draws the nodes {list(FORMULA)}; received {[n.name for n in nodes]}")
    annotations, first_shown = [], len(nodes) - revealed
    for k, node in enumerate(nodes):
        index = component(node, pixel, unit, label)
        symbol = SYMBOL[node.name]
        shape = "" if index is None else f" ({node.value.size})"
        gradient = f"{_entry(node.gradient, index):+.4g}" if k >= first_shown else "?"
        # The projector's large text leaves no room for the words: ∂L/∂(node) is reverse mode's by its form.
        reverse, forward = ("", "") if projector else (f"{t('fitting.graph.reverse', lang)}: ",
                                                        f"{t('fitting.graph.forward', lang)}: ")
        lines = [f"<b>{FORMULA[node.name]}</b>{shape}",
                 f"{symbol} = {_entry(node.value, index):.4g}",
                 f"{reverse}∂L/∂{symbol} = {gradient}",
                 f"{forward}∂{symbol}/∂x[i] = {_entry(tangents[node.name], index):+.4g}"]
        col, row = PLACE[node.name]
        annotations.append(dict(x=col, y=row, text="<br>".join(lines), showarrow=False, align="left",
                                bgcolor="white", borderpad=6, borderwidth=3 if k >= first_shown else 1,
                                bordercolor=ACCENT if k >= first_shown else "#888"))
    for k, (source, target) in enumerate(zip(nodes, nodes[1:])):
        (x0, y0), (x1, y1) = PLACE[source.name], PLACE[target.name]
        dx, dy = np.sign(x1 - x0) * HALF_WIDTH, np.sign(y1 - y0) * HALF_HEIGHT
        crossed = k >= first_shown        # the backward pass has carried dL/d(target) back to the source
        annotations.append(dict(x=x1 - dx, y=y1 - dy, ax=x0 + dx, ay=y0 + dy, xref="x", yref="y", axref="x",
                                ayref="y", text="", showarrow=True, arrowhead=3,
                                arrowwidth=(4 if projector else 3) if crossed else (3 if projector else 2),
                                arrowcolor=ACCENT if crossed else "#555"))
        if y0 == y1:      # a horizontal arrow: its derivative above it, in two short lines to fit the gap
            annotations.append(dict(x=(x0 + x1) / 2, y=y0, yshift=4, yanchor="bottom", showarrow=False,
                                    text=f"{EDGE[k]}<br>= {edges[k]:+.4g}"))
        else:             # a vertical one: beside it, away from the other column
            annotations.append(dict(x=x0, y=(y0 + y1) / 2, xshift=10 if x0 == 0 else -10, showarrow=False,
                                    text=f"{EDGE[k]} = {edges[k]:+.4g}", xanchor="left" if x0 == 0 else "right"))
    fig = go.Figure(layout=dict(annotations=annotations, xaxis=dict(visible=False, range=[-0.5, 1.5]),
                                yaxis=dict(visible=False, range=[-0.45, 2.45]), showlegend=False))
    style(fig, projector, height=560)
    fig.update_layout(margin=dict(l=0, r=0, t=10, b=0))
    return fig


def pixel_gradient_figure(gradient: np.ndarray, pixel: int, lang: str, projector: bool = False) -> go.Figure:
    """dL/dx as a 28x28 image (reverse mode: all 784 entries from one backward pass), pixel i outlined."""
    image = np.asarray(gradient).reshape(28, 28)
    top = float(np.abs(image).max()) or 1.0
    row, col = divmod(pixel, 28)
    fig = go.Figure(go.Heatmap(z=image, colorscale=DIVERGING, zmid=0, zmin=-top, zmax=top,
                               colorbar=dict(thickness=10, len=0.9),
                               hovertemplate=t("fitting.fig.hover_pixel", lang) + "<extra></extra>"),
                    layout=dict(xaxis=dict(visible=False, constrain="domain"),
                                yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
                                shapes=[dict(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                                             line=dict(color="black", width=3))]))
    return style(fig, projector, height=300)


def losses_figure(sweep: WrongLogitSweep, current: float, model_value: float, lang: str,
                  projector: bool = False) -> go.Figure:
    """Left: both losses as the wrong class's logit z[k] grows. Right, on a log axis: how hard each
    loss pushes the target's logit, |dL/dz[y]|. Dashed: the model's own z[k]; dotted: the chosen one."""
    y, k = sweep.label, sweep.wrong
    axis = t("fitting.fig.wrong_logit", lang, k=k)
    layout = panels.row([1, 1], [t("fitting.fig.losses", lang), t("fitting.fig.push", lang, y=y)], spacing=0.1)
    data = []
    for name, color, loss, gradient in (("square_error", SE, sweep.square_error, sweep.square_error_gradient),
                                        ("cross_entropy", CE, sweep.cross_entropy, sweep.cross_entropy_gradient)):
        label = t(f"fitting.loss.{name}", lang)
        data.append(dict(type="scatter", x=sweep.values, y=loss, name=label, legendgroup=name, mode="lines",
                         line=dict(color=color, width=3), hovertemplate=f"{label}: %{{y:.4g}}<extra></extra>"))
        data.append(dict(type="scatter", x=sweep.values, y=np.abs(gradient[:, y]), name=label, legendgroup=name,
                         mode="lines", line=dict(color=color, width=3), showlegend=False, xaxis="x2", yaxis="y2",
                         hovertemplate=f"{label}: %{{y:.3g}}<extra></extra>"))
    layout["shapes"] = [dict(type="line", x0=x, x1=x, y0=0, y1=1, xref=f"x{p}" if p > 1 else "x", yref="paper",
                             line=dict(color=color, dash=dash, width=2))
                        for p in (1, 2) for x, dash, color in ((model_value, "dash", "#777"), (current, "dot", ACCENT))]
    layout["xaxis"].update(title=dict(text=axis))
    layout["xaxis2"].update(title=dict(text=axis))
    layout["yaxis2"].update(type="log", exponentformat="e")    # "power" draws its exponents below 20 px
    layout.update(legend=dict(orientation="h", yanchor="top", y=-0.25, x=0), hovermode="x unified")
    fig = style(go.Figure(data=data, layout=layout), projector, height=360)
    fig.update_layout(margin=dict(t=40))
    return fig


def sgd_figure(batch_losses: np.ndarray, held_out: np.ndarray, digit: np.ndarray, lang: str,
               projector: bool = False) -> go.Figure:
    """The loss along the steps: each mini-batch's loss before its step (iterations 1..n), and the
    held-out digits' and this digit's loss after 0..n steps."""
    n = len(batch_losses)
    data = [dict(type="scatter", x=list(range(1, n + 1)), y=batch_losses, mode="lines+markers",
                 name=t("fitting.fig.batch_loss", lang), line=dict(color=CATEGORICAL[0], width=2)),
            dict(type="scatter", x=list(range(n + 1)), y=held_out, mode="lines+markers",
                 name=t("fitting.fig.held_out_loss", lang), line=dict(color=CATEGORICAL[1], width=2)),
            dict(type="scatter", x=list(range(n + 1)), y=digit, mode="lines+markers",
                 name=t("fitting.fig.digit_loss", lang), line=dict(color=ACCENT, width=2, dash="dot"))]
    # A diverging run's losses span many orders of magnitude: then a log axis keeps the start readable.
    top = max(np.max(batch_losses, initial=0), np.max(held_out, initial=0), np.max(digit, initial=0))
    yaxis = dict(type="log", exponentformat="e") if top > DIVERGED else dict(rangemode="tozero")
    layout = dict(xaxis=dict(title=dict(text=t("fitting.fig.iteration", lang)), rangemode="tozero"),
                  yaxis=dict(title=dict(text=t("fitting.fig.loss", lang)), **yaxis),
                  legend=dict(orientation="h", yanchor="top", y=-0.22, x=0), hovermode="x unified")
    return style(go.Figure(data=data, layout=layout), projector, height=340)


def histogram_figure(start: np.ndarray, after: dict[str, np.ndarray], titles: dict[str, str], lang: str,
                     projector: bool = False) -> go.Figure:
    """The first layer's kernel weights before the steps (grey outline) and after them (bars), one
    panel per run in `after` (run name -> weights, titled by `titles`), on shared bins."""
    top = max(np.abs(start).max(), *(np.abs(w).max() for w in after.values()))
    edges = np.linspace(-top, top, 61)
    centres = (edges[:-1] + edges[1:]) / 2
    before = np.histogram(start, edges)[0]
    layout = panels.row([1] * len(after), [titles[name] for name in after], spacing=0.05)
    data = []
    for k, (name, weights) in enumerate(after.items(), start=1):
        x, y = panels.axes(k)
        data.append(dict(type="bar", x=centres, y=np.histogram(weights, edges)[0],
                         marker=dict(color=CATEGORICAL[k - 1]),
                         name=titles[name], showlegend=False, xaxis=x, yaxis=y,
                         hovertemplate="w ≈ %{x:.3f}: %{y}<extra></extra>"))
        data.append(dict(type="scatter", x=centres, y=before, mode="lines",
                         line=dict(color="#666", width=2, shape="hvh"),
                         name=t("fitting.fig.before", lang), legendgroup="before", showlegend=k == 1, xaxis=x, yaxis=y,
                         hovertemplate="w ≈ %{x:.3f}: %{y}<extra></extra>"))
        layout["xaxis" if k == 1 else f"xaxis{k}"].update(nticks=3 if projector else 5, tickangle=0)
    layout.update(bargap=0, legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))
    fig = style(go.Figure(data=data, layout=layout), projector, height=330)
    fig.update_layout(margin=dict(t=40))
    return fig
