"""The fitting page through app.py (AppTest) in both languages: it shows TensorFlow's numbers, counts
iterations from the data, says so clearly when a learning rate diverges, and never touches the
shipped model file; and in a real browser it renders after a drawing."""
from __future__ import annotations

import hashlib
import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import fitting
from explain.data import load_mnist
from explain.i18n import t
from explain.models import model_path
from explain.preprocess import to_mnist
from tests.apptest import app_on_page
from tests.browser import EXCEPTION, SEVEN, draw, open_page, settle, wait_drawn
from tests.charts import CHART

PAGE = "pages/fitting.py"
NUMBERS_GONE_WRONG = re.compile(r"\b(nan|inf)\b")      # how numpy prints them (the messages may say NaN)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def page_text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
                     + [str(tb.value) for tb in at.table] + [m.value for m in at.metric])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_shows_tensorflows_gradient_and_the_datas_iteration_count_and_leaves_the_model_file_alone(
        monkeypatch, models, lang):
    before = sha256(model_path("mlp"))
    at = app_on_page(monkeypatch, PAGE, state={"fitting_reg_open": True}, lang=lang)
    assert at.title[0].value == t("nav.fitting", lang)
    digit = to_mnist(load_mnist().test.x[0])
    label = int(load_mnist().test.y[0])
    assert at.selectbox[0].value == label
    pixel = at.slider(key="fitting_row").value * 28 + at.slider(key="fitting_col").value
    x = tf.constant(digit[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), models["mlp"](x, training=False))
    expected = float(tape.gradient(loss, x).numpy().reshape(-1)[pixel])
    compare = next(m.value for m in at.markdown if "ForwardAccumulator" in m.value)
    shown = [float(v) for v in re.findall(rf"\u2202L/\u2202x\[{pixel}\] = ([-+]\d+(?:\.\d+)?(?:e[-+]?\d+)?)", compare)]
    assert shown == pytest.approx([expected, expected], abs=1e-6)       # forward mode, then reverse mode
    batch = at.select_slider(key="fitting_batch").value
    per_epoch = next(m for m in at.metric if m.label == t("fitting.sgd.per_epoch", lang))
    assert per_epoch.value == f"{math.ceil(len(load_mnist().train.y) / batch):,}"
    assert not NUMBERS_GONE_WRONG.search(page_text(at))
    assert sha256(model_path("mlp")) == before


def test_the_first_steps_weights_are_keras_sgds_on_a_copy(monkeypatch, models):
    at = app_on_page(monkeypatch, PAGE, lang="en")
    batch, rate = at.select_slider(key="fitting_batch").value, at.select_slider(key="fitting_rate").value
    assert at.radio(key="fitting_start").value == "untrained"
    model = keras.models.clone_model(models["mlp"])
    model.set_weights(fitting.initial_weights(model, 0))
    twin = keras.models.clone_model(model, clone_function=lambda layer: type(layer).from_config(
        {**layer.get_config(), **({"rate": 0.0} if isinstance(layer, keras.layers.Dropout) else {})}))
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(rate), loss="sparse_categorical_crossentropy")
    xs, ys = fitting.mini_batches(load_mnist().train, batch, 1, seed=0)
    loss = float(twin.train_on_batch(xs[0], ys[0]))
    after = dict(zip([v.path for v in twin.weights], twin.get_weights()))
    table = next(tb.value for tb in at.table if t("fitting.sgd.weight", "en") in tb.value.columns)
    for name, value in zip(table[t("fitting.sgd.weight", "en")], table[t("fitting.sgd.after", "en")]):
        path, index = name.split("[")
        entry = after[path][tuple(int(i) for i in index.rstrip("]").split(","))]
        assert float(value) == pytest.approx(float(entry), abs=1e-6)
    assert f"{loss:.4f}" in next(m.value for m in at.markdown if m.value.startswith("**Step 1.**"))


def test_steps_from_the_trained_weights_leave_the_served_model_and_its_file_unchanged(monkeypatch):
    from explain.models import load_model
    from pages.shared import loaded_models
    before = sha256(model_path("mlp"))
    at = app_on_page(monkeypatch, PAGE, state={"fitting_reg_open": True}, lang="en")
    at.radio(key="fitting_start").set_value("trained").run()
    at.select_slider(key="fitting_rate").set_value(3.0).run()
    assert not at.exception
    served, fresh = loaded_models()["mlp"], load_model("mlp")
    for w, f in zip(served.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(w, f)
    assert sha256(model_path("mlp")) == before


def test_a_learning_rate_far_too_large_gets_a_clear_message_and_no_nan(monkeypatch):
    at = app_on_page(monkeypatch, PAGE, state={"fitting_reg_open": True}, lang="en")
    at.select_slider(key="fitting_rate").set_value(100.0).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith("Learning rate 100 is")
    assert not NUMBERS_GONE_WRONG.search(page_text(at))


def test_the_page_renders_after_a_drawing_in_a_browser(page, app_url):
    open_page(page, f"{app_url}/?lang=en")
    draw(page, SEVEN)
    settle(page)
    page.locator("a[href*='fitting']").first.click()
    settle(page)
    wait_drawn(page, 4, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("The MLP answers 7").count() == 1
    assert page.locator(CHART).count() == 4           # the regularised runs wait until they are opened
    page.get_by_text(t("fitting.reg.open", "en")).click()
    wait_drawn(page, 5, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(CHART).count() == 5


def test_the_regularised_runs_are_computed_only_once_their_section_is_opened(monkeypatch):
    at = app_on_page(monkeypatch, PAGE, lang="en")
    run_column = t("fitting.reg.run", "en")
    assert not any(run_column in tb.value.columns for tb in at.table)
    at.session_state["fitting_reg_open"] = True
    at.run()
    assert not at.exception
    table = next(tb.value for tb in at.table if run_column in tb.value.columns)
    assert list(table[run_column]) == [t(f"fitting.reg.run.{k}", "en") for k in ("none", "l1", "l2")]


def test_the_first_page_to_ask_for_a_model_loads_that_model_alone(monkeypatch):
    """A first visit loads the models its page shows, not every shipped one (the SimpleRNN and the
    batch-normalised CNN load when the Gradients and Dropout & BatchNorm pages ask for them)."""
    import pages.shared
    from explain.models import COMPARED
    loaded, load = [], pages.shared.load_model
    monkeypatch.setattr(pages.shared, "load_model", lambda name: loaded.append(name) or load(name))
    pages.shared.shipped_model.clear()
    try:
        at = app_on_page(monkeypatch, PAGE, lang="en")
    finally:
        pages.shared.shipped_model.clear()
    assert not at.exception
    assert set(loaded) == set(COMPARED) and "rnn" not in loaded and "cnn_bn" not in loaded   # the Draw page's five
