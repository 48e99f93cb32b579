"""Vanishing gradients with depth: one deep, narrow MLP (8 hidden layers of 32) at the same seeded
Glorot initialisation, with sigmoid, with ReLU, and with sigmoid after batch normalisation, and the
norm of the loss's gradient by every layer's weights for one digit.

The networks are untrained on purpose: the question is what the gradient looks like at the start of
training, when a vanished gradient means the first layers cannot start learning. Every variant
gets the same Dense kernels (one seed per layer), so the only difference is the activation and BN.
Batch normalisation normalises over a mini-batch, so the digit is sent with `batch` other digits
(training mode: the batch's own mean and variance); the loss is the digit's alone. TensorFlow
computes the gradients (GradientTape, traced once per network into a `tf.function`); tests check them
against a numpy backpropagation.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from explain.gradients import check_label

DEPTH, WIDTH, SEED = 8, 32, 0
VARIANTS = ("sigmoid", "relu", "sigmoid_bn")
_LOCK = threading.RLock()


def deep_mlp(variant: str, depth: int = DEPTH, width: int = WIDTH, seed: int = SEED) -> keras.Model:
    """Flatten -> `depth` x Dense(`width`, sigmoid or relu) -> Dense(10) softmax; for "sigmoid_bn" each
    hidden Dense is linear and followed by BatchNormalization and a sigmoid. The Dense layers are
    named dense1..dense{depth} and output, their Glorot-uniform kernels seeded per layer."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
    layers = keras.layers
    x = inp = keras.Input((28, 28), name="digit")
    x = layers.Flatten(name="flatten")(x)
    for k in range(1, depth + 1):
        glorot = keras.initializers.GlorotUniform(seed + k)
        if variant == "sigmoid_bn":
            x = layers.Dense(width, kernel_initializer=glorot, name=f"dense{k}")(x)
            x = layers.BatchNormalization(name=f"bn{k}")(x)
            x = layers.Activation("sigmoid", name=f"sigmoid{k}")(x)
        else:
            x = layers.Dense(width, activation=variant, kernel_initializer=glorot, name=f"dense{k}")(x)
    out = layers.Dense(10, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed),
                       name="output")(x)
    return keras.Model(inp, out, name=f"deep_{variant}")


@dataclass(frozen=True)
class DepthGradients:
    """One variant for one digit: `layer_names` the Dense layers from the input up (dense1 ..
    output), `norms` (layers,) the Frobenius norm of dL/dW for each one's kernel."""

    variant: str
    layer_names: tuple[str, ...]
    norms: np.ndarray

    @property
    def first_to_last(self) -> float:
        """|dL/dW| of the first layer over that of the last (the output layer): 1 = no vanishing."""
        return float(self.norms[0] / self.norms[-1])


def _kernels(model: keras.Model) -> list:
    return [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]


@lru_cache(maxsize=8)
def _kernel_gradients(model: keras.Model):
    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28), tf.float32), tf.TensorSpec((1,), tf.int32)])
    def gradients(x, label):
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            loss = keras.losses.sparse_categorical_crossentropy(label, p[:1])
        return tape.gradient(loss, _kernels(model))
    return gradients


def layer_gradients(model: keras.Model, x28: np.ndarray, label: int, batch: np.ndarray) -> DepthGradients:
    """The gradient norms of the cross-entropy loss of the digit `x28` (28, 28) for `label`, sent
    through `model` (one of `deep_mlp`'s) in training mode together with `batch` (n, 28, 28)."""
    x = np.concatenate([np.asarray(x28, np.float32)[None], np.asarray(batch, np.float32)])
    with _LOCK:
        gradients = _kernel_gradients(model)
    grads = gradients(tf.constant(x), tf.constant([check_label(label)], tf.int32))
    names = tuple(layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense))
    return DepthGradients(model.name.removeprefix("deep_"), names,
                          np.array([np.linalg.norm(g.numpy().astype(np.float64)) for g in grads]))


@dataclass(frozen=True)
class TrainingCurve:
    """`losses` (steps,): Keras's mini-batch cross-entropy at each plain-SGD step of one variant,
    each the loss of that step's batch before its update."""

    variant: str
    losses: np.ndarray
    learning_rate: float
    batch_size: int


def train_briefly(variant: str, x: np.ndarray, y: np.ndarray, steps: int = 100, batch_size: int = 64,
                  learning_rate: float = 0.1) -> TrainingCurve:
    """A fresh `deep_mlp(variant)` trained for `steps` mini-batches of `batch_size` digits, taken in
    order from `x` (n, 28, 28) in [0, 1] and labels `y` (n,), with keras.optimizers.SGD: whether
    the gradient reaching the first layers is enough to start learning. A few seconds."""
    if steps * batch_size > len(x):
        raise ValueError(f"{steps} steps of {batch_size} need {steps * batch_size} digits; received {len(x)}")
    model = deep_mlp(variant)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="sparse_categorical_crossentropy")
    batches = (slice(k * batch_size, (k + 1) * batch_size) for k in range(steps))
    losses = [float(model.train_on_batch(x[part], y[part])) for part in batches]
    return TrainingCurve(variant, np.array(losses), learning_rate, batch_size)
