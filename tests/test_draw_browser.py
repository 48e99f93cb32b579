"""The Draw page in headless Chromium: clear strokes of a 1, a 0 and a 7 are read as such, a cleared
canvas or a dot keeps the shared digit, an uploaded phone photo becomes the digit, and the CNN page
explains the same drawing."""
from __future__ import annotations

import re

import keras
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import (EXCEPTION, ONE, SEVEN, ZERO, click_chart, draw, draw_every_chart, open_page, settle,
                           wait_drawn)
from tests.charts import CHART
from tests.test_draw_upload import phone_photo

VALUE = "[data-testid='stMetric'] [data-testid='stMetricValue']"
NAV = "[data-testid='stSidebarNav'] a, [data-testid='stSidebarNavLink']"
CLEAR = "button[data-action='clear']"
SIDEBAR = "[data-testid='stSidebar']"
BARS = ".bars .panel"
UPLOAD = "[data-testid='stMain'] [data-testid='stFileUploaderDropzoneInput']"  # the sidebar has the model uploader


def expect_prediction(page, digit: int) -> None:
    settle(page)
    expect(page.locator(VALUE).first).to_have_text(str(digit), timeout=20_000)


def clear(page) -> None:
    page.locator(CLEAR).first.click()
    settle(page)


def test_drawn_one_zero_and_seven_are_predicted_and_a_cleared_canvas_or_a_dot_keeps_the_digit(page, app_url):
    open_page(page, f"{app_url}/?lang=en&sample=3")
    expect(page.locator(VALUE).first).to_have_text("0", timeout=60_000)  # official test digit #3, a 0, until a drawing
    for strokes, digit in ((ONE, 1), (ZERO, 0), (SEVEN, 7)):
        draw(page, strokes)
        expect_prediction(page, digit)
        expect(page.get_by_text("Explaining: drawn on the canvas")).to_be_visible()
        # The stroke reran only the page's fragment; the sidebar's digit panel followed it.
        expect(page.locator(SIDEBAR).get_by_text("Current digit: drawn on the canvas")).to_be_visible()
        assert page.locator("[data-testid='stMetric']").first.inner_text().startswith("Prediction")
        clear(page)
        # A blank canvas says so, and the page goes on explaining the last drawing.
        expect(page.get_by_text("The canvas is empty")).to_be_visible()
        expect(page.locator(VALUE).first).to_have_text(str(digit))
    draw(page, [[(0.5, 0.5), (0.5, 0.5)]])  # a click: one dab of the brush
    settle(page)
    expect(page.get_by_text("That is only a dot")).to_be_visible()
    expect(page.locator(VALUE).first).to_have_text("7")
    assert page.locator(EXCEPTION).count() == 0


def test_the_cnn_page_explains_the_drawing_and_the_draw_page_keeps_it_after_the_visit(page, app_url):
    # Nothing the two pages show is fetched from elsewhere (the favicon included): a classroom may be offline.
    elsewhere = []
    page.on("request", lambda r: None if r.url.startswith((app_url, "data:", "blob:")) else elsewhere.append(r.url))
    open_page(page, f"{app_url}/?lang=en")
    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.locator(NAV).filter(has_text="CNN").first.click()  # a click keeps the session; goto would not
    settle(page)
    explaining = re.compile(r"Explaining: drawn on the canvas, with .+\. It answers 7 ")
    expect(page.get_by_text(explaining)).to_be_visible(timeout=20_000)
    expect(page.locator(CHART).first).to_be_visible()
    # conv1's kernels and maps before/after ReLU, arithmetic (2), pooling, softmax; conv2's tab is sent
    # when it is opened. Those far below the fold are drawn as they come near.
    page.wait_for_function("() => document.querySelectorAll('.netlens-chart[data-offscreen]').length > 0")
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")
    drawn, far = page.locator(CHART).count(), page.locator(".netlens-chart[data-offscreen]").count()
    assert drawn + far == 7 and far >= 3, (drawn, far)
    assert draw_every_chart(page) == 7
    assert page.locator(".netlens-chart").count() == 7
    page.get_by_role("tab").filter(has_text="conv2").first.click()   # its kernels and maps replace conv1's
    expect(page.get_by_role("tabpanel").locator(CHART)).to_have_count(3)
    expect(page.get_by_role("tabpanel").get_by_text("conv2: before")).to_be_visible()
    expect(page.get_by_text("Total: 61,706 parameters")).to_be_visible()
    expect(page.get_by_text("the hand computation differs by")).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    page.locator(NAV).first.click()
    settle(page)
    # The canvas came back empty; the shared digit is still the drawn 7.
    expect(page.locator(VALUE).first).to_have_text("7", timeout=20_000)
    expect(page.get_by_text("The canvas is empty")).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator("link[rel='shortcut icon']").get_attribute("href").startswith(("/", app_url))
    assert elsewhere == []


def test_an_uploaded_phone_photo_becomes_the_digit_and_a_bad_file_gets_a_message(page, app_url, test_digits, tmp_path):
    x, y = test_digits
    index = int(np.flatnonzero(y == 4)[0])
    photo, junk = tmp_path / "four.jpg", tmp_path / "notes.png"
    photo.write_bytes(phone_photo(x[index], seed=1))
    junk.write_bytes(b"not an image at all")
    open_page(page, f"{app_url}/?lang=en")
    page.locator(UPLOAD).set_input_files(str(photo))
    expect_prediction(page, 4)
    expect(page.get_by_text("Showing: uploaded image")).to_be_visible()  # the upload cleared the canvas
    page.locator(UPLOAD).set_input_files(str(junk))
    settle(page)
    expect(page.get_by_text("This file is not an image")).to_be_visible()
    expect(page.locator(VALUE).first).to_have_text("4")
    assert page.locator(EXCEPTION).count() == 0


def touch_stroke(page, points: list[tuple[float, float]]) -> None:
    """One finger stroke through `points` (pad fractions), as a touchscreen sends it (CDP touch events)."""
    from tools.browser import canvas_box
    box = canvas_box(page)
    cdp = page.context.new_cdp_session(page)
    at = [dict(x=box["x"] + x * box["width"], y=box["y"] + y * box["height"]) for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for (a, b) in zip(at, at[1:]):
        for k in range(1, 9):
            point = dict(x=a["x"] + (b["x"] - a["x"]) * k / 8, y=a["y"] + (b["y"] - a["y"]) * k / 8)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_finger_draws_on_the_pad_of_a_touch_screen_and_undo_takes_the_stroke_back(browser, app_url):
    context = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True,
                                  locale="zh-CN")
    page = context.new_page()
    try:
        open_page(page, f"{app_url}/?lang=zh")
        expect(page.locator("button[data-action='undo']")).to_have_text("撤销")
        expect(page.locator(CLEAR)).to_have_text("清空")
        # What only a screen reader meets is in Chinese too: the file input and the help icons.
        expect(page.locator(UPLOAD)).to_have_attribute("aria-label", "选择要上传的文件")
        expect(page.locator("[data-testid='stMain'] button[aria-label^='“或上传一张数字照片”']")).to_have_count(1)
        assert page.locator("button[aria-label^='Help for ']").count() == 0
        touch_stroke(page, ONE[0])
        expect_prediction(page, 1)
        assert page.locator("[data-testid='stMetric']").first.inner_text().startswith("预测")
        touch_stroke(page, [(0.3, 0.2), (0.72, 0.2)])  # the 1 becomes a 7's stroke pair ...
        settle(page)
        page.locator("button[data-action='undo']").tap()  # ... and Undo takes the bar back off
        expect_prediction(page, 1)
        assert page.locator(EXCEPTION).count() == 0
    finally:
        context.close()


def test_in_projector_mode_at_1280x720_the_pad_the_prediction_and_all_five_models_fit_the_screen(page, app_url,
                                                                                                  tmp_path):
    open_page(page, f"{app_url}/?lang=zh&projector=1")
    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.screenshot(path=str(tmp_path / "draw-projector-zh.png"))  # to look at when it fails
    seen = {"pad": page.locator("canvas").first, "prediction": page.locator("[data-testid='stMetric']").first,
            **{f"bars of {k}": page.locator(BARS).nth(k) for k in range(5)}}
    assert page.locator(BARS).count() == 5
    for name, element in seen.items():
        box = element.bounding_box()
        assert box and box["x"] >= 0 and box["y"] >= 0, name
        assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720, f"{name} leaves the screen: {box}"


MARK = "el => { el.dataset.mark = 'kept'; }"
# The ink of the 28x28 input the strip draws (its third heatmap, rows of numbers).
DRAWN_INK = "el => { let ink = 0; for (const row of el._fullData[2].z) for (const v of row) ink += v; return ink; }"


def test_a_new_drawing_updates_the_preprocessing_chart_in_place_without_a_remount(page, app_url):
    open_page(page, f"{app_url}/?lang=en")
    draw(page, SEVEN)
    expect_prediction(page, 7)
    chart = page.locator(f".st-key-steps_chart {CHART}")
    expect(chart).to_have_count(1)
    chart.evaluate(MARK)
    before = chart.evaluate(DRAWN_INK)
    clear(page)
    draw(page, ONE)
    expect_prediction(page, 1)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")
    # The same plot (Plotly.react, not a new element) now shows the 1.
    assert chart.evaluate("el => el.dataset.mark") == "kept"
    assert chart.evaluate(DRAWN_INK) != pytest.approx(before, rel=1e-3)
    assert page.locator(EXCEPTION).count() == 0


def test_the_cnn_pages_softmax_chart_draws_kerass_probabilities_and_a_slider_keeps_every_plot(page, app_url,
                                                                                               models, test_digits):
    open_page(page, f"{app_url}/cnn?lang=en&sample=7")
    wait_drawn(page, 7, timeout=60_000)   # every chart but conv2's hidden tab
    softmax = page.locator(f".st-key-chart-softmax {CHART}")
    drawn = softmax.evaluate("el => Array.from(el._fullData[1].y)")
    expected = keras.ops.convert_to_numpy(models["cnn"](test_digits[0][7][None]))[0]
    np.testing.assert_allclose(drawn, expected, atol=1e-6)
    page.locator(CHART).evaluate_all(f"els => els.forEach({MARK})")
    window = page.locator(".st-key-chart-conv1-position " + CHART)
    before = window.evaluate("el => JSON.stringify(el.layout.shapes)")
    page.locator(".netlens-scrub input[type='range'][aria-label='Row']").first.press("ArrowRight")
    settle(page)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")
    assert window.evaluate("el => JSON.stringify(el.layout.shapes)") != before   # the window moved ...
    assert page.locator(CHART).evaluate_all("els => els.map(el => el.dataset.mark)") == ["kept"] * 7  # ... in place
    assert page.locator(EXCEPTION).count() == 0


def test_a_charts_fullscreen_control_fills_the_screen_and_gives_the_chart_back(page, app_url):
    open_page(page, f"{app_url}/?lang=zh")
    chart = page.locator(".st-key-steps_chart .netlens-chart")
    expect(chart.locator(".js-plotly-plot")).to_have_count(1)
    width = chart.locator(".main-svg").first.bounding_box()["width"]
    button = chart.locator(".fullscreen")
    assert button.get_attribute("aria-label") == "全屏"
    chart.hover()
    button.click()
    expect(button).to_have_attribute("aria-label", "退出全屏")
    assert page.evaluate("() => document.fullscreenElement.classList.contains('netlens-chart')")
    page.wait_for_function("() => document.querySelector('.st-key-steps_chart .main-svg').getBoundingClientRect()"
                           ".width === window.innerWidth")
    button.click()
    expect(button).to_have_attribute("aria-label", "全屏")
    page.wait_for_function(f"() => document.querySelector('.st-key-steps_chart .main-svg').getBoundingClientRect()"
                           f".width === {width}")


def test_a_click_on_the_cnn_feature_map_takes_the_arithmetic_to_that_position(page, app_url):
    """Click row 5, column 9 of conv1's map beside the input: the window follows row 5 in the tab at
    once, and the server's rerun moves the column and writes that value's check."""
    open_page(page, f"{app_url}/cnn?lang=en&sample=7")
    wait_drawn(page, 7, timeout=60_000)
    where = page.locator(f".st-key-chart-conv1-position {CHART}")
    click_chart(page, where, "xaxis2", "yaxis2", 9, 5)
    page.wait_for_function("() => document.querySelector('.st-key-chart-conv1-position .netlens-chart')"
                           ".dataset.scrubbed === '5'", timeout=10_000)
    settle(page)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')")
    assert page.get_by_text(re.compile(r"conv1\[row 5, column 9, channel 0\]")).count() == 1
    cell = where.evaluate("el => el.layout.shapes.at(-1)")                      # the position on the map
    assert (cell["x0"], cell["y0"]) == (8.5, 4.5)
    assert page.locator(EXCEPTION).count() == 0


def test_every_cnn_chart_finishes_drawing_after_the_sidebar_link(page, app_url):
    """A clock waits for charts to finish drawing: the scrub sliders' announcement on mounting, seen by
    charts already drawn on that value, once left the two arithmetic charts marked as drawing for good."""
    from tests.browser import draw_and_visit
    draw_and_visit(page, app_url, "cnn")
    wait_drawn(page, 7, timeout=60_000)
    settle(page)
    page.wait_for_function("() => !document.querySelector('.netlens-chart[data-drawing]')", timeout=15_000)
    assert page.locator(EXCEPTION).count() == 0
