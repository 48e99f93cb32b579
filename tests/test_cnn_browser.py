"""The CNN page in headless Chromium after a new drawing: its run shows the arithmetic's and the
pooling's server row, the other rows reach the charts a moment later by a rerun of their sections
alone (`pages.rows`), the sidebar's digit panel stays on screen meanwhile, and a key press on the
Row slider then redraws the arithmetic in the tab before the server hears of it."""
from __future__ import annotations

import numpy as np

from explain import conv
from tests.browser import EXCEPTION, HOLD, SEVEN, draw, open_page, settle

ROW = ".netlens-scrub input[type='range'][aria-label='Row']"
COLUMN = ".netlens-scrub input[type='range'][aria-label='Column']"
ARITHMETIC, POSITION = ".st-key-chart-conv1-arithmetic .netlens-chart", ".st-key-chart-conv1-position .netlens-chart"
FRAMES = "sel => Object.keys(document.querySelector(sel)?.__netlens?.scrub?.frames || {}).length"
# Every animation frame, whether the sidebar's digit panel (its image) is on screen: the count of frames
# without it, from now on.
WATCH_PANEL = """() => { window.__panelGone = 0; window.__watching = true;
  const tick = () => { if (!document.querySelector("[data-testid='stSidebarUserContent'] img")) window.__panelGone++;
                       if (window.__watching) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
# A heatmap's z as plotly.js holds it (nested arrays, or the typed-array spec the server sent) as rows.
GRID = """z => { if (!z.bdata) return Array.from(z, r => Array.from(r));
  const bytes = Uint8Array.from(atob(z.bdata), c => c.charCodeAt(0)).buffer;
  const flat = Array.from(z.dtype === "f8" ? new Float64Array(bytes) : new Float32Array(bytes));
  const [, w] = String(z.shape).split(",").map(Number);
  return Array.from({length: flat.length / w}, (_, i) => flat.slice(i * w, (i + 1) * w)); }"""
# The arithmetic chart's three grids (patch, kernel, products), each (F, F); the position chart's input map.
GRIDS = f"sel => document.querySelector(sel + ' .js-plotly-plot').data.map(d => ({GRID})(d.z))"
INPUT = f"sel => ({GRID})(document.querySelector(sel + ' .js-plotly-plot').data[0].z)"


def test_after_a_new_drawing_the_rows_arrive_with_the_sidebar_kept_and_a_key_press_redraws_the_arithmetic(
        page, app_url, models):
    model = models["cnn"]
    open_page(page, f"{app_url}/?lang=en")
    draw(page, SEVEN)
    settle(page)
    # Not draw_and_visit: its settle after the click can last past the rows' handover, and the run's own
    # row alone is what is checked first.
    page.locator("a[href*='cnn']").first.click()
    page.wait_for_function(f"() => ({FRAMES})({ARITHMETIC!r}) === 1 && "
                           "document.querySelector(\"[data-testid='stSidebarUserContent'] img\")", timeout=30_000)
    page.evaluate(WATCH_PANEL)                   # the run is over: its own row only, the others to come
    rows = int(model.get_layer("conv1").output.shape[1])
    page.wait_for_function(f"() => ({FRAMES})({ARITHMETIC!r}) === {rows} && ({FRAMES})({POSITION!r}) === {rows}",
                           timeout=30_000)
    settle(page)
    assert page.evaluate("() => { window.__watching = false; return window.__panelGone; }") == 0
    thumb = page.locator(ROW).first
    row, col = thumb.evaluate("e => Number(e.value)"), page.locator(COLUMN).first.evaluate("e => Number(e.value)")
    page.evaluate(HOLD)
    thumb.press("ArrowLeft" if row > 0 else "ArrowRight")
    moved = row - 1 if row > 0 else 1
    page.wait_for_function(f"() => document.querySelector({ARITHMETIC!r}).dataset.scrubbed === '{moved}'",
                           timeout=10_000)
    assert page.evaluate("() => window.__held.length") >= 1        # drawn in the tab, the server not told yet
    # The grids drawn for the new row: the digit's patch under conv1's window there (zero padded as Keras
    # pads it), the layer's own kernel for channel 0, and their products.
    patch, kernel, products = (np.array(g, np.float32) for g in page.evaluate(GRIDS, ARITHMETIC))
    digit = np.array(page.evaluate(INPUT, POSITION), np.float32)
    before, after = conv.padding(model, "conv1")
    size = model.get_layer("conv1").kernel_size[0]
    window = np.pad(digit, ((before, after), (before, after)))[moved:moved + size, col:col + size]
    np.testing.assert_allclose(patch, window, atol=1e-6)
    np.testing.assert_allclose(kernel, model.get_layer("conv1").get_weights()[0][:, :, 0, 0], atol=1e-6)
    np.testing.assert_allclose(products, window * kernel, atol=1e-5)
    page.evaluate("() => window.__release()")
    settle(page)
    assert page.get_by_text(f"conv1[row {moved}, column {col}, channel 0]").count() == 1
    assert page.locator(EXCEPTION).count() == 0
