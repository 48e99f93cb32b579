"""The compiled inference path gives Keras's own answers, from any number of threads at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

from explain.inference import outputs, probabilities, submodel
from explain.models import ModelFileError


@pytest.fixture(scope="module")
def digits(test_digits):
    x, _ = test_digits
    return x[:12]


def test_probabilities_equal_a_direct_keras_call_for_every_model(models, digits):
    for x in digits[:6]:
        got = probabilities(models, x)
        assert list(got) == list(models)
        for name, model in models.items():
            want = model(x[None], training=False).numpy()[0]
            np.testing.assert_allclose(got[name], want, atol=1e-5, err_msg=name)
            assert got[name].shape == (10,)
            assert got[name].sum() == pytest.approx(1.0, abs=1e-5)


def test_probabilities_agree_with_model_predict(models, digits):
    got = [probabilities(models, x) for x in digits]
    for name, model in models.items():
        want = model.predict(digits, verbose=0)
        np.testing.assert_allclose(np.stack([g[name] for g in got]), want, atol=1e-5, err_msg=name)


def test_models_that_failed_to_load_are_skipped(models, digits):
    broken = {**models, "gru": ModelFileError("gru", "missing", "has no file")}
    got = probabilities(broken, digits[0])
    assert "gru" not in got and set(got) == set(models) - {"gru"}
    np.testing.assert_allclose(got["cnn"], probabilities(models, digits[0])["cnn"], atol=1e-6)


def test_a_submodel_returns_the_inner_layers_of_keras(models, digits):
    cnn = models["cnn"]
    sub = submodel(cnn, ["conv1", "fc1"])
    assert submodel(cnn, ("conv1", "fc1")) is sub  # built once
    conv1, fc1 = outputs([sub], digits[0])
    want = keras.Model(cnn.input, [cnn.get_layer("conv1").output, cnn.get_layer("fc1").output])(digits[:1])
    np.testing.assert_allclose(conv1, want[0].numpy()[0], atol=1e-5)
    np.testing.assert_allclose(fc1, want[1].numpy()[0], atol=1e-5)


def test_concurrent_calls_from_several_threads_equal_serial_results(models, digits):
    serial = [probabilities(models, x) for x in digits]
    jobs = [i % len(digits) for i in range(96)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda i: probabilities(models, digits[i]), jobs))
    for i, got in zip(jobs, parallel):
        for name in models:
            np.testing.assert_array_equal(got[name], serial[i][name])
