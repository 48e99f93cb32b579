"""The session's own model in the app (AppTest through app.py): the Draw page compares it with the five
course models, with the probabilities its own Keras call gives; another session never sees it."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tests.apptest import app_on_page

L = keras.layers
TITLE = {"zh": "写一个数字，看{count}个网络怎样识别", "en": "Draw a digit, see {count} networks read it"}


@pytest.fixture(scope="module")
def student_model() -> keras.Model:
    keras.utils.set_random_seed(11)
    return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                             L.Flatten(), L.Dense(10, activation="softmax")])


def with_upload(monkeypatch, model, page="pages/draw.py", choose: str | None = None, **query):
    """The app on `page` for a session that uploaded `model` from its first run; `choose` is a model
    picker's key, set to the upload from the start (AppTest formats a picker's value with the labels
    of the run that drew it, which had no upload)."""
    from pages import shared
    state = {"uploaded": shared.model_registry().add(model, "my_model.keras")}
    if choose:
        state[choose] = "upload"
    at = app_on_page(monkeypatch, page, state=state, **query)
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
    # The title counts the six networks shown.
    assert at.title[0].value == TITLE[lang].format(count={"zh": "六", "en": "six"}[lang])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_session_without_an_upload_shows_only_the_five(monkeypatch, lang):
    at = app_on_page(monkeypatch, lang=lang)
    assert len(probability_bars(at)) == 5
    assert at.title[0].value == TITLE[lang].format(count={"zh": "五", "en": "five"}[lang])


def texts(at) -> str:
    """Every markdown, caption, info and LaTeX text on the page, joined."""
    parts = [e.value for kind in ("markdown", "caption", "info", "latex") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def notebook_cnn() -> keras.Model:
    keras.utils.set_random_seed(12)
    return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu", name="c1"),
                             L.MaxPooling2D(name="p1"), L.Conv2D(12, 3, name="c2"), L.Activation("tanh", name="t2"),
                             L.AveragePooling2D(2, name="p2"), L.Flatten(name="flat"),
                             L.Dense(10, activation="softmax", name="out")])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_cnn_page_explains_the_uploaded_cnn_with_its_own_sizes(monkeypatch, notebook_cnn, lang):
    at = with_upload(monkeypatch, notebook_cnn, "pages/cnn.py", choose="cnn_model", lang=lang)
    assert not at.exception, at.exception
    c1, c2 = notebook_cnn.get_layer("c1"), notebook_cnn.get_layer("c2")
    (h1, w1, n1), (h2, w2, n2) = c1.output.shape[1:], c2.output.shape[1:]
    maps = "张" if lang == "zh" else "maps of"
    labels = [tab.label for tab in at.tabs]
    assert labels[0].startswith("c1") and f"{n1} {maps} {h1}×{w1}" in labels[0]
    assert labels[1].startswith("c2 → t2") and f"{n2} {maps} {h2}×{w2}" in labels[1]
    n_in, n_out = int(np.prod(c1.input.shape[1:])), int(np.prod(c1.output.shape[1:]))
    text = texts(at)
    assert f"{n_in:,} × {n_out:,} + {n_out:,}" in text  # 784 x 5,408 + 5,408, not LeNet's 4,704
    assert r"\sum_{i=0}^{2}" in text                     # a 3x3 kernel
    assert ("p2（平均池化 2×2，步长 2）" if lang == "zh" else "p2 (Average pooling 2×2, stride 2)") in text


def test_the_cnn_page_says_an_uploaded_lstm_does_not_fit_it(monkeypatch):
    keras.utils.set_random_seed(13)
    lstm = keras.Sequential([L.Input((28, 28)), L.LSTM(8), L.Dense(10, activation="softmax")])
    at = with_upload(monkeypatch, lstm, "pages/cnn.py", lang="en")
    assert "Your model: my_model.keras is not explained on this page" in texts(at).replace("yours", "Your model")
    assert not [option for r in at.radio if r.key == "cnn_model" for option in r.options if "my_model" in option]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_recurrent_page_explains_the_uploaded_gru_with_its_answer_and_dropout(monkeypatch, test_digits, lang):
    keras.utils.set_random_seed(14)
    gru = keras.Sequential([L.Input((28, 28)), L.GRU(12, return_sequences=True, name="g1"), L.GRU(6, name="g2"),
                            L.Dropout(0.35, name="drop"), L.Dense(10, activation="softmax", name="out")])
    at = with_upload(monkeypatch, gru, "pages/recurrent.py", choose="recurrent_model", lang=lang)
    assert not at.exception, at.exception
    from explain.data import load_mnist
    from explain.preprocess import to_mnist
    want = gru(to_mnist(load_mnist().test.x[0])[None]).numpy()[0]
    text = texts(at)
    assert f"**{int(want.argmax())}**" in text and f"{want.max():.1%}" in text
    assert "drop" in text and ("0.35" in text) and ("35%" in text)
    assert "6 → 10 softmax" in text  # the output layer read from the model, not the course's 32 -> 10


def test_a_session_whose_model_was_dropped_for_newer_uploads_is_told_so(monkeypatch, student_model):
    from explain import custom
    from explain.i18n import t
    from pages import shared
    at = with_upload(monkeypatch, student_model, lang="en")
    others = [shared.model_registry().add(keras.Sequential([L.Input((784,)), L.Dense(10, activation="softmax")]),
                                          "x.keras")
              for _ in range(custom.MAX_SESSIONS)]  # other sessions' uploads (alive) push this one out
    at.run()
    assert not at.exception, at.exception
    want = t("custom.dropped", "en", name="my_model.keras", limit=custom.MAX_SESSIONS)
    assert [w.value for w in at.warning if w.value == want]
    assert [bar["name"] for bar in probability_bars(at)] == ["mlp", "cnn", "lstm", "gru", "attention"]
    del others
