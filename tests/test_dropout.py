"""Dropout's thinned networks and the SGD step through one of them, against Keras's own Dropout layer,
the model's own layers and Keras's own SGD training step."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain import dropout
from explain.data import load_mnist
from explain.preprocess import to_mnist_batch


@pytest.fixture(scope="module")
def mlp(models):
    return models["mlp"]


@pytest.fixture(scope="module")
def digit(test_digits):
    return test_digits[0][3]


def keras_hidden(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The mlp's dense output (batch, 128) from a Keras sub-model."""
    return keras.Model(model.inputs[0], model.get_layer("dense").output)(x, training=False).numpy()


def test_each_thinned_network_is_the_dropout_layer_in_training_with_its_seed(mlp, digit):
    tn = dropout.thinned_networks(mlp, digit, 12, seed=5)
    assert tn.layer_name == "dropout" and tn.rate == mlp.get_layer("dropout").rate
    a = keras_hidden(mlp, digit[None])[0]
    np.testing.assert_allclose(tn.activations, a, atol=1e-6)
    for k, seed in enumerate(tn.seeds):
        layer_out = keras.layers.Dropout(tn.rate, seed=int(seed))(a[None], training=True).numpy()[0]
        np.testing.assert_allclose(tn.hidden[k], layer_out, atol=1e-6)
        np.testing.assert_allclose(tn.hidden[k], tn.masks[k] * a / (1 - tn.rate), atol=1e-6)
    assert tn.masks.shape == tn.hidden.shape == (12, 128) and tn.masks.dtype == bool


def test_each_thinned_networks_probabilities_are_the_whole_model_with_that_mask(mlp, digit):
    tn = dropout.thinned_networks(mlp, digit, 6, seed=11)
    for k, seed in enumerate(tn.seeds):
        h = mlp.get_layer("dense")(mlp.get_layer("flatten")(digit[None]))
        h = keras.layers.Dropout(tn.rate, seed=int(seed))(h, training=True)
        np.testing.assert_allclose(tn.probabilities[k], mlp.get_layer("output")(h).numpy()[0], atol=1e-6)
    np.testing.assert_allclose(tn.inference, mlp(digit[None], training=False).numpy()[0], atol=1e-6)
    np.testing.assert_allclose(tn.probabilities.sum(axis=1), 1, atol=1e-5)
    assert tn.votes.sum() == 6 and tn.votes[tn.answers[0]] >= 1


def test_masks_are_reproducible_keep_their_prefix_and_drop_about_the_rate(mlp, digit):
    many = dropout.thinned_networks(mlp, digit, 64, seed=3)
    np.testing.assert_array_equal(dropout.thinned_networks(mlp, digit, 4, seed=3).masks, many.masks[:4])
    np.testing.assert_array_equal(dropout.thinned_networks(mlp, digit, 64, seed=3).masks, many.masks)
    assert (dropout.thinned_networks(mlp, digit, 4, seed=4).masks != many.masks[:4]).any()
    # 8192 Bernoulli draws: the dropped share is within 4 standard deviations (0.018) of the rate.
    assert abs((~many.masks).mean() - many.rate) < 0.018
    assert len({m.tobytes() for m in many.masks}) == 64


def test_the_lstm_dropout_between_the_recurrent_layers_drops_single_timestep_values(models, digit):
    lstm = models["lstm"]
    where = dropout.dropout_layers(lstm)
    assert [(d.name, d.after, d.before) for d in where] == [("dropout1", "lstm1", "lstm2"),
                                                           ("dropout2", "lstm2", "output")]
    assert [d.rate for d in where] == [lstm.get_layer(d.name).rate for d in where]
    assert where[0].shape == tuple(lstm.get_layer("lstm1").output.shape[1:]) == (28, 32)
    tn = dropout.thinned_networks(lstm, digit, 3, seed=2, layer="dropout1")
    assert tn.masks.shape == (3, 28, 32)
    for k, seed in enumerate(tn.seeds):
        h = keras.layers.Dropout(tn.rate, seed=int(seed))(lstm.get_layer("lstm1")(digit[None]), training=True)
        probs = lstm.get_layer("output")(lstm.get_layer("lstm2")(h))
        np.testing.assert_allclose(tn.probabilities[k], probs.numpy()[0], atol=1e-5)


def test_unknown_dropout_layers_and_models_without_one_are_refused(models, digit):
    with pytest.raises(ValueError, match="dropout1, dropout2"):
        dropout.thinned_networks(models["lstm"], digit, 2, 0, layer="dense")
    with pytest.raises(ValueError, match="no Dropout"):
        dropout.thinned_networks(models["cnn"], digit, 2, 0)
    with pytest.raises(ValueError, match="received 0"):
        dropout.mask_seeds(0, 0)
    with pytest.raises(ValueError, match="between two Dense"):
        dropout.sgd_steps(models["lstm"], [], 0, 0.1)
    with pytest.raises(ValueError, match="training set has 100"):
        dropout.minibatches(100, 64, 2, 0)


@pytest.fixture(scope="module")
def batches():
    split = load_mnist().train
    return [(to_mnist_batch(split.x[i]), split.y[i]) for i in dropout.minibatches(len(split.y), 16, 2, seed=9)]


@pytest.fixture(scope="module")
def steps(mlp, batches):
    weights = [w.copy() for w in mlp.get_weights()]
    out = dropout.sgd_steps(mlp, batches, seed=9, learning_rate=0.1)
    for kept, now in zip(weights, mlp.get_weights()):
        np.testing.assert_array_equal(kept, now)          # the shipped model is never trained
    return out


def test_dropped_units_get_exactly_zero_gradient_and_keep_their_weights(steps):
    for step in steps:
        dropped = ~step.mask
        assert 0 < dropped.sum() < len(dropped)
        for name in ("gradients", "changes"):
            values = getattr(step, name)
            assert not values["dense/kernel"][:, dropped].any()
            assert not values["dense/bias"][dropped].any()
            assert not values["output/kernel"][dropped, :].any()
        assert not step.unit_change[dropped].any()
        assert (step.unit_change[step.mask & step.active] > 0).all()
        assert step.loss_after < step.loss_before


def test_the_next_mini_batch_with_a_new_mask_changes_other_units(steps):
    first, second = steps
    assert (first.mask != second.mask).any()
    now_updated = ~first.mask & second.mask & second.active
    assert now_updated.any()
    assert not first.unit_change[now_updated].any() and (second.unit_change[now_updated] > 0).all()


def test_each_step_equals_keras_training_the_model_with_one_mask_per_mini_batch(mlp, batches, steps):
    weights = mlp.get_weights()
    rate = mlp.get_layer("dropout").rate
    for (x, y), step, seed in zip(batches, steps, dropout.mask_seeds(9, len(steps))):
        inp = keras.Input((28, 28))
        h = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(inp))
        h = keras.layers.Dropout(rate, noise_shape=(1, 128), seed=int(seed))(h)
        reference = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(h))
        reference.set_weights(weights)
        reference.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                          jit_compile=False)
        loss = reference.train_on_batch(x, y)
        assert loss == pytest.approx(step.loss_before, abs=1e-5)
        changes = [step.changes[p] for p in ("dense/kernel", "dense/bias", "output/kernel", "output/bias")]
        for old, change, new in zip(weights, changes, reference.get_weights()):
            np.testing.assert_allclose(old + change, new, atol=1e-6)
        weights = reference.get_weights()


def test_the_figures_grey_out_exactly_the_dropped_values_and_plot_the_real_ones(mlp, digit, steps):
    from explain.figures import dropout as figures
    tn = dropout.thinned_networks(mlp, digit, 5, seed=1)
    values, grey = figures.masks_figure(tn, "en", False).data
    z, shaded = np.asarray(values.z, float), ~np.isnan(np.asarray(grey.z, float))
    np.testing.assert_array_equal(shaded[1:], ~tn.masks)
    assert not shaded[0].any()
    np.testing.assert_allclose(z[0], tn.activations, atol=1e-6)
    np.testing.assert_allclose(z[1:][tn.masks], tn.hidden[tn.masks], atol=1e-6)
    bars, points, diamonds = figures.answers_figure(tn, "zh", True).data
    np.testing.assert_allclose(bars.y, tn.probabilities.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(diamonds.y, mlp(digit[None], training=False).numpy()[0], atol=1e-6)
    assert len(points.y) == 50
    _, grey = figures.updates_figure(steps, "en", False).data
    np.testing.assert_array_equal(~np.isnan(np.asarray(grey.z, float)), np.stack([~s.mask for s in steps]))


def test_the_outgoing_weights_figure_leaves_the_dropped_units_columns_white_and_unchanged(steps):
    from explain.figures import dropout as figures
    step = steps[0]
    change, grey = figures.outgoing_figure(step, "output/kernel", 1, "en", False).data
    z, shaded = np.asarray(change.z, float), ~np.isnan(np.asarray(grey.z, float))
    assert z.shape == (10, 128)
    np.testing.assert_array_equal(shaded, np.broadcast_to(~step.mask, (10, 128)))
    np.testing.assert_allclose(z[:, step.mask], step.changes["output/kernel"][step.mask].T)
    assert not step.changes["output/kernel"][~step.mask].any()


def test_exactly_zero_gradients_are_those_of_dropped_or_silent_units_and_blank_pixels(mlp, steps, batches):
    """What the page's caption says, for the first step (the shipped weights): besides the dropped units'
    weights, an incoming weight gets no gradient when its pixel is blank in every digit for which its unit's
    ReLU is active, and all weights of a unit whose ReLU is 0 for every digit get none."""
    step, (x, _) = steps[0], batches[0]
    active = keras_hidden(mlp, x) > 0                                 # (batch, 128), from Keras
    through = active & step.mask                                      # the unit passes a gradient for digit b
    reaches = (x.reshape(len(x), -1) != 0).T.astype(int) @ through.astype(int) > 0   # (784, 128)
    silent = ~through.any(axis=0)
    np.testing.assert_array_equal(step.active, active.any(axis=0))
    g = step.gradients
    np.testing.assert_array_equal(g["dense/kernel"] == 0, ~reaches)
    np.testing.assert_array_equal(g["dense/bias"] == 0, silent)
    np.testing.assert_array_equal((g["output/kernel"] == 0).all(axis=1), silent)
    assert (~reaches[:, step.mask & step.active]).any()               # blank pixels exist for kept units too


def test_the_step_figure_shows_the_mini_batch_as_a_png_of_its_digits(steps, batches):
    import base64
    import io

    from PIL import Image

    from explain.figures import dropout as figures
    x = batches[0][0]
    step = steps[0]
    kernel = next(iter(step.changes))
    fig = figures.step_figure(x, step, kernel, 0, None, "en", False)
    png = Image.open(io.BytesIO(base64.b64decode(fig.data[0].source.split(",", 1)[1])))
    grey, alpha = np.asarray(png.convert("LA")).transpose(2, 0, 1)
    cols = min(8, len(x))
    for k in range(len(x)):
        r, c = divmod(k, cols)
        np.testing.assert_array_equal(grey[r * 29:r * 29 + 28, c * 29:c * 29 + 28], np.rint(x[k] * 255))
    assert (alpha[28::29] == 0).all() and (alpha[:, 28::29] == 0).all()    # the gaps between digits are clear
    assert len(fig.to_json()) < 40_000
