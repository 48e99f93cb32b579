"""The Dropout & BatchNorm page through app.py (AppTest), in both languages: it renders every view and
prints the shipped models' real numbers."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain.data import load_mnist
from explain.i18n import t
from explain.preprocess import to_mnist
from tests.apptest import app_on_page


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_shows_every_dropout_view_with_the_mlps_real_answer(monkeypatch, models, lang):
    at = app_on_page(monkeypatch, "pages/layers.py", lang=lang)
    headers = [h.value for h in at.subheader]
    for key in ("layers.thinned.header", "layers.sgd.header", "layers.lstm.header"):
        assert t(key, lang) in headers
    x = to_mnist(load_mnist().test.x[0])
    probs = keras.ops.convert_to_numpy(models["mlp"](x[None], training=False))[0]
    best = int(np.argmax(probs))
    bracket = "（{}）" if lang == "zh" else " ({})"
    assert f"**{best}**" + bracket.format(f"{probs[best]:.1%}") in markdown(at)
    assert any(t("layers.concept.minibatch.title", lang) == e.label for e in at.expander)
    assert at.slider(key="layers_masks").value == 16


def test_fewer_masks_and_another_seed_change_the_answers(monkeypatch):
    at = app_on_page(monkeypatch, "pages/layers.py", lang="en")
    at.slider(key="layers_masks").set_value(3).run()
    assert not at.exception
    assert "The 3 thinned networks answer" in markdown(at)
    at.number_input(key="layers_mask_seed").set_value(7).run()
    assert not at.exception and "The 3 thinned networks answer" in markdown(at)


def test_the_quizs_dropout_numbers_are_the_shipped_mlps(models):
    """The question and its explanation say Dropout(0.2), 128 hidden units and 2^128 masks."""
    mlp = models["mlp"]
    assert mlp.get_layer("dropout").rate == pytest.approx(0.2)
    assert mlp.get_layer("dense").units == 128
    for lang in ("en", "zh"):
        assert "0.2" in t("quiz.dropout_network.question", lang)
        assert "2^128" in t("quiz.dropout_network.explain", lang) and "128" in t("quiz.dropout_network.explain", lang)
