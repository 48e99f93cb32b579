"""A server that restarts mid-lesson. Every open tab reconnects by itself (Streamlit does) and asks
for the page in its address bar: the URL holds the page, language, projector mode and test sample,
so each tab comes back as it was. A drawing or an upload lived in the old session and cannot: the
URL says there was one (digit=drawn / digit=upload), and the sidebar says, once, that it is gone."""
from __future__ import annotations

import pytest

from explain.i18n import t
from tests.apptest import app_on_page


def sidebar_notes(at) -> list[str]:
    return [e.value for e in at.sidebar.info]


@pytest.mark.parametrize("lang, source", [("en", "drawn"), ("zh", "drawn"), ("en", "upload"), ("zh", "upload")])
def test_a_digit_lost_with_its_session_is_said_once_and_sample_0_is_shown(monkeypatch, lang, source):
    at = app_on_page(monkeypatch, "pages/cnn.py", lang=lang, digit=source)
    assert sidebar_notes(at) == [t(f"digit.lost.{source}", lang, index=0)]
    assert at.query_params.get("sample") in ("0", ["0"]) and "digit" not in at.query_params
    at.run()                                        # it stays one note on later reruns, not a new one each
    assert sidebar_notes(at) == [t(f"digit.lost.{source}", lang, index=0)]


def test_a_sample_in_the_url_comes_back_without_a_note(monkeypatch):
    at = app_on_page(monkeypatch, "pages/cnn.py", lang="zh", sample="7", projector="1")
    assert sidebar_notes(at) == []
    assert at.session_state["projector"] is True and at.session_state["lang"] == "zh"
    assert at.session_state["digit"].index == 7
