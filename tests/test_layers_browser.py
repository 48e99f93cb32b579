"""The Dropout & BatchNorm page in headless Chromium follows a drawn digit and renders every view without
an exception (in Chinese, the course's language; AppTest covers both)."""
from __future__ import annotations

from explain.i18n import t
from tests.browser import EXCEPTION, draw_and_visit, wait_drawn
from tests.charts import CHART

CHARTS = 10   # masks, answers, updates, one step, its outgoing weights, LSTM answers, modes, statistics,
#              histogram, batch sizes


def test_a_drawn_digit_renders_every_view_of_the_layers_page(page, app_url):
    lang = "zh"
    draw_and_visit(page, app_url, "layers", lang)
    wait_drawn(page, CHARTS - 1, timeout=90_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(CHART).count() == CHARTS - 1     # the batch-size runs wait until they are opened
    page.get_by_text(t("layers.bn.sweep.open", lang, repeats=5, sizes=7)).click()
    wait_drawn(page, CHARTS, timeout=90_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(CHART).count() == CHARTS
    for view in ("thinned", "sgd", "lstm", "bn.formula", "bn.modes", "bn.sweep"):
        assert page.get_by_text(t(f"layers.{view}.header", lang), exact=True).count() == 1
    assert page.get_by_text(t("digit.source.drawn", lang)).count() >= 1
    assert page.locator(".katex").count() >= 2               # x-hat and y with this digit's numbers
