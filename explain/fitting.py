"""How a classifier is fitted, in numbers: the two losses the course compares and their gradients with
respect to the logits, mini-batch SGD steps (with optional L1 / L2 weight penalties) on a copy of a
model, and the epoch / batch / iteration counters.

The loss gradients are written out in numpy because the page shows the formulas (p - y, and the
square error's extra softmax factor); tests check them against `tf.GradientTape`. The SGD steps let
TensorFlow differentiate and Keras's own loss and regularisers define what is minimised, and apply
w <- w - eta * dL/dw by hand so each step's gradient can be shown; tests check the weights against
`model.train_on_batch` with `keras.optimizers.SGD` and the same `kernel_regularizer`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explain.activations import softmax
from explain.data import Split
from explain.gradients import check_label, dense_chain
from explain.preprocess import to_mnist_batch

CLASSES = 10


# ---- square error against cross-entropy ------------------------------------------------------

@dataclass(frozen=True)
class LossGradients:
    """Both losses of one digit's ten probabilities against a one-hot target, and each loss's
    gradient with respect to the ten logits z (the softmax's input), (10,) float64 each.

    square_error = sum_k (p_k - y_k)^2; cross_entropy = -log p_label.
    """

    square_error: float
    cross_entropy: float
    square_error_gradient: np.ndarray
    cross_entropy_gradient: np.ndarray


def loss_gradients(probabilities: np.ndarray, label: int) -> LossGradients:
    """The losses and their logit gradients for `probabilities` (10,) = softmax(z) and class `label`.

    Cross-entropy: dL/dz = p - y. Square error: dL/dp = 2 (p - y), through the softmax's Jacobian
    dp_k/dz_j = p_k (delta_kj - p_j), so dL/dz_j = 2 p_j ((p_j - y_j) - sum_k (p_k - y_k) p_k): the
    factor p_j (its diagonal part p_j (1 - p_j)) is what fades when the model is confidently wrong.
    """
    p = np.asarray(probabilities, np.float64)
    if p.shape != (CLASSES,) or not np.isfinite(p).all() or (p < 0).any() or abs(p.sum() - 1) > 1e-4:
        raise ValueError(f"probabilities must be {CLASSES} non-negative numbers summing to 1; "
                         f"received shape {p.shape}, sum {p.sum() if p.size else 0:.6g}")
    y = np.eye(CLASSES)[check_label(label)]
    error = p - y
    return LossGradients(square_error=float((error ** 2).sum()),
                         cross_entropy=float(-np.log(p[label])),
                         square_error_gradient=2 * p * (error - (error * p).sum()),
                         cross_entropy_gradient=error)


# ---- SGD steps on a copy -----------------------------------------------------------------------

@dataclass(frozen=True)
class SGDStep:
    """One mini-batch step. `loss` is the batch's mean cross-entropy before the step plus `penalty`
    (the L1 / L2 term of the kernels); `weights` are the model's weights after the step and
    `gradients` dL/dw at the step, both in `model.get_weights()` order; `penalty_share` is
    |d penalty/dw| / |dL/dw| over all kernels (0 without a penalty)."""

    loss: float
    penalty: float
    weights: list[np.ndarray]
    gradients: list[np.ndarray]
    penalty_share: float


def copy_of(model: keras.Model) -> keras.Model:
    """A new model of the same architecture with the same weights: training it leaves `model` as it was."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def _kernels(model: keras.Model) -> list:
    return [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def sgd_steps(model: keras.Model, x_batch, y_batch, learning_rate: float, steps: int,
              l1: float = 0.0, l2: float = 0.0, start: list[np.ndarray] | None = None) -> list[SGDStep]:
    """`steps` plain SGD steps (w <- w - learning_rate * dL/dw) on a copy of `model`, from the model's
    weights or from `start` (in `model.get_weights()` order); `model` itself is unchanged.

    `x_batch` is one mini-batch (n, 28, 28) with labels `y_batch` (n,), used at every step, or a list
    of `steps` mini-batches and a list of their labels, one per step (as `mini_batches` gives). The
    loss is Keras's sparse categorical cross-entropy, averaged over the batch, plus
    `keras.regularizers.L1L2(l1, l2)` of every Dense kernel (biases are not penalised, as with
    `kernel_regularizer`). Dropout is off (inference mode), so a step is reproducible; Keras's `fit`
    would also drop units at random. The run stops early, returning fewer entries, at the first step
    whose loss or new weights are not finite (a diverging learning rate).
    """
    if not learning_rate > 0 or l1 < 0 or l2 < 0 or steps < 1:
        raise ValueError(f"need learning_rate > 0, l1 >= 0, l2 >= 0 and steps >= 1; received {learning_rate}, "
                         f"{l1}, {l2}, {steps}")
    per_step = isinstance(x_batch, (list, tuple))
    xs = [np.asarray(b, np.float32) for b in x_batch] if per_step else [np.asarray(x_batch, np.float32)] * steps
    ys = [np.asarray(b) for b in y_batch] if per_step else [np.asarray(y_batch)] * steps
    if len(xs) != steps or len(ys) != steps or any(x.shape[1:] != (28, 28) or y.shape != x.shape[:1]
                                                   for x, y in zip(xs, ys)):
        raise ValueError(f"x_batch must be (n, 28, 28) with labels (n,), or lists of {steps} such batches; received "
                         f"{[x.shape for x in xs[:3]]} and {[y.shape for y in ys[:3]]} ({len(xs)} batches)")
    twin = copy_of(model)
    if start is not None:
        twin.set_weights(start)
    kernels, variables = _kernels(twin), twin.trainable_variables
    regulariser = keras.regularizers.L1L2(l1=l1, l2=l2)
    out: list[SGDStep] = []
    for x, y in zip(xs, ys):
        with tf.GradientTape(persistent=True) as tape:
            probabilities = twin(x, training=False)
            data_loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
            penalty = keras.ops.sum(keras.ops.stack([regulariser(k) for k in kernels]))
            loss = data_loss + penalty
        gradients = tape.gradient(loss, variables)
        penalty_gradients = tape.gradient(penalty, kernels) if l1 or l2 else []
        del tape
        for variable, gradient in zip(variables, gradients):
            variable.assign_sub(learning_rate * gradient)
        weights = twin.get_weights()
        if not (np.isfinite(float(loss)) and all(np.isfinite(w).all() for w in weights)):
            break
        kernel_gradients = [g for v, g in zip(variables, gradients) if any(v is k for k in kernels)]
        out.append(SGDStep(float(loss), float(penalty), weights, [g.numpy() for g in gradients],
                           _norm(penalty_gradients) / max(_norm(kernel_gradients), 1e-30)))
    return out


def _norm(tensors) -> float:
    return math.sqrt(sum(float(tf.reduce_sum(tf.square(t))) for t in tensors))


def losses_along(model: keras.Model, weights: list[list[np.ndarray]], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(len(weights),) the mean cross-entropy of digits `x` (n, 28, 28) with labels `y` (n,) under each
    set of weights in turn (each in `model.get_weights()` order) of the Dense-only `model` (Flatten
    and Dropout between, inference mode). Computed in float32 numpy as Keras computes it (softmax,
    probabilities clipped to [1e-7, 1 - 1e-7]): one Keras call per set of weights on a copy of the
    model cost a first visit of the page about a second for its six curves. A test pins it to Keras's
    `evaluate` of a model holding the weights."""
    layers = dense_chain(model)
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    rows = np.arange(len(x)), np.asarray(y)
    eps = keras.config.epsilon()
    out = []
    for w in weights:
        a, at = x, 0
        for layer in layers:
            kernel, bias = (w[at], w[at + 1]) if layer.use_bias else (w[at], 0)
            at += len(layer.weights)
            z = a @ np.asarray(kernel, np.float32) + np.asarray(bias, np.float32)
            a = softmax(z) if layer is layers[-1] else np.asarray(layer.activation(z))
        out.append(float(np.mean(-np.log(np.clip(a, eps, 1 - eps)[rows]))))
    return np.array(out)


def initial_weights(model: keras.Model, seed: int) -> list[np.ndarray]:
    """Weights as a Dense-only `model` had them before training, in `model.get_weights()` order: each
    layer's own initialisers (Glorot uniform kernels and zero biases by default), seeded."""
    out = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"initial_weights knows Dense layers only; {layer.name!r} is a {type(layer).__name__}")
        for variable, init in ((layer.kernel, layer.kernel_initializer), (layer.bias, layer.bias_initializer)):
            if variable is not None:
                config = init.get_config()
                if "seed" in config:
                    config = {**config, "seed": seed + len(out)}
                out.append(keras.ops.convert_to_numpy(type(init).from_config(config)(variable.shape, variable.dtype)))
    return out


@dataclass(frozen=True)
class Run:
    """What a page shows of one SGD run, without every step's weights: `requested` steps, of which
    `len(losses)` were done (fewer when the weights overflowed); per step done, the mini-batch
    `losses` before it (penalty included), the `penalties` and `penalty_shares`; the loss of the
    `held_out` digits and of the `probe` digit(s) after 0..done steps; the `first` step in full, the
    `start` weights and the first layer's `kernel` after the last step."""

    requested: int
    losses: np.ndarray
    penalties: np.ndarray
    penalty_shares: np.ndarray
    held_out: np.ndarray
    probe: np.ndarray
    first: SGDStep | None
    start: list[np.ndarray]
    kernel: np.ndarray


def run(model: keras.Model, x_batches: list, y_batches: list, learning_rate: float, steps: int, l1: float,
        l2: float, start: list[np.ndarray], held_out: tuple[np.ndarray, np.ndarray],
        probe: tuple[np.ndarray, np.ndarray]) -> Run:
    """`sgd_steps` from `start` over the given mini-batches, reduced to a `Run`; `held_out` and
    `probe` are (x (n, 28, 28), y (n,)) pairs whose loss is measured after every step."""
    done = sgd_steps(model, x_batches, y_batches, learning_rate, steps, l1=l1, l2=l2, start=start)
    along = [start] + [s.weights for s in done]
    return Run(steps, np.array([s.loss for s in done]), np.array([s.penalty for s in done]),
               np.array([s.penalty_share for s in done]), losses_along(model, along, *held_out),
               losses_along(model, along, *probe), done[0] if done else None, start, along[-1][0])


def verdict(run: Run) -> str:
    """How the learning rate fared, judged on the held-out loss: "overflow" (the weights became
    infinite before the last step), "diverged" (the loss rose above 1.5 times its start at some
    step: the steps overshoot), "falls" (it ended 5% or more below its start), else "flat"."""
    start = run.held_out[0]
    if len(run.losses) < run.requested:
        return "overflow"
    if run.held_out.max() > 1.5 * start:
        return "diverged"
    return "falls" if run.held_out[-1] < 0.95 * start else "flat"


# ---- epochs, batches, iterations ---------------------------------------------------------------

@dataclass(frozen=True)
class Counters:
    """Where step `iteration` (1-based) of mini-batch SGD stands: the 1-based `epoch`, the `batch`
    within it, and how many iterations one epoch takes (the course: the batches an epoch needs)."""

    iteration: int
    epoch: int
    batch: int
    iterations_per_epoch: int


def counters(iteration: int, n_train: int, batch_size: int) -> Counters:
    if iteration < 1 or n_train < 1 or not 1 <= batch_size <= n_train:
        raise ValueError(f"need iteration >= 1 and 1 <= batch_size <= n_train; received iteration {iteration}, "
                         f"batch_size {batch_size}, n_train {n_train}")
    per_epoch = math.ceil(n_train / batch_size)
    epoch, batch = divmod(iteration - 1, per_epoch)
    return Counters(iteration, epoch + 1, batch + 1, per_epoch)


def mini_batch(split: Split, batch_size: int, iteration: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mini-batch `iteration` (0-based) of SGD over `split`: x (batch, 28, 28) float32 through
    `to_mnist` (as the models were trained) and its labels (batch,). Each epoch is its own seeded
    shuffle of the split, cut into batches of `batch_size`; its last batch holds what is left, so an
    epoch takes `counters(...).iterations_per_epoch` iterations. Only this batch's digits are prepared."""
    n = len(split.y)
    if not 1 <= batch_size <= n or iteration < 0:
        raise ValueError(f"batch_size must be 1-{n} and iteration >= 0; received {batch_size}, {iteration}")
    epoch, batch = divmod(iteration, math.ceil(n / batch_size))
    order = np.random.default_rng([seed, epoch]).permutation(n)[batch * batch_size:(batch + 1) * batch_size]
    return to_mnist_batch(split.x[order]), split.y[order]


def mini_batches(split: Split, batch_size: int, steps: int, seed: int = 0) -> tuple[list, list]:
    """The first `steps` mini-batches (`mini_batch` 0..steps-1): a list of x and a list of labels."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1; received {steps}")
    pairs = [mini_batch(split, batch_size, k, seed) for k in range(steps)]
    return [x for x, _ in pairs], [y for _, y in pairs]


# ---- a confidently wrong model --------------------------------------------------------------------

@dataclass(frozen=True)
class WrongLogitSweep:
    """Both losses while the logit of one `wrong` class takes each of `values` (n,), the other logits
    fixed: `square_error`, `cross_entropy` (n,), and their logit gradients (n, 10) each."""

    label: int
    wrong: int
    values: np.ndarray
    square_error: np.ndarray
    cross_entropy: np.ndarray
    square_error_gradient: np.ndarray
    cross_entropy_gradient: np.ndarray


def wrong_logit_sweep(logits: np.ndarray, label: int, wrong: int, values: np.ndarray) -> WrongLogitSweep:
    """`loss_gradients` of softmax(z) for target `label` as z[wrong] runs through `values`: the higher
    it goes, the more confidently wrong the model is."""
    if check_label(wrong) == check_label(label):
        raise ValueError(f"the wrong class must differ from the target; received both = {label}")
    rows = []
    for value in np.asarray(values, np.float64):
        z = np.array(logits, np.float64)
        z[wrong] = value
        rows.append(loss_gradients(softmax(z), label))
    return WrongLogitSweep(label, wrong, np.asarray(values, np.float64),
                           np.array([r.square_error for r in rows]), np.array([r.cross_entropy for r in rows]),
                           np.array([r.square_error_gradient for r in rows]),
                           np.array([r.cross_entropy_gradient for r in rows]))
