"""The gradients page's figures draw the numbers they are given: bars, images, curves and norms."""
from __future__ import annotations

import numpy as np
import pytest

from explain import activations, gradients, through_time
from explain.figures import gradients as figures
from explain.vanishing import DepthGradients, TrainingCurve


@pytest.fixture(scope="module")
def mlp_steps(models, test_digits):
    return gradients.mlp_backprop(models["mlp"], test_digits[0][0], 3)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_output_error_draws_p_and_p_minus_one_hot(mlp_steps, lang):
    p = mlp_steps[-1].a
    fig = figures.output_error(p, 3, lang, projector=lang == "zh")
    np.testing.assert_allclose(fig.data[0].y, p)
    np.testing.assert_allclose(fig.data[1].y, mlp_steps[-1].delta)
    assert fig.data[1].y[3] < 0 and list(fig.data[0].x) == [str(k) for k in range(10)]


def test_unit_images_are_each_units_weights_and_weight_gradient(mlp_steps):
    first = mlp_steps[0]
    units = [int(j) for j in np.argsort(-np.abs(first.delta))[:2]]
    fig = figures.unit_images(first.kernel, first.weight_gradient, first.delta, units, "en")
    weights, gradient_images = fig.data[0::2], fig.data[1::2]
    for unit, w, g in zip(units, weights, gradient_images):
        np.testing.assert_array_equal(np.asarray(w.z), first.kernel[:, unit].reshape(28, 28))
        np.testing.assert_array_equal(np.asarray(g.z), first.weight_gradient[:, unit].reshape(28, 28))
        assert g.zmin == -g.zmax == -np.abs(first.weight_gradient[:, unit]).max()


@pytest.mark.parametrize("projector", [False, True])
def test_activation_table_draws_each_function_its_derivative_and_the_digits_values(mlp_steps, projector):
    z = mlp_steps[0].z
    fig = figures.activation_table(z, "mlp · dense", "en", projector)
    assert len(fig.data) == 3 * len(activations.COURSE)
    for k, name in enumerate(activations.COURSE):
        curve, slope, ticks = fig.data[3 * k:3 * k + 3]
        entry = activations.TABLE[name]
        np.testing.assert_allclose(curve.y, entry.f(np.asarray(curve.x)))
        np.testing.assert_allclose(slope.y, entry.derivative(np.asarray(slope.x)))
        np.testing.assert_allclose(ticks.x, np.clip(z, *figures.Z_RANGE))
        np.testing.assert_allclose(ticks.y, entry.derivative(np.clip(z, *figures.Z_RANGE)))


def test_depth_norms_draw_every_layers_norm_on_a_log_axis():
    results = [DepthGradients(v, ("dense1", "output"), np.array([1e-5 * (k + 1), 1.0]))
               for k, v in enumerate(("sigmoid", "relu", "sigmoid_bn"))]
    fig = figures.depth_norms(results, "zh")
    assert fig.layout.yaxis.type == "log"
    for trace, result in zip(fig.data, results):
        np.testing.assert_array_equal(trace.y, result.norms)
        assert list(trace.x) == ["dense1", "output"]


def test_row_norms_draw_the_norms_and_their_fit():
    norms = {"rnn": 2.0 * 0.8 ** (28 - np.arange(1, 29)) * np.linspace(0.9, 1.1, 28)}
    fits = {"rnn": through_time.fit_gamma(norms["rnn"])}
    fig = figures.row_norms(norms, fits, {"rnn": "SimpleRNN"}, "en")
    points, line = fig.data
    np.testing.assert_array_equal(points.y, norms["rnn"])
    np.testing.assert_allclose(line.y, fits["rnn"](np.arange(1, 29)))
    assert list(points.x) == list(range(1, 29)) and fig.layout.yaxis.type == "log"


def test_jacobian_and_scaled_figures_draw_the_backpropagations_numbers(test_digits):
    from tests.test_through_time import tiny_rnn
    model = tiny_rnn()
    by_scale = {s: through_time.rnn_backprop(model, test_digits[0][2], 1, s) for s in (0.5, 2.0)}
    layers = list(by_scale[2.0].layers)
    products = [layer.product_norms() for layer in layers]
    fig = figures.jacobian_norms(layers, products, "en")
    np.testing.assert_array_equal(fig.data[0].y, layers[0].jacobian_norms[1:])
    np.testing.assert_array_equal(fig.data[1].y, products[0])
    np.testing.assert_array_equal(fig.data[3].y, products[1])
    fig = figures.scaled_row_norms({s: r.row_norms for s, r in by_scale.items()}, 2.0, "zh", projector=True)
    np.testing.assert_array_equal(fig.data[1].y, by_scale[2.0].row_norms)
    assert fig.data[1].line.width > fig.data[0].line.width


def test_training_curves_draw_each_variants_losses():
    curves = [TrainingCurve(v, np.linspace(2.3, 2.3 - k, 50), 0.1, 64) for k, v in enumerate(("sigmoid", "relu"))]
    fig = figures.training_curves(curves, "zh", projector=True)
    for trace, curve in zip(fig.data, curves):
        np.testing.assert_array_equal(trace.y, curve.losses)
        assert list(trace.x) == list(range(1, 51))
    assert fig.layout.shapes[0].y0 == pytest.approx(np.log(10))


def test_log_axes_label_every_power_of_ten_the_values_span_in_full_size_digits():
    axis = figures.log_axis([np.array([3e-4, 0.5]), np.array([20.0])], "norm")
    assert axis["type"] == "log" and axis["tickvals"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    assert axis["ticktext"] == ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "1", "10", "10²"]
