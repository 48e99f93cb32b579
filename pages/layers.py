"""Dropout and batch normalisation, the layers that act differently in training and at inference: the
thinned networks dropout samples for the current digit, one real SGD step through one of them, where
dropout sits in the homework LSTM; batch normalisation's formula with the digit's numbers, and the
digit in a mini-batch of test digits in training mode against alone in inference mode. Every SGD
step runs on a copy of the model, and batch norm's training mode never touches the moving averages."""
import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import keras
import numpy as np
import streamlit as st

from explain import batchnorm, dropout, inference
from explain.figures import batchnorm as bn_figures
from explain.figures import dropout as figures
from pages import layers_data
from pages.fitting_data import training_split
from pages.layers_data import SEED, SGD_RATE, SGD_STEPS, card_batch_size, sgd
from pages.shared import current_digit, digit_description, lang, model_or_error, projector, show_chart, t
from pages.style import secondary

LEARNING_RATES = (0.01, 0.05, 0.1, 0.5)
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128)
MATES = ("random", "class", "copies")
SWEEP_REPEATS = 5


def concept(name: str, **values) -> None:
    with st.expander(t(f"layers.concept.{name}.title")):
        st.markdown(t(f"layers.concept.{name}.body", **values))


def pair(ratio: list[int]) -> tuple:
    """Two columns; in projector mode two full-width blocks, one above the other."""
    return (st.container(), st.container()) if projector() else st.columns(ratio)


# ---- cached computations (per input; the models are excluded from the hash by their leading _) -------

@st.cache_data(show_spinner=False, max_entries=32)
def thinned(_model, model_name: str, x28: np.ndarray, n: int, seed: int, layer: str | None) -> dropout.ThinnedNetworks:
    return dropout.thinned_networks(_model, x28, n, seed, layer)


# ---- dropout --------------------------------------------------------------------------------------

def answer_text(tn: dropout.ThinnedNetworks) -> str:
    votes = t("layers.list_sep").join(t("layers.thinned.vote", digit=d, count=int(c))
                                      for d, c in enumerate(tn.votes) if c)
    mean, inf = int(tn.average.argmax()), int(tn.inference.argmax())
    return t("layers.thinned.answers", n=len(tn.masks), votes=votes, mean=mean, p_mean=float(tn.average[mean]),
             inf=inf, p_inf=float(tn.inference[inf]), gap=float(np.abs(tn.average - tn.inference).max()),
             low=float(tn.probabilities[:, mean].min()), high=float(tn.probabilities[:, mean].max()))


def _scientific(x: float) -> str:
    """3.4 × 10^38 (to be turned into superscripts)."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} × 10^{int(exponent)}"


def _superscript(text: str) -> str:
    """"2^128" -> "2¹²⁸": Streamlit's markdown has no superscript of its own."""
    base, _, power = text.partition("^")
    return base + power.translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def seed_ui(key: str, column) -> int:
    with column, secondary(key):
        return int(st.number_input(t("layers.seed"), 0, 9999, SEED, key=key, help=t("layers.seed_help")))


def thinned_ui(model, x28: np.ndarray) -> dropout.ThinnedNetworks:
    st.subheader(t("layers.thinned.header"))
    left, right = st.columns([3, 1])
    n = left.slider(t("layers.thinned.n"), 1, 64, 16, key="layers_masks")
    seed = seed_ui("layers_mask_seed", right)
    tn = thinned(model, "mlp", x28, n, seed, None)
    units = tn.masks.shape[1]
    st.markdown(t("layers.thinned.intro", layer=tn.layer_name, rate=tn.rate, keep=1 - tn.rate, units=units,
                  scale=1 / (1 - tn.rate), kept=units * (1 - tn.rate)))
    show_chart(figures.masks_figure(tn, lang(), projector()), "dropout-masks")
    charts, words = pair([3, 2])
    with charts:
        show_chart(figures.answers_figure(tn, lang(), projector()), "dropout-answers")
    with words:
        st.markdown(answer_text(tn))
        st.success(t("layers.thinned.check", layer=tn.layer_name, seed=int(tn.seeds[0]),
                     diff=dropout.layer_difference(tn, 0)))
    concept("average", rate=tn.rate, scale=1 / (1 - tn.rate), gap=float(np.abs(tn.average - tn.inference).max()),
            n=len(tn.masks))
    return tn


def step_rows(model, steps: list[dropout.SGDStep], where: dropout.DropoutLayer) -> str:
    """A markdown table: per step, the kept and dropped units, how many weights changed, how many
    stayed exactly the same because their unit was dropped, and the loss before and after."""
    header = [t(f"layers.sgd.col.{k}") for k in ("step", "kept", "changed", "dropped_weights", "other", "loss")]
    lines = [f"| {' | '.join(header)} |", "|---:|---:|---:|---:|---:|---|"]
    before, after = model.get_layer(where.after), model.get_layer(where.before)
    per_unit = before.kernel.shape[0] + 1 + after.kernel.shape[1]    # incoming weights, bias, outgoing weights
    for k, step in enumerate(steps, start=1):
        total = sum(c.size for c in step.changes.values())
        changed = sum(int(np.count_nonzero(c)) for c in step.changes.values())
        frozen = int((~step.mask).sum()) * per_unit
        lines.append(f"| {k} | {int(step.mask.sum())} / {step.mask.size} | {changed:,} / {total:,} | {frozen:,} | "
                     f"{total - changed - frozen:,} | {step.loss_before:.4f} → {step.loss_after:.4f} |")
    return "\n".join(lines)


def sgd_ui(model) -> None:
    st.subheader(t("layers.sgd.header"))
    st.markdown(t("layers.sgd.intro", n=len(training_split().y)))
    cols = st.columns(4)
    default_batch = card_batch_size("mlp")
    batch_size = cols[0].select_slider(t("layers.sgd.batch"), (16, 32, 64, 128), default_batch, key="layers_batch",
                                       help=t("layers.sgd.batch_help", batch=default_batch))
    n_steps = cols[1].slider(t("layers.sgd.steps"), 1, 6, SGD_STEPS, key="layers_steps")
    learning_rate = cols[2].select_slider(t("layers.sgd.lr"), LEARNING_RATES, SGD_RATE, key="layers_lr")
    seed = seed_ui("layers_sgd_seed", cols[3])
    batches, steps = sgd(model, "mlp", batch_size, n_steps, seed, learning_rate)
    where = dropout.dropout_layers(model)[-1]
    show_chart(figures.updates_figure(steps, lang(), projector()), "dropout-updates")
    st.markdown(step_rows(model, steps, where))
    st.caption(t("layers.sgd.table_caption", layer=where.after, next=where.before))
    shown = st.radio(t("layers.sgd.shown"), range(1, n_steps + 1), horizontal=True, key="layers_step_shown") \
        if n_steps > 1 else 1
    shown = min(shown, n_steps)
    step = steps[shown - 1]
    kept = int(np.argmax(np.where(step.mask, step.unit_change, -1)))
    dropped = int(np.flatnonzero(~step.mask)[0]) if not step.mask.all() else None
    kernel = model.get_layer(where.after).kernel
    show_chart(figures.step_figure(batches[shown - 1][0], step, kernel.path, kept, dropped, lang(), projector()),
               "dropout-step")
    change = step.changes[kernel.path]
    st.caption(t("layers.sgd.step_caption", kept=kept, total=change.shape[0],
                 changed=int(np.count_nonzero(change[:, kept])), dropped=dropped if dropped is not None else "–",
                 dropped_changed=int(np.count_nonzero(change[:, dropped])) if dropped is not None else 0))
    outgoing = model.get_layer(where.before).kernel.path
    show_chart(figures.outgoing_figure(step, outgoing, shown, lang(), projector()), "dropout-outgoing")


def lstm_ui(x28: np.ndarray, n: int, seed: int) -> None:
    st.subheader(t("layers.lstm.header"))
    model = model_or_error("lstm")
    if model is None:
        return
    where = dropout.dropout_layers(model)
    header = [t(f"layers.lstm.col.{k}") for k in ("layer", "rate", "after", "before", "shape", "dropped")]
    lines = [f"| {' | '.join(header)} |", "|---|---:|---|---|---|---:|"]
    for d in where:
        size = int(np.prod(d.shape))
        lines.append(f"| {d.name} | {d.rate:g} | {d.after} | {d.before} | {' × '.join(map(str, d.shape))} | "
                     f"{d.rate * size:.1f} / {size} |")
    st.markdown("\n".join(lines))
    names = [d.name for d in where]
    layer = st.radio(t("layers.lstm.layer"), names, horizontal=True, key="layers_lstm_layer")
    tn = thinned(model, "lstm", x28, n, seed, layer)
    charts, words = pair([3, 2])
    with charts:
        show_chart(figures.answers_figure(tn, lang(), projector()), f"dropout-lstm-{layer}")
    with words:
        st.markdown(answer_text(tn))
    first = where[0]
    concept("lstm", first=first.after, second=first.before, rate1=first.rate, rate2=where[-1].rate,
            steps=first.shape[0], units=first.shape[1])


def dropout_section(x28: np.ndarray) -> None:
    """The MLP's views, then the LSTM's (each shown if its model loaded; the LSTM's uses the same K and seed)."""
    model = model_or_error("mlp")
    if model is not None:
        tn = thinned_ui(model, x28)
        sgd_ui(model)
        units = tn.masks.shape[1]
        concept("minibatch", units=units, rate=tn.rate, kept=units * (1 - tn.rate), power=_superscript(f"2^{units}"),
                networks=_superscript(_scientific(2.0 ** units)),
                batch=card_batch_size("mlp"), per_epoch=len(training_split().y) // card_batch_size("mlp"))
    lstm_ui(x28, int(st.session_state.get("layers_masks", 16)), int(st.session_state.get("layers_mask_seed", 0)))


# ---- batch normalisation -------------------------------------------------------------------------

def mini_batch(x28: np.ndarray, kind: str, label: int, size: int, seed: int) -> np.ndarray:
    """(size, 28, 28): the digit first, then random test digits, test digits of class `label`, or copies."""
    if kind == "copies":
        mates = np.repeat(np.asarray(x28, np.float32)[None], size - 1, axis=0)
    else:
        mates = layers_data.mates(kind, label, size, seed)
    return batchnorm.mini_batch(x28, mates, size)


@st.cache_data(show_spinner=False, max_entries=16)
def bn_runs(_model, x28: np.ndarray, kind: str, label: int, size: int, seed: int):
    """The digit alone in inference mode, and first in its mini-batch in training mode."""
    return batchnorm.bn_run(_model, x28), batchnorm.bn_run(_model, x28, mini_batch(x28, kind, label, size, seed))


@st.cache_data(show_spinner=False, max_entries=8)
def sweep(_model, x28: np.ndarray, seed: int) -> np.ndarray:
    x, y = layers_data.prepared_test()
    return batchnorm.batch_size_sweep(_model, x28, x, y, BATCH_SIZES, SWEEP_REPEATS, seed)


def _n(x: float) -> str:
    """A number for a LaTeX formula: negative values in parentheses."""
    return f"({x:.4f})" if x < 0 else f"{x:.4f}"


def layer_ui(run: batchnorm.BNRun) -> tuple[int, int]:
    """The BN layer (index into run.layers) and the channel the views below look at."""
    names = [layer.layer_name for layer in run.layers]
    left, right = st.columns([1, 2])
    with left:
        name = st.radio(t("layers.bn.layer"), names, horizontal=True, key="layers_bn_layer")
    k = names.index(name)
    with right:
        channel = st.slider(t("layers.bn.channel"), 0, run.layers[k].channels - 1, 0, key=f"layers_bn_channel_{name}")
    return k, channel


def formula_ui(model, x28: np.ndarray, layer: batchnorm.BNLayer, channel: int) -> None:
    """x-hat and y of one value of the digit, with the moving statistics, checked against the layer."""
    values = layer.inputs[..., channel]
    if values.ndim:      # a conv channel: the position where it responds most to this digit
        row, col = np.unravel_index(int(np.argmax(np.abs(values))), values.shape)
        where, index = t("layers.bn.position", row=row, col=col, channel=channel), (row, col, channel)
    else:
        where, index = t("layers.bn.unit", channel=channel), (channel,)
    x, y, x_hat = (float(a[index]) for a in (layer.inputs, layer.outputs, layer.normalised))
    mu, var, gamma, beta = (float(a[channel]) for a in (layer.mean, layer.variance, layer.gamma, layer.beta))
    st.markdown(t("layers.bn.formula.intro", layer=layer.layer_name, where=where, eps=layer.epsilon,
                  momentum=layer.momentum))
    st.latex(rf"\hat x = \frac{{x - \mu}}{{\sqrt{{\sigma^2 + \varepsilon}}}} = \frac{{{x:.4f} - {_n(mu)}}}"
             rf"{{\sqrt{{{var:.4f} + {layer.epsilon:g}}}}} = {x_hat:.4f}")
    st.latex(rf"y = \gamma \hat x + \beta = {gamma:.4f} \times {_n(x_hat)} + {_n(beta)} = {y:.4f}")
    own = inference.outputs([inference.submodel(model, [layer.layer_name])], x28)[0][index]
    st.success(t("layers.bn.formula.check", layer=layer.layer_name, value=float(own), diff=abs(float(own) - y)))


def batch_controls_ui() -> tuple[str, int, int, int]:
    cols = st.columns([2, 2, 1, 1])
    size = cols[0].select_slider(t("layers.bn.batch"), BATCH_SIZES, card_batch_size("cnn_bn"), key="layers_bn_batch",
                                 help=t("layers.bn.batch_help", batch=card_batch_size("cnn_bn")))
    labels = {k: t(f"layers.bn.mates.{k}") for k in MATES}
    kind = cols[1].radio(t("layers.bn.mates"), MATES, key="layers_bn_mates", format_func=labels.get)
    label = cols[2].selectbox(t("layers.bn.class"), range(10), key="layers_bn_class", disabled=kind != "class")
    seed = seed_ui("layers_bn_seed", cols[3])
    return kind, int(label), int(size), seed


def modes_text(alone: batchnorm.BNRun, batched: batchnorm.BNRun) -> str:
    p_alone, p_batch = alone.probabilities[0], batched.probabilities[0]
    a, b = int(p_alone.argmax()), int(p_batch.argmax())
    return t("layers.bn.modes.text", alone=a, p_alone=float(p_alone[a]), batch=b, p_batch=float(p_batch[b]),
             n=len(batched.probabilities), p_same=float(p_batch[a]))


def modes_ui(model, x28: np.ndarray, alone: batchnorm.BNRun, k: int, channel: int) -> None:
    st.subheader(t("layers.bn.modes.header"))
    st.markdown(t("layers.bn.modes.intro"))
    kind, label, size, seed = batch_controls_ui()
    _, batched = bn_runs(model, x28, kind, label, size, seed)
    charts, words = pair([3, 2])
    with charts:
        show_chart(bn_figures.modes_figure(alone.probabilities[0], batched.probabilities[0], size, lang(), projector()),
                   "batchnorm-modes")
    with words:
        st.markdown(modes_text(alone, batched))
    layer = batched.layers[k]
    show_chart(bn_figures.statistics_figure(layer, lang(), projector()), f"batchnorm-{layer.layer_name}-statistics")
    show_chart(bn_figures.histogram_figure(layer, channel, lang(), projector()),
               f"batchnorm-{layer.layer_name}-histogram")
    st.caption(t("layers.bn.histogram.caption", layer=layer.layer_name, channel=channel, n=size,
                 values=layer.batch_inputs[..., channel].size, mu=float(layer.mean[channel]),
                 var=float(layer.variance[channel]), moving_mu=float(layer.moving_mean[channel]),
                 moving_var=float(layer.moving_variance[channel]),
                 out_mean=float(layer.batch_outputs[..., channel].mean()),
                 out_std=float(layer.batch_outputs[..., channel].std()), beta=float(layer.beta[channel]),
                 gamma=float(layer.gamma[channel])))
    st.subheader(t("layers.bn.sweep.header"))
    # One training-mode run per size and repeat, each on test digits of its own: computed when the
    # student opens them, not on every first visit of the page.
    runs = st.expander(t("layers.bn.sweep.open", repeats=SWEEP_REPEATS, sizes=len(BATCH_SIZES)),
                       key="layers_sweep_open", on_change="rerun")
    with runs:
        if runs.open:
            sweep_ui(model, x28, alone, seed)


def sweep_ui(model, x28: np.ndarray, alone: batchnorm.BNRun, seed: int) -> None:
    probabilities = sweep(model, x28, seed)
    show_chart(bn_figures.sweep_figure(BATCH_SIZES, probabilities, alone.probabilities[0], lang(), projector()),
               "batchnorm-batch-size")
    answer = int(alone.probabilities[0].argmax())
    p = probabilities[:, :, answer]
    st.markdown(t("layers.bn.sweep.text", repeats=SWEEP_REPEATS, digit=answer, small=BATCH_SIZES[0],
                  low=float(p[0].min()), high=float(p[0].max()), large=BATCH_SIZES[-1], low2=float(p[-1].min()),
                  high2=float(p[-1].max()), alone=float(alone.probabilities[0][answer])))


def bn_section(x28: np.ndarray) -> None:
    model = model_or_error("cnn_bn")
    if model is None:
        return
    alone = batchnorm.bn_run(model, x28)
    st.subheader(t("layers.bn.formula.header"))
    names = [layer.name for layer in model.layers]
    where = t("layers.list_sep").join(t("layers.bn.after", bn=bn.layer_name,
                                        after=names[names.index(bn.layer_name) - 1]) for bn in alone.layers)
    best = int(alone.probabilities[0].argmax())
    st.markdown(t("layers.bn.intro", where=where, digit=best, p=float(alone.probabilities[0][best])))
    k, channel = layer_ui(alone)
    formula_ui(model, x28, alone.layers[k], channel)
    modes_ui(model, x28, alone, k, channel)
    conv1 = model.get_layer("conv1")
    concept("bn_what", momentum=alone.layers[0].momentum,
            bias=float(np.abs(keras.ops.convert_to_numpy(conv1.bias)).max()))
    concept("bn_gradients", gradients=t("nav.gradients"))


st.title(t("nav.layers"))
digit = current_digit()
st.caption(t("layers.showing", description=digit_description(digit)))
dropout_section(digit.x28)
bn_section(digit.x28)
