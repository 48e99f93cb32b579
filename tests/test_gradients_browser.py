"""The gradients page in headless Chromium follows a drawn digit and renders every view without an exception."""
from __future__ import annotations

from explain.i18n import t
from tests.browser import EXCEPTION, draw_and_visit, wait_drawn


def test_a_drawn_digit_renders_every_view_of_the_gradients_page(page, app_url):
    draw_and_visit(page, app_url, "gradients")
    wait_drawn(page, 7, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    for view in ("backprop", "act", "depth", "time", "clip"):
        assert page.get_by_text(t(f"gradients.{view}.header", "en"), exact=True).count() == 1
    assert page.get_by_text("drawn on the canvas").count() >= 1
    assert page.locator(".katex").count() >= 5
