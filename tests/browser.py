"""The browser tests' helpers live in `tools.browser`, shared with the benchmark and the load test."""
from tools.browser import EXCEPTION, ONE, SEVEN, ZERO, canvas_box, draw, open_page, settle

__all__ = ["EXCEPTION", "HOLD", "ONE", "SEVEN", "ZERO", "canvas_box", "draw", "draw_and_visit", "open_page", "settle"]

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
