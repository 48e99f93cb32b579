"""The Dropout & BatchNorm page through app.py (AppTest), in both languages: it renders every view and
prints the shipped models' real numbers."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain.data import load_mnist
from explain.i18n import t
from explain.preprocess import to_mnist, to_mnist_batch
from tests.apptest import app_on_page


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def assert_shows_answer(at, model: keras.Model, x: np.ndarray, lang: str) -> None:
    """The page prints the model's inference-mode answer for `x` as **digit** (probability)."""
    probs = keras.ops.convert_to_numpy(model(x[None], training=False))[0]
    best = int(np.argmax(probs))
    bracket = "（{}）" if lang == "zh" else " ({})"
    assert f"**{best}**" + bracket.format(f"{probs[best]:.1%}") in markdown(at)


def page_showing(monkeypatch, lang: str, headers: tuple[str, ...], expanders: tuple[str, ...]):
    """The page (AppTest) in `lang`, after checking it shows the sections and expanders these keys name."""
    at = app_on_page(monkeypatch, "pages/layers.py", lang=lang)
    shown = [h.value for h in at.subheader]
    assert all(t(key, lang) in shown for key in headers), shown
    labels = [e.label for e in at.expander]
    assert all(t(key, lang) in labels for key in expanders), labels
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_shows_every_dropout_view_with_the_mlps_real_answer(monkeypatch, models, lang):
    at = page_showing(monkeypatch, lang, ("layers.thinned.header", "layers.sgd.header", "layers.lstm.header"),
                      ("layers.concept.minibatch.title",))
    assert_shows_answer(at, models["mlp"], to_mnist(load_mnist().test.x[0]), lang)
    assert at.slider(key="layers_masks").value == 16


def test_fewer_masks_and_another_seed_change_the_answers(monkeypatch):
    at = app_on_page(monkeypatch, "pages/layers.py", lang="en")
    at.slider(key="layers_masks").set_value(3).run()
    assert not at.exception
    assert "The 3 thinned networks answer" in markdown(at)
    at.number_input(key="layers_mask_seed").set_value(7).run()
    assert not at.exception and "The 3 thinned networks answer" in markdown(at)


def test_the_quizs_every_mini_batch_question_states_the_shipped_mlps_numbers(models):
    """Dropout(rate) after a dense layer of units, and 2^units masks: read from the MLP's own layers."""
    from explain.quiz import QUESTIONS, model_facts, question_text
    question = next(q for q in QUESTIONS if q.id == "dropout_network")
    assert question.page == "pages/layers.py"
    mlp = models["mlp"]
    rate, units = mlp.get_layer("dropout").rate, mlp.get_layer("dense").units
    for lang in ("en", "zh"):
        text = question_text(question, lang, model_facts(models))
        assert f"Dropout({rate:g})" in text.prompt and str(units) in text.prompt
        assert f"2^{units}" in text.explanation


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_shows_the_batch_norm_views_with_keras_numbers(monkeypatch, models, lang):
    at = page_showing(monkeypatch, lang, ("layers.bn.formula.header", "layers.bn.modes.header",
                                          "layers.bn.sweep.header"),
                      ("layers.concept.bn_what.title", "layers.concept.bn_gradients.title"))
    x = to_mnist(load_mnist().test.x[0])
    assert_shows_answer(at, models["cnn_bn"], x, lang)
    # The formula's worked value: bn1, channel 0, where conv1's channel 0 is largest in size for this digit.
    model = models["cnn_bn"]
    conv1, bn1 = keras.Model(model.inputs[0], [model.get_layer("conv1").output, model.get_layer("bn1").output])(x[None])
    row, col = np.unravel_index(int(np.argmax(np.abs(conv1.numpy()[0, :, :, 0]))), (28, 28))
    assert any(f"{float(bn1.numpy()[0, row, col, 0]):.6f}" in s.value for s in at.success)


def test_other_batch_mates_run_and_change_the_training_mode_answer(monkeypatch):
    at = app_on_page(monkeypatch, "pages/layers.py", lang="en")
    before = [m.value for m in at.markdown if m.value.startswith("Alone, in inference mode")]
    at.radio(key="layers_bn_mates").set_value("copies").run()
    assert not at.exception
    at.radio(key="layers_bn_mates").set_value("class").run()
    at.selectbox(key="layers_bn_class").set_value(1).run()
    at.select_slider(key="layers_bn_batch").set_value(8).run()
    assert not at.exception
    after = [m.value for m in at.markdown if m.value.startswith("Alone, in inference mode")]
    assert len(before) == len(after) == 1 and before != after and "mini-batch of 8" in after[0]


def test_a_missing_model_file_is_named_and_the_other_views_keep_working(monkeypatch, models):
    from explain.models import ModelFileError
    from pages import shared
    broken = {**models, "mlp": ModelFileError("mlp", "missing", "is missing"),
              "cnn_bn": ModelFileError("cnn_bn", "damaged", "is damaged")}
    monkeypatch.setattr(shared, "shipped_model", broken.get)   # what loaded_models and model_or_error read
    at = app_on_page(monkeypatch, "pages/layers.py", lang="en")
    errors = "\n".join(e.value for e in at.error)
    assert "python -m explain.train mlp" in errors and "python -m explain.train cnn_bn" in errors
    headers = [h.value for h in at.subheader]
    assert t("layers.lstm.header", "en") in headers and t("layers.thinned.header", "en") not in headers


def test_the_batch_size_runs_are_computed_only_once_their_section_is_opened(monkeypatch, models):
    from explain import batchnorm
    at = app_on_page(monkeypatch, "pages/layers.py", lang="en")
    assert "For each mini-batch size" not in markdown(at)
    at.session_state["layers_sweep_open"] = True
    at.run()
    assert not at.exception
    split = load_mnist().test
    x = to_mnist(split.x[0])
    twin = keras.models.clone_model(models["cnn_bn"])   # Keras in training mode, on a copy (moving averages move)
    twin.set_weights(models["cnn_bn"].get_weights())
    p = [float(twin(np.concatenate([x[None], to_mnist_batch(split.x[batchnorm.choose_mates(split.y, 1, r)])]),
                    training=True)[0, 7]) for r in range(5)]     # size 2, seed 0: the page's first five runs
    assert f"With 2 digits the probability of 7 ranges from {min(p):.1%} to {max(p):.1%}" in markdown(at)
