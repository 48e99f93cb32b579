"""Shared fixtures: the shipped models, the prepared test digits, and a live app in headless Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def models():
    """name -> the shipped keras model."""
    from explain.models import MODEL_NAMES, load_model
    return {name: load_model(name) for name in MODEL_NAMES}


@pytest.fixture(scope="session")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    """The test split after `to_mnist`: x (1500, 28, 28) float32, y (1500,) int."""
    from explain.data import load_mnist
    from explain.preprocess import to_mnist_batch
    split = load_mnist().test
    return to_mnist_batch(split.x), split.y


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, log_path: Path, env: dict | None = None, script: str = "app.py") -> subprocess.Popen:
    """`streamlit run <script>` (the app unless told) on `port`, returning once its health check answers."""
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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The app, served once for the whole test session."""
    port = free_port()
    proc = start_app(port, tmp_path_factory.mktemp("server") / "server.log")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"
        if os.environ.get("NETLENS_REQUIRE_BROWSER"):  # set by .ci/run: CI must not skip the browser tests
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab (a fresh Streamlit session) at a 1280x720 projector size."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    tab = context.new_page()
    yield tab
    context.close()
