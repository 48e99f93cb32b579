"""The recurrent page in headless Chromium: it follows a drawn digit, switches model, and prints the
model's real answer, in both languages."""
from __future__ import annotations

import keras
import numpy as np

from explain.data import load_mnist
from explain.i18n import t
from explain.preprocess import to_mnist
from tests.browser import (EXCEPTION, HOLD, click_chart, draw_and_visit, draw_every_chart, open_page, settle,
                           wait_drawn, wait_followed)
from tests.charts import CHART



def exceptions(page) -> list[str]:
    boxes = page.locator(EXCEPTION)
    return [boxes.nth(k).inner_text()[:300] for k in range(boxes.count())]


def test_a_drawn_digit_shows_every_chart_for_the_lstm_and_the_gru(page, app_url):
    draw_and_visit(page, app_url, "recurrent")
    wait_drawn(page, 5, timeout=30_000)
    assert not exceptions(page)
    assert page.get_by_text(t("recurrent.gates.header", "en")).count() == 1
    assert page.locator(CHART).count() == 5          # gates, upright digit, unit, answer over time, memory
    assert page.locator(".katex").count() >= 6        # six LSTM equations and the parameter formulas
    assert page.get_by_text("LSTM reads this digit as 7").count() == 1
    page.get_by_text("GRU", exact=True).first.click()
    settle(page)
    assert not exceptions(page)
    assert page.get_by_text("GRU reads this digit as").count() == 1
    assert draw_every_chart(page) == 5


def test_chinese_page_prints_the_models_real_answer_for_the_shared_sample(page, app_url, models):
    open_page(page, f"{app_url}/recurrent?lang=zh")
    wait_drawn(page, 5, timeout=30_000)
    assert not exceptions(page)
    split = load_mnist().test
    probs = keras.ops.convert_to_numpy(models["lstm"](to_mnist(split.x[0])[None]))[0]
    expected = t("recurrent.prediction", "zh", model="LSTM", answer=int(np.argmax(probs)), p=float(probs.max()))
    assert page.get_by_text(expected.replace("**", "")).count() == 1
    assert page.get_by_text(t("recurrent.gates.header", "en")).count() == 0
    assert page.get_by_text(t("recurrent.gates.header", "zh")).count() == 1


STEP = ".netlens-scrub input[type='range'][aria-label='Timestep t = image row']"
OUTLINE_X0 = "el => el.layout.shapes.at(-1).x0"       # the chosen row's outline through every panel


def _moved(page, key: str) -> None:
    page.locator(STEP).first.press(key)
    settle(page)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")


def test_a_timestep_move_moves_the_outline_over_the_same_heatmaps_even_after_the_tab_forgot_them(page, app_url,
                                                                                                  models):
    """The move's message carries the heatmaps as null (the tab holds them) and plotly.js only moves the
    outline (relayout: the heatmap trace objects are the ones drawn before); a tab that lost what it
    held asks, and gets the whole figure again."""
    first = next(layer.name for layer in models["lstm"].layers if isinstance(layer, keras.layers.LSTM))
    gates_chart = f".st-key-chart-recurrent-{first} {CHART}"   # the first LSTM layer's gate heatmaps
    open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
    wait_drawn(page, 5, timeout=30_000)
    gates = page.locator(gates_chart)
    step = int(page.locator(STEP).first.evaluate("e => Number(e.value)"))
    key = "ArrowLeft" if step > 1 else "ArrowRight"
    gates.evaluate("el => el.data.forEach(trace => { trace.__kept = true; })")
    z = gates.evaluate("el => JSON.stringify(el._fullData[1].z)")
    _moved(page, key)
    moved = step - 1 if key == "ArrowLeft" else step + 1
    assert gates.evaluate(OUTLINE_X0) == moved - 0.5
    assert gates.evaluate("el => el.data.every(trace => trace.__kept)")     # not one trace given anew
    assert gates.evaluate("el => JSON.stringify(el._fullData[1].z)") == z
    page.evaluate("() => { window.__netlensCharts = {}; }")               # the tab forgets every chart's traces
    _moved(page, "ArrowRight" if key == "ArrowLeft" else "ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('{gates_chart}').layout.shapes.at(-1).x0 === {step - 0.5}",
                           timeout=15_000)
    assert gates.evaluate("el => JSON.stringify(el._fullData[1].z)") == z    # the heatmaps drawn from the resent figure
    assert not exceptions(page)


def test_timestep_moves_faster_than_the_server_answers_end_on_the_last_rows_charts(page, app_url, models):
    """Reruns interrupted by the next key press (their messages may never reach the tab) leave every
    chart on the row the slider shows: a message built on one the tab did not get is asked again."""
    open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
    wait_drawn(page, 5, timeout=30_000)
    slider = page.locator(STEP).first
    slider.focus()
    key = "ArrowLeft" if int(slider.evaluate("e => Number(e.value)")) > 14 else "ArrowRight"
    for _ in range(8):
        page.keyboard.press(key, delay=10)
    settle(page)
    draw_every_chart(page)
    step = int(slider.evaluate("e => Number(e.value)"))
    outlines = page.locator(CHART).evaluate_all("els => els.map(el => (el.layout.shapes || []).map(s => s.x0))")
    # gates, upright digit (rows on y), unit, answer, memory: each outlines the slider's row
    assert all(step - 0.5 in xs for k, xs in enumerate(outlines) if k != 1), (step, outlines)
    assert page.locator(CHART).nth(1).evaluate("el => el.layout.shapes[0].y0") == step - 0.5
    assert not exceptions(page)





def _outlines(page) -> list[list[float]]:
    """Every chart's shapes' x0 (the row outline on the time axis), and the upright digit's y0 (rows on y)."""
    return page.locator(CHART).evaluate_all(
        "els => els.map((el, k) => (el.layout.shapes || []).map(s => k === 1 ? s.y0 : s.x0))")


def test_the_charts_follow_the_timestep_before_the_server_hears_of_it_and_the_text_after(page, app_url):
    """A key press on the timestep slider redraws every chart on the new row in the tab (the server
    has not been told: the tab's messages are held), and the equations follow once the server is."""
    open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
    wait_drawn(page, 5, timeout=30_000)
    slider = page.locator(STEP).first
    step = int(slider.evaluate("e => Number(e.value)"))
    moved = step + 1 if step < 28 else step - 1
    equations = page.locator("h3", has_text="The equations at row")
    assert f"row {step}," in equations.inner_text()
    page.evaluate(HOLD)
    slider.press("ArrowRight" if moved > step else "ArrowLeft")
    wait_followed(page, moved)
    assert all(moved - 0.5 in xs for xs in _outlines(page)), (moved, _outlines(page))
    assert page.evaluate("() => window.__held.length") >= 1            # the new value, not sent yet
    assert f"row {step}," in equations.inner_text()                    # the server's text: the row before
    page.evaluate("() => window.__release()")
    settle(page)
    assert f"row {moved}," in equations.inner_text()
    assert all(moved - 0.5 in xs for xs in _outlines(page))
    assert not exceptions(page)


def test_dragging_the_timestep_thumb_moves_the_charts_while_the_pointer_is_down(page, app_url):
    open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
    wait_drawn(page, 5, timeout=30_000)
    box = page.locator(STEP).first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    seen = set()
    for k in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * k / 10 - 2, y, steps=3)
        seen.add(page.locator(CHART).first.evaluate("el => el.layout.shapes.at(-1).x0"))
    page.mouse.up()
    assert len(seen) >= 5, seen                                          # the outline moved with the thumb
    settle(page)
    draw_every_chart(page)
    assert int(page.locator(STEP).first.evaluate("e => Number(e.value)")) == 28
    assert all(27.5 in xs for xs in _outlines(page))
    assert "row 28," in page.locator("h3", has_text="The equations at row").inner_text()
    assert not exceptions(page)


def test_a_tap_on_the_timestep_slider_moves_it_and_its_charts_on_a_touch_screen(browser, app_url):
    """A tablet in the room: a tap near the track's end takes the slider there, the charts follow and
    the server's equations too."""
    context = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True,
                                  locale="en-US")
    page = context.new_page()
    try:
        open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
        wait_drawn(page, 5, timeout=30_000)
        slider = page.locator(STEP).first
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
        wait_followed(page, 28)
        assert int(slider.evaluate("e => Number(e.value)")) == 28
        settle(page)
        assert "row 28," in page.locator("h3", has_text="The equations at row").inner_text()
        assert all(27.5 in xs for xs in _outlines(page))
        assert not exceptions(page)
    finally:
        context.close()


def test_a_click_on_a_gate_cell_takes_the_timestep_and_the_unit_there(page, app_url, models):
    """Click row 20, unit 5 of a gate's heatmap: every chart follows row 20 in the tab at once (the
    slider's thumb too), then the server's rerun picks unit 5 and writes its equations."""
    first = next(layer.name for layer in models["lstm"].layers if isinstance(layer, keras.layers.LSTM))
    open_page(page, f"{app_url}/recurrent?lang=en&sample=0")
    wait_drawn(page, 5, timeout=30_000)
    gates = page.locator(f".st-key-chart-recurrent-{first} {CHART}")
    page.evaluate(HOLD)
    click_chart(page, gates, "xaxis3", "yaxis3", 20, 5)
    wait_followed(page, 20)
    assert int(page.locator(STEP).first.evaluate("e => Number(e.value)")) == 20   # the thumb moved, in the tab
    page.evaluate("() => window.__release()")
    settle(page)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")
    assert "row 20, unit 5" in page.locator("h3", has_text="The equations at row").inner_text()
    cells = gates.evaluate("el => el.layout.shapes.filter(s => s.yref !== 'paper').map(s => [s.x0, s.y0])")
    assert cells and all(cell == [19.5, 4.5] for cell in cells), cells           # the unit's cell in every panel
    assert not exceptions(page)
