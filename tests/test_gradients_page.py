"""The gradients page through app.py (AppTest) in both languages: every view renders, and the γ it
prints for each recurrent model is the fit of the per-row gradient norms TensorFlow computes."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain.i18n import t
from tests.apptest import app_on_page
from tests.charts import charts


def tape_row_norms(model: keras.Model, x28: np.ndarray, label: int) -> np.ndarray:
    x = tf.constant(x28[None].astype(np.float32))
    with tf.GradientTape() as g:
        g.watch(x)
        loss = -tf.math.log(model(x, training=False)[0, label])
    return np.linalg.norm(g.gradient(loss, x).numpy()[0], axis=1)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_view_renders_and_the_shown_gamma_is_the_fit_of_the_row_gradients(monkeypatch, models, test_digits,
                                                                               lang):
    at = app_on_page(monkeypatch, "pages/gradients.py", lang=lang, sample="3")
    headers = [h.value for h in at.header]
    for view in ("backprop", "act", "depth", "time", "clip"):
        assert t(f"gradients.{view}.header", lang) in headers
    assert len(charts(at)) == 7     # output error, unit images, activations, depth, rows, Jacobians, scaled
    x, label = test_digits[0][3], int(test_digits[1][3])
    assert at.segmented_control[0].value == label
    table = at.table[0].value
    for row, name in zip(range(len(table)), ("rnn", "lstm", "gru")):
        norms = tape_row_norms(models[name], x, label)
        distance = 28 - np.arange(1, 29)
        (_, log_gamma), *_ = np.linalg.lstsq(np.column_stack([np.ones(28), distance]), np.log(norms), rcond=None)
        assert float(table.iloc[row]["γ"]) == pytest.approx(np.exp(log_gamma), abs=1e-4)
    proof = at.success[0].value
    assert float(proof.rstrip("。.").split()[-1]) < 1e-5


def test_a_new_target_label_recomputes_the_loss_and_the_deep_networks_train_on_request(monkeypatch, models,
                                                                                         test_digits):
    at = app_on_page(monkeypatch, "pages/gradients.py", lang="en", sample="3")
    target = (int(test_digits[1][3]) + 1) % 10
    at.segmented_control[0].set_value(target).run()
    assert not at.exception
    p = keras.ops.convert_to_numpy(models["mlp"](test_digits[0][3][None]))[0]
    assert any(f"= {-np.log(p[target]):.4f}" in e.value for e in at.get("latex"))
    at.button(key="gradients_train").click().run()
    assert not at.exception
    assert len(charts(at)) == 8
    assert any(e.value.startswith(t("gradients.depth.train_caption", "en").split("{")[0]) for e in at.caption)


def test_without_the_rnn_file_the_page_says_how_to_rebuild_it_and_shows_the_rest(monkeypatch, tmp_path):
    import explain.models
    from pages.shared import shipped_model
    from tests.test_model_files import broken_models_dir
    monkeypatch.setattr(explain.models, "MODELS_DIR", broken_models_dir(tmp_path / "models", remove=("rnn",)))
    shipped_model.clear()
    try:
        at = app_on_page(monkeypatch, "pages/gradients.py", lang="zh")
    finally:
        shipped_model.clear()
    assert [e.value for e in at.error] == [t("model.error.missing", "zh", model="rnn",
                                             command="python -m explain.train rnn")]
    headers = [h.value for h in at.header]
    assert headers == [t(f"gradients.{view}.header", "zh") for view in ("backprop", "act", "depth", "time")]
    assert [row for row in at.table[0].value.iloc[:, 0]] == ["LSTM", "GRU"]


def gamma_of(norms: np.ndarray) -> float:
    """The least-squares gamma of norms ~ c * gamma**(28 - t), fitted here, apart from the page's code."""
    distance = 28 - np.arange(1, 29)
    (_, log_gamma), *_ = np.linalg.lstsq(np.column_stack([np.ones(28), distance]), np.log(norms), rcond=None)
    return float(np.exp(log_gamma))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_students_own_recurrent_model_gets_its_gradients_through_time_and_a_cnn_is_told_it_has_none(
        monkeypatch, test_digits, lang):
    from explain import architectures
    from tests.test_custom_app import with_upload
    keras.utils.set_random_seed(5)
    homework = architectures.lstm()          # a student's homework LSTM: the course's shape, its own weights
    at = with_upload(monkeypatch, homework, page="pages/gradients.py", lang=lang, sample="3")
    table = at.table[0].value
    assert len(table) == 4
    x, label = test_digits[0][3], int(test_digits[1][3])
    assert float(table.iloc[3]["γ"]) == pytest.approx(gamma_of(tape_row_norms(homework, x, label)), abs=1e-4)
    assert not at.info
    cnn = keras.Sequential([keras.layers.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    at = with_upload(monkeypatch, cnn, page="pages/gradients.py", lang=lang, sample="3")
    assert len(at.table[0].value) == 3
    assert [e.value for e in at.info] == [t("gradients.time.unfit", lang, model=t("custom.label", lang,
                                                                                    name="my_model.keras"))]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_backprop_view_says_why_it_follows_the_course_mlp_and_not_an_uploaded_dense_model(monkeypatch, models,
                                                                                               lang):
    from tests.test_custom_app import with_upload
    own = keras.Sequential([keras.layers.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(32, "relu"),
                            keras.layers.Dense(16, "relu"), keras.layers.Dense(10, activation="softmax")])
    at = with_upload(monkeypatch, own, page="pages/gradients.py", lang=lang, sample="3")
    dense = [layer for layer in models["mlp"].layers if isinstance(layer, keras.layers.Dense)]
    shape = " → ".join(str(n) for n in (dense[0].kernel.shape[0], *(layer.units for layer in dense)))
    expected = t("gradients.backprop.own", lang, model=t("custom.label", lang, name="my_model.keras"), shape=shape,
                 time=t("gradients.time.header", lang))
    assert expected in [c.value for c in at.caption]
    plain = app_on_page(monkeypatch, "pages/gradients.py", lang=lang)
    assert not any(c.value.startswith(expected[:12]) for c in plain.caption)
