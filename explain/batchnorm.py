"""Batch normalisation on one digit, in inference mode (moving statistics) and in training mode (the
statistics of a mini-batch the digit is put in).

Each BatchNormalization layer computes y = gamma * (x - mu) / sqrt(sigma^2 + epsilon) + beta per
channel (the last axis). At inference mu and sigma^2 are the layer's moving averages; in training
they are the mean and (biased) variance of the current mini-batch over every axis but the channel
one, so one digit's output depends on the digits beside it. Calling a Keras BN layer with
training=True also updates its moving averages, which would change the shipped model for every
session; so the network is run here layer by layer, the BN layers recomputed from their own
weights and the other layers called in inference mode. Tests check every BN output against the
layer's own, in both modes, to 1e-5.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from explain.chain import chain

_LOCK = threading.Lock()   # each traced function is built once; tf.function itself traces thread-safely


@dataclass(frozen=True)
class BNLayer:
    """One BatchNormalization layer for the digit (the first of the batch in training mode).

    `inputs` and `outputs` are the digit's values entering and leaving the layer, (H, W, channels)
    after a conv layer or (units,) after a dense one; `batch_inputs` / `batch_outputs` are the same for
    every digit of the run, (n, ...). `mean` / `variance` (channels,) are the statistics used: the
    moving ones in inference mode, the batch's own in training mode. `gamma`, `beta`, `moving_mean`,
    `moving_variance` (channels,), `epsilon` and `momentum` are the layer's own.
    """

    layer_name: str
    training: bool
    inputs: np.ndarray
    outputs: np.ndarray
    batch_inputs: np.ndarray
    batch_outputs: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    epsilon: float
    momentum: float

    @property
    def normalised(self) -> np.ndarray:
        """x-hat of the digit, same shape as `inputs`: (x - mu) / sqrt(sigma^2 + epsilon)."""
        return (self.inputs - self.mean) / np.sqrt(self.variance + self.epsilon)

    @property
    def channels(self) -> int:
        return self.mean.shape[0]


@dataclass(frozen=True)
class BNRun:
    """A run of the model: `layers` one `BNLayer` per BatchNormalization layer in order, and
    `probabilities` (n, 10) for every digit of the run (n = 1 in inference mode)."""

    layers: list[BNLayer]
    probabilities: np.ndarray


def _check(layer: keras.layers.BatchNormalization) -> None:
    if layer.axis not in (-1, len(layer.input.shape) - 1) or not (layer.center and layer.scale) or layer.renorm:
        raise ValueError(f"{layer.name}: only channels-last BatchNormalization with centre and scale and no "
                         f"renorm is supported; received axis={layer.axis}, center={layer.center}, "
                         f"scale={layer.scale}, renorm={layer.renorm}")


@lru_cache(maxsize=16)
def _runner(model: keras.Model, training: bool):
    """The whole network as one traced function of a (n, 28, 28) batch, returning per BN layer
    (input, output, mean, variance) and the probabilities. Traced once per model and mode for any n
    (an eager layer-by-layer run costs about 0.2 s on a busy machine, mostly Keras's per-call overhead)."""
    layers = chain(model)
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    for layer in norms:
        _check(layer)

    def run(x):
        found = []
        for layer in layers:
            if layer in norms:
                if training:   # Keras's own float32 moments (the biased variance), as the layer computes them
                    mean, variance = keras.ops.moments(x, axes=list(range(len(x.shape) - 1)))
                else:
                    mean, variance = layer.moving_mean.value, layer.moving_variance.value
                y = layer.gamma.value * (x - mean) / keras.ops.sqrt(variance + layer.epsilon) + layer.beta.value
                found.append((x, y, mean, variance))
                x = y
            else:
                x = layer(x, training=False)
        return found, x

    return tf.function(run, reduce_retracing=True)


def bn_run(model: keras.Model, x28: np.ndarray, batch: np.ndarray | None = None) -> BNRun:
    """Run `model` on the digit `x28` (28, 28) alone in inference mode (`batch` None), or on `batch`
    (n, 28, 28), whose first digit is the one explained, in training mode (batch statistics)."""
    training = batch is not None
    x = np.asarray(batch if training else x28[None], np.float32)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"expected a batch of (n, 28, 28) digits; received shape {x.shape}")
    if training and not np.array_equal(x[0], np.asarray(x28, np.float32)):
        raise ValueError("the explained digit must be the first of the batch")
    with _LOCK:
        fn = _runner(model, training)
    found, probabilities = fn(tf.constant(x))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    out = []
    for layer, values in zip(norms, found):
        inputs, outputs, mean, variance = (v.numpy() for v in values)
        weights = (keras.ops.convert_to_numpy(w) for w in (layer.gamma, layer.beta, layer.moving_mean,
                                                           layer.moving_variance))
        out.append(BNLayer(layer.name, training, inputs[0], outputs[0], inputs, outputs, mean, variance, *weights,
                           float(layer.epsilon), float(layer.momentum)))
    return BNRun(out, probabilities.numpy())


def bn_trace(model: keras.Model, x28: np.ndarray, batch: np.ndarray | None = None) -> list[BNLayer]:
    """Per BatchNormalization layer of `model`, in order, what it does to the digit `x28`: with the
    moving statistics when `batch` is None, with the batch's own when a batch of (n, 28, 28) digits
    (the first being `x28`) is given."""
    return bn_run(model, x28, batch).layers


def mini_batch(x28: np.ndarray, mates: np.ndarray, size: int) -> np.ndarray:
    """(size, 28, 28): the digit first, then the first size - 1 of `mates` (m, 28, 28)."""
    if not 1 <= size <= len(mates) + 1:
        raise ValueError(f"batch size must be between 1 and {len(mates) + 1}; received {size}")
    return np.concatenate([np.asarray(x28, np.float32)[None], np.asarray(mates[:size - 1], np.float32)])


def choose_mates(y: np.ndarray, n: int, seed: int, label: int | None = None) -> np.ndarray:
    """(n,) seeded random indices into a split with labels `y` (all of class `label` if given)."""
    pool = np.flatnonzero(y == label) if label is not None else np.arange(len(y))
    if not 0 <= n <= len(pool):
        raise ValueError(f"cannot choose {n} batch mates from {len(pool)} digits"
                         + (f" of class {label}" if label is not None else ""))
    return np.random.default_rng(seed).choice(pool, n, replace=False)


def batch_size_sweep(model: keras.Model, x28: np.ndarray, x: np.ndarray, y: np.ndarray, sizes: tuple[int, ...],
                     repeats: int, seed: int) -> np.ndarray:
    """(len(sizes), repeats, 10): the digit's probabilities in training mode, put first in `repeats`
    seeded random mini-batches of each size drawn from the digits `x` (m, 28, 28; an array or
    `PreparedDigits`, which prepares only the digits drawn) with labels `y`."""
    out = np.empty((len(sizes), repeats, 10), np.float32)
    for i, size in enumerate(sizes):
        for r in range(repeats):
            mates = x[choose_mates(y, size - 1, seed * 1000 + i * repeats + r)]
            out[i, r] = bn_run(model, x28, mini_batch(x28, mates, size)).probabilities[0]
    return out
