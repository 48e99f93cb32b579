"""What a fresh server prepares in the background once its first page is on screen, so that the first
visit of the other pages does not wait for it: the models the Draw page does not compare, the
60,000 training digits, the Gradients page's deep networks and its recurrent models' traced input
gradients (an eager one costs a first visit about 0.2 s per model). The Draw page's first run
prepares only what it shows (`python -m tools.bench`, the cold-start row).

One thread per server, started by app.py after its first run. Each task waits until no page is
running (`page_running` counts app.py's runs), so the warm-up takes the CPU between a class's
clicks rather than from them; a task already under way when a click comes finishes first. Every
task is a cached call a page makes itself, so a page that comes first just does it, once.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from explain import gradients, inference, vanishing
from explain.data import load_mnist
from pages import shared
from pages.streamlit_internals import serving

_IDLE = threading.Condition()
_running = 0


@contextmanager
def page_running() -> Iterator[None]:
    """Around a page's run: the warm-up's next task waits until no page is running."""
    global _running
    with _IDLE:
        _running += 1
    try:
        yield
    finally:
        with _IDLE:
            _running -= 1
            _IDLE.notify_all()


def _wait_until_idle() -> bool:
    """Block until no page runs; False once the interpreter is shutting down (its main thread ended)."""
    with _IDLE:
        while _running:
            if not threading.main_thread().is_alive():
                return False
            _IDLE.wait(timeout=1.0)
    return threading.main_thread().is_alive()


def _trace_row_gradients() -> None:
    for name in ("lstm", "gru"):
        model = shared.shipped_model(name)
        if isinstance(model, keras.Model):
            gradients.trace_in_background(model).join()


# In the order the sidebar lists the pages that need them.
TASKS: tuple[tuple[str, Callable[[], object]], ...] = (
    ("training digits", load_mnist),                 # Fitting, Layers, the Gradients page's brief training
    ("other models", shared.loaded_models),          # the SimpleRNN (Gradients), the batch-normalised CNN
    ("deep networks", vanishing.deep_networks),      # Gradients: vanishing with depth
    ("traced row gradients", _trace_row_gradients),  # Gradients: through time
)


def _run(tasks: tuple[tuple[str, Callable[[], object]], ...]) -> None:
    for _, task in tasks:
        if not _wait_until_idle():
            return
        task()


@st.cache_resource(show_spinner=False)
def configure() -> bool:
    """Once per process, before any page compiles a function (app.py calls it first)."""
    inference.skip_graph_rewrites()
    return True


@st.cache_resource(show_spinner=False)
def _started() -> threading.Thread:
    # Not a daemon: a task under way at exit finishes before TensorFlow is torn down; a waiting one stops.
    thread = threading.Thread(target=_run, args=(TASKS,), name="netlens-warmup")
    add_script_run_ctx(thread, get_script_run_ctx())  # the tasks read st.cache_resource caches
    thread.start()
    return thread


def start_once() -> None:
    """Start the warm-up, once per server; not under AppTest, whose tests load what they check."""
    if serving():
        _started()
