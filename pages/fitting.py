"""How a network is fitted, on the MLP and the current digit: the computational graph and reverse
against forward mode, square error against cross-entropy, SGD steps with the epoch / batch /
iteration counters, and L1 / L2 weight regularisation. Every SGD step runs on a copy of the model."""
from __future__ import annotations

import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import numpy as np
import streamlit as st

from explain import autodiff, fitting
from explain.activations import softmax
from explain.figures import fitting as figures
from explain.inference import probabilities as probabilities_of
from pages.shared import (compared_models, current_digit, digit_description, lang, model_or_error, projector,
                          show_chart, t)
from pages.fitting_data import (BATCH, BATCH_SIZES, HELD_OUT, MAX_STEPS, SEED, STEPS, batch, held_out,
                                 training_split)
from pages.style import secondary

RATES = (0.0001, 0.001, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 100.0)
PENALTIES = (0.0, 0.0001, 0.001, 0.01, 0.1)


def number(x: float) -> str:
    return f"{x:g}"


def tex(x: float) -> str:
    """A number for LaTeX, to 4 significant digits: 1.053 \\times 10^{-6} rather than 1.053e-06."""
    text = f"{x:.4g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


# ---- cached computations (per digit and settings; `_model` is the shipped, shared MLP) ---------------

@st.cache_data(show_spinner=False, max_entries=64)
def graph_data(_model, x28: np.ndarray, label: int):
    return autodiff.graph(_model, x28, label)


@st.cache_data(show_spinner=False, max_entries=64)
def tangents(_model, x28: np.ndarray, label: int, pixel: int) -> dict[str, np.ndarray]:
    return autodiff.forward_mode(_model, x28, label, pixel)


@st.cache_data(show_spinner=False, max_entries=16)
def sgd_run(_model, x28: np.ndarray, label: int, start_from: str, batch_size: int, rate: float, steps: int,
            l1: float = 0.0, l2: float = 0.0) -> fitting.Run:
    start = _model.get_weights() if start_from == "trained" else fitting.initial_weights(_model, SEED)
    xs, ys = zip(*(batch(batch_size, k) for k in range(steps)))
    return fitting.run(_model, list(xs), list(ys), rate, steps, l1, l2, start, held_out(),
                       (x28[None], np.array([label])))


# ---- 1. the computational graph ---------------------------------------------------------------------------

def graph_ui(model, x28: np.ndarray, label: int) -> None:
    st.subheader(t("fitting.graph.header"))
    st.markdown(t("fitting.graph.intro"))
    nodes = graph_data(model, x28, label)
    pixel_gradient, delta = nodes[0].gradient, nodes[1].gradient
    # Defaults once per session: the pixel the loss depends on most, the unit carrying most of it.
    best = int(np.argmax(np.abs(pixel_gradient) * (x28.reshape(-1) > 0.5)))
    st.session_state.setdefault("fitting_row", best // 28)
    st.session_state.setdefault("fitting_col", best % 28)
    cols = st.columns(4)
    row = cols[0].slider(t("fitting.graph.row"), 0, 27, key="fitting_row")
    col = cols[1].slider(t("fitting.graph.col"), 0, 27, key="fitting_col")
    pixel = row * 28 + col
    kernel = model.get_layer(nodes[1].layer).kernel.numpy()
    suggested = int(np.argmax(np.abs(kernel[pixel] * delta)))
    unit = cols[2].number_input(t("fitting.graph.unit"), 0, delta.size - 1, suggested, key=f"fitting_unit_{pixel}",
                                help=t("fitting.graph.unit_help", units=delta.size))
    revealed = cols[3].slider(t("fitting.graph.step"), 0, len(nodes), len(nodes), key="fitting_step",
                              help=t("fitting.graph.step_help"))
    forward = tangents(model, x28, label, pixel)
    edges = autodiff.path_derivatives(model, nodes, pixel, unit, label)
    show_chart(figures.graph_figure(nodes, forward, edges, revealed, pixel, unit, label, lang(), projector()),
               "fitting-graph")
    st.caption(t("fitting.graph.caption", pixel=pixel, row=row, col=col, unit=unit, label=label))
    if revealed:
        backward_step_ui(nodes, len(nodes) - revealed, pixel, unit, label)
    picture, text = st.columns([0.45, 0.55] if projector() else [0.35, 0.65])
    with picture:
        show_chart(figures.pixel_gradient_figure(pixel_gradient, pixel, lang(), projector()), "fitting-dL-dx")
        st.caption(t("fitting.fig.pixel_gradient", inputs=pixel_gradient.size))
    with text:
        reverse, fwd = float(pixel_gradient[pixel]), float(forward["L"])
        st.markdown(t("fitting.modes.compare", pixel=pixel, forward=f"{fwd:+.6g}", reverse=f"{reverse:+.6g}",
                      diff=f"{abs(fwd - reverse):.1e}"))
        inputs, one = autodiff.pass_counts(model)
        _, outputs = autodiff.pass_counts(model, model.outputs[0].shape[-1])
        st.markdown(t("fitting.modes.passes", inputs=inputs, forward=inputs, reverse=one, outputs=outputs))
    with st.expander(t("fitting.concept.modes.title")):
        st.markdown(t("fitting.concept.modes.body", inputs=inputs, weights=f"{model.count_params():,}"))


def backward_step_ui(nodes: list[autodiff.Node], index: int, pixel: int, unit: int, label: int) -> None:
    """The chain-rule line of the node the backward pass reached last, in numbers."""
    grad = [n.gradient for n in nodes]
    z1, p = nodes[1].value, nodes[4].value
    hidden = z1.size
    lines = {
        "L": r"\frac{\partial L}{\partial L} = 1",
        "a2": rf"\frac{{\partial L}}{{\partial p_{{{label}}}}} = -\frac{{1}}{{p_{{{label}}}}}"
              rf" = -\frac{{1}}{{{tex(p[label])}}} = {tex(grad[4][label])}",
        "z2": rf"\frac{{\partial L}}{{\partial z^{{2}}_{{{label}}}}} = p_{{{label}}} - 1 = {tex(p[label])} - 1"
              rf" = {tex(grad[3][label])}\qquad \frac{{\partial L}}{{\partial z^2}} = p - y",
        "a1": rf"\frac{{\partial L}}{{\partial h_{{{unit}}}}} = \sum_{{k=0}}^{{9}} W^2_{{{unit},k}}\,"
              rf"\frac{{\partial L}}{{\partial z^2_k}} = {tex(grad[2][unit])}",
        "z1": rf"\frac{{\partial L}}{{\partial z^1_{{{unit}}}}} = \frac{{\partial L}}{{\partial h_{{{unit}}}}}\cdot"
              rf"\mathrm{{ReLU}}'(z^1_{{{unit}}}) = {tex(grad[2][unit])}\cdot {float(z1[unit] > 0):g}"
              rf" = {tex(grad[1][unit])}",
        "x": rf"\frac{{\partial L}}{{\partial x_{{{pixel}}}}} = \sum_{{j=0}}^{{{hidden - 1}}} W^1_{{{pixel},j}}"
             rf"\,\frac{{\partial L}}{{\partial z^1_j}} = {tex(grad[0][pixel])}",
    }
    st.latex(lines[nodes[index].name])


# ---- 2. square error against cross-entropy --------------------------------------------------------------------

def losses_ui(nodes, label: int) -> None:
    st.subheader(t("fitting.loss.header"))
    st.markdown(t("fitting.loss.intro"))
    logits = nodes[3].value
    others = [k for k in range(10) if k != label]
    strongest = max(others, key=lambda k: logits[k])
    cols = st.columns([0.3, 0.7])
    wrong = cols[0].selectbox(t("fitting.loss.wrong"), others, index=others.index(strongest),
                              key=f"fitting_wrong_{label}")
    own = float(logits[wrong])
    low, high = float(np.floor(own - 10)), float(np.ceil(max(own, logits[label]) + 25))
    value = cols[1].slider(t("fitting.loss.logit", k=wrong), low, high, float(round(own, 1)), 0.1,
                           key=f"fitting_logit_{label}_{wrong}")
    sweep = fitting.wrong_logit_sweep(logits, label, wrong, np.linspace(low, high, 141))
    show_chart(figures.losses_figure(sweep, value, own, lang(), projector()), "fitting-losses")
    z = np.array(logits, np.float64)
    z[wrong] = value
    probabilities = softmax(z)
    here = fitting.loss_gradients(probabilities, label)
    ce = (rf"L_{{\mathrm{{CE}}}} &= -\log p_{{{label}}} = {tex(here.cross_entropy)}",
          r"\frac{\partial L_{\mathrm{CE}}}{\partial z} &= p - y")
    se = (rf"L_{{\mathrm{{SE}}}} &= \sum_k (p_k - y_k)^2 = {tex(here.square_error)}",
          r"\frac{\partial L_{\mathrm{SE}}}{\partial z_j} &= 2p_j\Big((p_j - y_j) - \sum_k (p_k - y_k)\,p_k\Big)")
    # Loss and gradient side by side; one below the other on a projector, where the line would not fit.
    rows = [*ce, *se] if projector() else [" & ".join(ce), " & ".join(se)]
    st.latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
    st.markdown(t("fitting.loss.reading", y=label, k=wrong, value=f"{value:.1f}", p=f"{probabilities[label]:.3g}",
                  ce=f"{here.cross_entropy_gradient[label]:+.4g}", se=f"{here.square_error_gradient[label]:+.4g}"))
    with secondary("fitting_loss_table"):
        st.table([{t("fitting.loss.class"): str(k), "z": f"{z[k]:.3f}", "p": f"{probabilities[k]:.4g}",
                   "∂L_CE/∂z": f"{here.cross_entropy_gradient[k]:+.4g}",
                   "∂L_SE/∂z": f"{here.square_error_gradient[k]:+.4g}"}
                  for k in range(10)])


# ---- 3. SGD steps ------------------------------------------------------------------------------------------

def sgd_settings_ui() -> tuple[str, int, float, int]:
    cols = st.columns(4)
    start = cols[0].radio(t("fitting.sgd.start"), ("untrained", "trained"), key="fitting_start",
                          format_func={s: t(f"fitting.sgd.start.{s}") for s in ("untrained", "trained")}.get,
                          help=t("fitting.sgd.start_help"))
    size = cols[1].select_slider(t("fitting.sgd.batch"), BATCH_SIZES, BATCH, key="fitting_batch")
    rate = cols[2].select_slider(t("fitting.sgd.rate"), RATES, 0.1, key="fitting_rate", format_func=number,
                                 help=t("fitting.sgd.rate_help"))
    steps = cols[3].slider(t("fitting.sgd.steps"), 1, MAX_STEPS, STEPS, key="fitting_steps")
    return start, size, rate, steps


def sgd_ui(model, x28: np.ndarray, label: int) -> tuple[str, int, float, int]:
    st.subheader(t("fitting.sgd.header"))
    st.markdown(t("fitting.sgd.intro"))
    start, size, rate, steps = sgd_settings_ui()
    n = len(training_split().y)
    run = sgd_run(model, x28, label, start, size, rate, steps)
    done = len(run.losses)
    where = fitting.counters(max(done, 1), n, size)
    cols = st.columns(4) if not projector() else st.columns(2) + st.columns(2)
    cols[0].metric(t("fitting.sgd.train_digits"), f"{n:,}")
    cols[1].metric(t("fitting.sgd.per_epoch"), f"{where.iterations_per_epoch:,}",
                   help=t("fitting.sgd.per_epoch_help", n=f"{n:,}", batch=size, iterations=where.iterations_per_epoch))
    cols[2].metric(t("fitting.sgd.iteration"), f"{done:,}")
    cols[3].metric(t("fitting.sgd.epoch_batch"), t("fitting.sgd.epoch_batch_value", epoch=where.epoch,
                                                   batch=where.batch, per_epoch=where.iterations_per_epoch))
    if run.first is not None:
        first_step_ui(model, run, rate)
    show_chart(figures.sgd_figure(run.losses, run.held_out, run.probe, lang(), projector()), "fitting-sgd")
    verdict_ui(run, rate)
    st.caption(t("fitting.sgd.caption", held_out=HELD_OUT))
    return start, size, rate, steps


def first_step_ui(model, run: fitting.Run, rate: float) -> None:
    """w <- w - eta * dL/dw for the entry of each weight array that the first step moves most."""
    step = run.first
    names = [v.path for v in model.weights]
    rows = []
    for name, before, gradient, after in zip(names, run.start, step.gradients, step.weights):
        index = np.unravel_index(int(np.argmax(np.abs(gradient))), gradient.shape)
        w, g = float(before[index]), float(gradient[index])
        rows.append({t("fitting.sgd.weight"): f"{name}[{', '.join(map(str, index))}]", "w": f"{w:+.6f}",
                     "∂L/∂w": f"{g:+.6f}", "η·∂L/∂w": f"{rate * g:+.6f}",
                     t("fitting.sgd.after"): f"{float(after[index]):+.6f}"})
    st.markdown(t("fitting.sgd.first", loss=f"{step.loss:.4f}", rate=number(rate), before=f"{run.probe[0]:.4f}",
                  after=f"{run.probe[1]:.4f}"))
    st.table(rows)


def verdict_ui(run: fitting.Run, rate: float) -> None:
    done = len(run.losses)
    values = dict(rate=number(rate), start=f"{run.held_out[0]:.4f}", end=f"{run.held_out[-1]:.4f}",
                  top=f"{run.held_out.max():.4g}", steps=done, step=done + 1)
    kind = fitting.verdict(run)
    show = {"overflow": st.error, "diverged": st.error, "falls": st.success, "flat": st.info}[kind]
    show(t(f"fitting.sgd.{kind}", **values))


# ---- 4. weight regularisation ------------------------------------------------------------------------------

def regularisation_ui(model, x28: np.ndarray, label: int, settings: tuple[str, int, float, int]) -> None:
    st.subheader(t("fitting.reg.header"))
    st.markdown(t("fitting.reg.intro"))
    # The L1 and L2 runs are two more SGD runs: computed when the student opens them, not on every
    # first visit of the page (they were about half of its work).
    runs = st.expander(t("fitting.reg.open"), key="fitting_reg_open", on_change="rerun")
    with runs:
        if runs.open:
            regularised_runs_ui(model, x28, label, settings)
    with st.expander(t("fitting.concept.reg.title")):
        st.markdown(t("fitting.concept.reg.body"))


def regularised_runs_ui(model, x28: np.ndarray, label: int, settings: tuple[str, int, float, int]) -> None:
    """The runs without a penalty, with L1 and with L2: their losses, penalties and first-layer weights."""
    start, size, rate, steps = settings
    cols = st.columns(2)
    l1 = cols[0].select_slider(t("fitting.reg.l1"), PENALTIES, 0.01, key="fitting_l1", format_func=number)
    l2 = cols[1].select_slider(t("fitting.reg.l2"), PENALTIES, 0.1, key="fitting_l2", format_func=number)
    runs = {"none": sgd_run(model, x28, label, start, size, rate, steps),
            "l1": sgd_run(model, x28, label, start, size, rate, steps, l1=l1),
            "l2": sgd_run(model, x28, label, start, size, rate, steps, l2=l2)}
    near = rate * l1
    rows = []
    for name, run in runs.items():
        if not len(run.losses):
            continue
        rows.append({t("fitting.reg.run"): t(f"fitting.reg.run.{name}"),
                     t("fitting.reg.loss"): f"{run.losses[-1]:.4f}",
                     t("fitting.reg.penalty"): f"{run.penalties[-1]:.4f}",
                     t("fitting.reg.loss_share"): f"{run.penalties[-1] / run.losses[-1]:.1%}",
                     t("fitting.reg.gradient_share"): f"{run.penalty_shares[-1]:.1%}",
                     t("fitting.reg.held_out"): f"{run.held_out[-1]:.4f}"})
        if near:
            rows[-1][t("fitting.reg.near_zero", near=number(near))] = f"{np.mean(np.abs(run.kernel) < near):.1%}"
    st.table(rows)
    titles = {name: t(f"fitting.reg.title.{name}", l1=number(l1), l2=number(l2)) for name in runs}
    show_chart(figures.histogram_figure(runs["none"].start[0], {k: r.kernel for k, r in runs.items()}, titles,
                                        lang(), projector()), "fitting-weights")
    st.caption(t("fitting.reg.caption", steps=steps, rate=number(rate), l1=number(l1), l2=number(l2),
                 shrink=f"{1 - 2 * rate * l2:.4g}", move=f"{rate * l1:.1e}"))


st.title(t("nav.fitting"))
model = model_or_error("mlp")
if model is not None:
    digit = current_digit()
    x28 = np.asarray(digit.x28, np.float32)
    probabilities = probabilities_of(compared_models(), x28)["mlp"]   # the Draw page's compiled call, no new trace
    best = int(np.argmax(probabilities))
    st.caption(t("fitting.showing", description=digit_description(digit), digit=best, p=float(probabilities[best])))
    default = digit.label if digit.label is not None else best
    label = st.selectbox(t("fitting.target"), range(10), index=default, key=f"fitting_target_{default}",
                         help=t("fitting.target_help"))
    graph_ui(model, x28, label)
    losses_ui(graph_data(model, x28, label), label)
    settings = sgd_ui(model, x28, label)
    regularisation_ui(model, x28, label, settings)
