"""A student's own models in headless Chromium: the homework LSTM's checkpoint weights and a small
notebook CNN saved as .keras, uploaded in the sidebar, answer on the Draw page beside the five course
models (the answer their own Keras call gives) and are explained on the Recurrent and CNN pages; a
Lambda model is refused with its message."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from playwright.sync_api import expect

from explain.data import load_mnist
from explain.i18n import t
from explain.preprocess import to_mnist
from tests.browser import EXCEPTION, open_page, settle

L = keras.layers
MODEL_UPLOAD = "[data-testid='stSidebar'] [data-testid='stFileUploaderDropzoneInput']"
BARS = ".panel"


def homework_lstm() -> keras.Model:
    keras.utils.set_random_seed(41)
    return keras.Sequential([L.Input((28, 28)), L.LSTM(32, return_sequences=True), L.Dropout(0.2), L.LSTM(32),
                             L.Dropout(0.3), L.Dense(10, activation="softmax")])


def notebook_cnn() -> keras.Model:
    keras.utils.set_random_seed(42)
    return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu", name="my_conv"),
                             L.MaxPooling2D(name="my_pool"), L.Flatten(), L.Dense(10, activation="softmax")])


def upload(page, path) -> None:
    page.locator(MODEL_UPLOAD).set_input_files(str(path))
    settle(page)


def own_answer(model: keras.Model) -> int:
    x = to_mnist(load_mnist().test.x[0])
    return int(np.argmax(model(x.reshape((1, *model.inputs[0].shape[1:]))).numpy()[0]))


def shown_answers(page) -> dict[str, str]:
    panels = page.locator(BARS)
    return {panels.nth(k).locator(".name").inner_text(): panels.nth(k).locator(".answer").inner_text()
            for k in range(panels.count())}


def test_uploaded_homework_weights_and_a_keras_cnn_answer_and_are_explained(page, app_url, tmp_path):
    lstm, cnn = homework_lstm(), notebook_cnn()
    lstm.save_weights(tmp_path / "best.weights.h5")
    cnn.save(tmp_path / "my_cnn.keras")
    open_page(page, f"{app_url}/?lang=en")
    upload(page, tmp_path / "best.weights.h5")
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator(BARS)).to_have_count(6, timeout=30_000)
    assert shown_answers(page)["Yours"] == f"→ {own_answer(lstm)}"

    page.locator("a[href*='recurrent']").first.click()    # a click keeps the session and its model
    settle(page)
    page.get_by_text("yours: best.weights.h5").first.click()
    settle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text(f"yours: best.weights.h5 reads this digit as {own_answer(lstm)}").count() == 1

    upload(page, tmp_path / "my_cnn.keras")
    page.locator("a[href*='cnn']").first.click()
    settle(page)
    page.get_by_text("yours: my_cnn.keras").first.click()
    settle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("my_conv: 4 maps of 26×26").count() >= 1
    assert page.get_by_text(f"with yours: my_cnn.keras. It answers {own_answer(cnn)}").count() == 1

    page.get_by_role("link", name=t("nav.draw", "en")).first.click()
    settle(page)
    expect(page.locator(BARS)).to_have_count(6, timeout=30_000)
    assert shown_answers(page)["Yours"] == f"→ {own_answer(cnn)}"


def test_a_lambda_model_is_refused_in_the_users_language(page, app_url, tmp_path):
    model = keras.Sequential([L.Input((28, 28)), L.Lambda(lambda x: x * 1.0, name="trick"), L.Flatten(),
                              L.Dense(10, activation="softmax")])
    model.save(tmp_path / "trick.keras")
    open_page(page, f"{app_url}/?lang=zh")
    upload(page, tmp_path / "trick.keras")
    message = t("error.model.lambda", "zh", layer="trick").replace("`", "")
    assert page.get_by_text(message[:20]).count() == 1
    expect(page.locator(BARS)).to_have_count(5)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_six_models_on_a_projector_show_every_name_whole_and_the_title_counts_six(browser, app_url, tmp_path, lang):
    notebook_cnn().save(tmp_path / "my_cnn.keras")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    page = context.new_page()
    try:
        open_page(page, f"{app_url}/?lang={lang}&projector=1")
        upload(page, tmp_path / "my_cnn.keras")
        expect(page.locator(BARS)).to_have_count(6, timeout=30_000)
        expect(page.locator("h1").first).to_contain_text("六个网络" if lang == "zh" else "six networks")
        names = page.locator(f"{BARS} .name")
        for k in range(6):
            name = names.nth(k)
            assert name.evaluate("el => el.scrollWidth <= el.clientWidth"), f"{name.inner_text()} is cut"
            box = page.locator(BARS).nth(k).bounding_box()
            assert box["x"] + box["width"] <= 1280
        assert names.nth(4).get_attribute("title") == t("draw.fig.short.attention", lang)
        assert page.locator(EXCEPTION).count() == 0
    finally:
        context.close()
