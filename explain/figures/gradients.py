"""Figures of the gradients page. Gradient norms span many orders of magnitude, so every norm is
drawn on a log axis; signed arrays (weights, weight gradients) use the diverging scale centred on
0, each panel on its own symmetric range (a gradient is thousands of times smaller than a weight).
The two grids of panels are built from dicts (`theme.grid`, `theme.figure`): plotly validates them in
one construction, 4-7 ms a rerun instead of 19-22 ms through make_subplots and add_trace."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain import activations
from explain.figures.theme import CATEGORICAL, DIVERGING, TEN_CLASSES, figure, grid, style
from explain.i18n import t
from explain.through_time import GeometricFit, LayerBackprop
from explain.vanishing import DepthGradients, TrainingCurve

ACCENT = CATEGORICAL[3]                 # vermillion: the target class, the chosen scale
Z_RANGE = (-6.0, 6.0)                   # the activation curves' horizontal range
MODEL_COLOURS = {"rnn": CATEGORICAL[3], "lstm": CATEGORICAL[0], "gru": CATEGORICAL[2]}
VARIANT_COLOURS = {"sigmoid": CATEGORICAL[3], "relu": CATEGORICAL[0], "sigmoid_bn": CATEGORICAL[2]}


def _axis(n: int) -> str:
    """Subplot n's axis suffix, as plotly names them: "" for the first ("x", "xaxis"), else "n"."""
    return "" if n == 1 else str(n)


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_axis(values, title: str) -> dict:
    """A log axis labelled at each power of ten as 10⁻⁴ ... 10³, in Unicode superscripts: plotly's
    own exponents are drawn smaller than the tick font, too small for the projector's 20 px."""
    logs = np.log10(np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]))
    logs = logs[np.isfinite(logs)]
    powers = np.arange(int(np.floor(logs.min())), int(np.ceil(logs.max())) + 1) if len(logs) else np.arange(0, 1)
    return dict(type="log", title=dict(text=title), tickvals=[10.0 ** k for k in powers],
                ticktext=["1" if k == 0 else "10" if k == 1 else f"10{str(k).translate(SUPERSCRIPT)}" for k in powers])


def _hover(key: str, lang: str, **values) -> str:
    return t(key, lang, **values) + "<extra></extra>"


def output_error(probabilities: np.ndarray, label: int, lang: str, projector: bool = False) -> go.Figure:
    """The ten probabilities p and the output error p - y (the softmax layer's delta) side by side,
    the target class outlined."""
    y = np.eye(len(probabilities))[label]
    classes = [str(k) for k in range(len(probabilities))]
    fig = go.Figure(data=[
        dict(type="bar", x=classes, y=probabilities, name=t("gradients.fig.p", lang), marker_color=CATEGORICAL[5],
             hovertemplate=_hover("gradients.fig.hover_p", lang)),
        dict(type="bar", x=classes, y=probabilities - y, name=t("gradients.fig.delta_out", lang),
             marker=dict(color=[ACCENT if k == label else CATEGORICAL[0] for k in range(len(classes))]),
             hovertemplate=_hover("gradients.fig.hover_delta", lang)),
    ], layout=dict(barmode="group", title=dict(text=t("gradients.fig.output_title", lang, label=label)),
                   xaxis=dict(title=dict(text=t("gradients.fig.class", lang)), type="category"),
                   yaxis=dict(range=[-1.05, 1.05], zeroline=True, zerolinecolor="#888888"),
                   legend=dict(orientation="h", x=0, y=-0.25)))
    return style(fig, projector, height=320)


def unit_images(kernel: np.ndarray, weight_gradient: np.ndarray, delta: np.ndarray, units: list[int], lang: str,
                projector: bool = False) -> go.Figure:
    """For each chosen first-layer unit j: its weights W[:, j] and its weight gradient
    dL/dW[:, j] = x * delta_j (`kernel` and `weight_gradient` are (784, units)), both shown as
    28 x 28 images; the gradient is the digit itself scaled by delta_j, so one SGD step adds
    (delta_j < 0) or subtracts (delta_j > 0) a faint copy of the digit to the unit's weights."""
    cols = len(units)
    titles = [t("gradients.fig.weights", lang, unit=j) for j in units] + \
             [t("gradients.fig.weight_gradient", lang, unit=j, delta=float(delta[j])) for j in units]
    layout = grid(rows=2, cols=cols, subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.2)
    data = []
    for k, j in enumerate(units):
        for row, values in ((0, kernel), (1, weight_gradient)):
            n = _axis(row * cols + k + 1)
            top = float(np.abs(values[:, j]).max()) or 1.0
            data.append(dict(type="heatmap", z=values[:, j].reshape(28, 28), colorscale=DIVERGING, zmin=-top, zmax=top,
                             zmid=0, showscale=False, hovertemplate=_hover("gradients.fig.hover_pixel", lang),
                             xaxis=f"x{n}", yaxis=f"y{n}"))
            layout[f"xaxis{n}"].update(visible=False, constrain="domain")   # every grid cell has its axes
            layout[f"yaxis{n}"].update(visible=False, autorange="reversed", constrain="domain", scaleanchor=f"x{n}")
    # room for the two-line panel titles
    return figure(data, layout, projector, 200 + 120 * (2 if cols <= 2 else 1) + 40, {"t": 80 if projector else 60})


def activation_table(z: np.ndarray, layer: str, lang: str, projector: bool = False) -> go.Figure:
    """The course's six activations: f(z) on top, f'(z) below, one column each, with this digit's
    pre-activations `z` (any shape) of `layer` as ticks under each derivative (those outside the
    plotted range drawn at its edge)."""
    names = activations.COURSE
    cols = 3 if projector else 6
    rows = 2 * (len(names) // cols)
    titles = []
    for block in range(rows // 2):
        chunk = names[block * cols:(block + 1) * cols]
        titles += [f"f = {activations.LABELS[name]}" for name in chunk]
        titles += [f"f′ ({activations.LABELS[name]})" for name in chunk]
    layout = grid(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.04, vertical_spacing=0.1)
    grid_z = np.linspace(*Z_RANGE, 241)
    values = np.clip(np.asarray(z, dtype=float).ravel(), *Z_RANGE)
    data = []
    for k, name in enumerate(names):
        entry = activations.TABLE[name]
        cell = 2 * (k // cols) * cols + k % cols + 1     # f(z) in subplot `cell`, f'(z) in the one below
        top, below = _axis(cell), _axis(cell + cols)
        data += [
            dict(type="scatter", x=grid_z, y=entry.f(grid_z), mode="lines", line=dict(color=CATEGORICAL[0]),
                 showlegend=False, hovertemplate=_hover("gradients.fig.hover_f", lang),
                 xaxis=f"x{top}", yaxis=f"y{top}"),
            dict(type="scatter", x=grid_z, y=entry.derivative(grid_z), mode="lines", line=dict(color=CATEGORICAL[1]),
                 showlegend=False, hovertemplate=_hover("gradients.fig.hover_fprime", lang),
                 xaxis=f"x{below}", yaxis=f"y{below}"),
            dict(type="scatter", x=values, y=entry.derivative(values), mode="markers", showlegend=False,
                 marker=dict(color=ACCENT, size=8, opacity=0.4, symbol="line-ns-open"),
                 hovertemplate=_hover("gradients.fig.hover_unit_z", lang, layer=layer),
                 xaxis=f"x{below}", yaxis=f"y{below}"),
        ]
        for n in (top, below):
            layout[f"xaxis{n}"].update(range=list(Z_RANGE), dtick=3)
        layout[f"yaxis{below}"].update(range=[-0.1, 1.15])
    # room for the first row's panel titles
    return figure(data, layout, projector, 230 * rows, {"t": 60 if projector else 40})


def depth_norms(results: list[DepthGradients], lang: str, projector: bool = False) -> go.Figure:
    """|dL/dW| of every Dense layer of the deep MLP, input side on the left, one line per variant,
    log axis: a line falling to the left is a vanishing gradient."""
    data = [dict(type="scatter", x=list(r.layer_names), y=r.norms, mode="lines+markers",
                 name=t(f"gradients.variant.{r.variant}", lang), line=dict(color=VARIANT_COLOURS[r.variant]),
                 hovertemplate=_hover("gradients.fig.hover_layer_norm", lang)) for r in results]
    fig = go.Figure(data=data, layout=dict(
        title=dict(text=t("gradients.fig.depth_title", lang)),
        xaxis=dict(title=dict(text=t("gradients.fig.layer", lang)), type="category"),
        yaxis=log_axis([r.norms for r in results], t("gradients.fig.norm", lang)),
        legend=dict(orientation="h", x=0, y=-0.3)))
    return style(fig, projector, height=380)


def row_norms(norms: dict[str, np.ndarray], fits: dict[str, GeometricFit], labels: dict[str, str], lang: str,
              projector: bool = False) -> go.Figure:
    """Per-row input gradient norms (markers) and their fitted scale * gamma^(T - t) (dashed), one
    colour per model, rows 1..T, log axis."""
    data = []
    for name, values in norms.items():
        rows = np.arange(1, len(values) + 1)
        colour = MODEL_COLOURS.get(name, CATEGORICAL[4])
        data.append(dict(type="scatter", x=rows, y=values, mode="lines+markers", name=labels[name],
                         line=dict(color=colour, width=1.5), marker=dict(size=6, color=colour),
                         hovertemplate=_hover("gradients.fig.hover_row_norm", lang)))
        if name in fits:
            data.append(dict(type="scatter", x=rows, y=fits[name](rows), mode="lines", showlegend=False,
                             line=dict(color=colour, dash="dash", width=2), hoverinfo="skip",
                             name=t("gradients.fig.fit", lang, gamma=fits[name].gamma)))
    fig = go.Figure(data=data, layout=dict(
        title=dict(text=t("gradients.fig.rows_title", lang)),
        xaxis=dict(title=dict(text=t("gradients.fig.row", lang)), range=[0.5, 28.5], dtick=3 if projector else 1),
        yaxis=log_axis(list(norms.values()), t("gradients.fig.row_norm", lang)),
        legend=dict(orientation="h", x=0, y=-0.3)))
    return style(fig, projector, height=400)


def jacobian_norms(layers: list[LayerBackprop], products: list[np.ndarray], lang: str,
                   projector: bool = False) -> go.Figure:
    """Per SimpleRNN layer: the spectral norm of each step's recurrent Jacobian J_t = diag(f'(z_t)) U^T
    at rows 2..T (solid; row 1's multiplies the zero initial state) and, from `products` (one
    `LayerBackprop.product_norms()` per layer), of dh_T/dh_k = J_T ... J_{k+1} at rows k = 1..T
    (dashed), with the line at 1, log axis."""
    data = []
    for k, (layer, product) in enumerate(zip(layers, products)):
        steps = len(layer.jacobian_norms)
        data.append(dict(type="scatter", x=np.arange(2, steps + 1), y=layer.jacobian_norms[1:], mode="lines+markers",
                         name=t("gradients.fig.step_jacobian", lang, layer=layer.layer_name),
                         line=dict(color=CATEGORICAL[k]), hovertemplate=_hover("gradients.fig.hover_jacobian", lang)))
        data.append(dict(type="scatter", x=np.arange(1, steps + 1), y=product, mode="lines",
                         name=t("gradients.fig.product_jacobian", lang, layer=layer.layer_name, steps=steps),
                         line=dict(color=CATEGORICAL[k], dash="dash"),
                         hovertemplate=_hover("gradients.fig.hover_product", lang, steps=steps)))
    fig = go.Figure(data=data, layout=dict(
        title=dict(text=t("gradients.fig.jacobian_title", lang)),
        xaxis=dict(title=dict(text=t("gradients.fig.row", lang)), range=[0.5, 28.5], dtick=3 if projector else 1),
        yaxis=log_axis([v for layer, product in zip(layers, products) for v in (layer.jacobian_norms, product)],
                       t("gradients.fig.spectral", lang)),
        shapes=[dict(type="line", x0=0, x1=1, xref="x domain", y0=1, y1=1, yref="y",
                     line=dict(color="#888888", dash="dot", width=2))],
        legend=dict(orientation="h", x=0, y=-0.3)))
    return style(fig, projector, height=400)


def scaled_row_norms(norms: dict[float, np.ndarray], chosen: float, lang: str, projector: bool = False) -> go.Figure:
    """The SimpleRNN's per-row input gradient norms with its recurrent kernels scaled by each factor
    in `norms` (a copy of the weights), the `chosen` factor drawn thick, log axis."""
    data = []
    for k, (scale, values) in enumerate(sorted(norms.items())):
        picked = np.isclose(scale, chosen)
        data.append(dict(type="scatter", x=np.arange(1, len(values) + 1), y=values, mode="lines",
                         name=f"× {scale:g}", line=dict(color=ACCENT if picked else TEN_CLASSES[k % 10]),
                         opacity=1.0 if picked else 0.6,
                         hovertemplate=_hover("gradients.fig.hover_scaled", lang, scale=scale)))
    fig = go.Figure(data=data, layout=dict(
        title=dict(text=t("gradients.fig.scaled_title", lang)),
        xaxis=dict(title=dict(text=t("gradients.fig.row", lang)), range=[0.5, 28.5], dtick=3 if projector else 1),
        yaxis=log_axis(list(norms.values()), t("gradients.fig.row_norm", lang)),
        legend=dict(x=1.01, xanchor="left", y=0.5, title=dict(text="U ×"))))
    style(fig, projector, height=400)
    for trace, scale in zip(fig.data, sorted(norms)):   # after the projector style, which thickens every line
        trace.line.width = (7 if projector else 4) if np.isclose(scale, chosen) else (2.5 if projector else 1.5)
    return fig


def training_curves(curves: list[TrainingCurve], lang: str, projector: bool = False) -> go.Figure:
    """Each variant's mini-batch loss over its plain-SGD steps; the dotted line is log 10, the loss
    of a network that gives every class 1/10."""
    data = [dict(type="scatter", x=np.arange(1, len(c.losses) + 1), y=c.losses, mode="lines",
                 name=t(f"gradients.variant.{c.variant}", lang), line=dict(color=VARIANT_COLOURS[c.variant]),
                 hovertemplate=_hover("gradients.fig.hover_loss", lang)) for c in curves]
    fig = go.Figure(data=data, layout=dict(
        title=dict(text=t("gradients.fig.train_title", lang)),
        xaxis=dict(title=dict(text=t("gradients.fig.step", lang))),
        yaxis=dict(title=dict(text=t("gradients.fig.loss", lang)), rangemode="tozero"),
        shapes=[dict(type="line", x0=0, x1=1, xref="x domain", y0=float(np.log(10)), y1=float(np.log(10)), yref="y",
                     line=dict(color="#888888", dash="dot", width=2))],
        legend=dict(orientation="h", x=0, y=-0.3)))
    return style(fig, projector, height=360)
