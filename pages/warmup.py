"""What a fresh server prepares: once, settings for one-digit work (`configure`); in the background
once its first page is on screen, what the first visits of the other pages would otherwise wait for:
the 60,000 training digits, the Gradients page's deep networks, the models the Draw page does not
compare, every page's compiled script, the Fitting page's default mini-batches and forward-mode ops,
the LSTM's and the GRU's traced input gradients (the Gradients page's through-time view),
the Dropout & BatchNorm page's digit-independent defaults (its SGD steps, batch mates, traced
batch-norm runs); then it freezes the heap again (`gc.freeze`), so Streamlit's collection after every
rerun skips all of it. The Draw page's first run prepares only what it shows (`python -m tools.bench`,
the cold-start row).

One thread per server, started by app.py at the end of its first run; it begins once that run's
script thread has ended (Streamlit sends the finish message from it: the first page's paint does not
wait for the warm-up). Each task waits until no page is running (`page_running` counts app.py's
runs), so the warm-up takes the CPU between a class's clicks rather than from them; a task already
under way when a click comes finishes first. Every task is a cached call a page makes itself, so a
page that comes first just does it, once.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import keras
import streamlit as st
from threadpoolctl import threadpool_limits
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from explain import gradients, inference, vanishing
from explain.data import load_mnist
from pages import fitting_data, layers_data, shared
from pages.streamlit_internals import compile_pages, serving

ROW_GRADIENTS = ("lstm", "gru")  # the Gradients page's through-time models that TensorFlow differentiates
FIRST_RUN_WAIT = 10.0  # s: at most this long after the first run's end for its script thread to end
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


def _freeze() -> None:
    gc.collect()
    gc.freeze()


Tasks = tuple[tuple[str, Callable[[], object]], ...]


def tasks(pages: Sequence[st.Page]) -> Tasks:
    """(name, task) in the order of the first visits they shorten; `pages` are compiled."""
    return (
        ("training digits", load_mnist),                  # Fitting, Layers, the Gradients page's brief training
        ("deep networks", vanishing.deep_networks),       # Gradients: vanishing with depth
        ("other models", shared.loaded_models),           # the SimpleRNN (Gradients), the batch-normalised CNN
        ("page scripts", partial(compile_pages, pages)),
        ("fitting batches", lambda: fitting_data.prepare_first_run(shared.shipped_model("mlp"))),
        *((f"{name} row-gradient {half}", partial(_row_gradients, name, built=half == "kernels"))
          for name in ROW_GRADIENTS for half in ("graph", "kernels")),
        ("layers defaults", layers_data.prepare_first_run),   # Dropout & BatchNorm (after them in the sidebar)
        ("frozen heap", _freeze),                         # what the tasks loaded, out of every rerun's collection
    )


def _row_gradients(name: str, built: bool) -> None:
    """The shipped recurrent model `name`'s input gradient (`gradients.row_gradients`), which the
    Gradients page's through-time view calls, traced into a graph (`built` False: about 0.2 s on a fresh
    server), or that graph built by its first call (True: about 0.13 s); then each call takes 7-9 ms
    where an eager one takes 0.11-0.19 s. In halves, after the Fitting page's tasks (the Gradients page
    is the next first visit in the sidebar's order): a page clicked meanwhile shares the CPU with at most
    one half."""
    model = shared.shipped_model(name)
    if isinstance(model, keras.Model) and gradients.reads_rows(model):
        if built:
            gradients.trace_in_background(model).join()
        else:
            gradients.trace_graph(model)


def _run(tasks: Tasks, after: threading.Thread | None = None) -> None:
    if after is not None:   # the first run's thread: it ends once the run is finished and its answer sent
        after.join(timeout=FIRST_RUN_WAIT)
    for _, task in tasks:
        if not _wait_until_idle():
            return
        task()


@st.cache_resource(show_spinner=False)
def configure() -> bool:
    """Once per process, before any page computes (app.py calls it first): no graph rewrites
    (`inference.skip_graph_rewrites`), and numpy's BLAS on one thread. The pages' matrices are small
    (the deep networks' 64 x 784 by 784 x 32): with two threads on a 2-core machine the Gradients page's
    numpy backpropagation through them took 44.5 ms, with one 10.9 ms (a busy machine); a class's
    sessions run side by side anyway."""
    inference.skip_graph_rewrites()
    threadpool_limits(1, user_api="blas")
    return True


@st.cache_resource(show_spinner=False)
def _started(_pages: Sequence[st.Page]) -> threading.Thread:
    # Not a daemon (explicitly: it would inherit the script thread's flag): a task under way at exit
    # finishes before TensorFlow is torn down; a waiting one stops.
    thread = threading.Thread(target=_run, args=(tasks(_pages), threading.current_thread()), name="netlens-warmup",
                              daemon=False)
    add_script_run_ctx(thread, get_script_run_ctx())  # the tasks read st.cache_resource caches
    thread.start()
    return thread


def start_once(pages: Sequence[st.Page]) -> None:
    """Start the warm-up, once per server, compiling the scripts of `pages` first; not under AppTest,
    whose tests load what they check."""
    if serving():
        _started(pages)
