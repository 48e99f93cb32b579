"""Recurrent: the LSTM and GRU (the course's, or the session's own model) read the current digit row by
row; every gate of every unit at every row, one unit's equations in numbers, the answer as the rows
arrive, where the memory changes, and the parameter counts, all read from the model."""
import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explain import recurrent
from explain.figures import recurrent as figures
from explain.models import ModelFileError
from pages.shared import (UPLOADED, built_once, current_digit, lang, loaded_models, model_label, model_or_error,
                          models_of, projector, show_chart, t, uploaded_model)
from pages.style import secondary
from widgets.chart import Scrub
from widgets.scrub import scrub_slider

MODELS = ("lstm", "gru")
STEP = "recurrent_step"  # the timestep slider's key: the charts that follow it in the browser name it


def concept(name: str, body: str, **values) -> None:
    with st.expander(t(f"recurrent.concept.{name}.title")):
        st.markdown(t(f"recurrent.concept.{name}.{body}", **values))


def model_ui(column):
    """The model to explain: the course's LSTM or GRU, or the session's own model when it fits."""
    fitting = models_of(recurrent.fits)
    if uploaded_model() is not None and UPLOADED not in fitting:
        st.info(t("recurrent.unfit", model=model_label(UPLOADED)))
    names = list(fitting) or list(MODELS)
    with column:
        # Labels made now, in this run: a format_func reading the session later (AppTest does) would not find it.
        labels = {name: model_label(name) for name in names}
        name = st.radio(t("recurrent.model"), names, horizontal=True, key="recurrent_model", format_func=labels.get)
    return (fitting[name] if name in fitting else model_or_error(name)), name


def unit_key(model, layer: str) -> str:
    """The unit picker's key: per model object and layer (another model's layers may share a name)."""
    return f"recurrent_unit_{id(model)}_{layer}"


def controls_ui(model, trace: list[recurrent.LayerGates]) -> tuple[recurrent.LayerGates, int, int]:
    """Layer, timestep (1-based image row) and unit pickers; the defaults are the row and unit where
    the chosen layer's memory changes most on this digit."""
    names = [g.layer_name for g in trace]
    layer_col, step_col, unit_col = st.columns([1, 2, 1])
    with layer_col:
        # Keys per model object: another model's layers may share a name but not their sizes.
        name = st.radio(t("recurrent.layer"), names, horizontal=True, key=f"recurrent_layer_{id(model)}")
    gates = trace[names.index(name)]
    steps = gates.gates["hidden"].shape[0]
    # Defaults go into session state once: a widget whose default changes between reruns (another
    # model or digit) can show one value while the script reads another.
    st.session_state.setdefault(STEP, int(recurrent.memory_change(gates).argmax()) + 1)
    st.session_state.setdefault(unit_key(model, name), recurrent.suggested_unit(gates))
    with step_col:
        step = scrub_slider(t("recurrent.step"), 1, steps, key=STEP)
    with unit_col, secondary("recurrent_unit"):     # projector mode keeps the suggested unit
        unit = st.selectbox(t("recurrent.unit"), range(gates.units), key=unit_key(model, name),
                            help=t("recurrent.unit_help", units=gates.units))
    return gates, step, unit


def equations_ui(trace: list[recurrent.LayerGates], gates: recurrent.LayerGates, x28: np.ndarray,
                 step: int, unit: int, shown: tuple) -> None:
    st.subheader(t("recurrent.eq.header", row=step, unit=unit))
    picture, maths = st.columns([1, 5] if projector() else [1, 4])
    with picture:
        rows = built_once("recurrent-rows", shown, lambda: {s: figures.digit_rows(x28, s, lang(), projector())
                                                  for s in range(1, x28.shape[0] + 1)})
        show_chart(Scrub(STEP, step, {s: (fig, ()) for s, fig in rows.items()}, click="y"), "recurrent-row")
    with maths:
        for line in figures.equations(gates, step, unit):
            st.latex(line)
        position = [g.layer_name for g in trace].index(gates.layer_name)
        st.caption(t("recurrent.eq.input.first") if position == 0
                   else t("recurrent.eq.input.later", previous=trace[position - 1].layer_name))
        st.caption(t(f"recurrent.eq.note.{gates.cell}"))
    lines = built_once("recurrent-unit", (*shown, gates.layer_name, unit, gates.gates["hidden"].tobytes()),
                       lambda: figures.unit_over_time(gates, unit, x28, lang(), projector()))
    show_chart(along_rows(lines, gates, step, figures.row_outline), f"recurrent-{gates.layer_name}-unit{unit}")


def parameters_ui(model) -> None:
    st.subheader(t("recurrent.params.header"))
    counts = recurrent.parameter_counts(model)
    st.markdown(t(f"recurrent.params.{counts[0].cell}"))
    for count in counts:
        verdict = "match" if count.formula == count.keras else "mismatch"
        st.markdown(t("recurrent.params.layer", layer=count.layer_name, d=count.input_dim, u=count.units,
                      keras=count.keras, verdict=t(f"recurrent.params.{verdict}")))
        st.latex(figures.parameter_equation(count))


def roles_concept() -> None:
    models = loaded_models()
    if any(isinstance(models[name], ModelFileError) for name in MODELS):
        return
    lstm, gru = (recurrent.parameter_counts(models[name]) for name in MODELS)
    total = {name: sum(c.keras for c in counts) for name, counts in zip(MODELS, (lstm, gru))}
    concept("roles", "body", lstm1=lstm[0].keras, lstm2=lstm[1].keras, lstm=total["lstm"],
            gru1=gru[0].keras, gru2=gru[1].keras, gru=total["gru"], ratio=total["gru"] / total["lstm"])


def gradients_concept(gates: recurrent.LayerGates, step: int) -> None:
    keep = recurrent.keep_factor(gates, step - 1)
    gate = gates.gates["forget" if gates.cell == "lstm" else "update"]
    concept("gradients", gates.cell, layer=gates.layer_name, row=step, best=float(keep.max()),
            best_unit=int(keep.argmax()), median=float(np.median(keep)), open_share=float((gate > 0.9).mean()))


@st.fragment
def explanation_ui() -> None:
    """Everything below the title: a fragment, so that moving the model picker reruns only this,
    not the app's frame and sidebar."""
    digit = current_digit()
    model_col, answer_col = st.columns([1, 2] if projector() else [1, 3], vertical_alignment="bottom")
    model, name = model_ui(model_col)
    if model is None:
        return
    trace = recurrent.gate_trace(model, digit.x28)
    answers = recurrent.answer_over_time(model, trace)
    final = answers[-1]
    with answer_col:
        st.markdown(t("recurrent.prediction", model=model_label(name), answer=int(final.argmax()),
                      p=float(final.max())))
    timestep_ui(model, name, trace, answers, digit.x28)
    parameters_ui(model)
    roles_concept()
    concept("rows", "body", units=trace[0].units)
    dropouts = recurrent.dropout_layers(model)
    concept("dropout", "body" if dropouts else "none",
            layers=("；" if lang() == "zh" else "; ").join(
                t("recurrent.concept.dropout.layer", layer=d.name, rate=d.rate, percent=d.rate, before=d.before,
                  after=d.after) for d in dropouts))


def along_rows(fig: go.Figure, gates: recurrent.LayerGates, step: int,
               outlines: Callable[[int, bool], list[dict]], axis: str = "x") -> Scrub:
    """`fig` under `outlines(s, projector)` for every timestep s, `step` the slider's: what the chart
    shows as the timestep slider's thumb moves, before the server has heard of it; a click on it
    takes the slider to the row at the point's `axis`."""
    steps = range(1, gates.gates["hidden"].shape[0] + 1)
    return Scrub(STEP, step, {s: (fig, outlines(s, projector())) for s in steps}, click=axis)


def unit_picker(key: str) -> Callable[[dict], None]:
    """What a click on a gate heatmap does besides moving the timestep: the unit picker (`key`) takes
    the unit of the clicked cell (its y), unless the click was on the digit above the gates."""
    def pick(point: dict) -> None:
        if point.get("curve", 0) >= 1 and isinstance(point.get("y"), (int, float)):
            st.session_state[key] = int(round(point["y"]))
    return pick


@st.fragment
def timestep_ui(model, name: str, trace: list[recurrent.LayerGates], answers: np.ndarray, x28: np.ndarray) -> None:
    """What the layer, timestep and unit pickers change: a fragment of its own, so that a teacher
    sweeping the timestep reruns (and the browser redraws) only these charts and equations, not the
    parameter counts and concept notes below, which depend on the model alone."""
    gates, step, unit = controls_ui(model, trace)
    shown = (lang(), projector(), x28.tobytes())
    st.subheader(t("recurrent.gates.header"))
    heatmaps = built_once("recurrent-gates", (*shown, gates.layer_name, gates.gates["hidden"].tobytes()),
                          lambda: figures.gate_heatmaps(gates, x28, lang(), projector()))
    show_chart(along_rows(heatmaps, gates, step, lambda s, mode: figures.gate_outlines(gates, s, unit, mode)),
               f"recurrent-{gates.layer_name}", on_click=unit_picker(unit_key(model, gates.layer_name)))
    st.caption(t(f"recurrent.gates.caption.{gates.cell}"))

    equations_ui(trace, gates, x28, step, unit, shown)
    gradients_concept(gates, step)

    st.subheader(t("recurrent.answer.header"))
    answer = built_once("recurrent-answer", (*shown, model_label(name), answers.tobytes()),
                        lambda: figures.answer_over_time(answers, x28, model_label(name), lang(), projector()))
    show_chart(along_rows(answer, gates, step, figures.row_outline), f"recurrent-{name}-answer")
    head = recurrent.output_layers(model)
    st.caption(t("recurrent.answer.caption", layer=trace[-1].layer_name,
                 head=" → ".join([str(head[0].inputs)] + [f"{d.units} {d.activation}" for d in head])))

    st.subheader(t("recurrent.memory.header"))
    memory = built_once("recurrent-memory", (*shown, *(g.gates["hidden"].tobytes() for g in trace)),
                        lambda: figures.memory_changes(trace, x28, [recurrent.memory_change(g) for g in trace], lang(),
                                                       projector()))
    show_chart(along_rows(memory, gates, step, figures.row_outline), f"recurrent-{name}-memory")
    st.caption(t(f"recurrent.memory.caption.{trace[0].cell}",
                 units=" / ".join(dict.fromkeys(str(g.units) for g in trace))))


st.title(t("recurrent.title"))
st.caption(t("recurrent.intro"))
explanation_ui()
