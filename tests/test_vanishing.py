"""The deep-MLP gradient norms (a numpy backpropagation) are checked against TensorFlow's GradientTape
on the same network in training mode, and against the course's delta recursion for sigmoid and ReLU."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain import gradients, vanishing


@pytest.fixture(scope="module")
def batch(test_digits):
    x, y = test_digits
    return x[5], int(y[5]), x[10:42]


def test_every_variant_starts_from_the_same_dense_kernels():
    kernels = {v: [w for w in vanishing.deep_mlp(v).get_weights() if w.ndim == 2] for v in vanishing.VARIANTS}
    assert len(kernels["relu"]) == vanishing.DEPTH + 1
    for v in ("relu", "sigmoid_bn"):
        assert all(np.array_equal(a, b) for a, b in zip(kernels["sigmoid"], kernels[v]))


@pytest.mark.parametrize("variant", ["sigmoid", "relu"])
def test_layer_gradient_norms_equal_the_hand_backpropagation(batch, variant):
    x, y, others = batch
    model = vanishing.deep_mlp(variant)
    result = vanishing.layer_gradients(model, x, y, others)
    steps = gradients.mlp_backprop(model, x, y)
    assert result.layer_names == tuple(s.layer_name for s in steps)
    # Relative: the sigmoid network's first norms are ~1e-4, below any useful absolute tolerance.
    np.testing.assert_allclose(result.norms, [np.linalg.norm(s.weight_gradient) for s in steps], rtol=1e-4)
    assert result.first_to_last == pytest.approx(result.norms[0] / result.norms[-1])


def tape_kernel_gradients(model: keras.Model, x: np.ndarray, label: int) -> list[np.ndarray]:
    """TensorFlow's dL/dW of every Dense kernel, the loss on item 0 of the batch `x` (n, 28, 28), the
    model in training mode (batch normalisation with the batch's statistics)."""
    import tensorflow as tf
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        p = model(tf.constant(x, tf.float32), training=True)
        loss = keras.losses.sparse_categorical_crossentropy(tf.constant([label]), p[:1])
    return [g.numpy() for g in tape.gradient(loss, kernels)]


@pytest.mark.parametrize("variant", vanishing.VARIANTS)
def test_layer_gradient_norms_equal_gradient_tapes_in_training_mode(batch, variant):
    x, y, others = batch
    model = vanishing.deep_mlp(variant)
    result = vanishing.layer_gradients(model, x, y, others)
    expected = tape_kernel_gradients(model, np.concatenate([x[None], others]), y)
    assert len(result.norms) == vanishing.DEPTH + 1
    np.testing.assert_allclose(result.norms, [np.linalg.norm(g) for g in expected], rtol=1e-4)


def test_batch_normalised_gradients_depend_on_the_batch_mates(batch):
    x, y, others = batch
    model = vanishing.deep_mlp("sigmoid_bn")
    one, other = (vanishing.layer_gradients(model, x, y, mates).norms for mates in (others, others[::-1][:16]))
    assert not np.allclose(one, other, rtol=1e-3)
    expected = tape_kernel_gradients(model, np.concatenate([x[None], others[::-1][:16]]), y)
    np.testing.assert_allclose(other, [np.linalg.norm(g) for g in expected], rtol=1e-4)


def test_sigmoid_gradients_vanish_toward_the_input_and_relu_and_bn_keep_them(batch):
    x, y, others = batch
    ratio = {v: vanishing.layer_gradients(vanishing.deep_mlp(v), x, y, others).first_to_last
             for v in vanishing.VARIANTS}
    assert ratio["sigmoid"] < 1e-3 < 0.1 < ratio["relu"] and ratio["sigmoid_bn"] > 0.1


def test_an_unknown_variant_names_the_valid_ones():
    with pytest.raises(ValueError, match="tanh.*sigmoid, relu, sigmoid_bn"):
        vanishing.deep_mlp("tanh")


def test_brief_training_records_the_plain_sgd_losses_of_the_hand_computed_backpropagation(test_digits):
    x, y = test_digits[0][:24], test_digits[1][:24]
    curve = vanishing.train_briefly("sigmoid", x, y, steps=3, batch_size=8, learning_rate=0.5)
    model = vanishing.deep_mlp("sigmoid")
    for k in range(3):
        batch = range(8 * k, 8 * k + 8)
        steps = [gradients.mlp_backprop(model, x[i], int(y[i])) for i in batch]
        loss = np.mean([gradients.cross_entropy(s[-1].a, int(y[i])) for s, i in zip(steps, batch)])
        assert curve.losses[k] == pytest.approx(loss, abs=1e-5)
        # w <- w - eta * mean over the batch of dL/dw, by hand
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        for j, layer in enumerate(dense):
            layer.kernel.assign(layer.kernel.numpy() - 0.5 * np.mean([s[j].weight_gradient for s in steps], axis=0))
            layer.bias.assign(layer.bias.numpy() - 0.5 * np.mean([s[j].bias_gradient for s in steps], axis=0))


def test_sigmoid_barely_learns_where_relu_and_batch_norm_do(test_digits):
    x, y = test_digits
    curves = {v: vanishing.train_briefly(v, x, y, steps=20, batch_size=64) for v in vanishing.VARIANTS}
    drop = {v: c.losses[:5].mean() - c.losses[-5:].mean() for v, c in curves.items()}
    assert drop["sigmoid_bn"] > drop["sigmoid"] and drop["sigmoid_bn"] > 0.2
