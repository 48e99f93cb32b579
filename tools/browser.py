"""Driving the app in headless Chromium, for the tests and the tools alike: start a server, find
Chromium, wait for a rerun to finish, draw on the canvas. Needs only the app's requirements (the
caller brings Playwright's page objects)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NO_CHROMIUM = "Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"

EXCEPTION = "[data-testid='stException']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, log_path: Path, env: dict | None = None, script: str = "app.py") -> subprocess.Popen:
    """`streamlit run <script>` (the app unless told) on `port`, returning once its health check answers.
    Run as `python -m streamlit` from the project folder, so a script anywhere in it imports the project."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not start; see {log_path}")


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


# The sidebar's language choice, which app.py writes after every page it runs (pages.shared.sidebar_ui).
APP_SIDEBAR = "[data-testid='stSidebar'] [data-testid='stRadio']"


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    page.wait_for_selector("[data-testid='stSidebarNav'], [data-testid='stSidebarNavItems']", timeout=120_000)
    settle(page)
    # A page's URL (not the app's own) opened first on a fresh server ends its first run early and
    # reruns through app.py (pages/__init__.py) after a pause of up to about a second: settle again.
    # That early run writes no sidebar; once app.py has written it, no such rerun is pending (the
    # first import of `pages` in the server process, which asks for it, has happened).
    if urllib.parse.urlsplit(url).path.strip("/") and not page.locator(APP_SIDEBAR).count():
        page.wait_for_timeout(900)
        settle(page)


PAD_CANVAS = ".pad > canvas"  # the app's digit pad (widgets/pad.py), its buttons below the canvas


def canvas_box(page) -> dict:
    """The bounding box of the drawing canvas (the largest <canvas> on the page)."""
    page.wait_for_selector("canvas", timeout=60_000)
    boxes = [c.bounding_box() for c in page.locator("canvas").all()]
    boxes = [b for b in boxes if b and b["width"] >= 150]
    return max(boxes, key=lambda b: b["width"] * b["height"])


def draw(page, strokes: list[list[tuple[float, float]]], steps: int = 12, pause_ms: float = 0) -> None:
    """Draw polylines given in canvas fractions (0..1, 0..1), one mouse-down..mouse-up per stroke,
    `steps` mouse moves per segment, `pause_ms` between moves (a hand's pace rather than at once)."""
    box = canvas_box(page)
    # streamlit-drawable-canvas's toolbar lies invisible over the top of its canvas until the pointer
    # hovers the canvas (then it slides up, after a short delay): a stroke starting there at once
    # would press it.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    if not page.locator(PAD_CANVAS).count():  # the app's own pad has no such toolbar
        page.wait_for_timeout(400)
    for stroke in strokes:
        pts = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            for k in range(1, steps + 1):
                page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
                if pause_ms:
                    page.wait_for_timeout(pause_ms)
        page.mouse.up()


ONE = [[(0.5, 0.15), (0.5, 0.85)]]
SEVEN = [[(0.3, 0.2), (0.72, 0.2), (0.45, 0.86)]]
ZERO = [[(0.5, 0.15), (0.7, 0.25), (0.75, 0.5), (0.7, 0.75), (0.5, 0.85), (0.3, 0.75), (0.25, 0.5),
         (0.3, 0.25), (0.5, 0.15)]]
