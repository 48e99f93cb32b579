"""What every page shares: the language and projector settings, the cached models, the current digit
(drawn, sampled or uploaded, the same on every page) and how charts are shown."""
from __future__ import annotations

import gc
from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explain import export, i18n
from explain.data import load_mnist
from explain.models import COMPARED, MODEL_NAMES, ModelFileError, load_model
from explain.preprocess import Steps, to_mnist
from pages import style


# ---- language and projector mode -------------------------------------------------------------

def lang() -> str:
    return st.session_state.get("lang", i18n.DEFAULT_LANGUAGE)


def t(key: str, **values) -> str:
    """The string `key` in the session's language."""
    return i18n.t(key, lang(), **values)


def projector() -> bool:
    return bool(st.session_state.get("projector", False))


def _query_int(name: str) -> int | None:
    try:
        return int(st.query_params.get(name, ""))
    except ValueError:
        return None


def init_session() -> None:
    """First run of a session: take language, projector mode and sample from the URL (unknown
    values fall back to defaults); later runs: write the current choices back, so the URL can be
    bookmarked."""
    if "lang" not in st.session_state:
        st.session_state.lang = i18n.pick_language(st.query_params.get("lang"), st.context.locale)
        st.session_state.projector = st.query_params.get("projector") in ("1", "true", "on")
        index = _query_int("sample")
        if index is not None and 0 <= index < len(test_split().y):
            set_sample(index)
    st.query_params["lang"] = lang()
    if projector():
        st.query_params["projector"] = "1"
    else:
        st.query_params.pop("projector", None)
    style.apply(projector(), lang())


def sidebar_ui() -> None:
    st.radio(t("sidebar.language"), i18n.LANGUAGES, key="lang", horizontal=True,
             format_func=i18n.LANGUAGE_NAMES.get)
    st.toggle(t("sidebar.projector"), key="projector", help=t("sidebar.projector_help"))
    digit = current_digit()
    st.caption(f"{t('sidebar.current_digit')}: {digit_description(digit)}")
    st.image(digit.x28, width=84, clamp=True)
    with style.secondary("export"):
        # Built only when clicked (in a thread of its own): a few MB of HTML per rerun would slow every stroke.
        st.download_button(t("export.button"), partial(export.explanation_html, loaded_models(), digit.x28,
                                                       digit_description(digit), lang(), digit.steps),
                           file_name=export.file_name(digit.source, digit.index, lang()), mime="text/html",
                           on_click="ignore", icon=":material/download:", help=t("export.button_help"))


# ---- models -------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def loaded_models() -> dict[str, object]:
    """Every shipped model, loaded once per server and shared by all sessions; a model whose file
    is missing or damaged maps to its `ModelFileError`, so the other models keep working."""
    out: dict[str, object] = {}
    for name in MODEL_NAMES:
        try:
            out[name] = load_model(name)
        except ModelFileError as exc:
            out[name] = exc
    return out


def compared_models() -> dict[str, object]:
    """The five course models the Draw page sets side by side, as `loaded_models` holds them."""
    return {name: loaded_models()[name] for name in COMPARED}


def model_or_error(name: str):
    """The loaded model `name`, or None after showing, in the user's language, what is wrong with
    its file and which command rebuilds it."""
    model = loaded_models()[name]
    if isinstance(model, ModelFileError):
        st.error(t(f"model.error.{model.problem}", model=name, command=model.command))
        return None
    return model


@st.cache_resource(show_spinner=False)
def _frozen() -> bool:
    # Streamlit runs gc.collect(2) after every rerun; freezing the heap that exists once
    # TensorFlow and the models are loaded keeps each collection from walking it again.
    gc.collect()
    gc.freeze()
    return True


def freeze_heap_once() -> None:
    loaded_models()
    _frozen()


# ---- the current digit --------------------------------------------------------------------------

@dataclass(frozen=True)
class Digit:
    """The digit every page explains: `x28` (28, 28) float32 in [0, 1], white on black.

    `source` is "drawn", "sample" or "upload"; `index` and `label` are set for test-split samples;
    `steps` holds the preprocessing stages when the digit came from a drawing or an upload.
    """

    x28: np.ndarray
    source: str
    index: int | None = None
    label: int | None = None
    steps: Steps | None = None


@st.cache_resource(show_spinner=False)
def test_split():
    return load_mnist().test


def set_sample(index: int) -> None:
    split = test_split()
    st.session_state.digit = Digit(to_mnist(split.x[index]), "sample", index, int(split.y[index]))
    st.query_params["sample"] = str(index)


def set_digit(digit: Digit) -> None:
    st.session_state.digit = digit
    st.query_params.pop("sample", None)


def current_digit() -> Digit:
    """The session's digit; a session that has none yet starts with test sample 0."""
    if "digit" not in st.session_state:
        set_sample(0)
    return st.session_state.digit


def digit_description(digit: Digit) -> str:
    return t(f"digit.source.{digit.source}", index=digit.index, label=digit.label)


# ---- charts -------------------------------------------------------------------------------------

def show_chart(fig: go.Figure, name: str, key: str | None = None) -> None:
    """A plotly chart whose toolbar downloads a PNG at presentation resolution, named `name`.
    Shown without Streamlit's plotly theme, which would replace the legend and colour-bar fonts
    that `theme.style` sets (the projector mode's 20 px) with smaller ones."""
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": "png", "filename": f"netlens-{name}", "scale": 3}}
    st.plotly_chart(fig, config=config, key=key, width="stretch", theme=None)
