"""Faults in a lecture, in headless Chromium on a server of this test's own: the training child is
killed by its pid mid-run (the plain message in English and Chinese, the best checkpoint still
downloadable, Start working again), then the server is stopped and started again under open tabs
(each comes back on its page, language, projector mode and sample; a drawing is said to be gone;
the run that was in progress shows as interrupted with its files)."""
from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from explain import runs
from explain.i18n import t
from tests.browser import EXCEPTION, ONE, draw, open_page, settle
from tools.browser import free_port, start_app


def new_tab(browser, locale: str):
    return browser.new_context(viewport={"width": 1280, "height": 720}, locale=locale).new_page()


def training_child(runs_dir: Path) -> tuple[Path, int]:
    """The newest run's folder and its training child's pid (from the "begin" event it recorded)."""
    folder = runs.run_dirs(runs_dir)[-1]
    begin = json.loads((folder / runs.EVENTS_FILE).read_text().splitlines()[0])
    return folder, begin["pid"]


def rerun_until(tab, where, text: str, timeout: float = 120) -> None:
    """Press R (Streamlit's rerun key) until `where` shows `text`: the first presses may come before
    the tab has reconnected to the restarted server."""
    deadline = time.monotonic() + timeout
    while text not in where.first.inner_text():
        assert time.monotonic() < deadline, (f"no {text!r} after {timeout:.0f} s; it shows: "
                                             f"{where.first.inner_text()[:400]!r}")
        tab.locator("[data-testid='stMain']").first.press("r")
        try:  # up to 5 s for this press to show it, then press again
            where.filter(has_text=text).first.wait_for(timeout=5000)
        except PlaywrightTimeout:
            pass
    settle(tab, 120_000)


def test_a_killed_child_and_a_restarted_server_lose_nothing_that_can_be_kept(browser, tmp_path):
    runs_dir = tmp_path / "runs"
    port = free_port()
    env = {"NETLENS_RUNS_DIR": str(runs_dir)}
    url = f"http://127.0.0.1:{port}"
    server = start_app(port, tmp_path / "first.log", env)
    try:
        en = new_tab(browser, "en-US")
        open_page(en, f"{url}/training?lang=en")
        en.get_by_role("button", name="Classroom demo preset").click()
        settle(en)
        en.get_by_role("button", name="Start").click()
        en.get_by_text(re.compile(r"Epoch 2 · ModelCheckpoint")).wait_for(timeout=150_000)
        folder, pid = training_child(runs_dir)
        os.kill(pid, signal.SIGKILL)

        en.get_by_text(t("training.failed.title", "en")).wait_for(timeout=60_000)
        settle(en)
        body = en.inner_text("body")
        assert "killed by signal 9 (SIGKILL)" in body and t("training.failed.hint.memory", "en") in body
        assert "oneDNN" not in body and en.locator(EXCEPTION).count() == 0     # the raw log is folded away
        with en.expect_download() as download:
            en.get_by_role("button", name="Download the best weights").click()
        assert Path(download.value.path()).read_bytes() == (folder / "best.weights.h5").read_bytes()
        assert "ended without finishing" in (tmp_path / "first.log").read_text()     # ... and is in the server log

        zh = new_tab(browser, "zh-CN")
        open_page(zh, f"{url}/training?lang=zh")
        assert zh.get_by_text(t("training.failed.title", "zh")).count() == 1
        assert t("training.failed.hint.memory", "zh") in zh.inner_text("body")
        zh.context.close()

        assert en.get_by_role("button", name="Start").is_enabled()
        en.get_by_role("button", name="Start").click()             # the lock was released: a new run starts
        en.get_by_text(re.compile(r"Epoch 1 · ModelCheckpoint")).wait_for(timeout=150_000)

        cnn = new_tab(browser, "zh-CN")
        open_page(cnn, f"{url}/cnn?lang=zh&projector=1&sample=7")
        drawn = new_tab(browser, "en-US")
        open_page(drawn, f"{url}/?lang=en")
        draw(drawn, ONE)
        settle(drawn)
        drawn.get_by_role("link", name="CNN internals").click()
        settle(drawn)
        assert drawn.url.split("?")[0].endswith("/cnn") and "digit=drawn" in drawn.url

        server.terminate()
        server.wait(60)
        server = start_app(port, tmp_path / "second.log", env)

        # An idle tab reconnects without rerunning (Streamlit reruns on reconnect only a tab that was
        # running or auto-refreshing); its next rerun (here the R key) runs in the new server.
        lost = t("digit.lost.drawn", "en", index=0)
        rerun_until(drawn, drawn.locator("[data-testid='stSidebar']"), lost)     # it ran in the new server
        assert drawn.get_by_text(lost).count() == 1 and drawn.locator(EXCEPTION).count() == 0
        assert "sample=0" in drawn.url and "digit=" not in drawn.url
        cnn.locator("[data-testid='stMain']").first.press("r")
        settle(cnn, 120_000)
        sidebar = cnn.locator("[data-testid='stSidebar']").first.inner_text()
        assert "测试集样本 #7" in sidebar and "语言" in sidebar and cnn.locator(EXCEPTION).count() == 0
        assert cnn.url.split("?")[0].endswith("/cnn") and "projector=1" in cnn.url and "lang=zh" in cnn.url
        assert cnn.get_by_role("switch").first.is_checked() or cnn.get_by_role("checkbox").first.is_checked()
        rerun_until(en, en.locator("[data-testid='stMain']"), t("training.interrupted", "en"))
        assert en.get_by_role("button", name="Download the CSV log").count() == 1
        assert en.get_by_role("button", name="Start").is_enabled()
    finally:
        server.terminate()
        server.wait(60)
