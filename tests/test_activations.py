"""The one numpy softmax against Keras's and TensorFlow's own."""
from __future__ import annotations

import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain.activations import softmax

RNG = np.random.default_rng(18)
CASES = {
    "logits (10,)": RNG.normal(0, 3, 10),
    "attention scores (heads, query, key)": RNG.normal(0, 2, (4, 28, 28)),
    "large values that overflow a naive exp": np.array([1000.0, 999.0, 990.0, -1000.0]),
    "all equal": np.full(7, 3.5),
}


@pytest.mark.parametrize("z", CASES.values(), ids=CASES.keys())
def test_softmax_equals_keras_and_tensorflow_on_the_last_axis(z):
    got = softmax(z)
    assert got.shape == z.shape
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(keras.ops.softmax(z, axis=-1)), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got, tf.nn.softmax(z, axis=-1).numpy(), rtol=1e-6, atol=1e-12)


def test_softmax_along_another_axis_equals_keras():
    z = CASES["attention scores (heads, query, key)"]
    np.testing.assert_allclose(softmax(z, axis=1), keras.ops.convert_to_numpy(keras.ops.softmax(z, axis=1)),
                               rtol=1e-6, atol=1e-12)


def test_there_is_one_softmax_in_the_code():
    """No module in explain/ or pages/ defines its own softmax (conv, attention, recurrent and the CNN
    page each had one)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    defining = [p.relative_to(root).as_posix() for folder in ("explain", "pages") for p in (root / folder).rglob("*.py")
                if re.search(r"def _?softmax\(", p.read_text(encoding="utf-8"))]
    assert defining == ["explain/activations.py"]
