"""The deep-MLP gradient norms are TensorFlow's, checked against numpy backpropagation: the course's
delta recursion for sigmoid and ReLU, and batch normalisation's backward pass written out here."""
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


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_bn_kernel_gradients(model: keras.Model, x: np.ndarray, label: int) -> list[np.ndarray]:
    """dL/dW of every Dense kernel of the sigmoid_bn network, loss on item 0 of the batch `x` (n, 28, 28),
    BN with the batch's mean and biased variance (Keras's training mode)."""
    a, cache = x.reshape(len(x), -1).astype(np.float64), []
    for k in range(1, vanishing.DEPTH + 1):
        dense, bn = model.get_layer(f"dense{k}"), model.get_layer(f"bn{k}")
        w, b = (v.numpy().astype(np.float64) for v in (dense.kernel, dense.bias))
        gamma, beta = bn.gamma.numpy().astype(np.float64), bn.beta.numpy().astype(np.float64)
        z = a @ w + b
        inv = 1.0 / np.sqrt(z.var(axis=0) + bn.epsilon)
        zhat = (z - z.mean(axis=0)) * inv
        s = _sigmoid(gamma * zhat + beta)
        cache.append((a, w, gamma, zhat, inv, s))
        a = s
    out = model.get_layer("output")
    w_out = out.kernel.numpy().astype(np.float64)
    logits = a @ w_out + out.bias.numpy()
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d = np.zeros_like(p)
    d[0] = p[0] - np.eye(10)[label]
    grads = [a.T @ d]
    d_a = d @ w_out.T
    for a_in, w, gamma, zhat, inv, s in reversed(cache):
        d_y = d_a * s * (1 - s) * gamma                       # through the sigmoid and BN's scale
        d_z = inv * (d_y - d_y.mean(axis=0) - zhat * (d_y * zhat).mean(axis=0))
        grads.insert(0, a_in.T @ d_z)
        d_a = d_z @ w.T
    return grads


def test_batch_normalised_gradient_norms_equal_a_numpy_batch_norm_backward(batch):
    x, y, others = batch
    model = vanishing.deep_mlp("sigmoid_bn")
    result = vanishing.layer_gradients(model, x, y, others)
    expected = numpy_bn_kernel_gradients(model, np.concatenate([x[None], others]), y)
    np.testing.assert_allclose(result.norms, [np.linalg.norm(g) for g in expected], rtol=1e-4)


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
