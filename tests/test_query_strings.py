"""Hand-typed or stale links: an unknown page, a sample index out of range or not a number, an
unknown language or projector value. Each falls back to the default quietly, without a traceback."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import EXCEPTION, ONE, draw, open_page, settle

VALUE = "[data-testid='stMetric'] [data-testid='stMetricValue']"


def shows_sample(page, index: int, prediction: str) -> None:
    expect(page.get_by_text(f"test-split sample #{index} ").first).to_be_visible(timeout=30_000)
    expect(page.locator(VALUE).first).to_have_text(prediction)
    assert page.locator(EXCEPTION).count() == 0


def test_a_bad_sample_index_falls_back_to_sample_0(page, app_url):
    """(A good index is honoured: the load test opens samples by link and checks each.)"""
    for query in ("sample=99999", "sample=abc"):
        open_page(page, f"{app_url}/draw?lang=en&{query}")
        shows_sample(page, 0, "7")                # MNIST's official test digit #0 is a 7
        assert "sample=0" in page.url, query  # the address bar now says what is shown


def test_an_unknown_page_language_and_projector_value_open_the_draw_page_in_the_browsers_language(page, app_url):
    open_page(page, f"{app_url}/nonexistent?lang=xx&projector=banana")  # the `page` tab's locale is en-US
    expect(page.get_by_text("Language", exact=True).first).to_be_visible(timeout=30_000)
    shows_sample(page, 0, "7")
    assert "lang=en" in page.url and "projector" not in page.url


def test_an_unknown_language_in_a_chinese_browser_is_chinese(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    try:
        tab = context.new_page()
        open_page(tab, f"{app_url}/draw?lang=xx")
        expect(tab.get_by_text("语言", exact=True).first).to_be_visible(timeout=30_000)
        assert tab.locator(EXCEPTION).count() == 0 and "lang=zh" in tab.url
    finally:
        context.close()


def test_the_canvas_takes_strokes_after_opening_draw_or_an_unknown_page_by_address(browser, app_url):
    """/draw and /nonexistent run the Draw page; Streamlit's 'page not found' fallback used to leave
    its canvas deaf to strokes in every session after a server's first."""
    for path in ("/?lang=en", "/draw?lang=en", "/nonexistent?lang=en"):
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
        try:
            tab = context.new_page()
            open_page(tab, app_url + path)
            draw(tab, ONE)
            settle(tab)
            expect(tab.locator(VALUE).first).to_have_text("1", timeout=30_000)
            assert tab.locator(EXCEPTION).count() == 0, path
        finally:
            context.close()
