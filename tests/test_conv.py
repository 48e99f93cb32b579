"""The CNN trace and its arithmetic against Keras: feature maps, convolution sums, pooling maxima,
logits, shapes and parameter counts."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain import conv


@pytest.fixture(scope="module")
def cnn(models):
    return models["cnn"]


@pytest.fixture(scope="module")
def traces(cnn, test_digits):
    x, _ = test_digits
    return [(x[i], conv.trace(cnn, x[i])) for i in (0, 7, 42)]


def test_every_feature_map_equals_a_keras_submodel_output(cnn, traces):
    reference = keras.Model(cnn.input, [cnn.get_layer(name).output for name in conv.LAYERS])
    for x, tr in traces:
        for name, want in zip(conv.LAYERS, reference(x[None], training=False)):
            np.testing.assert_allclose(tr.maps[name], want.numpy()[0], atol=1e-5, err_msg=name)
        assert tr.maps["conv1"].shape == (28, 28, 6) and tr.maps["pool2"].shape == (5, 5, 16)


def test_relu_maps_are_the_conv_maps_clipped_at_zero(traces):
    for _, tr in traces:
        for layer, relu in conv.RELU_OF.items():
            np.testing.assert_allclose(tr.maps[relu], np.maximum(tr.maps[layer], 0), atol=1e-6)


def test_logits_give_the_models_probabilities_through_softmax(cnn, traces):
    for x, tr in traces:
        np.testing.assert_allclose(tr.probabilities, cnn(x[None], training=False).numpy()[0], atol=1e-5)
        keras_softmax = keras.ops.convert_to_numpy(keras.ops.softmax(tr.logits))
        np.testing.assert_allclose(keras_softmax, tr.probabilities, atol=1e-5)


POSITIONS = [("conv1", 0, 0, 0), ("conv1", 5, 27, 27), ("conv1", 2, 0, 14), ("conv1", 3, 13, 1),
             ("conv1", 1, 14, 14), ("conv2", 0, 0, 0), ("conv2", 15, 9, 9), ("conv2", 7, 4, 6), ("conv2", 3, 0, 9)]


@pytest.mark.parametrize("layer,channel,row,col", POSITIONS)
def test_patch_times_kernel_plus_bias_equals_the_feature_map_value(cnn, traces, layer, channel, row, col):
    for _, tr in traces:
        step = conv.conv_step(cnn, tr, layer, channel, row, col)
        assert step.total == pytest.approx(float(tr.maps[layer][row, col, channel]), abs=1e-5)
        assert step.total == pytest.approx(step.map_value, abs=1e-5)
        assert step.relu == pytest.approx(float(tr.maps[conv.RELU_OF[layer]][row, col, channel]), abs=1e-5)
        assert step.total == pytest.approx(step.products.sum() + step.bias, abs=1e-6)
        np.testing.assert_allclose(step.channel_sums, step.products.sum(axis=(0, 1)), atol=1e-6)
        assert step.patch.shape == step.kernel.shape == (5, 5, 1 if layer == "conv1" else 6)


def test_conv1_patches_are_zero_padded_at_the_border(cnn, traces):
    _, tr = traces[0]
    step = conv.conv_step(cnn, tr, "conv1", 0, 0, 0)
    assert (step.top, step.left) == (-2, -2)
    assert not step.patch[:2].any() and not step.patch[:, :2].any()
    np.testing.assert_array_equal(step.patch[2:, 2:, 0], tr.maps["image"][:3, :3, 0])
    inner = conv.conv_step(cnn, tr, "conv2", 0, 3, 4)
    np.testing.assert_array_equal(inner.patch, tr.maps["pool1"][3:8, 4:9])


def test_each_pooled_value_is_the_max_of_its_window(cnn, traces):
    for _, tr in traces:
        for layer in conv.POOLS:
            pooled = tr.maps[layer]
            for row in range(pooled.shape[0]):
                for col in range(pooled.shape[1]):
                    for channel in range(pooled.shape[2]):
                        w = conv.pool_window(cnn, tr, layer, channel, row, col)
                        assert w.value == pytest.approx(float(w.window.max()), abs=1e-6)
                        assert w.window[w.winner] == w.window.max()
                        assert w.window.shape == (2, 2)


def test_layer_shapes_follow_the_formula_and_match_keras(cnn):
    table = {info.name: info for info in conv.layer_table(cnn)}
    for name in ("conv1", "pool1", "conv2", "pool2"):
        info = table[name]
        assert info.size == info.shape[0] == cnn.get_layer(name).output.shape[1]
    assert (table["conv1"].w, table["conv1"].f, table["conv1"].p, table["conv1"].s) == (28, 5, 2, 1)
    assert (table["conv2"].w, table["conv2"].f, table["conv2"].p, table["conv2"].s) == (14, 5, 0, 1)
    assert (table["pool2"].w, table["pool2"].f, table["pool2"].s, table["pool2"].size) == (10, 2, 2, 5)


def test_parameter_counts_match_keras_and_add_up(cnn):
    table = conv.layer_table(cnn)
    for info in table:
        assert info.params == cnn.get_layer(info.name).count_params()
    assert sum(info.params for info in table) == cnn.count_params() == 61706
    counts = {info.name: info.params for info in table}
    assert (counts["conv1"], counts["conv2"]) == (6 * 5 * 5 * 1 + 6, 16 * 5 * 5 * 6 + 16)
    assert conv.dense_equivalent(cnn) == 784 * 4704 + 4704


def test_unknown_layers_are_refused_with_the_valid_names(cnn, traces):
    _, tr = traces[0]
    with pytest.raises(ValueError, match="conv1, conv2"):
        conv.conv_step(cnn, tr, "fc1", 0, 0, 0)
    with pytest.raises(ValueError, match="pool1, pool2"):
        conv.pool_window(cnn, tr, "conv1", 0, 0, 0)
