"""The app runs headless (Streamlit's AppTest, no browser): every page through app.py's frame, in
both languages, with the shared sidebar; the language chosen from the URL and the browser's locale."""
import ast
import re
from pathlib import Path

import pytest

from tests.apptest import app_on_page

APP = Path(__file__).resolve().parent.parent / "app.py"


def nav_pages() -> list[str]:
    """The page files app.py hands to st.navigation, in its order (read from app.py, so a new page is
    tested without editing this file)."""
    calls = [node for node in ast.walk(ast.parse(APP.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"]
    return [call.args[0].value for call in calls]


PAGES = nav_pages()


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def test_the_navigation_holds_the_course_pages():
    assert PAGES[0] == "pages/draw.py"
    assert {"pages/cnn.py", "pages/recurrent.py", "pages/attention.py", "pages/training.py",
            "pages/quiz.py"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_runs_inside_the_frame_with_the_sidebar_in_its_language(monkeypatch, page, lang):
    """The frame (app.py) ran around the page: its sidebar holds the language radio, the projector
    toggle and the export button, and the page's title is in the session's language."""
    at = app_on_page(monkeypatch, page, lang=lang)
    assert not at.exception, at.exception
    assert at.session_state["lang"] == lang
    radio = at.sidebar.radio(key="lang")
    assert radio.value == lang and list(radio.options) == ["中文", "English"]
    assert at.sidebar.toggle(key="projector").value is False
    assert len(at.sidebar.get("download_button")) == 1
    assert len(at.sidebar.get("image")) == 1, "the sidebar shows the current digit"
    assert has_chinese(at.sidebar.caption[0].value) == (lang == "zh"), at.sidebar.caption[0].value
    assert at.title, f"{page} shows no title"
    title = at.title[0].value
    assert has_chinese(title) == (lang == "zh"), title


@pytest.mark.parametrize(("locale", "expected"), [("en-US", "en"), ("fr-FR", "zh"), (None, "zh")])
def test_an_unknown_url_language_falls_back_to_the_browsers_then_chinese(monkeypatch, locale, expected):
    """Through the whole app (pick_language's own table is in test_i18n)."""
    at = app_on_page(monkeypatch, context={"locale": locale} if locale else None, lang="xx")
    assert at.session_state["lang"] == expected
    assert at.sidebar.radio(key="lang").value == expected
