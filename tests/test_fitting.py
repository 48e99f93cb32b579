"""The fitting page's numbers against TensorFlow's own: loss gradients against GradientTape, SGD steps
against `train_on_batch` with Keras's SGD optimizer and `kernel_regularizer` on a copy, and the
epoch / batch / iteration counters against the data."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from explain import fitting
from explain.data import load_mnist

TOL = 1e-5


def tape_loss_gradients(logits: np.ndarray, label: int) -> tuple[float, np.ndarray, float, np.ndarray]:
    """TensorFlow's square error sum_k (softmax(z)_k - y_k)^2 and cross-entropy, with their logit gradients."""
    z = tf.Variable(np.asarray(logits, np.float64)[None])
    y = tf.one_hot([label], 10, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        p = tf.nn.softmax(z)
        se = tf.reduce_sum(tf.square(p - y))
        ce = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(y, z))
    return float(se), tape.gradient(se, z).numpy()[0], float(ce), tape.gradient(ce, z).numpy()[0]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("label", [0, 3, 9])
def test_both_losses_and_their_logit_gradients_equal_gradient_tapes(seed, label):
    logits = np.random.default_rng(seed).normal(0, 3, 10)
    p = tf.nn.softmax(logits).numpy()
    got = fitting.loss_gradients(p, label)
    se, dse, ce, dce = tape_loss_gradients(logits, label)
    assert got.square_error == pytest.approx(se, abs=TOL) and got.cross_entropy == pytest.approx(ce, abs=TOL)
    assert got.square_error_gradient.shape == got.cross_entropy_gradient.shape == (10,)
    np.testing.assert_allclose(got.square_error_gradient, dse, atol=TOL)
    np.testing.assert_allclose(got.cross_entropy_gradient, dce, atol=TOL)


def test_when_confidently_wrong_the_square_errors_gradient_fades_and_the_cross_entropys_does_not():
    logits = np.zeros(10)
    logits[7] = 12.0                               # sure it is a 7; the target is 2
    _, dse, _, dce = tape_loss_gradients(logits, 2)
    got = fitting.loss_gradients(tf.nn.softmax(logits).numpy(), 2)
    assert abs(got.cross_entropy_gradient[2]) > 0.99 and abs(dce[2]) > 0.99
    assert abs(got.square_error_gradient[2]) < 1e-4 and abs(dse[2]) < 1e-4


@pytest.mark.parametrize("probabilities, label", [(np.full(9, 1 / 9), 0), (np.full(10, 0.2), 0),
                                                  (np.full(10, 0.1), 10), (np.full(10, 0.1), 2.0)])
def test_loss_gradients_rejects_what_is_not_ten_probabilities_and_a_class(probabilities, label):
    with pytest.raises(ValueError, match="received"):
        fitting.loss_gradients(probabilities, label)


# ---- SGD on a copy, against Keras's own training step --------------------------------------------

def tiny_mlp(seed: int = 0) -> keras.Model:
    """The shipped MLP's shape, narrower: Flatten, Dense(16, relu), Dropout, Dense(10, softmax)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((28, 28))
    x = keras.layers.Flatten()(inp)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(x))


def keras_reference(model: keras.Model, batches, learning_rate: float, l1: float, l2: float):
    """Keras's own steps on a copy: the same layers with `kernel_regularizer=L1L2(l1, l2)` (and
    dropout rate 0: the explained steps run in inference mode), compiled with SGD, one
    `train_on_batch` per mini-batch. Returns (losses, weights after each step)."""
    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Dense):
            config["kernel_regularizer"] = keras.regularizers.L1L2(l1=l1, l2=l2)
        if isinstance(layer, keras.layers.Dropout):
            config["rate"] = 0.0
        return type(layer).from_config(config)
    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="sparse_categorical_crossentropy")
    losses, weights = [], []
    for x, y in batches:
        losses.append(float(twin.train_on_batch(x, y)))
        weights.append(twin.get_weights())
    return losses, weights


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.0, 0.01), (0.001, 0.0), (0.001, 0.01)])
def test_sgd_steps_equal_keras_sgd_with_the_same_kernel_regularizer_on_a_copy(l1, l2):
    model = tiny_mlp()
    before = [w.copy() for w in model.get_weights()]
    batches = [digits(8, seed) for seed in range(3)]
    got = fitting.sgd_steps(model, [b[0] for b in batches], [b[1] for b in batches], 0.05, 3, l1=l1, l2=l2)
    losses, weights = keras_reference(model, batches, 0.05, l1, l2)
    assert len(got) == 3
    for step, loss, expected in zip(got, losses, weights):
        assert step.loss == pytest.approx(loss, abs=TOL)
        assert [w.shape for w in step.weights] == [w.shape for w in expected]
        for w, e in zip(step.weights, expected):
            np.testing.assert_allclose(w, e, atol=TOL)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_one_batch_reused_equals_keras_stepping_on_it_again():
    model = tiny_mlp(1)
    x, y = digits(10, 5)
    got = fitting.sgd_steps(model, x, y, 0.1, 4, l2=0.001)
    losses, weights = keras_reference(model, [(x, y)] * 4, 0.1, 0.0, 0.001)
    np.testing.assert_allclose([s.loss for s in got], losses, atol=TOL)
    np.testing.assert_allclose(got[-1].weights[0], weights[-1][0], atol=TOL)


def test_the_penalty_is_keras_regulariser_of_the_kernels_before_the_step_and_its_gradient_share():
    model = tiny_mlp(2)
    x, y = digits(6, 1)
    step = fitting.sgd_steps(model, x, y, 0.1, 1, l1=0.002, l2=0.03)[0]
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    reg = keras.regularizers.L1L2(l1=0.002, l2=0.03)
    assert step.penalty == pytest.approx(sum(float(reg(k)) for k in kernels), rel=1e-6)
    with tf.GradientTape(persistent=True) as tape:
        penalty = tf.add_n([reg(k) for k in kernels])
        data = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=False)))
        total = data + penalty
    def norm(grads):
        return math.sqrt(sum(float(tf.reduce_sum(g * g)) for g in grads))
    share = norm(tape.gradient(penalty, kernels)) / norm(tape.gradient(total, kernels))
    assert step.penalty_share == pytest.approx(share, rel=1e-5)
    for g, expected in zip(step.gradients, tape.gradient(total, model.trainable_variables)):
        np.testing.assert_allclose(g, expected.numpy(), atol=TOL)
    assert fitting.sgd_steps(model, x, y, 0.1, 1)[0].penalty_share == 0.0


def test_a_learning_rate_that_overflows_the_weights_stops_the_run_before_any_nan():
    model = tiny_mlp(3)
    x, y = digits(8, 2)
    steps = fitting.sgd_steps(model, x * 1e3, y, 1e30, 5)
    assert len(steps) < 5
    assert all(np.isfinite(s.loss) and all(np.isfinite(w).all() for w in s.weights) for s in steps)


def test_losses_along_weights_are_keras_evaluate_of_a_model_holding_them():
    model = tiny_mlp(4)
    x, y = digits(12, 3)
    steps = fitting.sgd_steps(model, x, y, 0.5, 2)
    got = fitting.losses_along(model, [model.get_weights()] + [s.weights for s in steps], x, y)
    twin = tiny_mlp(9)
    twin.compile(loss="sparse_categorical_crossentropy")
    for loss, weights in zip(got, [model.get_weights()] + [s.weights for s in steps]):
        twin.set_weights(weights)
        assert loss == pytest.approx(twin.evaluate(x, y, verbose=0), abs=TOL)
    assert got[0] == pytest.approx(steps[0].loss, abs=TOL)


def test_initial_weights_are_what_keras_builds_with_the_same_seeded_initialisers():
    model = tiny_mlp(5)
    got = fitting.initial_weights(model, seed=7)
    assert [w.shape for w in got] == [w.shape for w in model.get_weights()]
    np.testing.assert_allclose(got[0], keras.initializers.GlorotUniform(seed=7)((784, 16)), atol=0)
    np.testing.assert_array_equal(got[1], np.zeros(16))
    limit = math.sqrt(6 / (16 + 10))
    assert np.abs(got[2]).max() <= limit and not np.allclose(got[2], model.get_weights()[2])
    np.testing.assert_array_equal(fitting.initial_weights(model, seed=7)[2], got[2])


@pytest.mark.parametrize("bad", [{"learning_rate": 0.0}, {"learning_rate": -1.0}, {"l1": -0.1}, {"steps": 0}])
def test_sgd_steps_rejects_bad_settings_saying_what_it_received(bad):
    x, y = digits(4, 0)
    args = {"learning_rate": 0.1, "steps": 1, "l1": 0.0, "l2": 0.0} | bad
    with pytest.raises(ValueError, match="received"):
        fitting.sgd_steps(tiny_mlp(), x, y, **args)


# ---- epochs, batches, iterations -------------------------------------------------------------------

def test_an_epoch_takes_as_many_iterations_as_batches_cover_the_training_split():
    n = len(load_mnist().train.y)
    for batch in (1, 32, 100, 128, n):
        c = fitting.counters(1, n, batch)
        assert c.iterations_per_epoch == math.ceil(n / batch)
        assert (c.epoch, c.batch) == (1, 1)
        last = fitting.counters(c.iterations_per_epoch, n, batch)
        assert (last.epoch, last.batch) == (1, c.iterations_per_epoch)
        assert (fitting.counters(c.iterations_per_epoch + 1, n, batch).epoch,
                fitting.counters(c.iterations_per_epoch + 1, n, batch).batch) == (2, 1)


def test_mini_batches_walk_through_a_shuffle_of_the_split_and_reshuffle_each_epoch():
    from explain.preprocess import to_mnist_batch
    split = load_mnist().train
    small = type(split)(split.x[:25], split.y[:25])
    xs, ys = fitting.mini_batches(small, 10, 4, seed=3)
    assert [len(y) for y in ys] == [10, 10, 5, 10]           # 25 digits: an epoch is 3 iterations
    prepared = to_mnist_batch(small.x)
    found = [int(np.flatnonzero((prepared == x).all(axis=(1, 2)))[0]) for x in np.concatenate(xs[:3])]
    assert sorted(found) == list(range(25))                   # every digit once in the first epoch
    np.testing.assert_array_equal(small.y[found], np.concatenate(ys[:3]))
    assert xs[3].dtype == np.float32 and xs[3].shape == (10, 28, 28)
    second_epoch = np.concatenate(fitting.mini_batches(small, 10, 6, seed=3)[1][3:])
    assert sorted(second_epoch.tolist()) == sorted(small.y.tolist())      # the next epoch: all 25 again,
    assert not np.array_equal(second_epoch, np.concatenate(ys[:3]))       # in another order
    x2, _ = fitting.mini_batch(small, 10, 4, seed=3)
    np.testing.assert_array_equal(x2, fitting.mini_batches(small, 10, 5, seed=3)[0][4])


# ---- what the page draws of a run ---------------------------------------------------------------

def test_a_runs_losses_and_first_layer_are_keras_sgds_and_the_figures_draw_them():
    from explain.figures import fitting as figures
    model = tiny_mlp(6)
    batches = [digits(8, seed) for seed in range(4)]
    held_out, probe = digits(20, 9), digits(1, 10)
    got = fitting.run(model, [b[0] for b in batches], [b[1] for b in batches], 0.2, 4, 0.0, 0.05,
                      model.get_weights(), held_out, probe)
    losses, weights = keras_reference(model, batches, 0.2, 0.0, 0.05)
    np.testing.assert_allclose(got.losses, losses, atol=TOL)
    np.testing.assert_allclose(got.kernel, weights[-1][0], atol=TOL)
    evaluator = tiny_mlp(7)
    evaluator.compile(loss="sparse_categorical_crossentropy")
    for k, w in enumerate([model.get_weights()] + weights):
        evaluator.set_weights(w)
        assert got.held_out[k] == pytest.approx(evaluator.evaluate(*held_out, verbose=0), abs=TOL)
    fig = figures.sgd_figure(got.losses, got.held_out, got.probe, "en")
    np.testing.assert_allclose(fig.data[0].y, losses, atol=TOL)
    assert list(fig.data[0].x) == [1, 2, 3, 4] and list(fig.data[1].x) == [0, 1, 2, 3, 4]
    hist = figures.histogram_figure(got.start[0], {"l2": got.kernel}, {"l2": "L2"}, "en")
    bars, outline = hist.data
    assert sum(bars.y) == got.kernel.size == sum(outline.y)
    centres = np.asarray(bars.x)
    edges = np.append(centres - (centres[1] - centres[0]) / 2, centres[-1] + (centres[1] - centres[0]) / 2)
    np.testing.assert_array_equal(outline.y, np.histogram(model.get_weights()[0], edges)[0])


def test_a_diverging_runs_losses_are_drawn_on_a_log_axis():
    from explain.figures import fitting as figures
    calm = figures.sgd_figure(np.array([2.3, 2.1]), np.array([2.4, 2.2, 2.0]), np.array([2.5, 2.2, 1.9]), "en")
    wild = figures.sgd_figure(np.array([2.3, 1e6]), np.array([2.4, 3e5, 2.0]), np.array([2.5, 2.2, 1.9]), "en")
    assert calm.layout.yaxis.type != "log" and wild.layout.yaxis.type == "log"


@pytest.mark.parametrize("rate, expected", [(1e-6, "flat"), (0.03, "falls"), (300.0, "diverged"), (1e30, "overflow")])
def test_the_verdict_on_a_learning_rate_follows_what_the_held_out_loss_did(rate, expected):
    model = tiny_mlp(8)
    model.set_weights(fitting.initial_weights(model, 0))
    x, y = digits(32, 4)
    x = (x > 0.7).astype(np.float32)
    y = (x[:, :14].sum(axis=(1, 2)) > x[:, 14:].sum(axis=(1, 2))).astype(int)   # learnable: which half has more ink
    batches = [(x[k * 8:(k + 1) * 8] * (1e3 if rate > 1e20 else 1), y[k * 8:(k + 1) * 8]) for k in range(4)]
    run = fitting.run(model, [b[0] for b in batches] * 3, [b[1] for b in batches] * 3, rate, 12, 0.0, 0.0,
                      model.get_weights(), (x, y), (x[:1], y[:1]))
    assert fitting.verdict(run) == expected


def test_losses_along_the_shipped_mlps_run_are_keras_evaluate_and_other_layers_are_refused(test_digits):
    from explain.models import load_model
    model = load_model("mlp")
    x, y = test_digits[0][:300], test_digits[1][:300]
    steps = fitting.sgd_steps(model, x[:64], y[:64], 3.0, 3)
    along = [model.get_weights()] + [s.weights for s in steps]
    twin = fitting.copy_of(model)
    twin.compile(loss="sparse_categorical_crossentropy")
    for loss, weights in zip(fitting.losses_along(model, along, x, y), along):
        twin.set_weights(weights)
        assert loss == pytest.approx(twin.evaluate(x, y, verbose=0), abs=TOL)
    with pytest.raises(ValueError, match="Conv2D"):
        fitting.losses_along(load_model("cnn"), [load_model("cnn").get_weights()], x[:2], y[:2])
