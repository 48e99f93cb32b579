"""Gradients: backpropagation through the MLP number by number, the activation functions and their
derivatives, vanishing gradients with depth, gradients through time, exploding and clipping, all
for the current digit and a chosen target label. Everything per input is cached (st.cache_data):
the page reruns on every widget change, and only the views whose inputs changed recompute."""
from __future__ import annotations

import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import hashlib
import json

import keras
import numpy as np
import streamlit as st

from explain import gradients, through_time, vanishing
from explain.data import load_mnist
from explain.activations import COURSE, LABELS, TABLE, flat_share
from explain.figures import gradients as figures
from explain.inference import probabilities
from explain.models import MODELS_DIR
from explain.preprocess import to_mnist_batch
from pages.shared import (UPLOADED, compared_models, current_digit, lang, model_label, model_or_error,
                          projector, shipped_model, show_chart, t, test_split, uploaded_model)
from pages.style import secondary

THROUGH_TIME = ("rnn", "lstm", "gru")
SCALES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
SGD_RATE = 0.01         # the learning rate of the illustrated plain SGD step
BATCH = 63              # test digits sent with the drawn one through the batch-normalised network
TRAIN_STEPS, TRAIN_BATCH, TRAIN_RATE = 100, 64, 0.1     # the deep MLPs' brief training
IMAGE_UNITS = 4


# ---- cached computations (per digit and target) --------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=32)
def mlp_backprop(x28: np.ndarray, label: int) -> tuple[list[gradients.DenseBackprop], float]:
    """The MLP's backpropagation and its largest difference from TensorFlow's own gradients."""
    model = shipped_model("mlp")
    steps = gradients.mlp_backprop(model, x28, label)
    return steps, gradients.largest_difference_from_tape(model, x28, label, steps)


@st.cache_data(show_spinner=False, max_entries=32)
def depth_gradients(x28: np.ndarray, label: int) -> list[vanishing.DepthGradients]:
    others = to_mnist_batch(test_split().x[:BATCH])
    return [vanishing.layer_gradients(model, x28, label, others) for model in vanishing.deep_networks().values()]


@st.cache_data(show_spinner=False)
def training_curves() -> list[vanishing.TrainingCurve]:
    """The same for every digit and session: trained once per server, when first asked for."""
    train = load_mnist().train
    x = to_mnist_batch(train.x[:TRAIN_STEPS * TRAIN_BATCH])
    return [vanishing.train_briefly(v, x, train.y[:len(x)], TRAIN_STEPS, TRAIN_BATCH, TRAIN_RATE)
            for v in vanishing.VARIANTS]


@st.cache_data(show_spinner=False, max_entries=32)
def row_norms(name: str, x28: np.ndarray, label: int) -> np.ndarray:
    return gradients.row_gradients(shipped_model(name), x28, label)


@st.cache_data(show_spinner=False, max_entries=64)
def rnn_backprop(x28: np.ndarray, label: int, scale: float) -> through_time.RNNBackprop:
    return through_time.rnn_backprop(shipped_model("rnn"), x28, label, recurrent_scale=scale)


@st.cache_data(show_spinner=False, max_entries=32)
def jacobian_products(x28: np.ndarray, label: int) -> list[np.ndarray]:
    return [layer.product_norms() for layer in rnn_backprop(x28, label, 1.0).layers]


@st.cache_data(show_spinner=False)
def test_accuracy(name: str) -> float | None:
    card = MODELS_DIR / f"{name}.json"
    return json.loads(card.read_text())["test_accuracy"] if card.exists() else None


# ---- helpers ---------------------------------------------------------------------------------------

def _tex(x: float) -> str:
    r"""A number with three significant digits for a LaTeX table cell: 0.137, -4.32 \cdot 10^{-4}."""
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return rf"{mantissa}\!\cdot\!10^{{{int(exponent)}}}"


def _num_tex(x: float) -> str:
    """`_tex` in parentheses when negative, for a product."""
    return f"({_tex(x)})" if x < 0 else _tex(x)


def concept(name: str, **values) -> None:
    with st.expander(t(f"gradients.concept.{name}.title")):
        st.markdown(t(f"gradients.concept.{name}.body", **values))


def target_ui(digit, prediction: int) -> int:
    """The target label: the true label for a test digit, else the prediction, until changed; a new
    digit resets it."""
    default = digit.label if digit.label is not None else prediction
    signature = hashlib.sha1(np.ascontiguousarray(digit.x28).tobytes()).hexdigest()
    if st.session_state.get("gradients_digit") != signature:
        st.session_state.gradients_digit = signature
        st.session_state.gradients_label = default
        st.session_state.pop("gradients_unit", None)
        st.session_state.pop("gradients_units", None)
    return int(st.segmented_control(t("gradients.target"), list(range(10)), key="gradients_label",
                                    help=t("gradients.target_help"), required=True))


# ---- 1. backpropagation through the MLP ------------------------------------------------------------

def backprop_ui(steps: list[gradients.DenseBackprop], difference: float, label: int) -> None:
    hidden, output = steps[0], steps[-1]
    st.header(t("gradients.backprop.header"))
    if uploaded_model() is not None:
        shape = " → ".join(str(n) for n in (hidden.kernel.shape[0], *(step.kernel.shape[1] for step in steps)))
        st.caption(t("gradients.backprop.own", model=model_label(UPLOADED), shape=shape,
                     time=t("gradients.time.header")))
    p = output.a
    loss = gradients.cross_entropy(p, label)
    left, right = (st.container(), st.container()) if projector() else st.columns([1, 1])
    with left:
        st.markdown(t("gradients.backprop.loss", label=label))
        st.latex(rf"L = -\log p_{{{label}}} = -\log {p[label]:.4f} = {loss:.4f}")
        st.markdown(t("gradients.backprop.output_error"))
        st.latex(r"\delta^{(2)} = \frac{\partial L}{\partial z^{(2)}} = p - y")
        st.caption(t("gradients.backprop.output_caption", label=label, delta=float(output.delta[label])))
    with right:
        show_chart(figures.output_error(p, label, lang(), projector()), "gradients-output-error")
    by_size = [int(j) for j in np.argsort(-np.abs(hidden.delta))]
    st.session_state.setdefault("gradients_unit", by_size[0])
    with secondary("gradients_unit"):       # projector mode keeps the unit with the largest error term
        unit = st.selectbox(t("gradients.backprop.unit"), range(len(hidden.z)), key="gradients_unit",
                            help=t("gradients.backprop.unit_help", units=len(hidden.z), layer=hidden.layer_name))
    hidden_ui(hidden, output, unit)
    st.subheader(t("gradients.backprop.images_header", layer=hidden.layer_name))
    rows, cols = hidden.weight_gradient.shape
    st.latex(rf"\frac{{\partial L}}{{\partial W^{{(1)}}}} = x\,\big(\delta^{{(1)}}\big)^{{\top}}"
             rf"\quad ({rows} \times 1)\,(1 \times {cols}) = {rows} \times {cols}")
    st.session_state.setdefault("gradients_units", by_size[:IMAGE_UNITS])
    with secondary("gradients_units"):
        units = st.multiselect(t("gradients.backprop.units"), range(len(hidden.z)), key="gradients_units",
                               max_selections=IMAGE_UNITS) or [unit]
    show_chart(figures.unit_images(hidden.kernel, hidden.weight_gradient, hidden.delta, units, lang(), projector()),
               "gradients-unit-images")
    st.caption(t("gradients.backprop.images_caption", rate=SGD_RATE))
    st.success(t("gradients.backprop.proof", difference=difference))


def hidden_ui(hidden: gradients.DenseBackprop, output: gradients.DenseBackprop, unit: int) -> None:
    st.subheader(t("gradients.backprop.hidden_header", unit=unit, layer=hidden.layer_name))
    z, w, d = float(hidden.z[unit]), output.kernel[unit], output.delta
    fprime = float(TABLE[hidden.activation].derivative(np.array(z)))
    total = float(w @ d)
    st.latex(r"\delta^{(1)}_j = f'(z^{(1)}_j)\,\sum_k W^{(2)}_{jk}\,\delta^{(2)}_k")
    # The ten terms as rows, in two blocks side by side (one block in projector mode's large type):
    # ten columns of numbers do not fit a screen.
    half = len(d) if projector() else (len(d) + 1) // 2
    head = rf"k & W^{{(2)}}_{{{unit}k}} & \delta^{{(2)}}_k & W^{{(2)}}_{{{unit}k}}\delta^{{(2)}}_k"
    rows = [" && ".join(f"{k} & {_tex(float(w[k]))} & {_tex(float(d[k]))} & {_tex(float(w[k] * d[k]))}"
                        for k in (r, r + half) if k < len(d)) for r in range(half)]
    heads = f"{head} && {head}" if half < len(d) else head
    st.latex(rf"\begin{{array}}{{rrrrcrrrr}} {heads} \\ \hline " + r" \\ ".join(rows) + r" \end{array}")
    f = LABELS[hidden.activation]
    st.latex(rf"z^{{(1)}}_{{{unit}}} = {z:.4f} \;\Rightarrow\; \operatorname{{{f}}}'(z) = {fprime:.4g}")
    st.latex(rf"\delta^{{(1)}}_{{{unit}}} = {fprime:.4g} \times \sum_k W^{{(2)}}_{{{unit}k}}\,\delta^{{(2)}}_k "
             rf"= {fprime:.4g} \times {_num_tex(total)} = {_tex(float(hidden.delta[unit]))}")
    pixel = int(np.argmax(hidden.inputs))
    grad = float(hidden.weight_gradient[pixel, unit])
    st.latex(rf"\frac{{\partial L}}{{\partial W^{{(1)}}_{{{pixel},{unit}}}}} = x_{{{pixel}}}\,\delta^{{(1)}}_{{{unit}}}"
             rf" = {hidden.inputs[pixel]:.3f} \times {_num_tex(float(hidden.delta[unit]))} = {_tex(grad)}")
    st.caption(t("gradients.backprop.hidden_caption", pixel=pixel, row=pixel // 28 + 1, col=pixel % 28 + 1,
                 dead=int((hidden.z <= 0).sum()), units=len(hidden.z)))


# ---- 2. activation functions ---------------------------------------------------------------------

def activations_ui(steps: list[gradients.DenseBackprop], rnn: through_time.RNNBackprop | None) -> None:
    st.header(t("gradients.act.header"))
    sources = {f"{t('model.name.mlp')} · {steps[0].layer_name}": (steps[0].z, steps[0].activation)}
    if rnn is not None:
        sources.update({f"{t('model.name.rnn')} · {layer.layer_name}": (layer.z, layer.activation)
                        for layer in rnn.layers})
    with secondary("gradients_act_layer"):
        name = st.radio(t("gradients.act.layer"), list(sources), horizontal=True, key="gradients_act_layer")
    z, own = sources.get(name, next(iter(sources.values())))
    show_chart(figures.activation_table(z, name, lang(), projector()), "gradients-activations")
    shares = {f: flat_share(f, z) for f in COURSE}
    st.markdown(t("gradients.act.flat", layer=name, count=z.size, own=LABELS[own],
                  shares=" · ".join(f"{LABELS[f]} {share:.0%}" for f, share in shares.items())))
    st.caption(t("gradients.act.caption"))
    concept("relu")


# ---- 3. vanishing with depth ---------------------------------------------------------------------

def depth_ui(results: list[vanishing.DepthGradients]) -> None:
    st.header(t("gradients.depth.header"))
    st.markdown(t("gradients.depth.intro", depth=vanishing.DEPTH, width=vanishing.WIDTH, seed=vanishing.SEED,
                  batch=BATCH))
    show_chart(figures.depth_norms(results, lang(), projector()), "gradients-depth")
    for column, result in zip(st.columns(len(results)), results):
        with column:
            st.metric(t(f"gradients.variant.{result.variant}"), f"{result.first_to_last:.2g}",
                      help=t("gradients.depth.ratio_help", first=result.layer_names[0], last=result.layer_names[-1]),
                      border=True)
    sizes = [" × ".join(map(str, w.shape)) for w in vanishing.deep_networks()["relu"].get_weights() if w.ndim == 2]
    st.caption(t("gradients.depth.caption", first=results[0].layer_names[0], last=results[0].layer_names[-1],
                 first_size=sizes[0], last_size=sizes[-1]))
    if st.button(t("gradients.depth.train", steps=TRAIN_STEPS), key="gradients_train",
                 help=t("gradients.depth.train_help", steps=TRAIN_STEPS, batch=TRAIN_BATCH, rate=TRAIN_RATE)):
        st.session_state.gradients_trained = True
    if st.session_state.get("gradients_trained"):
        with st.spinner(t("gradients.depth.training")):
            curves = training_curves()
        show_chart(figures.training_curves(curves, lang(), projector()), "gradients-training")
        st.caption(t("gradients.depth.train_caption", steps=TRAIN_STEPS, batch=TRAIN_BATCH, rate=TRAIN_RATE,
                     losses=" · ".join(f"{t(f'gradients.variant.{c.variant}')} {c.losses[:10].mean():.2f} → "
                                       f"{c.losses[-10:].mean():.2f}" for c in curves)))
    concept("bn")


# ---- 4. through time -------------------------------------------------------------------------------

def through_time_ui(x28: np.ndarray, label: int, rnn: through_time.RNNBackprop | None) -> None:
    st.header(t("gradients.time.header"))
    available = [name for name in THROUGH_TIME if not isinstance(shipped_model(name), Exception)]
    # The SimpleRNN's norms from the numpy backpropagation the page already ran (equal to GradientTape's,
    # tests/test_through_time.py): one traced gradient fewer on a first visit.
    norms = {name: rnn.row_norms if name == "rnn" and rnn is not None else row_norms(name, x28, label)
             for name in available}
    names = {name: t(f"model.name.{name}") for name in available}
    own = uploaded_model()
    if own is not None and gradients.reads_rows(own):  # not cached: st.cache_data is shared by every session
        norms[UPLOADED], names[UPLOADED] = gradients.row_gradients(own, x28, label), model_label(UPLOADED)
    elif own is not None:
        st.info(t("gradients.time.unfit", model=model_label(UPLOADED)))
    fits = {name: through_time.fit_gamma(values) for name, values in norms.items() if np.all(values > 0)}
    show_chart(figures.row_norms(norms, fits, names, lang(), projector()), "gradients-rows")
    rows = [{t("gradients.time.model"): names[name],
             "γ": f"{fit.gamma:.4f}",
             t("gradients.time.first_last"): f"{norms[name][0] / norms[name][-1]:.3g}",
             t("gradients.time.accuracy"): "–" if test_accuracy(name) is None else f"{test_accuracy(name):.1%}"}
            for name, fit in fits.items()]
    st.table(rows)
    st.caption(t("gradients.time.caption"))
    if rnn is not None and "rnn" in fits:
        formula_ui(rnn, jacobian_products(x28, label), fits["rnn"])
    for name in THROUGH_TIME:
        if name not in available:
            model_or_error(name)
    concept("gates")


def formula_ui(rnn: through_time.RNNBackprop, products: list[np.ndarray], fit: through_time.GeometricFit) -> None:
    st.subheader(t("gradients.time.formula_header"))
    st.latex(r"\delta_{T,k} = \prod_{i=k+1}^{T} \big(\operatorname{diag}(f'(z_i))\,U^\top\big)\,\delta_{T,T}"
             r"\;\approx\; \gamma^{\,T-k}\,\delta_{T,T}")
    steps = fit.steps
    st.latex(rf"\gamma = {fit.gamma:.4f}: \quad \gamma^{{{steps - 1}}} = {_tex(fit.gamma ** (steps - 1))}"
             rf"\qquad \frac{{\lVert\partial L/\partial x_1\rVert}}{{\lVert\partial L/\partial x_{{{steps}}}\rVert}}"
             rf" = {_tex(rnn.row_norms[0] / rnn.row_norms[-1])}")
    st.caption(t("gradients.time.formula_caption", gamma=fit.gamma, steps=steps, power=steps - 1))
    show_chart(figures.jacobian_norms(list(rnn.layers), products, lang(), projector()), "gradients-jacobians")
    means = " · ".join(f"{layer.layer_name} {float(np.exp(np.log(layer.jacobian_norms[1:]).mean())):.3f}"
                       for layer in rnn.layers)
    at_first = " · ".join(f"{layer.layer_name} {product[0]:.3g}" for layer, product in zip(rnn.layers, products))
    st.caption(t("gradients.time.jacobian_caption", means=means, products=at_first, steps=fit.steps))


# ---- 5. exploding and clipping ---------------------------------------------------------------------

def clipping_ui(x28: np.ndarray, label: int) -> None:
    st.header(t("gradients.clip.header"))
    st.markdown(t("gradients.clip.intro"))
    scale = st.select_slider(t("gradients.clip.scale"), options=[s / 4 for s in range(2, 13)], value=1.0,
                             key="gradients_scale", format_func=lambda s: f"× {s:g}")
    by_scale = {s: rnn_backprop(x28, label, s).row_norms for s in sorted({*SCALES, scale})}
    show_chart(figures.scaled_row_norms(by_scale, scale, lang(), projector()), "gradients-scaled")
    result = rnn_backprop(x28, label, scale)
    st.markdown(t("gradients.clip.ratio", scale=scale, ratio=float(result.row_norms[0] / result.row_norms[-1]),
                  loss=result.loss))
    rows = []
    limits = dict(clipnorm=through_time.CLIPNORM, clipvalue=through_time.CLIPVALUE)
    for c in through_time.clip(result.weight_gradients()):
        if projector() and c.name.endswith("/bias"):     # the large type fits the weight matrices only
            continue
        raw, by_norm, by_value = c.norms
        row = {t("gradients.clip.weight"): c.name, "‖g‖": f"{raw:.4g}",
               t("gradients.clip.by_norm", **limits): f"{by_norm:.4g}",
               t("gradients.clip.by_value", **limits): f"{by_value:.4g}",
               t("gradients.clip.share"): f"{c.clipped_share:.0%}", "cos": f"{c.by_value_cosine:.3f}",
               t("gradients.clip.step", **limits): f"{SGD_RATE * np.abs(c.raw).max():.3g} → "
                                                  f"{SGD_RATE * np.abs(c.by_norm).max():.3g} / "
                                                  f"{SGD_RATE * np.abs(c.by_value).max():.3g}"}
        if projector():
            row.pop(t("gradients.clip.share"))
            row.pop("cos")
        rows.append(row)
    st.table(rows)
    st.caption(t("gradients.clip.caption", clipnorm=through_time.CLIPNORM, clipvalue=through_time.CLIPVALUE,
                 rate=SGD_RATE))
    concept("regularisation")


# ---- the page ----------------------------------------------------------------------------------------

st.title(t("gradients.title"))
st.caption(t("gradients.intro"))
digit = current_digit()
mlp = model_or_error("mlp")
if mlp is None:
    st.stop()
prediction = int(np.argmax(probabilities(compared_models(), digit.x28)["mlp"]))   # the Draw page's compiled call
label = target_ui(digit, prediction)
steps, difference = mlp_backprop(digit.x28, label)
rnn = rnn_backprop(digit.x28, label, 1.0) if not isinstance(shipped_model("rnn"), Exception) else None
backprop_ui(steps, difference, label)
activations_ui(steps, rnn)
depth_ui(depth_gradients(digit.x28, label))
through_time_ui(digit.x28, label, rnn)
if rnn is not None:       # else the through-time view has already said what is wrong with the rnn file
    clipping_ui(digit.x28, label)
# The server's warm-up traces the shipped LSTM's and GRU's row gradients (pages/warmup.py); a visit before it
# got there, and an uploaded model, ran them eagerly (the rnn's come from its numpy backpropagation): with the
# page on screen, trace them for the next target or digit (once per model).
traced = [shipped_model(name) for name in ("lstm", "gru")] + [uploaded_model()]
for model in traced:
    if isinstance(model, keras.Model) and gradients.reads_rows(model):
        gradients.trace_in_background(model)
