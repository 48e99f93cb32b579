"""bn_trace against the BatchNormalization layers' own outputs: the moving statistics at inference, a
mini-batch's own statistics in training mode (on a copy, since Keras updates the moving averages
then), for the shipped cnn_bn and a tiny seeded model."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain import batchnorm

BN = ("bn1", "bn2", "bn3", "bn4")


@pytest.fixture(scope="module")
def cnn_bn(models):
    return models["cnn_bn"]


@pytest.fixture(scope="module")
def batch(test_digits):
    x, _ = test_digits
    return x[10:42]          # 32 test digits; the first is the one explained


def bn_submodel(model: keras.Model) -> keras.Model:
    """Keras's own outputs of every BN layer and of the layer before each, and the probabilities."""
    names = [name for bn in BN for name in (model.get_layer(bn).input.name, bn)]
    outs = [model.get_layer(bn).input for bn in BN] + [model.get_layer(bn).output for bn in BN] + [model.outputs[0]]
    assert len(names) == 8
    return keras.Model(model.inputs[0], outs)


def copy_of(model: keras.Model) -> keras.Model:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def test_inference_mode_uses_the_moving_statistics_and_equals_each_layers_output(cnn_bn, test_digits):
    x = test_digits[0][3]
    run = batchnorm.bn_run(cnn_bn, x)
    assert [layer.layer_name for layer in run.layers] == list(BN)
    keras_out = bn_submodel(cnn_bn)(x[None], training=False)
    for k, layer in enumerate(run.layers):
        bn = cnn_bn.get_layer(layer.layer_name)
        np.testing.assert_allclose(layer.inputs, keras_out[k].numpy()[0], atol=1e-5)
        np.testing.assert_allclose(layer.outputs, keras_out[4 + k].numpy()[0], atol=1e-5)
        np.testing.assert_array_equal(layer.mean, bn.moving_mean.numpy())
        np.testing.assert_array_equal(layer.variance, bn.moving_variance.numpy())
        np.testing.assert_array_equal(layer.gamma, bn.gamma.numpy())
        assert layer.epsilon == pytest.approx(bn.epsilon) and not layer.training
        np.testing.assert_allclose(layer.gamma * layer.normalised + layer.beta, layer.outputs, atol=1e-5)
    np.testing.assert_allclose(run.probabilities[0], keras_out[-1].numpy()[0], atol=1e-5)
    np.testing.assert_allclose(run.probabilities[0], cnn_bn(x[None], training=False).numpy()[0], atol=1e-5)


def test_training_mode_uses_the_batch_statistics_and_equals_keras_with_training_true(cnn_bn, batch):
    before = [w.copy() for w in cnn_bn.get_weights()]
    run = batchnorm.bn_run(cnn_bn, batch[0], batch)
    for kept, now in zip(before, cnn_bn.get_weights()):
        np.testing.assert_array_equal(kept, now)                 # moving averages of the shipped model untouched
    keras_out = bn_submodel(copy_of(cnn_bn))(batch, training=True)
    for k, layer in enumerate(run.layers):
        assert layer.training and layer.batch_inputs.shape[0] == 32
        np.testing.assert_allclose(layer.batch_inputs, keras_out[k].numpy(), atol=1e-5)
        np.testing.assert_allclose(layer.batch_outputs, keras_out[4 + k].numpy(), atol=1e-5)
        np.testing.assert_allclose(layer.outputs, keras_out[4 + k].numpy()[0], atol=1e-5)
        axes = tuple(range(layer.batch_inputs.ndim - 1))
        # The batch's statistics in float64: TF's float32 reductions over 25,088 values (conv1) agree to 1e-3.
        wide = keras_out[k].numpy().astype(np.float64)
        np.testing.assert_allclose(layer.mean, wide.mean(axis=axes), rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(layer.variance, wide.var(axis=axes), rtol=1e-3)
        # After the layer each channel has, over the batch, mean beta exactly.
        np.testing.assert_allclose(layer.batch_outputs.mean(axis=axes), layer.beta, atol=1e-4)
    np.testing.assert_allclose(run.probabilities, keras_out[-1].numpy(), atol=1e-5)


def test_keras_in_training_mode_moves_the_averages_by_the_layers_momentum(cnn_bn, batch):
    """Why bn_run never calls the layers with training=True: one call moves them (on the copy here)."""
    copy = copy_of(cnn_bn)
    layer = copy.get_layer("bn1")
    old = layer.moving_mean.numpy().copy()
    run = batchnorm.bn_run(cnn_bn, batch[0], batch)
    keras.Model(copy.inputs[0], layer.output)(batch, training=True)
    m = run.layers[0].momentum
    np.testing.assert_allclose(layer.moving_mean.numpy(), m * old + (1 - m) * run.layers[0].mean, atol=1e-6)


def test_the_digits_answer_in_training_mode_depends_on_its_batch_mates(cnn_bn, batch):
    copies = np.repeat(batch[:1], 8, axis=0)
    with_mates, alone_copies = (batchnorm.bn_run(cnn_bn, batch[0], b).probabilities[0] for b in (batch, copies))
    np.testing.assert_allclose(alone_copies, copy_of(cnn_bn)(copies, training=True).numpy()[0], atol=1e-5)
    assert np.abs(with_mates - alone_copies).max() > 0.01
    # Eight copies of one digit: each unit of a dense layer has variance 0 over the batch, so x-hat = 0, y = beta.
    bn3 = batchnorm.bn_trace(cnn_bn, batch[0], copies)[2]
    np.testing.assert_allclose(bn3.variance, 0, atol=1e-6)
    np.testing.assert_allclose(bn3.outputs, bn3.beta, atol=1e-4)


def test_a_tiny_seeded_model_by_hand():
    keras.utils.set_random_seed(3)
    inp = keras.Input((28, 28))
    h = keras.layers.Dense(4, name="dense")(keras.layers.Flatten(name="flat")(inp))
    bn = keras.layers.BatchNormalization(name="bn", epsilon=0.01)
    out = keras.layers.Dense(10, activation="softmax", name="out")(bn(h))
    model = keras.Model(inp, out)
    bn.set_weights([np.array([1.0, 2.0, 0.5, 1.5], np.float32), np.array([0.0, 0.1, -0.2, 0.3], np.float32),
                    np.array([0.5, -0.5, 0.0, 1.0], np.float32), np.array([1.0, 4.0, 0.25, 2.0], np.float32)])
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    dense = keras.Model(inp, h)(x).numpy()
    (alone,) = batchnorm.bn_trace(model, x[0])
    np.testing.assert_allclose(alone.outputs, [1.0, 2.0, 0.5, 1.5] * (dense[0] - [0.5, -0.5, 0.0, 1.0])
                               / np.sqrt(np.array([1.0, 4.0, 0.25, 2.0]) + 0.01) + [0.0, 0.1, -0.2, 0.3], atol=1e-5)
    (batched,) = batchnorm.bn_trace(model, x[0], x)
    np.testing.assert_allclose(batched.mean, dense.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(batched.variance, dense.var(axis=0), rtol=1e-4)
    np.testing.assert_allclose(batched.outputs, keras.Model(inp, bn.output)(x, training=True).numpy()[0], atol=1e-5)


def test_bad_batches_and_models_without_batch_norm_are_refused(cnn_bn, models, batch):
    with pytest.raises(ValueError, match="first of the batch"):
        batchnorm.bn_trace(cnn_bn, batch[1], batch)
    with pytest.raises(ValueError, match=r"received shape \(3, 28\)"):
        batchnorm.bn_trace(cnn_bn, batch[0], batch[0, :3])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        batchnorm.bn_trace(models["cnn"], batch[0])
    with pytest.raises(ValueError, match="between 1 and 32"):
        batchnorm.mini_batch(batch[0], batch[1:], 40)
    assert batchnorm.mini_batch(batch[0], batch[1:], 5).shape == (5, 28, 28)


def test_a_bias_before_batch_norm_cancels_out_in_training_mode(cnn_bn, batch):
    """What the concept note says of conv1's biases, with Keras's own layers (on copies)."""
    shift = 0.25
    shifted = copy_of(cnn_bn)
    conv1 = shifted.get_layer("conv1")
    conv1.bias.assign(conv1.bias.numpy() + shift)

    def change(training: bool) -> float:
        out = [keras.Model(m.inputs[0], m.get_layer("bn1").output)(batch, training=training).numpy()
               for m in (copy_of(cnn_bn), shifted)]
        return float(np.abs(out[0] - out[1]).max())

    bn1 = cnn_bn.get_layer("bn1")
    at_inference = shift * np.abs(bn1.gamma.numpy()) / np.sqrt(bn1.moving_variance.numpy() + bn1.epsilon)
    assert change(training=False) == pytest.approx(float(at_inference.max()), rel=1e-3)
    assert change(training=True) < 1e-3          # float32 rounding only: the batch mean takes the shift away


def test_batch_mates_are_seeded_distinct_and_of_the_chosen_class(test_digits):
    _, y = test_digits
    mates = batchnorm.choose_mates(y, 50, seed=4, label=3)
    assert len(set(mates)) == 50 and (y[mates] == 3).all()
    np.testing.assert_array_equal(mates, batchnorm.choose_mates(y, 50, seed=4, label=3))
    with pytest.raises(ValueError, match="of class 3"):
        batchnorm.choose_mates(y, int((y == 3).sum()) + 1, seed=4, label=3)   # one more 3 than there are


def test_the_figures_plot_the_traced_values(cnn_bn, batch):
    from explain.figures import batchnorm as figures
    run = batchnorm.bn_run(cnn_bn, batch[0], batch)
    alone = batchnorm.bn_run(cnn_bn, batch[0])
    bn2 = run.layers[1]
    before, after = figures.histogram_figure(bn2, 5, "en", False).data[:2]
    for bars, values in ((before, bn2.batch_inputs[..., 5].ravel()), (after, bn2.batch_outputs[..., 5].ravel())):
        assert len(values) == 32 * 10 * 10 and sum(bars.y) == len(values)
        lo, hi = np.asarray(bars.customdata).T
        assert lo[0] == values.min() and hi[-1] == values.max()
        inside = [(values >= a) & ((values < b) | ((k == len(lo) - 1) & (values <= b))) for k, (a, b) in
                  enumerate(zip(lo, hi))]    # each bin holds its lower edge; the last also its upper one
        np.testing.assert_array_equal(bars.y, [int(b.sum()) for b in inside])
    means = figures.statistics_figure(bn2, "zh", True).data
    np.testing.assert_array_equal(means[0].y, bn2.mean)
    np.testing.assert_array_equal(means[1].y, cnn_bn.get_layer("bn2").moving_mean.numpy())
    np.testing.assert_array_equal(means[3].y, cnn_bn.get_layer("bn2").moving_variance.numpy())
    bars = figures.modes_figure(alone.probabilities[0], run.probabilities[0], 32, "en", False).data
    np.testing.assert_allclose(bars[0].y, cnn_bn(batch[:1], training=False).numpy()[0], atol=1e-5)
    np.testing.assert_allclose(bars[1].y, copy_of(cnn_bn)(batch, training=True).numpy()[0], atol=1e-5)
