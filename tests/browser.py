"""The browser tests' helpers: those shared with the benchmark and the load test live in `tools.browser`."""
import time

from tests.charts import CHART
from tools.browser import EXCEPTION, ONE, SEVEN, ZERO, canvas_box, draw, open_page, settle

__all__ = ["EXCEPTION", "HOLD", "ONE", "SEVEN", "ZERO", "canvas_box", "click_chart", "draw", "draw_and_visit",
           "draw_every_chart", "open_page", "settle", "wait_drawn", "wait_followed"]

# Holds every message the tab would send the server (reruns included) while window.__held is an array.
HOLD = """() => {
  window.__held = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__held) window.__held.push([this, data]);
    else send.call(this, data);
  };
  window.__release = () => {
    const held = window.__held;
    window.__held = null;
    held.forEach(([ws, d]) => send.call(ws, d));
  };
}"""


def draw_and_visit(page, app_url: str, path: str, lang: str = "en", strokes=SEVEN) -> None:
    """Draw `strokes` on the Draw page, then open the page at `path` by its sidebar link: a click keeps
    the session and its drawing, where a new URL would start a new session."""
    open_page(page, f"{app_url}/?lang={lang}")
    draw(page, strokes)
    settle(page)
    page.locator(f"a[href*='{path}']").first.click()
    settle(page)


def click_chart(page, plot, x_axis: str, y_axis: str, x: float, y: float) -> None:
    """Click the drawn plotly chart `plot` (a locator of its plot) at data coordinates (x, y) of its
    axes `x_axis` and `y_axis` (plotly's layout names: "xaxis2", "yaxis3")."""
    plot.scroll_into_view_if_needed()
    page.mouse.click(*plot.evaluate("""(el, [x_axis, y_axis, x, y]) => {
      const xa = el._fullLayout[x_axis], ya = el._fullLayout[y_axis], box = el.getBoundingClientRect();
      return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
    }""", [x_axis, y_axis, x, y]))


def draw_every_chart(page, timeout: float = 20_000) -> int:
    """Scroll each of the page's charts into sight in turn and wait until plotly.js has drawn its
    latest figure (a chart far from sight is drawn only when it comes near: widgets/assets/chart.js),
    then scroll back to the top. Charts in a hidden tab stay undrawn. Returns the number drawn."""
    charts = page.locator(".netlens-chart")
    for i in range(charts.count()):
        chart = charts.nth(i)
        if not chart.evaluate("el => el.getClientRects().length > 0"):
            continue
        chart.scroll_into_view_if_needed()
        page.wait_for_function("el => !el.dataset.offscreen && !el.dataset.drawing", arg=chart.element_handle(),
                               timeout=timeout)
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    return page.locator(CHART).count()


def wait_drawn(page, count: int, timeout: float = 60_000) -> None:
    """Wait until at least `count` of the page's charts are drawn, scrolling each into sight
    (`draw_every_chart`) as the page brings them."""
    deadline = time.monotonic() + timeout / 1e3
    while draw_every_chart(page, timeout) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} charts drawn expected within {timeout / 1e3:.0f} s; "
                               f"{page.locator(CHART).count()} drawn")
        page.wait_for_timeout(250)


# True once every chart matching the selector that is near sight has drawn the scrub value (data-scrubbed).
FOLLOWED = """([selector, value]) => [...document.querySelectorAll(selector)]
  .every(c => c.dataset.offscreen || c.dataset.scrubbed === value)"""


def wait_followed(page, value: int, selector: str = ".netlens-chart", timeout: float = 10_000) -> None:
    """Wait until every chart matching `selector` (`.netlens-chart` elements) near sight has drawn the
    scrub slider's `value` in the tab, then scroll the far ones into sight so that they draw it too
    (`draw_every_chart`): a test holding the tab's messages still holds them."""
    page.wait_for_function(FOLLOWED, arg=[selector, str(value)], timeout=timeout)
    draw_every_chart(page)
