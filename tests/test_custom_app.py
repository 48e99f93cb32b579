"""The session's own model in the app (AppTest through app.py): the Draw page compares it with the five
course models, with the probabilities its own Keras call gives; another session never sees it."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tests.apptest import app_on_page

L = keras.layers


@pytest.fixture(scope="module")
def student_model() -> keras.Model:
    keras.utils.set_random_seed(11)
    return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                             L.Flatten(), L.Dense(10, activation="softmax")])


def with_upload(monkeypatch, model, page="pages/draw.py", **query):
    from pages import shared
    at = app_on_page(monkeypatch, page, **query)
    at.session_state["uploaded"] = shared.model_registry().add(model, "my_model.keras")
    at.run()
    assert not at.exception, at.exception
    return at


def probability_bars(at) -> list[dict]:
    """The models the Draw page's probability bars show: name, title, answer and p (10,) each."""
    bars = [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name == "netlens_probability_bars"]
    assert len(bars) == 1
    return bars[0]["models"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_draw_page_shows_the_uploaded_models_probabilities_beside_the_five(monkeypatch, student_model, lang):
    from explain.data import load_mnist
    from explain.preprocess import to_mnist
    at = with_upload(monkeypatch, student_model, lang=lang)
    bars = probability_bars(at)
    assert [bar["name"] for bar in bars] == ["mlp", "cnn", "lstm", "gru", "attention", "upload"]
    x = to_mnist(load_mnist().test.x[0])
    want = student_model(x[None, ..., None], training=False).numpy()[0]
    np.testing.assert_allclose(bars[-1]["p"], want, atol=1e-6)
    assert bars[-1]["answer"] == int(want.argmax()) and bars[-1]["title"] == ("你的" if lang == "zh" else "Yours")


def test_a_session_without_an_upload_shows_only_the_five(monkeypatch):
    assert len(probability_bars(app_on_page(monkeypatch))) == 5
