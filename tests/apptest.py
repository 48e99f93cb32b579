"""The whole app (frame, sidebar, session set-up) under `streamlit.testing.v1.AppTest`, on a chosen page."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def app_on_page(monkeypatch, page: str = "pages/draw.py", context: dict | None = None, state: dict | None = None,
                **query: str):
    """AppTest of app.py showing `page` (e.g. "pages/quiz.py"), opened with URL `query`, browser
    `context` (e.g. {"locale": "en-US"}) and session `state` set before the first run.

    AppTest starts every run as if the server were fresh, when Streamlit still takes our `pages/`
    folder for a legacy multipage folder and would run a switched-to page without app.py; the
    app's own fix (pages/streamlit_internals.py) acts once per process, so here that mode is switched
    off per run (tests/test_streamlit_internals.py checks that AppTest still needs this).
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest
    init = PagesManager.__init__

    def init_without_pages_folder(self, *args, **kwargs):
        PagesManager.uses_pages_directory = False
        init(self, *args, **kwargs)

    monkeypatch.setattr(PagesManager, "__init__", init_without_pages_folder)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.context.update(context or {})
    at.query_params.update(query)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page != "pages/draw.py":
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
