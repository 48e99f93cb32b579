"""Vanishing gradients with depth: one deep, narrow MLP (8 hidden layers of 32) at the same seeded
Glorot initialisation, with sigmoid, with ReLU, and with sigmoid after batch normalisation, and the
norm of the loss's gradient by every layer's weights for one digit.

The networks are untrained on purpose: the question is what the gradient looks like at the start of
training, when a vanished gradient means the first layers cannot start learning. Every variant
gets the same Dense kernels (one seed per layer), so the only difference is the activation and BN.
Batch normalisation normalises over a mini-batch, so the digit is sent with `batch` other digits
(training mode: the batch's own mean and variance); the loss is the digit's alone. The gradients
are a numpy backpropagation over the layers' own weights, batch normalisation's backward pass
included: tracing TensorFlow's gradient of three networks cost a page's first visit about a second,
the numpy pass takes milliseconds. Tests check every norm against GradientTape's.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import keras
import numpy as np

from explain.activations import lookup, softmax
from explain.gradients import check_label

DEPTH, WIDTH, SEED = 8, 32, 0
VARIANTS = ("sigmoid", "relu", "sigmoid_bn")
_BUILD = threading.Lock()


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


def deep_networks() -> dict[str, keras.Model]:
    """variant -> `deep_mlp(variant)` for every variant, built once per process and shared (they are
    never trained); under a lock, as the page and the server's warm-up thread may ask at once."""
    with _BUILD:
        return _built()


@cache
def _built() -> dict[str, keras.Model]:
    return {variant: deep_mlp(variant) for variant in VARIANTS}


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


def _forward(model: keras.Model, x: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """`model` (a `deep_mlp`) on the batch x (n, 28, 28) in float64, batch normalisation with the batch's
    own mean and biased variance (Keras's training mode): per layer what its backward pass needs, and
    the probabilities (n, 10)."""
    a, cache = x.reshape(len(x), -1).astype(np.float64), []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(w, np.float64) for w in (layer.kernel, layer.bias))
            z = a @ kernel + bias
            cache.append(("dense", layer, a, kernel, z))
            a = softmax(z) if layer is model.layers[-1] else lookup(layer.activation, layer.name).f(z)
        elif isinstance(layer, keras.layers.BatchNormalization):
            inv = 1.0 / np.sqrt(a.var(axis=0) + layer.epsilon)
            normalised = (a - a.mean(axis=0)) * inv
            gamma, beta = (np.asarray(w, np.float64) for w in (layer.gamma, layer.beta))
            cache.append(("bn", layer, normalised, inv, gamma))
            a = gamma * normalised + beta
        elif isinstance(layer, keras.layers.Activation):
            cache.append(("activation", layer, a))
            a = lookup(layer.activation, layer.name).f(a)
        elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten)):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) is not one of deep_mlp's "
                             "(Flatten, Dense, BatchNormalization, Activation)")
    return cache, a


def layer_gradients(model: keras.Model, x28: np.ndarray, label: int, batch: np.ndarray) -> DepthGradients:
    """The gradient norms of the cross-entropy loss of the digit `x28` (28, 28) for `label`, sent
    through `model` (one of `deep_mlp`'s) in training mode together with `batch` (n, 28, 28)."""
    x = np.concatenate([np.asarray(x28, np.float32)[None], np.asarray(batch, np.float32)])
    cache, p = _forward(model, x)
    d = np.zeros_like(p)
    d[0] = p[0] - np.eye(p.shape[1])[check_label(label)]   # softmax + cross-entropy of item 0: dL/dz = p - y
    norms, names = [], []
    for kind, layer, *values in reversed(cache):           # d: dL/d(this layer's output), (n, features)
        if kind == "dense":
            inputs, kernel, z = values
            if layer is not model.layers[-1]:
                d = d * lookup(layer.activation, layer.name).derivative(z)
            norms.insert(0, float(np.linalg.norm(inputs.T @ d)))
            names.insert(0, layer.name)
            d = d @ kernel.T
        elif kind == "bn":   # every item's mean and variance depend on the whole batch
            normalised, inv, gamma = values
            d = d * gamma
            d = inv * (d - d.mean(axis=0) - normalised * (d * normalised).mean(axis=0))
        else:
            d = d * lookup(layer.activation, layer.name).derivative(values[0])
    return DepthGradients(model.name.removeprefix("deep_"), tuple(names), np.array(norms))


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
