"""The live-training page in headless Chromium: the classroom preset runs to an early stop while a
second session is refused a second run, the markers on the chart are the run's own (result.json,
checked against Keras in test_training.py), and the accuracy shown is the reloaded checkpoint's.
Stop, Stop twice, NaN and bad settings are tested headless in test_training.py (the browser budget
allows one run)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from browser import EXCEPTION, open_page, settle
from charts import CHART

ROOT = Path(__file__).resolve().parent.parent

PLOT_DATA = f"""() => Array.from(document.querySelectorAll("{CHART}"))
                  .map(p => p.data.map(t => ({{name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}})))"""


def reloaded_accuracy(folder: Path) -> float:
    """The homework's last step redone here: fresh model, load_weights, Keras's own evaluate."""
    from explain import training
    from explain.architectures import BUILDERS
    config = training.TrainConfig.from_json((folder / "config.json").read_text())
    _, (x_val, y_val) = training.training_data(config.train_samples, config.validation_fraction, config.seed)
    model = BUILDERS[config.model]()
    model.load_weights(str(training.checkpoint_path(config, folder)))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.evaluate(x_val, y_val, verbose=0)[1]


def test_classroom_demo_runs_live_to_an_early_stop_with_its_markers(page, browser, app_url):
    open_page(page, f"{app_url}/training?lang=en")
    page.get_by_role("button", name="Classroom demo preset").click()
    settle(page)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(re.compile(r"Epoch \d+/30 · batch")).wait_for(timeout=120_000)

    other = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN").new_page()
    open_page(other, f"{app_url}/training?lang=zh")
    assert other.get_by_role("button", name="开始").is_disabled()
    assert other.get_by_role("button", name="停止").is_disabled()
    other.context.close()

    page.get_by_text("EarlyStopping ended the run").wait_for(timeout=150_000)
    settle(page)
    assert page.locator(EXCEPTION).count() == 0
    shown = re.search(r"Files of this run: (\S+)", page.inner_text("body")).group(1)
    folder = ROOT / shown
    assert folder.parent == Path(os.environ["NETLENS_RUNS_DIR"])     # the suite's runs folder (conftest)
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "early_stop"

    curves = {trace["name"]: trace for trace in page.evaluate(PLOT_DATA)[0]}
    events = result["events"]
    cuts = [e for e in events if e["kind"] == "reduce_lr"]
    saves = [e for e in events if e["kind"] == "checkpoint"]
    assert cuts and curves["rate cut (ReduceLROnPlateau)"]["x"] == [e["epoch"] for e in cuts]
    assert curves["rate cut (ReduceLROnPlateau)"]["y"] == [e["new_lr"] for e in cuts]
    assert curves["checkpoint saved (new best val_loss)"]["x"] == [e["epoch"] for e in saves]
    assert curves["learning rate"]["y"] == result["history"]["learning_rate"]
    best = result["restored_epoch"]
    assert curves[f"best epoch {best}, restored"]["x"] == [best]
    stop = next(e for e in events if e["kind"] == "early_stop")
    notes = page.evaluate(f"() => document.querySelector('{CHART}').layout.annotations.map(a => [a.text, a.x])")
    assert [f"early stop (epoch {stop['epoch']})", stop["epoch"]] in notes
    assert [f"best: epoch {best}", best] in notes
    for e in cuts:
        assert f"Epoch {e['epoch']} · ReduceLROnPlateau" in page.inner_text("body")

    accuracy = page.locator("[data-testid='stMetricValue']").first.inner_text()
    assert accuracy == f"{result['accuracy']:.2%}" == f"{reloaded_accuracy(folder):.2%}"

    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN").new_page()
    open_page(projector, f"{app_url}/training?lang=zh&projector=1")
    assert projector.locator(EXCEPTION).count() == 0
    assert projector.locator("[data-testid='stNumberInput']").count() == 0      # settings hidden
    assert projector.get_by_text("早停在第").count() == 1
    assert projector.get_by_role("button", name="开始").is_enabled()
    projector.context.close()

