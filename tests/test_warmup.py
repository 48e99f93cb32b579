"""The server's background warm-up (pages/warmup.py) and the start-up settings it goes with."""
from __future__ import annotations

import gc
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


def test_the_warm_up_leaves_the_models_and_the_deep_networks_the_pages_use_loaded_and_frozen():
    from explain.models import MODEL_NAMES
    from pages import shared
    frozen = gc.get_freeze_count()
    warmup._run(warmup.tasks(()))
    assert gc.get_freeze_count() > frozen     # what it loaded is out of every rerun's collection
    assert all(isinstance(shared.shipped_model(name), keras.Model) for name in MODEL_NAMES)
    assert set(vanishing.deep_networks()) == set(vanishing.VARIANTS)
    assert vanishing.deep_networks() is vanishing.deep_networks()   # built once, the page's own
    for name in warmup.ROW_GRADIENTS:   # traced and built: asking again starts no thread (a trace takes ~0.4 s)
        assert not gradients.trace_in_background(shared.shipped_model(name)).is_alive(), name


def test_the_servers_settings_put_numpys_blas_on_one_thread():
    from threadpoolctl import threadpool_info
    warmup.configure.clear()
    warmup.configure()
    threads = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert threads == {1}


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
