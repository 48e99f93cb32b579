"""The recurrent page in headless Chromium: it follows a drawn digit, switches model, and prints the
model's real answer, in both languages."""
from __future__ import annotations

import keras
import numpy as np

from explain.data import load_mnist
from explain.i18n import t
from explain.preprocess import to_mnist
from tests.browser import EXCEPTION, draw_and_visit, open_page, settle
from tests.charts import CHART



def exceptions(page) -> list[str]:
    boxes = page.locator(EXCEPTION)
    return [boxes.nth(k).inner_text()[:300] for k in range(boxes.count())]


def test_a_drawn_digit_shows_every_chart_for_the_lstm_and_the_gru(page, app_url):
    draw_and_visit(page, app_url, "recurrent")
    page.wait_for_selector(f"{CHART} >> nth=4", timeout=30_000)
    assert not exceptions(page)
    assert page.get_by_text(t("recurrent.gates.header", "en")).count() == 1
    assert page.locator(CHART).count() == 5          # gates, upright digit, unit, answer over time, memory
    assert page.locator(".katex").count() >= 6        # six LSTM equations and the parameter formulas
    assert page.get_by_text("LSTM reads this digit as 7").count() == 1
    page.get_by_text("GRU", exact=True).first.click()
    settle(page)
    assert not exceptions(page)
    assert page.get_by_text("GRU reads this digit as").count() == 1
    assert page.locator(CHART).count() == 5


def test_chinese_page_prints_the_models_real_answer_for_the_shared_sample(page, app_url, models):
    open_page(page, f"{app_url}/recurrent?lang=zh")
    page.wait_for_selector(f"{CHART} >> nth=4", timeout=30_000)
    assert not exceptions(page)
    split = load_mnist().test
    probs = keras.ops.convert_to_numpy(models["lstm"](to_mnist(split.x[0])[None]))[0]
    expected = t("recurrent.prediction", "zh", model="LSTM", answer=int(np.argmax(probs)), p=float(probs.max()))
    assert page.get_by_text(expected.replace("**", "")).count() == 1
    assert page.get_by_text(t("recurrent.gates.header", "en")).count() == 0
    assert page.get_by_text(t("recurrent.gates.header", "zh")).count() == 1
