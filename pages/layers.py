"""Dropout and batch normalisation, the layers that act differently in training and at inference: the
thinned networks dropout samples for the current digit, one real SGD step through one of them, and
where dropout sits in the homework LSTM. Every SGD step runs on a copy of the model."""
import json

import numpy as np
import streamlit as st

from explain import dropout
from explain.data import load_mnist
from explain.figures import dropout as figures
from explain.models import MODELS_DIR
from explain.preprocess import to_mnist_batch
from pages.shared import current_digit, digit_description, lang, model_or_error, projector, show_chart, t
from pages.style import secondary

LEARNING_RATES = (0.01, 0.05, 0.1, 0.5)


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


@st.cache_resource(show_spinner=False)
def training_split():
    return load_mnist().train


@st.cache_data(show_spinner=False)
def card_batch_size(model_name: str) -> int:
    """The mini-batch size the shipped model was trained with, from its card."""
    return int(json.loads((MODELS_DIR / f"{model_name}.json").read_text())["recipe"]["batch_size"])


@st.cache_data(show_spinner=False, max_entries=4)
def sgd(_model, model_name: str, batch_size: int, steps: int, seed: int, learning_rate: float):
    """The mini-batches (x (batch, 28, 28), y (batch,)) in order, and the SGD steps through them."""
    split = training_split()
    batches = [(to_mnist_batch(split.x[i]), split.y[i])
               for i in dropout.minibatches(len(split.y), batch_size, steps, seed)]
    return batches, dropout.sgd_steps(_model, batches, seed, learning_rate)


# ---- dropout --------------------------------------------------------------------------------------

def answer_text(tn: dropout.ThinnedNetworks) -> str:
    votes = t("layers.list_sep").join(t("layers.thinned.vote", digit=d, count=int(c)) for d, c in enumerate(tn.votes) if c)
    mean, inf = int(tn.average.argmax()), int(tn.inference.argmax())
    return t("layers.thinned.answers", n=len(tn.masks), votes=votes, mean=mean, p_mean=float(tn.average[mean]),
             inf=inf, p_inf=float(tn.inference[inf]), gap=float(np.abs(tn.average - tn.inference).max()),
             low=float(tn.probabilities[:, mean].min()), high=float(tn.probabilities[:, mean].max()))


def seed_ui(key: str, column) -> int:
    with column, secondary(key):
        return int(st.number_input(t("layers.seed"), 0, 9999, 0, key=key, help=t("layers.seed_help")))


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
    n_steps = cols[1].slider(t("layers.sgd.steps"), 1, 6, 3, key="layers_steps")
    learning_rate = cols[2].select_slider(t("layers.sgd.lr"), LEARNING_RATES, 0.1, key="layers_lr")
    seed = seed_ui("layers_sgd_seed", cols[3])
    batches, steps = sgd(model, "mlp", batch_size, n_steps, seed, learning_rate)
    where = dropout.dropout_layers(model)[-1]
    show_chart(figures.updates_figure(steps, lang(), projector()), "dropout-updates")
    st.markdown(step_rows(model, steps, where))
    st.caption(t("layers.sgd.table_caption", layer=where.after, next=where.before))
    shown = st.radio(t("layers.sgd.shown"), range(1, n_steps + 1), horizontal=True, key="layers_step_shown") \
        if n_steps > 1 else 1
    step = steps[min(shown, n_steps) - 1]
    kept = int(np.argmax(np.where(step.mask, step.unit_change, -1)))
    dropped = np.flatnonzero(~step.mask)
    kernel = model.get_layer(where.after).kernel.path
    show_chart(figures.step_figure(batches[shown - 1][0], step, kernel, kept, int(dropped[0]) if dropped.size else None,
                                   lang(), projector()), "dropout-step")
    st.caption(t("layers.sgd.step_caption", kept=kept, layer=where.after))


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
    model = model_or_error("mlp")
    if model is None:
        return
    tn = thinned_ui(model, x28)
    sgd_ui(model)
    units = tn.masks.shape[1]
    concept("minibatch", units=units, rate=tn.rate, kept=units * (1 - tn.rate), networks=f"{2.0 ** units:.2e}",
            batch=card_batch_size("mlp"), per_epoch=len(training_split().y) // card_batch_size("mlp"))
    lstm_ui(x28, len(tn.masks), int(st.session_state.get("layers_mask_seed", 0)))


st.title(t("nav.layers"))
digit = current_digit()
st.caption(t("layers.showing", description=digit_description(digit)))
dropout_section(digit.x28)
