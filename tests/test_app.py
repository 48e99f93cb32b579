"""The app runs headless (Streamlit's AppTest, no browser): every page, in both languages."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/draw.py", "pages/cnn.py", "pages/recurrent.py", "pages/attention.py", "pages/training.py",
         "pages/quiz.py"]


def run_app(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    return at.run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_app_starts_on_the_draw_page_without_exception(lang):
    at = run_app(lang)
    assert not at.exception, at.exception
    assert at.session_state["lang"] == lang


@pytest.mark.parametrize("page", PAGES[1:])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_runs_without_exception_in_its_language(page, lang):
    at = run_app(lang)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    title = at.title[0].value
    assert has_chinese(title) == (lang == "zh"), title


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def test_an_unknown_language_falls_back_to_a_known_one():
    at = run_app("xx")
    assert at.session_state["lang"] in ("zh", "en")
