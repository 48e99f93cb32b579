"""The session's own model in the app (AppTest through app.py): the Draw page compares it with the five
course models, with the probabilities its own Keras call gives; another session never sees it."""
from __future__ import annotations

import base64
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


def values(y) -> np.ndarray:
    """A plotly trace's values: a list, or plotly's typed-array form {"dtype", "bdata"}."""
    return np.frombuffer(base64.b64decode(y["bdata"]), y["dtype"]) if isinstance(y, dict) else np.asarray(y)


def probability_bars(at) -> list[dict]:
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = [c for c in charts if c["data"] and all(trace.get("type") == "bar" for trace in c["data"])
            and len(c["data"]) >= 5]
    assert len(bars) == 1
    return bars[0]["data"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_draw_page_shows_the_uploaded_models_probabilities_beside_the_five(monkeypatch, student_model, lang):
    from explain.data import load_mnist
    from explain.preprocess import to_mnist
    at = with_upload(monkeypatch, student_model, lang=lang)
    bars = probability_bars(at)
    assert len(bars) == 6
    x = to_mnist(load_mnist().test.x[0])
    want = student_model(x[None, ..., None], training=False).numpy()[0]
    np.testing.assert_allclose(values(bars[-1]["y"]), want, atol=1e-6)


def test_a_session_without_an_upload_shows_only_the_five(monkeypatch):
    assert len(probability_bars(app_on_page(monkeypatch))) == 5
