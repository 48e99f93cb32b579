"""The landing page: draw, sample or upload a digit; see how it was prepared and what all five
networks (and the session's own model, if it has one) answer. The digit becomes the session's
current digit, which the other pages explain."""
from __future__ import annotations

import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import hashlib
import json

import keras
import numpy as np
import streamlit as st

from explain import i18n
from explain.figures.draw import probability_bars, steps_figure
from explain.inference import probabilities
from explain.models import COMPARED, MODELS_DIR, ModelFileError
from explain.preprocess import EmptyDrawingError, Steps, preprocess_steps
from explain.upload import UploadError, read_upload
from pages.style import secondary
from pages.shared import (Digit, compared_models, current_digit, digit_description, lang, model_or_error,
                          projector, show_digit_panel, set_digit, set_sample, show_chart, t, test_split)
from widgets import BRUSH
from widgets.bars import probability_bars as bars_ui
from widgets.pad import digit_pad

PAD_LABELS = ("undo", "clear", "undo_help", "clear_help", "canvas")


def canvas_ui() -> bool:
    """The digit pad; False while it is blank. A new drawing (told apart from the last one by its
    PNG's hash) becomes the current digit; a blank pad (cleared, or remounted after a visit to
    another page) leaves the current digit alone, so the other pages keep explaining it."""
    brush = st.session_state.get("brush", BRUSH)
    # A sample or an upload replaces the drawing: a new key gives a fresh, empty pad.
    drawing = digit_pad(f"pad{st.session_state.get('canvas_round', 0)}", brush,
                        {label: t(f"draw.pad.{label}") for label in PAD_LABELS})
    if drawing is None:
        return False
    fingerprint = hashlib.md5(drawing.png).hexdigest()
    if st.session_state.get("drawn_fingerprint") != fingerprint:
        st.session_state.drawn_fingerprint = fingerprint
        st.session_state.drawn_problem = None
        try:
            steps = preprocess_steps(drawing.rgba())
        except EmptyDrawingError as exc:
            st.session_state.drawn_problem = exc.reason
        else:
            top, bottom, left, right = steps.box
            if max(bottom - top, right - left) <= 1.5 * brush:  # one dab of the brush is a dot, not a digit
                st.session_state.drawn_problem = "tiny"
            else:
                set_digit(Digit(steps.final, "drawn", steps=steps))
    if st.session_state.get("drawn_problem"):
        st.warning(t(f"error.drawing.{st.session_state.drawn_problem}"))
    return True


def _clear_canvas() -> None:
    st.session_state.canvas_round = st.session_state.get("canvas_round", 0) + 1


def _random_sample() -> None:
    set_sample(int(np.random.default_rng().integers(len(test_split().y))))
    _clear_canvas()


def _read_upload() -> None:
    # A callback: it runs before the rerun, so the page above the uploader already shows the upload.
    file = st.session_state.upload
    st.session_state.upload_problem = None
    if file is None:
        return
    try:
        steps = preprocess_steps(read_upload(file.getvalue()))
    except UploadError as exc:
        st.session_state.upload_problem = (exc.key, exc.values)
    except EmptyDrawingError as exc:
        st.session_state.upload_problem = (f"error.upload.{exc.reason}", {})
    else:
        set_digit(Digit(steps.final, "upload", steps=steps))
        _clear_canvas()


def upload_ui() -> None:
    """An uploaded image becomes the current digit; a bad file gets a message in the user's
    language and the page goes on with the previous digit."""
    st.file_uploader(t("draw.upload"), help=t("draw.upload_help"), key="upload", on_change=_read_upload)
    if st.session_state.get("upload_problem"):
        key, values = st.session_state.upload_problem
        st.error(t(key, **values))


def prediction_ui(probs: dict[str, np.ndarray]) -> None:
    if "cnn" in probs:
        best = int(np.argmax(probs["cnn"]))
        st.metric(t("draw.prediction"), str(best), f"{float(probs['cnn'][best]):.1%}", delta_color="off",
                  delta_arrow="off", delta_description=t("draw.confidence"), help=t("draw.prediction_help"),
                  border=True)
    else:
        st.metric(t("draw.prediction_missing"), "–", border=True)


@st.cache_data(show_spinner=False)
def _test_accuracies() -> dict[str, float]:
    cards = {name: MODELS_DIR / f"{name}.json" for name in COMPARED}
    return {name: json.loads(path.read_text())["test_accuracy"] for name, path in cards.items() if path.exists()}


def concepts_ui(steps: Steps | None, x28: np.ndarray) -> None:
    with st.expander(t("draw.concept.preprocess.title")):
        st.markdown(t("draw.concept.preprocess.body"))
        if steps is not None:
            top, bottom, left, right = steps.box
            h, w = bottom - top, right - left
            ys, xs = np.mgrid[0:28, 0:28]
            mass = float(x28.sum())
            st.markdown(t("draw.concept.preprocess.this", h=h, w=w, H=steps.ink.shape[0], W=steps.ink.shape[1],
                          scale=steps.scale, fh=steps.fitted.shape[0], fw=steps.fitted.shape[1],
                          cy=float((x28 * ys).sum() / mass), cx=float((x28 * xs).sum() / mass)))
    models = {name: model for name, model in compared_models().items() if not isinstance(model, ModelFileError)}
    dropouts = [(name, layer) for name, model in models.items()
                for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    with_dropout = {name for name, _ in dropouts}
    without = ("、" if lang() == "zh" else ", ").join(t(f"model.name.{name}") for name in models
                                                    if name not in with_dropout)
    if dropouts:
        layers = "; ".join(t("draw.concept.dropout.layer", model=t(f"model.name.{name}"), layer=layer.name,
                             rate=layer.rate) for name, layer in dropouts)
        name, example = dropouts[0]
        units = int(example.input.shape[-1])
        with st.expander(t("draw.concept.dropout.title")):
            st.markdown(t("draw.concept.dropout.body", layers=layers, model=t(f"model.name.{name}"),
                          layer=example.name, rate=example.rate, units=units, kept=units * (1 - example.rate),
                          without=without or "–"))
    accuracies = ", ".join(f"{t(f'model.name.{name}')} {acc:.1%}" for name, acc in _test_accuracies().items())
    with st.expander(t("draw.concept.probabilities.title")):
        st.markdown(t("draw.concept.probabilities.body", accuracies=accuracies))


@st.fragment
def drawing_ui() -> None:
    """Everything a stroke changes: the pad and the answers beside it, the preprocessing strip, the
    notes on this digit. A stroke reruns only this (and the sidebar's digit panel, `show_digit_panel`),
    not the page's frame and settings."""
    # The pad must fit its column (else it scrolls sideways inside it); projector mode's larger
    # root font widens the page margins, so there the left column takes a larger share.
    left, right = st.columns([0.39, 0.61] if projector() else [0.34, 0.66], gap="small")
    with left:
        st.caption(t("draw.canvas_hint"))
        drawing = canvas_ui()
        st.button(t("draw.random"), on_click=_random_sample, icon=":material/casino:", use_container_width=True)
        digit = current_digit()
        show_chart(steps_figure(digit.steps, digit.x28, lang(), projector()), "preprocessing", key="steps_chart")
        st.caption(t("draw.canvas_help"))
        with secondary("brush"):
            st.slider(t("draw.brush"), 8, 40, BRUSH, 2, key="brush")
        with secondary("upload"):
            upload_ui()

    probs = probabilities(compared_models(), digit.x28)
    with right:
        metric, about = st.columns([0.6, 0.4] if projector() else [0.42, 0.58], vertical_alignment="center")
        with metric:
            prediction_ui(probs)
        with about:  # beside the metric, so the message coming and going moves nothing on the page
            if drawing:
                st.caption(t("draw.showing", description=digit_description(digit)))
            else:
                st.info(t("draw.canvas_empty", description=digit_description(digit)))
        st.markdown(f"**{t('draw.models_header')}**")
        for name in COMPARED:
            if name not in probs:
                model_or_error(name)
        if probs:
            bars_ui(probability_bars(probs, lang(), projector()), key="probs_bars")

    concepts_ui(digit.steps, digit.x28)
    show_digit_panel()


def title_ui() -> None:
    """The title counts the networks the page compares: the course's five, and the session's own model."""
    count = sum(isinstance(model, keras.Model) for model in compared_models().values())
    word = f"draw.count.{count}"
    st.title(t("draw.title", count=t(word) if word in i18n.strings(lang()) else count))


title_ui()
drawing_ui()
