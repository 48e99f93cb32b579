"""What every page shares: the language and projector settings, the cached models, the current digit
(drawn, sampled or uploaded, the same on every page) and how charts are shown."""
from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explain import custom, export, i18n
from explain.data import load_test
from explain.models import COMPARED, MODEL_NAMES, ModelFileError, load_model
from explain.preprocess import Steps, to_mnist
from pages import style
from widgets.chart import Scrub, plotly_chart


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
    bookmarked, and a tab that reconnects to a restarted server comes back as it was. A drawing or
    an upload cannot come back (it lived in the old session): the URL only says there was one
    (digit=drawn), so the sidebar can say it is gone instead of silently showing another digit."""
    if "lang" not in st.session_state:
        st.session_state.lang = i18n.pick_language(st.query_params.get("lang"), st.context.locale)
        st.session_state.projector = st.query_params.get("projector") in ("1", "true", "on")
        index = _query_int("sample")
        if index is not None and 0 <= index < len(test_split().y):
            set_sample(index)
        elif st.query_params.get("digit") in ("drawn", "upload"):
            lost = st.query_params["digit"]
            set_sample(0)
            st.session_state.digit_lost = lost
    st.query_params["lang"] = lang()
    digit = st.session_state.get("digit")           # kept in the URL across page switches too
    if digit is not None:
        if digit.source == "sample":
            st.query_params["sample"] = str(digit.index)
        else:
            st.query_params["digit"] = digit.source
    if projector():
        st.query_params["projector"] = "1"
    else:
        st.query_params.pop("projector", None)
    style.apply(projector(), lang())


@dataclass(frozen=True)
class SidebarFrame:
    """Where the sidebar's parts go: the settings, then the current digit's panel (a placeholder a
    fragment can fill again on its own reruns, `show_digit_panel`)."""

    settings: object  # DeltaGenerator
    digit: object     # DeltaGenerator of an st.empty()


_FRAME, _DIGIT_SHOWN = "_sidebar_frame", "_sidebar_digit_shown"  # session state


def sidebar_frame() -> SidebarFrame:
    """The sidebar's containers, made before the page runs, so a page's fragment can write the
    digit panel into its place on every run (Streamlit requires that of a fragment writing outside)."""
    frame = SidebarFrame(st.sidebar.container(), st.sidebar.empty())
    st.session_state[_FRAME] = frame
    st.session_state[_DIGIT_SHOWN] = False
    return frame


def sidebar_ui(frame: SidebarFrame) -> None:
    """The settings, and the digit panel unless the page's fragment has drawn it this run."""
    with frame.settings:
        st.radio(t("sidebar.language"), i18n.LANGUAGES, key="lang", horizontal=True,
                 format_func=i18n.LANGUAGE_NAMES.get)
        st.toggle(t("sidebar.projector"), key="projector", help=t("sidebar.projector_help"))
        model_upload_ui()
    if not st.session_state.get(_DIGIT_SHOWN):
        with frame.digit.container():
            digit_panel_ui()


def show_digit_panel() -> None:
    """Draw the sidebar's digit panel from inside a fragment (the Draw page's), on its full runs and
    its own reruns alike: a stroke then updates the panel without rerunning the app around it."""
    frame = st.session_state.get(_FRAME)
    if frame is not None:
        with frame.digit.container():
            digit_panel_ui()
        st.session_state[_DIGIT_SHOWN] = True


def digit_panel_ui() -> None:
    """The current digit in the sidebar, and the button that exports its explanation."""
    digit = current_digit()
    st.caption(f"{t('sidebar.current_digit')}: {digit_description(digit)}")
    if st.session_state.get("digit_lost"):
        st.info(t(f"digit.lost.{st.session_state.digit_lost}", index=digit.index))
    st.image(digit.x28, width=84, clamp=True)
    with style.secondary("export"):
        # Built only when clicked (in a thread of its own): a few MB of HTML per rerun would slow every stroke.
        st.download_button(t("export.button"), partial(export.explanation_html, compared_models(), digit.x28,
                                                       digit_description(digit), lang(), digit.steps),
                           file_name=export.file_name(digit.source, digit.index, lang()), mime="text/html",
                           on_click="ignore", icon=":material/download:", help=t("export.button_help"))


# ---- models -------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def shipped_model(name: str):
    """The shipped model `name`, loaded once per server and shared by all sessions, or its
    `ModelFileError` when its file is missing or damaged, so the other models keep working. One
    entry per model: the Draw page's first run loads only the five it compares (`compared_models`),
    and the others load when a page asks for them or in `pages.warmup`'s background thread."""
    try:
        return load_model(name)
    except ModelFileError as exc:
        return exc


def loaded_models() -> dict[str, object]:
    """Every shipped model, name -> model or its `ModelFileError` (`shipped_model`)."""
    return {name: shipped_model(name) for name in MODEL_NAMES}


def model_or_error(name: str):
    """The loaded model `name`, or None after showing, in the user's language, what is wrong with
    its file and which command rebuilds it. Only that model is loaded (`shipped_model`): the page that
    asked first paid for every shipped model, 0.3-0.4 s of a first visit."""
    model = shipped_model(name)
    if isinstance(model, ModelFileError):
        st.error(t(f"model.error.{model.problem}", model=name, command=model.command))
        return None
    return model


# ---- the session's own model --------------------------------------------------------------------

UPLOADED = custom.UPLOADED  # the key of the session's own model beside the course models' names
HOWTO = """model.save("my_model.keras")
# or, the homework's checkpoint:
keras.callbacks.ModelCheckpoint("best.weights.h5",
    save_weights_only=True, save_best_only=True)"""


@st.cache_resource(show_spinner=False)
def model_registry() -> custom.ModelRegistry:
    """Every session's uploaded model, at most `custom.MAX_SESSIONS` per server (the oldest go first)."""
    return custom.ModelRegistry(custom.MAX_SESSIONS)


def _read_model_upload() -> None:
    # A callback: it runs before the page, so the page already explains the new model.
    file = st.session_state.model_upload
    st.session_state.model_problem = None
    if file is None:  # the student removed the file: back to the course models only
        st.session_state.pop("uploaded", None)
        return
    try:
        model = custom.load_uploaded(file.getvalue(), file.name)
    except custom.ModelUploadError as exc:
        st.session_state.model_problem = (exc.key, exc.values)
    else:
        st.session_state.uploaded = model_registry().add(model, file.name)


def uploaded_model():
    """The session's uploaded model, or None (none uploaded, or dropped to make room for newer ones)."""
    handle = st.session_state.get("uploaded")
    return None if handle is None else model_registry().get(handle)


def uploaded_name() -> str:
    """The session's uploaded file name, for labels."""
    handle = st.session_state.get("uploaded")
    return handle.filename if handle is not None else ""


def model_label(name: str) -> str:
    """A model's name on screen: the course model's, or the uploaded file's."""
    return t("custom.label", name=uploaded_name()) if name == UPLOADED else t(f"model.name.{name}")


def compared_models() -> dict[str, object]:
    """The models a comparison shows: the five course models (name -> model, or its
    `ModelFileError`) and the session's uploaded model under `UPLOADED`, if it has one."""
    out = {name: shipped_model(name) for name in COMPARED}
    model = uploaded_model()
    if model is not None:
        out[UPLOADED] = model
    return out


def models_of(fits) -> dict[str, object]:
    """The course models and the session's own model that `fits(model)` accepts, name -> model."""
    out = {name: model for name, model in loaded_models().items()
           if not isinstance(model, ModelFileError) and fits(model)}
    model = uploaded_model()
    if model is not None and fits(model):
        out[UPLOADED] = model
    return out


def model_upload_ui() -> None:
    """The sidebar's uploader for a student's own model: what to upload, and what became of it."""
    st.file_uploader(t("custom.upload"), key="model_upload", on_change=_read_model_upload, help=t("custom.upload_help"))
    with st.expander(t("custom.howto.title")):
        st.caption(t("custom.howto.body", limit_mb=custom.MAX_BYTES // 2**20,
                     architectures=", ".join(t(f"model.name.{name}") for name in custom.WEIGHT_ARCHITECTURES)))
        st.code(HOWTO, language="python")
    if st.session_state.get("model_problem"):
        key, values = st.session_state.model_problem
        st.error(t(key, **values))
    elif st.session_state.get("uploaded") is not None:
        if uploaded_model() is None:
            st.warning(t("custom.dropped", name=uploaded_name(), limit=custom.MAX_SESSIONS))
        else:
            st.caption(t("custom.loaded", name=uploaded_name(), params=f"{uploaded_model().count_params():,}"))


@st.cache_resource(show_spinner=False)
def _frozen() -> bool:
    # Streamlit runs gc.collect(2) after every rerun; freezing the heap that exists once
    # TensorFlow and the models are loaded keeps each collection from walking it again. Not collected
    # first: that walk (0.19 s) would fall on the first page's run; the few hundred unreachable objects
    # the imports leave stay frozen with it. The warm-up freezes what it loads (`pages.warmup`).
    gc.freeze()
    return True


def freeze_heap_once() -> None:
    compared_models()
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
    return load_test()


def set_sample(index: int) -> None:
    split = test_split()
    st.session_state.digit = Digit(to_mnist(split.x[index]), "sample", index, int(split.y[index]))
    st.query_params["sample"] = str(index)
    st.query_params.pop("digit", None)
    st.session_state.pop("digit_lost", None)


def set_digit(digit: Digit) -> None:
    st.session_state.digit = digit
    st.session_state.pop("digit_lost", None)
    st.query_params.pop("sample", None)
    st.query_params["digit"] = digit.source


def current_digit() -> Digit:
    """The session's digit; a session that has none yet starts with test sample 0."""
    if "digit" not in st.session_state:
        set_sample(0)
    return st.session_state.digit


def digit_description(digit: Digit) -> str:
    return t(f"digit.source.{digit.source}", index=digit.index, label=digit.label)


# ---- charts -------------------------------------------------------------------------------------

def built_once(kind: str, key: tuple, build: Callable[[], object]) -> object:
    """What `build` makes (figures, a page's pictures for a scrub slider), kept in the session under
    `kind` (unique across pages) while `key` (what it shows: the numbers' bytes, the language,
    projector mode) stays the same: a slider's move then changes only what is drawn over it, and
    building and encoding the Recurrent page's gate heatmaps, unit lines, answer and memory bars
    took 25-40 ms of the server's move."""
    held = st.session_state.setdefault("_netlens_built", {})
    if kind not in held or held[kind][0] != key:
        held[kind] = (key, build())
    return held[kind][1]


def show_chart(fig: go.Figure | Scrub, name: str, key: str | None = None,
               on_click: Callable[[dict], None] | None = None) -> None:
    """A plotly chart that updates in place (`widgets.chart`), whose toolbar downloads a PNG at
    presentation resolution named `name`; its element is keyed `key` (default: by `name`), so a new
    figure on a rerun redraws the same plot; a `Scrub` instead of a figure (every value's figure and
    the shapes drawn over it) follows its scrub slider in the browser (`widgets.scrub`);
    `on_click(point)` runs when a point is clicked. Shown as built, without Streamlit's plotly theme,
    which would replace the legend and colour-bar fonts that `theme.style` sets (projector mode's 20 px)."""
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": "png", "filename": f"netlens-{name}", "scale": 3}}
    plotly_chart(fig, config, {"open": t("style.label.Fullscreen"), "close": t("style.label.Close fullscreen")},
                 key=key or f"chart-{name}", on_click=on_click)
