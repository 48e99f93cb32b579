"""Backpropagation through time in numpy equals TensorFlow's gradients of the same SimpleRNN (with its
recurrent kernels scaled on a copy) to 1e-5; the recurrent Jacobians are Keras's cell's; the
gamma fit and the clipped updates agree with an independent fit and with Keras's own optimizer."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import gradients, through_time

TOL = 1e-5


def tiny_rnn(seed: int = 5, units: int = 12) -> keras.Model:
    """The homework's shape, small: SimpleRNN (sequences) -> Dropout -> SimpleRNN -> Dropout -> softmax."""
    keras.utils.set_random_seed(seed)
    x = inp = keras.Input((28, 28))
    x = keras.layers.SimpleRNN(units, return_sequences=True, name="rnn1")(x)
    x = keras.layers.Dropout(0.2, name="dropout1")(x)
    x = keras.layers.SimpleRNN(units, name="rnn2")(x)
    x = keras.layers.Dropout(0.3, name="dropout2")(x)
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax", name="output")(x), name="rnn")
    for v in model.trainable_variables:
        if "bias" in v.path:
            v.assign(keras.random.normal(v.shape, stddev=0.2, seed=seed))
    return model


def scaled_copy(model: keras.Model, scale: float) -> keras.Model:
    """The same network computing in float64 (an exploding gradient of 2000 has float32 rounding
    above 1e-5), with its recurrent kernels multiplied by `scale`."""
    config = json.loads(json.dumps(model.get_config()).replace('"float32"', '"float64"'))
    twin = keras.Model.from_config(config)
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    for layer in twin.layers:
        if isinstance(layer, keras.layers.SimpleRNN):
            layer.cell.recurrent_kernel.assign(layer.cell.recurrent_kernel * scale)
    return twin


def tape(model: keras.Model, x28: np.ndarray, label: int):
    x = tf.constant(x28[None].astype(model.inputs[0].dtype))
    with tf.GradientTape(persistent=True) as g:
        g.watch(x)
        p = model(x, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(tf.constant([label]), p)
    grads = g.gradient(loss, model.trainable_variables)
    # "rnn1/simple_rnn_cell/kernel" -> "rnn1/kernel"
    named = {v.path.replace("/simple_rnn_cell", ""): w.numpy() for v, w in zip(model.trainable_variables, grads)}
    return float(loss[0]), p.numpy()[0], g.gradient(loss, x).numpy()[0], named


@pytest.fixture(scope="module")
def digit(test_digits):
    return test_digits[0][4], int(test_digits[1][4])


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_backprop_through_time_equals_gradient_tape(digit, scale):
    model = tiny_rnn()
    x, y = digit
    ours = through_time.rnn_backprop(model, x, (y + 2) % 10, recurrent_scale=scale)
    loss, p, dx, weights = tape(scaled_copy(model, scale), x, (y + 2) % 10)
    assert ours.loss == pytest.approx(loss, abs=TOL)
    np.testing.assert_allclose(ours.probabilities, p, atol=TOL)
    np.testing.assert_allclose(ours.input_gradient, dx, atol=TOL)
    ours_w = ours.weight_gradients()
    assert list(ours_w) == list(weights)
    for name, g in weights.items():
        np.testing.assert_allclose(ours_w[name], g, atol=TOL, err_msg=name)


def test_the_model_itself_is_not_changed_by_scaling(digit):
    model = tiny_rnn()
    before = [w.copy() for w in model.get_weights()]
    through_time.rnn_backprop(model, *digit, recurrent_scale=3.0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_row_norms_equal_row_gradients(digit):
    model = tiny_rnn(seed=8)
    np.testing.assert_allclose(through_time.rnn_backprop(model, *digit).row_norms,
                               gradients.row_gradients(model, *digit), atol=TOL)


def test_recurrent_jacobian_norms_and_their_products_are_those_of_keras_cells_own_jacobians(digit):
    model = tiny_rnn(seed=6)
    layer = model.get_layer("rnn1")
    ours = through_time.rnn_backprop(model, *digit).layers[0]
    h = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], layer.output)(digit[0][None]))[0]
    previous = np.vstack([np.zeros_like(h[:1]), h[:-1]])
    np.testing.assert_allclose(ours.h, h, atol=TOL)
    jacobians = []
    for t in range(28):
        h_prev = tf.constant(previous[t][None])
        with tf.GradientTape() as g:
            g.watch(h_prev)
            out, _ = layer.cell(tf.constant(digit[0][t][None].astype(np.float32)), [h_prev])
        jacobians.append(g.batch_jacobian(out, h_prev).numpy()[0].astype(np.float64))   # (units out, units in)
        assert ours.jacobian_norms[t] == pytest.approx(np.linalg.norm(jacobians[t], 2), abs=TOL)
    product = np.eye(len(h[0]))
    products = ours.product_norms()
    for k in range(27, -1, -1):         # product = dh_28/dh_k (0-based rows), the chain rule's own order
        assert products[k] == pytest.approx(np.linalg.norm(product, 2), abs=TOL)
        product = product @ jacobians[k]


def test_fit_gamma_recovers_a_geometric_sequence_and_agrees_with_lstsq():
    rows = np.arange(1, 29)
    fit = through_time.fit_gamma(3.0 * 0.8 ** (28 - rows))
    assert fit.gamma == pytest.approx(0.8, rel=1e-12) and fit.scale == pytest.approx(3.0, rel=1e-12)
    noisy = np.exp(np.random.default_rng(0).normal(size=28)) * 0.9 ** (28 - rows)
    a = np.column_stack([np.ones(28), 28 - rows])
    (log_scale, log_gamma), *_ = np.linalg.lstsq(a, np.log(noisy), rcond=None)
    fit = through_time.fit_gamma(noisy)
    assert fit.gamma == pytest.approx(np.exp(log_gamma), rel=1e-10)
    np.testing.assert_allclose(fit(rows), np.exp(log_scale + (28 - rows) * log_gamma), rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        through_time.fit_gamma(np.array([1.0, 0.0, 2.0]))


@pytest.mark.parametrize("option, value", [("clipnorm", 1.0), ("clipvalue", 0.5)])
def test_clipped_updates_equal_keras_optimizers_own(digit, option, value):
    model = tiny_rnn()
    grads = through_time.rnn_backprop(model, *digit, recurrent_scale=3.0).weight_gradients()
    clipped = through_time.clip(grads)
    assert max(c.norms[0] for c in clipped) > 1.0         # something is actually clipped
    weights = [keras.Variable(w) for w in model.get_weights()]
    optimizer = keras.optimizers.SGD(learning_rate=0.1, **{option: value})
    optimizer.apply_gradients(zip([tf.constant(g, tf.float32) for g in grads.values()], weights))
    for c, w, before in zip(clipped, weights, model.get_weights()):
        used = c.by_norm if option == "clipnorm" else c.by_value
        np.testing.assert_allclose(w.numpy() - before, -0.1 * used, atol=TOL, err_msg=c.name)


def test_clipnorm_keeps_the_direction_and_clipvalue_bounds_every_entry():
    g = {"w": np.array([[3.0, 0.1], [-4.0, 0.2]])}
    (c,) = through_time.clip(g)
    np.testing.assert_allclose(c.by_norm, g["w"] / np.linalg.norm(g["w"]))
    np.testing.assert_allclose(c.by_value, [[0.5, 0.1], [-0.5, 0.2]])
    assert c.clipped_share == 0.5 and c.by_value_cosine < 0.999


def test_a_model_of_another_shape_is_refused_with_the_layer_named():
    with pytest.raises(ValueError, match="lstm.*LSTM"):
        x = inp = keras.Input((28, 28))
        out = keras.layers.Dense(10, activation="softmax")(keras.layers.LSTM(4, name="lstm")(x))
        through_time.rnn_backprop(keras.Model(inp, out), np.zeros((28, 28)), 0)
    assert not through_time.is_simple_rnn(keras.Model(inp, out))
    assert through_time.is_simple_rnn(tiny_rnn())


def test_backprop_through_time_of_the_shipped_rnn_equals_gradient_tape(models, test_digits):
    model = models["rnn"]
    for k in (0, 3):
        x, y = test_digits[0][k], int(test_digits[1][k])
        ours = through_time.rnn_backprop(model, x, y)
        loss, p, dx, weights = tape(model, x, y)
        assert [layer.layer_name for layer in ours.layers] == ["rnn1", "rnn2"]
        np.testing.assert_allclose(ours.probabilities, p, atol=TOL)
        np.testing.assert_allclose(ours.input_gradient, dx, atol=TOL)
        np.testing.assert_allclose(ours.row_norms, gradients.row_gradients(model, x, y), atol=TOL)
        for name, g in weights.items():
            np.testing.assert_allclose(ours.weight_gradients()[name], g, atol=TOL, err_msg=name)
