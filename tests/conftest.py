"""Shared fixtures: the shipped models, the prepared test digits, and a live app in headless Chromium."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tools.browser import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, free_port, start_app

ROOT = Path(__file__).resolve().parent.parent
# Tests never write into (nor prune) the project's runs/: every run, in this process, in a training
# child or in a served app, goes to this session's own folder (explain.runs reads it at import).
RUNS_DIR = Path(tempfile.mkdtemp(prefix="netlens-test-runs-"))
os.environ["NETLENS_RUNS_DIR"] = str(RUNS_DIR)


@pytest.fixture(scope="session", autouse=True)
def graph_rewrites_off():
    """TensorFlow's graph rewrites off before any compiled call, as the app's server has them
    (`pages.warmup.configure`): switched off halfway through a run (by the first AppTest of app.py),
    test_inference's threaded calls gave numbers 1e-11 away from its serial ones (reproduced with
    test_draw_upload, test_custom_app and test_inference in one process; the whole suite, twice).
    A session fixture, not pytest_configure: xdist's controller runs no test and needs no TensorFlow."""
    from explain.inference import skip_graph_rewrites
    skip_graph_rewrites()


def pytest_unconfigure(config):
    shutil.rmtree(RUNS_DIR, ignore_errors=True)


# ---- two workers for a whole run (pytest.ini: -n auto --dist loadfile) ---------------------------------

WORKERS = 2                     # CI's cores; most of a browser or training test waits on another process


def pytest_xdist_auto_num_workers(config) -> int:
    """A whole run (a folder, as plain `pytest` is) gets two workers; a run of named files or tests
    stays in this process (no second collection, and a shared machine stays quieter). `-n N` chooses."""
    whole = any(Path(arg.split("::")[0]).is_dir() for arg in config.args)
    return min(WORKERS, os.cpu_count() or 1) if whole else 0


# The files that take longest (measured, --durations), started first: with --dist loadfile a file runs
# on one worker, and a long one taken last would leave the other worker idle at the end. A stale
# list costs only balance, but for one rule: test_i18n walks every page of its worker's server as a
# fresh server shows it, so it comes before the files that train (a finished run in the worker's
# runs folder puts its curves on the Training page), as it does in a serial, alphabetical run. The
# load test (25 s alone) is not among them: started beside the benchmark's browser run on a machine
# at load 25, its 5-second run outlasted its 300 s limit.
LONGEST_FIRST = ("test_bench.py", "test_i18n.py", "test_restart_browser.py",
                 "test_training_browser.py", "test_training_faults.py", "test_training.py", "test_draw_browser.py",
                 "test_streamlit_internals.py", "test_query_strings.py", "test_model_files.py",
                 "test_custom_browser.py", "test_models.py")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):   # the same order in every worker: each collects alone
        rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def models():
    """name -> the shipped keras model."""
    from explain.models import MODEL_NAMES, load_model
    return {name: load_model(name) for name in MODEL_NAMES}


@pytest.fixture(scope="session")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's official test set after `to_mnist`: x (10000, 28, 28) float32, y (10000,) int."""
    from explain.data import load_mnist
    from explain.preprocess import to_mnist_batch
    split = load_mnist().test
    return to_mnist_batch(split.x), split.y


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
        if os.environ.get("NETLENS_REQUIRE_BROWSER"):  # set by .ci/run: CI must not skip the browser tests
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
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
