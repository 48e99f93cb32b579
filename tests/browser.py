"""Helpers for driving the app in headless Chromium: wait for a rerun to finish, draw on the canvas."""
from __future__ import annotations

EXCEPTION = "[data-testid='stException']"


def settle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current rerun."""
    # The status widget is hidden under toolbarMode "minimal"; the app root's script state is not.
    # Idle twice, 300 ms apart: a rerun the script asks for (st.rerun) starts a moment after the last ends.
    idle = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " && !document.querySelector('[data-test-script-state=\"running\"]')")
    for _ in range(2):
        page.wait_for_timeout(300)
        page.wait_for_function(idle, timeout=timeout)
    page.wait_for_timeout(300)


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    page.wait_for_selector("[data-testid='stSidebarNav'], [data-testid='stSidebarNavItems']", timeout=120_000)
    settle(page)
    # The first visit of a page URL on a fresh server ends its first run early and reruns through
    # app.py (pages/__init__.py) after a pause of up to about a second: settle again after it.
    page.wait_for_timeout(900)
    settle(page)


def canvas_box(page) -> dict:
    """The bounding box of the drawing canvas (the largest <canvas> on the page)."""
    page.wait_for_selector("canvas", timeout=60_000)
    boxes = [c.bounding_box() for c in page.locator("canvas").all()]
    boxes = [b for b in boxes if b and b["width"] >= 150]
    return max(boxes, key=lambda b: b["width"] * b["height"])


def draw(page, strokes: list[list[tuple[float, float]]], steps: int = 12) -> None:
    """Draw polylines given in canvas fractions (0..1, 0..1), one mouse-down..mouse-up per stroke."""
    box = canvas_box(page)
    # The canvas's toolbar lies invisible over the top of the canvas until the pointer hovers the
    # canvas (then it slides up, after a short delay): a stroke starting there at once would press it.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(400)
    for stroke in strokes:
        pts = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            for k in range(1, steps + 1):
                page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
        page.mouse.up()


ONE = [[(0.5, 0.15), (0.5, 0.85)]]
SEVEN = [[(0.3, 0.2), (0.72, 0.2), (0.45, 0.86)]]
ZERO = [[(0.5, 0.15), (0.7, 0.25), (0.75, 0.5), (0.7, 0.75), (0.5, 0.85), (0.3, 0.75), (0.25, 0.5),
         (0.3, 0.25), (0.5, 0.15)]]
