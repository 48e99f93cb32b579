"""The browser tests' helpers live in `tools.browser`, shared with the benchmark and the load test."""
from tools.browser import EXCEPTION, ONE, SEVEN, ZERO, canvas_box, draw, open_page, settle

__all__ = ["EXCEPTION", "HOLD", "ONE", "SEVEN", "ZERO", "canvas_box", "click_chart", "draw", "draw_and_visit",
           "open_page", "settle"]

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
