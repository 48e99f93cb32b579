"""The CNN trace and its arithmetic against Keras / TensorFlow: feature maps, convolution sums,
pooling windows, logits, shapes, parameter counts and receptive fields, for the shipped LeNet-5 and
for networks a student would build in a notebook (fused ReLUs, 3x3 kernels, strides, average
pooling, an (28, 28, 1) input), uploaded as a .keras file."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import conv
from explain.custom import load_uploaded

L = keras.layers
LENET = ("image", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "fc2", "output")


@pytest.fixture(scope="module")
def cnn(models):
    return models["cnn"]


@pytest.fixture(scope="module")
def traces(cnn, test_digits):
    x, _ = test_digits
    return [(x[i], conv.trace(cnn, x[i])) for i in (0, 7, 42)]


def without_output_activation(model: keras.Model) -> keras.Model:
    """A copy of `model` whose last layer has no activation: Keras's own pre-softmax values."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    clone.layers[-1].activation = keras.activations.linear
    return clone


# ---- the shipped LeNet-5 -----------------------------------------------------------------------

def test_lenets_plan_names_its_convolutions_pools_and_relus(cnn):
    p = conv.plan(cnn)
    assert p.chain == LENET
    assert (p.convs, p.pools) == (("conv1", "conv2"), ("pool1", "pool2"))
    assert p.activated == {"conv1": "relu1", "conv2": "relu2"} and p.activation == {"conv1": "relu", "conv2": "relu"}
    assert (p.source["conv1"], p.source["conv2"], p.source["pool2"]) == ("image", "pool1", "relu2")


def test_every_feature_map_equals_a_keras_submodel_output(cnn, traces):
    reference = keras.Model(cnn.inputs[0], [cnn.get_layer(name).output for name in LENET])
    for x, tr in traces:
        for name, want in zip(LENET, reference(x[None], training=False)):
            np.testing.assert_allclose(tr.maps[name], want.numpy()[0], atol=1e-5, err_msg=name)
        assert tr.maps["conv1"].shape == (28, 28, 6) and tr.maps["pool2"].shape == (5, 5, 16)
        np.testing.assert_array_equal(tr.before["conv1"], tr.maps["conv1"])  # conv1 has no fused activation


def test_relu_maps_are_the_conv_maps_clipped_at_zero(cnn, traces):
    for _, tr in traces:
        for layer in ("conv1", "conv2"):
            np.testing.assert_allclose(conv.activated_map(cnn, tr, layer), np.maximum(tr.maps[layer], 0), atol=1e-6)


def test_logits_are_keras_own_values_before_the_softmax(cnn, traces):
    linear = without_output_activation(cnn)
    for x, tr in traces:
        np.testing.assert_allclose(tr.logits, linear(x[None], training=False).numpy()[0], atol=1e-5)
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
        relu = conv.activated_map(cnn, tr, layer)[row, col, channel]
        assert step.activation == "relu" and step.activated == pytest.approx(float(relu), abs=1e-5)
        assert step.total == pytest.approx(step.products.sum() + step.bias, abs=1e-6)
        np.testing.assert_allclose(step.channel_sums, step.products.sum(axis=(0, 1)), atol=1e-6)
        assert step.patch.shape == step.kernel.shape == (5, 5, 1 if layer == "conv1" else 6)


def test_conv1_patches_are_zero_padded_at_the_border(cnn, traces):
    _, tr = traces[0]
    step = conv.conv_step(cnn, tr, "conv1", 0, 0, 0)
    assert (step.top, step.left, step.pad, step.stride, step.reads_digit) == (-2, -2, (2, 2), 1, True)
    assert not step.patch[:2].any() and not step.patch[:, :2].any()
    np.testing.assert_array_equal(step.patch[2:, 2:, 0], tr.maps["image"][:3, :3, 0])
    inner = conv.conv_step(cnn, tr, "conv2", 0, 3, 4)
    np.testing.assert_array_equal(inner.patch, tr.maps["pool1"][3:8, 4:9])
    assert inner.pad == (0, 0) and not inner.reads_digit


def test_each_pooled_value_is_the_max_of_its_window(cnn, traces):
    for _, tr in traces:
        for layer in ("pool1", "pool2"):
            pooled = tr.maps[layer]
            for row in range(pooled.shape[0]):
                for col in range(pooled.shape[1]):
                    for channel in range(pooled.shape[2]):
                        w = conv.pool_window(cnn, tr, layer, channel, row, col)
                        assert w.value == pytest.approx(float(w.window.max()), abs=1e-6)
                        assert w.window[w.winner] == w.window.max()
                        assert w.window.shape == (2, 2) and w.kind == "max"


def test_layer_shapes_follow_the_formula_and_match_keras(cnn):
    table = {info.name: info for info in conv.layer_table(cnn)}
    for name in ("conv1", "pool1", "conv2", "pool2"):
        info = table[name]
        assert info.size == info.shape[0] == cnn.get_layer(name).output.shape[1]
    assert (table["conv1"].w, table["conv1"].f, table["conv1"].p, table["conv1"].s) == (28, 5, 2, 1)
    assert (table["conv2"].w, table["conv2"].f, table["conv2"].p, table["conv2"].s) == (14, 5, 0, 1)
    assert (table["pool2"].w, table["pool2"].f, table["pool2"].s, table["pool2"].size) == (10, 2, 2, 5)


def test_receptive_fields_are_lenets_known_ones(cnn):
    """By hand: conv1 sees 5x5 pixels; pool1 6x6; a conv2 value 5 pool1 cells of step 2: 6 + 4 x 2 = 14; pool2 16."""
    table = {info.name: info.receptive for info in conv.layer_table(cnn)}
    assert (table["conv1"], table["pool1"], table["conv2"], table["pool2"]) == (5, 6, 14, 16)


def test_parameter_counts_match_keras_and_add_up(cnn):
    table = conv.layer_table(cnn)
    for info in table:
        assert info.params == cnn.get_layer(info.name).count_params()
    assert sum(info.params for info in table) == cnn.count_params() == 61706
    counts = {info.name: info.params for info in table}
    assert (counts["conv1"], counts["conv2"]) == (6 * 5 * 5 * 1 + 6, 16 * 5 * 5 * 6 + 16)
    first = conv.dense_equivalent(cnn, "conv1")
    assert (first.inputs, first.outputs, first.params, first.dense) == (784, 4704, 156, 784 * 4704 + 4704)


def test_unknown_layers_are_refused_with_the_valid_names(cnn, traces):
    _, tr = traces[0]
    with pytest.raises(ValueError, match="conv1, conv2"):
        conv.conv_step(cnn, tr, "fc1", 0, 0, 0)
    with pytest.raises(ValueError, match="pool1, pool2"):
        conv.pool_window(cnn, tr, "conv1", 0, 0, 0)


# ---- a student's own networks, uploaded ------------------------------------------------------

def notebook_cnn() -> keras.Model:
    """Fused ReLUs, 3x3 'valid' and 'same' kernels, average pooling, an (28, 28, 1) input."""
    keras.utils.set_random_seed(21)
    return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                             L.Conv2D(12, 3, padding="same", activation="relu"), L.AveragePooling2D(2),
                             L.Flatten(), L.Dense(32, activation="relu"), L.Dense(10, activation="softmax")])


def strided_cnn() -> keras.Model:
    """A (784,) input reshaped, an even kernel with stride 2 and 'same' padding (uneven zeros), tanh."""
    keras.utils.set_random_seed(22)
    return keras.Sequential([L.Input((784,)), L.Reshape((28, 28, 1)), L.Conv2D(5, 4, strides=2, padding="same"),
                             L.Activation("tanh"), L.Conv2D(6, 3, strides=2, activation="relu", use_bias=False),
                             L.Flatten(), L.Dense(10), L.Softmax()])


@pytest.fixture(scope="module", params=[notebook_cnn, strided_cnn], ids=["notebook", "strided"])
def uploaded(request, tmp_path_factory, test_digits):
    original = request.param()
    path = tmp_path_factory.mktemp("upload") / "my_model.keras"
    original.save(path)
    model = load_uploaded(path.read_bytes(), path.name)
    x = test_digits[0][3]
    return model, x, conv.trace(model, x)


def _keras_input(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return x.reshape((1, *model.inputs[0].shape[1:]))


def test_an_uploaded_models_maps_equal_its_own_layers_outputs(uploaded):
    model, x, tr = uploaded
    names = [layer.name for layer in model.layers]
    reference = keras.Model(model.inputs[0], [layer.output for layer in model.layers])
    for name, want in zip(names, reference(_keras_input(model, x), training=False)):
        np.testing.assert_allclose(tr.maps[name], want.numpy()[0], atol=1e-5, err_msg=name)
    np.testing.assert_allclose(tr.probabilities, model(_keras_input(model, x)).numpy()[0], atol=1e-6)


def test_an_uploaded_models_maps_before_activation_equal_tensorflows_convolution(uploaded):
    model, _, tr = uploaded
    p = conv.plan(model)
    for name in p.convs:
        layer = model.get_layer(name)
        source = tr.maps[p.source[name]][None]
        want = tf.nn.conv2d(source, layer.kernel, layer.strides[0], layer.padding.upper()).numpy()[0]
        if layer.use_bias:
            want = want + layer.bias.numpy()
        np.testing.assert_allclose(tr.before[name], want, atol=1e-5, err_msg=name)


def test_an_uploaded_models_logits_are_its_own_pre_softmax_values(uploaded):
    model, x, tr = uploaded
    if isinstance(model.layers[-1], L.Softmax):
        want = keras.Model(model.inputs[0], model.layers[-2].output)(_keras_input(model, x)).numpy()[0]
    else:
        want = without_output_activation(model)(_keras_input(model, x)).numpy()[0]
    np.testing.assert_allclose(tr.logits, want, atol=1e-5)


def test_every_value_of_an_uploaded_models_convolutions_is_its_patch_times_kernel(uploaded):
    model, _, tr = uploaded
    for name in conv.plan(model).convs:
        h, w, c = tr.before[name].shape
        after = conv.activated_map(model, tr, name)
        for row in range(0, h, 2):
            for col in range(0, w, 3):
                step = conv.conv_step(model, tr, name, (row + col) % c, row, col)
                assert step.total == pytest.approx(float(tr.before[name][row, col, step.channel]), abs=1e-5)
                if after is not None:
                    assert step.activated == pytest.approx(float(after[row, col, step.channel]), abs=1e-5)


def test_an_uploaded_models_pooling_windows_give_its_max_or_mean(uploaded):
    model, _, tr = uploaded
    for name in conv.plan(model).pools:
        pooled = tr.maps[name]
        for row in range(pooled.shape[0]):
            for col in range(pooled.shape[1]):
                w = conv.pool_window(model, tr, name, col % pooled.shape[2], row, col)
                want = w.window.max() if w.kind == "max" else w.window.mean()
                assert w.value == pytest.approx(float(want), abs=1e-5)


def test_an_uploaded_models_layer_sizes_follow_the_formula(uploaded):
    model, _, _ = uploaded
    table = conv.layer_table(model)
    assert sum(info.params for info in table) == model.count_params()
    for info in table:
        if info.w is not None:
            assert info.size == info.shape[0] == model.get_layer(info.name).output.shape[1], info.name


def test_uneven_same_padding_puts_the_extra_zero_after():
    """TensorFlow pads 'same' with (out - 1) S + F - W zeros, the smaller half first: W = 28, F = 4,
    S = 2 gives 13 x 2 + 4 - 28 = 2 -> (1, 1); W = 28, F = 3, S = 2 gives 1 -> (0, 1)."""
    for size, want in ((4, (1, 1)), (3, (0, 1)), (5, (1, 2))):
        model = keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(1, size, strides=2, padding="same", name="c"),
                                  L.Flatten(), L.Dense(10, activation="softmax")])
        assert conv.padding(model, "c") == want


def test_models_the_page_cannot_trace_say_why(models):
    assert not conv.fits(models["lstm"]) and "no Conv2D" in conv.why_not(models["lstm"])
    dilated = keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(2, 3, dilation_rate=2), L.Flatten(),
                                L.Dense(10, activation="softmax")])
    assert "dilation" in conv.why_not(dilated)
    assert conv.fits(models["cnn"]) and conv.why_not(models["cnn"]) is None
