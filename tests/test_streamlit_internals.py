"""The Streamlit behaviours the app works around (pages/streamlit_internals.py, pages/style.py), each
checked to be still there: when an upgrade changes one, its test here fails and says which workaround
to revisit. And the workarounds themselves, on a fresh server whose first request is a deep link."""
from __future__ import annotations

import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest
import streamlit
from playwright.sync_api import expect
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import ScriptRunContext
from streamlit.testing.v1 import AppTest

from explain.i18n import strings, t
from pages import style
from tests.browser import EXCEPTION, open_page
from tests.conftest import free_port, start_app

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = Path(streamlit.__file__).parent / "static" / "static" / "js"


# ---- legacy multipage mode (pages.streamlit_internals.leave_legacy_pages_mode) -------------------

@pytest.fixture
def fresh_pages_flag():
    saved = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = None  # as in a server process before its first session
    yield
    PagesManager.uses_pages_directory = saved


def test_streamlit_still_takes_a_pages_folder_beside_the_app_for_legacy_multipage_mode(fresh_pages_flag):
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True


def test_apptest_still_runs_a_switched_to_page_without_app_py():
    """Why tests/apptest.py switches the mode off for every AppTest run: AppTest resets the flag per run,
    after the app's once-per-process fix, so switch_page would run the page bare, without the sidebar."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "en"
    at.run()
    assert at.sidebar.radio(key="lang").value == "en"  # the first run went through app.py
    at.switch_page("pages/quiz.py").run()
    assert not at.exception
    assert [r.key for r in at.sidebar.radio] == [], "switch_page now runs app.py: drop tests/apptest.py's patch"


# ---- unknown paths (pages.streamlit_internals.run_unknown_paths_as_default) ----------------------

def test_the_session_intent_api_the_unknown_path_fix_calls_is_still_there():
    assert "pages_manager" in {f.name for f in fields(ScriptRunContext)}
    assert list(inspect.signature(PagesManager.set_script_intent).parameters) == ["self", "page_script_hash",
                                                                                  "page_name"]
    manager = PagesManager(str(ROOT / "app.py"))
    manager.set_script_intent("", "nonexistent")
    assert (manager.intended_page_script_hash, manager.intended_page_name) == ("", "nonexistent")


PLAIN_NAVIGATION = '''
import streamlit as st

def home():
    st.title("Home page")

def other():
    st.title("Other page")

st.navigation([st.Page(home, url_path="home", default=True), st.Page(other, url_path="other")]).run()
'''


def test_streamlit_still_answers_an_unknown_path_with_page_not_found(browser, tmp_path):
    """A plain st.navigation app (no pages/ folder, no fix) opened at /nonexistent shows Streamlit's
    "Page not found" dialog: the fallback after which the Draw page's canvas ignored strokes."""
    script = tmp_path / "plain_navigation.py"
    script.write_text(PLAIN_NAVIGATION, encoding="utf-8")
    port = free_port()
    # Its navigation shown: the project's config.toml hides it until our app's first import of `pages`.
    server = start_app(port, tmp_path / "server.log", env={"STREAMLIT_CLIENT_SHOW_SIDEBAR_NAVIGATION": "true"},
                       script=str(script))
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    try:
        tab = context.new_page()
        open_page(tab, f"http://127.0.0.1:{port}/nonexistent")
        expect(tab.get_by_text("Home page")).to_be_visible(timeout=30_000)
        expect(tab.locator("[data-testid='stDialog']")).to_contain_text("Page not found")
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)


# ---- a fresh server whose first request is a deep link --------------------------------------------

def test_a_fresh_servers_first_request_to_a_deep_link_runs_that_page_inside_the_frame(browser, tmp_path):
    """The first session of a new server process opens /cnn?lang=en (a bookmark after a restart): the
    CNN page, in English, with the app's navigation and sidebar, and no "page not found"; not a single
    frame of the legacy page list was painted (`painted_nav_links`: the same server serves both checks)."""
    port = free_port()
    server = start_app(port, tmp_path / "server.log")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    try:
        tab = context.new_page()
        tab.add_init_script(RECORD_NAV_LINKS)
        open_page(tab, f"http://127.0.0.1:{port}/cnn?lang=en")
        expect(tab.locator("h1").first).to_have_text(t("cnn.title", "en"), timeout=120_000)
        sidebar = tab.locator("[data-testid='stSidebar']")
        expect(sidebar.get_by_text("Language", exact=True)).to_be_visible()
        expect(sidebar.get_by_text("Projector mode")).to_be_visible()
        nav = tab.locator("[data-testid='stSidebarNavLink']")
        expect(nav.filter(has_text="Check yourself")).to_have_count(1)
        assert "shared" not in nav.all_inner_texts()  # the legacy pages-folder listing is gone
        assert tab.locator(EXCEPTION).count() == 0 and tab.locator("[data-testid='stDialog']").count() == 0
        assert "/cnn?" in tab.url and "lang=en" in tab.url and "sample=0" in tab.url  # init_session ran
        seen, app_titles = painted_nav_links(tab)
        assert seen <= app_titles, f"legacy page names painted: {sorted(seen - app_titles)}"
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Local URL" in log and "cuInit" not in log and "oneDNN" not in log, log  # explain.tf_noise


def test_streamlits_legacy_run_still_hides_its_page_list_when_the_config_says_so():
    """Why .streamlit/config.toml sets client.showSidebarNavigation = false (switched on by the app's
    first import of `pages`): the legacy run reads that option for the list it sends."""
    import tomllib
    from streamlit.runtime.scriptrunner import script_runner
    assert 'get_option("client.showSidebarNavigation") is False' in inspect.getsource(script_runner._mpa_v1)
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showSidebarNavigation"] is False
    import pages  # noqa: F401  (its first import switched the list on for the app's own navigation)
    assert streamlit.config.get_option("client.showSidebarNavigation") is True


def test_every_page_script_imports_pages_before_anything_else():
    """A page opened first on a fresh server runs alone (the legacy mode); its first import must be
    `pages`, whose import leaves that mode, before the imports that take seconds (TensorFlow)."""
    import ast
    scripts = re.findall(r'st\.Page\("(pages/\w+\.py)"', (ROOT / "app.py").read_text())
    assert len(scripts) >= 9
    for script in scripts:
        body = ast.parse((ROOT / script).read_text()).body
        imports = [node for node in body if isinstance(node, (ast.Import, ast.ImportFrom))
                   and getattr(node, "module", None) != "__future__"]
        assert isinstance(imports[0], ast.Import) and imports[0].names[0].name == "pages", script


# Every sidebar link text the page ever painted, from the first byte (a flash of ~1 s is easy to miss
# with screenshots): a MutationObserver installed before Streamlit's own scripts run.
RECORD_NAV_LINKS = """
window.__navSeen = new Set();
new MutationObserver(() => {
  document.querySelectorAll("[data-testid='stSidebarNavLink']")
    .forEach(a => window.__navSeen.add(a.innerText.trim().split("\\n").pop().trim()));   // the title, not the icon
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def painted_nav_links(tab) -> tuple[set[str], set[str]]:
    """Every sidebar link title the tab painted (RECORD_NAV_LINKS), and the app's own page titles."""
    seen = set(tab.evaluate("() => [...window.__navSeen]"))
    app_titles = {t(f"nav.{p.stem}", "en") for p in (ROOT / "pages").glob("*.py") if f"nav.{p.stem}" in strings("en")}
    assert "CNN internals" in app_titles and seen, seen
    return seen, app_titles


def test_a_fresh_servers_first_page_never_shows_the_legacy_page_list(browser, tmp_path):
    """Streamlit's legacy multipage run lists every pages/*.py file (shared, style, streamlit internals)
    in the sidebar before the app's own navigation replaces it: not a single frame of that list, with
    the app's address as the first request (a deep link as the first request: the test above)."""
    port = free_port()
    server = start_app(port, tmp_path / "server.log")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    try:
        tab = context.new_page()
        tab.add_init_script(RECORD_NAV_LINKS)
        open_page(tab, f"http://127.0.0.1:{port}/?lang=en")
        expect(tab.locator("[data-testid='stSidebarNavLink']").filter(has_text="Check yourself")).to_have_count(1)
        seen, app_titles = painted_nav_links(tab)
        assert seen <= app_titles, f"legacy page names painted: {sorted(seen - app_titles)}"
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)


# ---- the CSS on Streamlit's data-testids (pages/style.py) -----------------------------------------

def styled_testids() -> set[str]:
    css = style.PROJECTOR_CSS + style._SMALL_ROLES + " ".join(style._BUILT_IN_TEXT)
    return set(re.findall(r"data-testid='(\w+)'", css))


def test_every_data_testid_the_styles_name_is_still_rendered_by_streamlits_frontend():
    """pages/style.py sizes and translates Streamlit's own elements by their data-testid; a renamed or
    removed one would silently leave its text small (projector mode) or English."""
    bundle = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in BUNDLE.glob("*.js"))
    testids = styled_testids()
    assert len(testids) >= 15
    missing = sorted(i for i in testids if not re.search(rf"[\"'`]{i}[\"'`]", bundle))  # a string literal in the JS
    assert missing == []


# ---- Keras's kernel cache (pages.streamlit_internals.keep_compiled_kernels) -----------------------

@pytest.fixture
def clear_session_calls(monkeypatch):
    import keras
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    return calls


def test_streamlit_still_clears_keras_after_every_rerun(clear_session_calls):
    from pages import streamlit_internals
    streamlit_internals.STOCK_CLEANUP()
    assert clear_session_calls == [1], "Streamlit no longer calls clear_session: drop keep_compiled_kernels"


def test_streamlit_still_runs_its_cleanup_through_the_module_function_the_app_replaces():
    from streamlit.runtime.scriptrunner import script_runner
    assert "_log_if_error(_clean_problem_modules)" in inspect.getsource(script_runner.ScriptRunner._run_script)


def test_the_app_s_reruns_keep_keras_and_its_compiled_kernels(clear_session_calls):
    from streamlit.runtime.scriptrunner import script_runner

    import pages  # noqa: F401  (its import installs the replacement)
    from pages import streamlit_internals
    assert script_runner._clean_problem_modules is streamlit_internals._cleanup_keeping_keras
    script_runner._clean_problem_modules()
    assert clear_session_calls == []


# ---- the English labels widgets/labels.js translates ---------------------------------------------

def test_streamlit_still_writes_the_english_labels_the_app_translates_for_screen_readers():
    bundle = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in BUNDLE.glob("*.js"))
    script = (ROOT / "widgets" / "labels.js").read_text(encoding="utf-8")
    assert '"aria-label":`file upload`' in bundle, "the file input's label changed: revisit widgets/labels.js"
    assert "Help for ${" in bundle and "'Help for '" in script, "help icons are labelled otherwise now"
    for testid in re.findall(r"data-testid='(\w+)'", script):
        assert re.search(rf"[\"'`]{testid}[\"'`]", bundle), testid


# ---- the server's warm-up (pages.streamlit_internals.serving, compile_pages) ---------------------

def test_apptest_still_runs_the_app_with_a_mock_in_place_of_the_servers_runtime(monkeypatch):
    """What `serving` tells apart: no warm-up thread under AppTest (tests/test_warmup.py)."""
    from pages import streamlit_internals
    from tests.apptest import app_on_page
    seen = []
    monkeypatch.setattr("pages.warmup.start_once", lambda pages: seen.append(streamlit_internals.serving()))
    app_on_page(monkeypatch, "pages/quiz.py", lang="en")
    assert seen and not any(seen)


def test_a_page_still_reads_its_bytecode_from_the_runtimes_script_cache_the_warm_up_fills():
    from streamlit.navigation.page import StreamlitPage
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    assert "self._script_cache = ScriptCache()" in inspect.getsource(Runtime.__init__)
    run = inspect.getsource(StreamlitPage.run)
    assert "isinstance(self._page, Path)" in run and "get_page_script_byte_code(str(self._page))" in run
    assert "self._script_cache.get_bytecode(script_path)" in inspect.getsource(PagesManager.get_page_script_byte_code)
    assert list(inspect.signature(ScriptCache.get_bytecode).parameters) == ["self", "script_path"]


# ---- rerunning an enclosing fragment (pages.streamlit_internals.rerun_fragment, for pages.rows) ----

NESTED_POLL = '''
import streamlit as st
from pages.streamlit_internals import current_fragment, rerun_fragment, running_on_its_own

runs = st.session_state.setdefault("runs", {"app": 0, "parent": 0, "poll": 0})
runs["app"] += 1

@st.fragment(run_every=0.3)
def poll(parent):
    runs["poll"] += 1
    st.caption("polling")
    if running_on_its_own() and runs["poll"] >= 3:
        RERUN

@st.fragment
def parent():
    runs["parent"] += 1
    st.write(f"parent ran {runs['parent']} times")
    if runs["parent"] == 1:
        poll(current_fragment())

parent()
st.write(f"app ran {runs['app']} times")
'''


@pytest.mark.parametrize("rerun, parent_runs, polling", [('st.rerun(scope="fragment")', 1, 1),
                                                          ("rerun_fragment(parent)", 2, 0)])
def test_a_nested_polls_rerun_reaches_its_enclosing_fragment_only_through_rerun_fragment(
        browser, tmp_path, rerun, parent_runs, polling):
    """Streamlit's fragment-scoped rerun from a nested `run_every` fragment reruns that nested one alone
    (why `pages.rows` needs `rerun_fragment`); `rerun_fragment(parent)` reruns the enclosing fragment,
    not the app, and that rerun, which does not call the poll, stops its timer."""
    script = tmp_path / "nested_poll.py"   # it imports `pages`: the server runs from the project (start_app)
    script.write_text(NESTED_POLL.replace("RERUN", rerun), encoding="utf-8")
    port = free_port()
    server = start_app(port, tmp_path / "server.log", script=str(script))
    tab = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    try:
        tab.goto(f"http://127.0.0.1:{port}/")
        expect(tab.get_by_text("app ran 1 times")).to_be_visible(timeout=30_000)
        tab.wait_for_timeout(3000)   # ten ticks of the poll's timer
        expect(tab.get_by_text(f"parent ran {parent_runs} times")).to_be_visible()
        expect(tab.get_by_text("app ran 1 times")).to_be_visible()
        expect(tab.get_by_text("polling")).to_have_count(polling)
        assert tab.locator(EXCEPTION).count() == 0
    finally:
        tab.context.close()
        server.terminate()
        server.wait(timeout=30)
