"""The Streamlit internals the app leans on, in one place. Each works around a behaviour of
Streamlit 1.67 that tests/test_streamlit_internals.py checks is still there, so an upgrade that
changes it fails that test instead of the app (the CSS on Streamlit's data-testids lives in
pages/style.py, and the same test checks Streamlit still renders every one of them)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.commands.execution_control import _force_yield_point
from streamlit.runtime.scriptrunner import get_script_run_ctx, script_runner
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

STOCK_CLEANUP = script_runner._clean_problem_modules  # kept for the test that checks it still clears Keras


def _running_script() -> str:
    """The file of the script Streamlit is executing (the outermost `__main__` frame)."""
    frame, script = sys._getframe(1), ""
    while frame is not None:
        if frame.f_globals.get("__name__") == "__main__":
            script = frame.f_globals.get("__file__", "")
        frame = frame.f_back
    return script


def leave_legacy_pages_mode() -> None:
    """Until the first `st.navigation` call in a server process, Streamlit takes a folder named
    `pages/` for a legacy multipage folder (`PagesManager.uses_pages_directory`): a bookmark such as
    /cnn?lang=en opened first after a restart would run pages/cnn.py alone, without app.py's frame
    and sidebar. Called once, on the first import of `pages`: switches that mode off and, when the
    script running is a page rather than app.py, reruns the session, this time through app.py.

    Streamlit's legacy run (`script_runner._mpa_v1`) sends a navigation listing every pages/*.py
    file (shared, style, ...), which the sidebar would show until app.py's own `st.navigation`
    replaces it, a second or more while the first run imports TensorFlow. .streamlit/config.toml
    therefore starts the server with `client.showSidebarNavigation = false`, which makes that list
    hidden; it is switched on here, before app.py calls `st.navigation`."""
    st.set_option("client.showSidebarNavigation", True)
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if Path(_running_script()).name != "app.py":
            st.rerun()


def run_unknown_paths_as_default(pages: Sequence[st.Page]) -> None:
    """Open the default page for /draw or an unknown path as if the address were /.

    Streamlit answers an unknown path with a "page not found" message, after which the browser
    sends its reruns for the app script rather than the page, and the canvas ignores strokes.
    Forgetting the requested name (the session's `PagesManager.set_script_intent`) before
    `st.navigation` resolves it runs the default page cleanly. Call it just before `st.navigation`.
    """
    ctx = get_script_run_ctx()
    intent = ctx.pages_manager if ctx else None
    if intent and not intent.intended_page_script_hash and intent.intended_page_name not in {p.url_path for p in pages}:
        intent.set_script_intent("", "")


def _cleanup_keeping_keras() -> None:
    """Streamlit's cleanup after a rerun (`script_runner._clean_problem_modules`) without its
    `keras.backend.clear_session()`: only matplotlib's figures are closed."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def keep_compiled_kernels() -> None:
    """After every rerun of every session Streamlit calls `keras.backend.clear_session()`, which on
    TensorFlow clears the eager context's kernel cache: the next call of each page's compiled
    function (`explain.inference`) then builds its kernels again, a few hundred milliseconds to
    seconds where a warm call takes milliseconds (`python -m tools.bench`, the server rows). The
    app keeps no per-rerun Keras state to clear (models are loaded once per server, training runs
    in child processes), so Streamlit's cleanup is replaced by the same without that call."""
    script_runner._clean_problem_modules = _cleanup_keeping_keras


def serving() -> bool:
    """Whether this script runs in a real server (`streamlit run`), not under AppTest, which installs
    a mock in place of the server's `Runtime` for its runs."""
    return type(Runtime._instance) is Runtime


def compile_pages(pages: Sequence[st.Page]) -> None:
    """Compile the page scripts into the server's script cache (`Runtime._script_cache`, which a page's
    run reads its bytecode from, `st.Page.run`): otherwise each page's first visit compiles it, with
    Streamlit's magic rewrite, 0.03-0.1 s a page."""
    for page in pages:
        if isinstance(page._page, Path):
            Runtime.instance()._script_cache.get_bytecode(str(page._page))


def current_fragment() -> str | None:
    """The id of the innermost `st.fragment` running now (`ThreadState.fragment_id`: during a full
    run too), None outside every fragment."""
    return ThreadState.get().fragment_id


def running_on_its_own() -> bool:
    """Whether the fragment running now runs as its own rerun (its `run_every` timer's, a widget's in
    it), not inside the app's full run or its enclosing fragment's (`ctx.fragment_ids_this_run`)."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run and current_fragment() in ctx.fragment_ids_this_run)


def rerun_fragment(fragment_id: str) -> NoReturn:
    """Stop this run and rerun the fragment `fragment_id` alone, as `st.rerun(scope="fragment")` does
    for the fragment that calls it: the request `st.rerun` makes, naming another fragment. Streamlit
    1.67 names one only from a widget callback (`st.rerun(key)`), and a fragment-scoped rerun from a
    nested fragment (the rows' poll, `pages.rows`) reruns that nested one alone. Call it only from a
    fragment's own rerun (`running_on_its_own`): a fragment-scoped request preempts a full run, whose
    rest (the sidebar) would not be drawn."""
    ctx = get_script_run_ctx()
    ctx.script_requests.request_rerun(RerunData(
        query_string=ctx.query_string, page_script_hash=ctx.page_script_hash, fragment_id_queue=[fragment_id],
        is_fragment_scoped_rerun=True, cached_message_hashes=ctx.cached_message_hashes,
        context_info=ctx.context_info))
    _force_yield_point()
    raise RuntimeError(f"Streamlit did not stop the run for the rerun of fragment {fragment_id!r}")  # never reached
