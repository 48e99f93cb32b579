"""The hand-computed backpropagation and the activation table equal TensorFlow's own gradients
(GradientTape) to 1e-5; the per-row input gradients agree with the MLP's hand computation and with
a float64 finite difference."""
from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import activations, architectures, gradients

TOL = 1e-5
DIGITS = (0, 1, 7)


def tape_gradients(model: keras.Model, x28: np.ndarray, label: int):
    """TensorFlow's loss and gradients by every trainable variable (Keras's order), inference mode."""
    x = tf.constant(x28[None].astype(np.float32))
    with tf.GradientTape() as tape:
        p = model(x, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(tf.constant([label]), p)
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss[0]), p.numpy()[0], {v.path: g.numpy() for v, g in zip(model.trainable_variables, grads)}


def tiny_mlp(hidden: tuple[str, ...], seed: int = 3) -> keras.Model:
    keras.utils.set_random_seed(seed)
    x = inp = keras.Input((28, 28))
    x = keras.layers.Flatten()(x)
    for k, act in enumerate(hidden):
        x = keras.layers.Dense(12, activation=act, name=f"h{k}")(x)
        x = keras.layers.Dropout(0.5)(x)
    out = keras.layers.Dense(10, activation="softmax", name="out")(x)
    model = keras.Model(inp, out)
    for v in model.trainable_variables:         # biases away from 0, so every derivative matters
        v.assign(v + keras.random.normal(v.shape, stddev=0.3, seed=seed))
    return model


def assert_backprop_matches_tape(model: keras.Model, x28: np.ndarray, label: int) -> None:
    steps = gradients.mlp_backprop(model, x28, label)
    loss, p, tape = tape_gradients(model, x28, label)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [s.layer_name for s in steps] == [layer.name for layer in dense]
    np.testing.assert_allclose(steps[-1].a, p, atol=TOL)
    assert gradients.cross_entropy(steps[-1].a, label) == pytest.approx(loss, abs=TOL)
    a = x28.reshape(-1)
    for step, layer in zip(steps, dense):
        assert step.weight_gradient.shape == tuple(layer.kernel.shape)
        # Keras's own layer output for the same input; dL/dz is TensorFlow's dL/db.
        np.testing.assert_allclose(step.z, (a @ layer.kernel.numpy() + layer.bias.numpy()), atol=TOL)
        np.testing.assert_allclose(step.a, keras.ops.convert_to_numpy(layer(a[None].astype(np.float32)))[0], atol=TOL)
        np.testing.assert_allclose(step.delta, tape[layer.bias.path], atol=TOL)
        np.testing.assert_allclose(step.weight_gradient, tape[layer.kernel.path], atol=TOL)
        a = step.a


def test_mlp_backprop_equals_gradient_tape_for_the_shipped_mlp(models, test_digits):
    x, y = test_digits
    for k in DIGITS:
        for label in (int(y[k]), (int(y[k]) + 3) % 10):   # the true label and a wrong one
            assert_backprop_matches_tape(models["mlp"], x[k], label)


def test_output_error_is_p_minus_one_hot(models, test_digits):
    steps = gradients.mlp_backprop(models["mlp"], test_digits[0][0], 4)
    expected = steps[-1].a.copy()
    expected[4] -= 1.0
    np.testing.assert_allclose(steps[-1].delta, expected, atol=1e-12)


def test_hidden_error_term_is_the_course_formula_filled_in(models, test_digits):
    hidden, output = gradients.mlp_backprop(models["mlp"], test_digits[0][1], 2)
    unit = int(np.argmax(hidden.z))
    by_hand = (1.0 if hidden.z[unit] > 0 else 0.0) * float(output.kernel[unit] @ output.delta)
    assert hidden.delta[unit] == pytest.approx(by_hand, abs=1e-12)
    assert np.all(hidden.delta[hidden.z <= 0] == 0.0)


@pytest.mark.parametrize("hidden", [("sigmoid", "tanh"), ("leaky_relu", "elu", "softplus"), ("relu", "linear")])
def test_mlp_backprop_equals_gradient_tape_for_every_activation(test_digits, hidden):
    assert_backprop_matches_tape(tiny_mlp(hidden), test_digits[0][3], 5)


def test_mlp_backprop_names_what_it_cannot_trace():
    x = inp = keras.Input((28, 28))
    x = keras.layers.Reshape((28, 28, 1), name="image")(x)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    with pytest.raises(ValueError, match="image.*Reshape"):
        gradients.mlp_backprop(keras.Model(inp, out), np.zeros((28, 28)), 0)
    with pytest.raises(ValueError, match="received 10"):
        gradients.mlp_backprop(tiny_mlp(("relu",)), np.zeros((28, 28)), 10)
    with pytest.raises(ValueError, match=r"received shape \(784,\)"):
        gradients.mlp_backprop(tiny_mlp(("relu",)), np.zeros(784), 1)


@pytest.mark.parametrize("name", activations.COURSE)
def test_activation_table_equals_keras_and_its_derivative_equals_gradient_tape(name):
    z = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -1e-3, 1e-3, 30.0]])
    fn = getattr(keras.activations, name)
    zt = tf.constant(z, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        fz = fn(zt)
    entry = activations.TABLE[name]
    np.testing.assert_allclose(entry.f(z), fz.numpy(), atol=1e-12)
    np.testing.assert_allclose(entry.derivative(z), tape.gradient(fz, zt).numpy(), atol=1e-12)
    assert activations.lookup(fn, "here").name == name


def test_activation_lookup_lists_the_supported_ones():
    with pytest.raises(ValueError, match="hard_sigmoid.*supported: linear, sigmoid, tanh"):
        activations.lookup(keras.activations.hard_sigmoid, "layer 'x'")


def test_row_gradients_of_the_mlp_are_the_norms_of_the_hand_computed_input_gradient(models, test_digits):
    x, y = test_digits
    first = gradients.mlp_backprop(models["mlp"], x[2], int(y[2]))[0]
    by_hand = (first.kernel @ first.delta).reshape(28, 28)     # dL/dx = W^(1) delta^(1)
    norms = gradients.row_gradients(models["mlp"], x[2], int(y[2]))
    assert norms.shape == (28,)
    np.testing.assert_allclose(norms, np.linalg.norm(by_hand, axis=1), atol=TOL)


def float64_twin(model: keras.Model) -> keras.Model:
    """The same network and weights computing in float64, for finite differences."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        twin = architectures.BUILDERS[model.name]()
    finally:
        keras.config.set_dtype_policy(policy)
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    return twin


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_row_gradients_agree_with_a_float64_finite_difference(models, test_digits, name):
    # A wrong target, so the loss and its gradients are large against float32's rounding.
    x, y = test_digits[0][7].astype(np.float64), (int(test_digits[1][7]) + 1) % 10
    norms = gradients.row_gradients(models[name], x, y)
    twin = float64_twin(models[name])

    def loss(v: np.ndarray) -> float:
        p = keras.ops.convert_to_numpy(twin(v[None], training=False))[0]
        return -np.log(p[y])

    # The derivative along row t's own gradient direction is that row's gradient norm.
    x_t = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        value = -tf.math.log(twin(x_t, training=False)[0, y])
    direction = tape.gradient(value, x_t).numpy()[0]
    eps = 1e-3      # truncation error ~eps^2; smaller steps meet the float32 ops inside Keras's cells
    for t in (0, 13, 27):
        d = np.zeros_like(x)
        d[t] = direction[t] / np.linalg.norm(direction[t])
        slope = (loss(x + eps * d) - loss(x - eps * d)) / (2 * eps)
        # The shipped model computes in float32: agreement to its precision, and to TOL absolute.
        assert norms[t] == pytest.approx(slope, rel=1e-4)
        assert abs(norms[t] - slope) < TOL


@pytest.mark.parametrize("graph_first", [False, True], ids=["in-one", "graph-then-kernels"])
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_row_gradients_are_the_same_eager_and_once_traced_in_the_background(models, test_digits, name, graph_first):
    x, y = test_digits[0][3], int(test_digits[1][3])
    fresh = keras.models.clone_model(models[name])     # a model no other test has traced
    fresh.set_weights(models[name].get_weights())
    eager = gradients.row_gradients(fresh, x, y)
    if graph_first:    # the warm-up's two halves
        gradients.trace_graph(fresh)
        assert not gradients._input_gradient(fresh)._ready.is_set()
        np.testing.assert_array_equal(gradients.row_gradients(fresh, x, y), eager)   # still the eager call
    gradients.trace_in_background(fresh).join(timeout=120)
    assert gradients._input_gradient(fresh)._ready.is_set()
    np.testing.assert_allclose(gradients.row_gradients(fresh, x, y), eager, rtol=1e-5, atol=1e-9)
    assert gradients.trace_in_background(fresh) is gradients.trace_in_background(fresh)   # traced once


def test_a_trace_started_from_a_daemon_thread_such_as_streamlits_script_thread_is_waited_for_at_exit():
    """A daemon thread tracing when the interpreter exits aborts it ("terminate called after throwing")."""
    inp = keras.Input((28, 28))
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.SimpleRNN(3)(inp)))
    started = []
    script = threading.Thread(target=lambda: started.append(gradients.trace_in_background(model)), daemon=True)
    script.start()
    script.join()
    assert started[0].daemon is False
    started[0].join(timeout=120)
