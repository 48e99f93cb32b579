"""The server's background warm-up (pages/warmup.py) and the start-up settings it goes with."""
from __future__ import annotations

import threading

import keras
import numpy as np
import tensorflow as tf

from explain import gradients, inference, vanishing
from pages import warmup


def test_a_warm_up_task_waits_until_no_page_is_running():
    done = threading.Event()
    with warmup.page_running():
        thread = threading.Thread(target=warmup._run, args=((("mark", done.set),),))
        thread.start()
        assert not done.wait(timeout=0.5), "the task ran while a page was running"
    assert done.wait(timeout=10)
    thread.join(timeout=10)


def test_the_warm_up_leaves_the_gradients_pages_recurrent_gradients_traced():
    from pages import shared
    warmup._run(warmup.TASKS)
    for name in ("lstm", "gru"):
        assert gradients._input_gradient(shared.shipped_model(name))._ready.is_set(), name
    assert set(vanishing.deep_networks()) == set(vanishing.VARIANTS)
    assert vanishing.deep_networks() is vanishing.deep_networks()   # built once, the page's own


def test_no_warm_up_thread_starts_under_apptest(monkeypatch):
    from tests.apptest import app_on_page
    app_on_page(monkeypatch, lang="en")
    assert "netlens-warmup" not in {thread.name for thread in threading.enumerate()}


def test_without_graph_rewrites_a_compiled_call_gives_the_models_own_probabilities(models, test_digits):
    inference.skip_graph_rewrites()
    assert tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"] is True
    fresh = {name: keras.models.clone_model(models[name]) for name in ("cnn", "lstm")}   # compiled from scratch
    for name, model in fresh.items():
        model.set_weights(models[name].get_weights())
    x = test_digits[0][5]
    got = inference.probabilities(fresh, x)
    for name, model in fresh.items():
        np.testing.assert_allclose(got[name], model(x[None], training=False).numpy()[0], rtol=1e-5, atol=1e-7)
