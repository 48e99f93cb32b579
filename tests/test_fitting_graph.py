"""The computational graph of the shipped MLP: every node's forward value and reverse-mode gradient
equal TensorFlow's (the Keras layers' outputs, GradientTape), every forward-mode tangent equals a
column of GradientTape's Jacobian, and the figures show those numbers."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import autodiff, fitting
from explain.figures import fitting as figures

TOL = 1e-5
SAMPLES = (0, 7)


def tf_nodes(model: keras.Model, x28: np.ndarray, label: int) -> tuple[dict, dict, dict]:
    """TensorFlow's own values, gradients dL/d(node) and Jacobians d(node)/dx (node, 784) for the
    nodes x, z1, a1, z2, a2, L of the shipped MLP, built from its Keras layers."""
    dense, output = model.get_layer("dense"), model.get_layer("output")
    x = tf.constant(np.asarray(x28, np.float32)[None])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        flat = model.get_layer("flatten")(x)
        z1 = tf.matmul(flat, dense.kernel) + dense.bias
        a1 = dense.activation(z1)
        z2 = tf.matmul(a1, output.kernel) + output.bias
        a2 = output.activation(z2)
        loss = -tf.math.log(a2[0, label])    # not Keras's loss: it would read the logits, leaving p off the tape
    tensors = {"x": flat, "z1": z1, "a1": a1, "z2": z2, "a2": a2}
    np.testing.assert_allclose(a1.numpy(), dense(flat).numpy(), atol=1e-6)          # the layers' own outputs
    np.testing.assert_allclose(a2.numpy(), model(x, training=False).numpy(), atol=1e-6)
    keras_loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), model(x, training=False))
    assert float(loss) == pytest.approx(float(keras_loss[0]), abs=1e-5)
    values = {name: v.numpy()[0] for name, v in tensors.items()} | {"L": float(loss)}
    gradients = dict(zip(tensors, (g.numpy()[0] for g in tape.gradient(loss, list(tensors.values())))))
    jacobians = {name: tape.jacobian(v, x).numpy()[0].reshape(v.shape[-1], 784) for name, v in tensors.items()}
    jacobians["L"] = tape.gradient(loss, x).numpy().reshape(1, 784)
    return values, gradients, jacobians


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_nodes_value_and_reverse_mode_gradient_equal_tensorflows(models, test_digits, sample):
    x28, label = test_digits[0][sample], int(test_digits[1][sample])
    values, gradients, _ = tf_nodes(models["mlp"], x28, label)
    nodes = autodiff.graph(models["mlp"], x28, label)
    assert [n.name for n in nodes] == ["x", "z1", "a1", "z2", "a2", "L"]
    for node in nodes:
        np.testing.assert_allclose(node.value, values[node.name], atol=TOL)
        if node.name != "L":
            np.testing.assert_allclose(node.gradient, gradients[node.name], atol=TOL)
    assert float(nodes[-1].gradient) == 1.0


@pytest.mark.parametrize("sample", SAMPLES)
def test_forward_mode_tangents_are_columns_of_gradient_tapes_jacobian_and_end_in_the_same_derivative(
        models, test_digits, sample):
    model, x28, label = models["mlp"], test_digits[0][sample], int(test_digits[1][sample])
    _, gradients, jacobians = tf_nodes(model, x28, label)
    for pixel in (0, 300, 405, 629):
        tangents = autodiff.forward_mode(model, x28, label, pixel)
        for name, tangent in tangents.items():
            np.testing.assert_allclose(np.ravel(tangent), jacobians[name][:, pixel], atol=TOL)
        assert float(tangents["L"]) == pytest.approx(float(gradients["x"][pixel]), abs=TOL)


def test_forward_mode_needs_a_pass_per_pixel_reverse_mode_one_per_output(models):
    model = models["mlp"]
    assert autodiff.pass_counts(model) == (28 * 28, 1)
    assert autodiff.pass_counts(model, model.outputs[0].shape[-1]) == (784, 10)


def test_the_path_derivatives_are_the_weights_relu_slope_and_softmax_terms_tensorflow_gives(models, test_digits):
    model, x28, label = models["mlp"], test_digits[0][0], int(test_digits[1][0])
    values, _, jacobians = tf_nodes(model, x28, label)
    nodes = autodiff.graph(model, x28, label)
    active = int(np.flatnonzero(values["z1"] > 0)[0])
    pixel = 405
    edges = autodiff.path_derivatives(model, nodes, pixel, active, label)
    x = tf.constant(values["a1"][None])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        z2 = tf.matmul(x, model.get_layer("output").kernel) + model.get_layer("output").bias
    z2_value = tf.constant(values["z2"][None])
    with tf.GradientTape(persistent=True) as inner:
        inner.watch(z2_value)
        p = tf.nn.softmax(z2_value)
        p_y = p[0, label]
        loss = -tf.math.log(p_y)
    assert edges[0] == pytest.approx(float(model.get_layer("dense").kernel[pixel, active]), abs=0)
    assert edges[1] == 1.0
    assert edges[2] == pytest.approx(float(tape.jacobian(z2, x)[0, label, 0, active]), abs=TOL)
    assert edges[3] == pytest.approx(float(inner.gradient(p_y, z2_value)[0, label]), abs=TOL)
    assert edges[4] == pytest.approx(float(inner.gradient(loss, p)[0, label]), rel=1e-5)
    assert jacobians["z1"][active, pixel] == pytest.approx(edges[0], abs=TOL)


def test_the_graph_figure_shows_the_values_and_only_the_revealed_gradients(models, test_digits):
    model, x28, label = models["mlp"], test_digits[0][0], int(test_digits[1][0])
    nodes = autodiff.graph(model, x28, label)
    tangents = autodiff.forward_mode(model, x28, label, 405)
    edges = autodiff.path_derivatives(model, nodes, 405, 3, label)
    fig = figures.graph_figure(nodes, tangents, edges, 2, 405, 3, label, "en")
    boxes = [a.text for a in fig.layout.annotations if a.text and "<b>" in a.text]
    assert len(boxes) == 6
    assert f"{float(nodes[-1].value):.4g}" in boxes[-1] and "= +1" in boxes[-1]
    assert f"{nodes[4].gradient[label]:+.4g}" in boxes[4]
    assert all("= ?" in box for box in boxes[:4])
    assert f"{nodes[0].value[405]:.4g}" in boxes[0] and f"{float(tangents['L']):+.4g}" in boxes[-1]
    all_shown = figures.graph_figure(nodes, tangents, edges, 6, 405, 3, label, "en")
    first = [a.text for a in all_shown.layout.annotations if a.text and "<b>" in a.text][0]
    assert f"{nodes[0].gradient[405]:+.4g}" in first


def test_the_losses_figure_plots_the_sweep_tensorflow_computes(models, test_digits):
    logits = np.random.default_rng(0).normal(0, 2, 10)
    values = np.linspace(-5, 20, 26)
    sweep = fitting.wrong_logit_sweep(logits, 3, 8, values)
    for k in (0, 12, 25):
        z = tf.Variable(np.where(np.arange(10) == 8, values[k], logits)[None])
        with tf.GradientTape(persistent=True) as tape:
            p = tf.nn.softmax(z)
            se = tf.reduce_sum(tf.square(p - tf.one_hot([3], 10, dtype=tf.float64)))
            ce = -tf.math.log(p[0, 3])
        assert sweep.square_error[k] == pytest.approx(float(se), abs=TOL)
        assert sweep.cross_entropy[k] == pytest.approx(float(ce), abs=TOL)
        np.testing.assert_allclose(sweep.square_error_gradient[k], tape.gradient(se, z).numpy()[0], atol=TOL)
        np.testing.assert_allclose(sweep.cross_entropy_gradient[k], tape.gradient(ce, z).numpy()[0], atol=TOL)
    fig = figures.losses_figure(sweep, 10.0, float(logits[8]), "en")
    np.testing.assert_allclose(fig.data[0].y, sweep.square_error)
    np.testing.assert_allclose(fig.data[3].y, np.abs(sweep.cross_entropy_gradient[:, 3]))
    assert fig.data[1].y[-1] < 1e-3 < fig.data[3].y[-1]          # square error's push fades, cross-entropy's not
    with pytest.raises(ValueError, match="received"):
        fitting.wrong_logit_sweep(logits, 3, 3, values)


def test_the_arrows_the_backward_pass_has_crossed_are_highlighted(models, test_digits):
    model, x28, label = models["mlp"], test_digits[0][0], int(test_digits[1][0])
    nodes = autodiff.graph(model, x28, label)
    tangents = autodiff.forward_mode(model, x28, label, 405)
    edges = autodiff.path_derivatives(model, nodes, 405, 3, label)
    for revealed in range(7):
        fig = figures.graph_figure(nodes, tangents, edges, revealed, 405, 3, label, "en")
        arrows = [a for a in fig.layout.annotations if a.showarrow]
        assert len(arrows) == 5
        assert sum(a.arrowcolor == figures.ACCENT for a in arrows) == max(revealed - 1, 0)
