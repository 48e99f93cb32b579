"""Dropout on one digit: the thinned networks it samples, and one SGD step through one of them.

Keras's Dropout is inverted dropout: in training it keeps each value with probability 1 - rate and
divides the kept ones by 1 - rate; at inference it passes everything through unchanged. Mask k here is
drawn by Keras's own `keras.random.dropout` with seed `seeds[k]`, so thinned network k is exactly what
the model's Dropout layer computes in training with that seed (tests check it against the layer). The
seeds come from one user seed through `numpy.random.SeedSequence`, so raising n keeps the first masks.

Only chains of layers are handled (each layer reads the one before it), as in every shipped model
that has dropout: the part after the Dropout layer is applied layer by layer in inference mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explain.chain import chain


@dataclass(frozen=True)
class DropoutLayer:
    """Where a Dropout layer sits: it drops values of `after`'s output, of shape `shape` (without the
    batch axis: (units,) after a dense layer, (timesteps, units) after a recurrent layer returning
    sequences), before `before` reads them; each is zeroed in training with probability `rate`."""

    name: str
    rate: float
    after: str
    before: str
    shape: tuple[int, ...]


def dropout_layers(model: keras.Model) -> list[DropoutLayer]:
    """Every Dropout layer of `model`, in order, with its rate and neighbours read from the model."""
    layers = [model.layers[0], *chain(model)]
    return [DropoutLayer(layer.name, float(layer.rate), layers[k - 1].name, layers[k + 1].name,
                         tuple(layer.output.shape[1:]))
            for k, layer in enumerate(layers) if isinstance(layer, keras.layers.Dropout) and k + 1 < len(layers)]


def _dropout(model: keras.Model, name: str | None) -> DropoutLayer:
    found = dropout_layers(model)
    if not found:
        raise ValueError(f"model {model.name!r} has no Dropout layer")
    if name is None:
        return found[-1]
    for layer in found:
        if layer.name == name:
            return layer
    raise ValueError(f"model {model.name!r} has no Dropout layer {name!r}; it has: {', '.join(d.name for d in found)}")


def mask_seeds(seed: int, n: int) -> np.ndarray:
    """(n,) int seeds, one per mask, derived from `seed`; the first k are the same for any n >= k."""
    if not 1 <= n <= 4096:
        raise ValueError(f"number of masks must be between 1 and 4096; received {n}")
    return (np.random.SeedSequence(seed).generate_state(n, np.uint32) % 2**31).astype(np.int64)


def keep_masks(shape: tuple[int, ...], rate: float, seeds: np.ndarray) -> np.ndarray:
    """bool (n, *shape): True where Keras's dropout with seed `seeds[k]` keeps the value."""
    ones = np.ones((1, *shape), np.float32)
    return np.stack([keras.ops.convert_to_numpy(keras.random.dropout(ones, rate, seed=int(s)))[0] != 0
                     for s in seeds])


def _apply(layers: list[keras.layers.Layer], x) -> np.ndarray:
    for layer in layers:
        x = layer(x, training=False)
    return keras.ops.convert_to_numpy(x)


@dataclass(frozen=True)
class ThinnedNetworks:
    """n thinned networks of one Dropout layer, for one digit.

    `activations` (*shape) is what the layer receives at inference (`shape` is (units,) for the mlp);
    `masks` bool (n, *shape) is True where mask k keeps a value; `hidden` (n, *shape) is the layer's
    training-mode output under mask k, masks * activations / (1 - rate); `probabilities` (n, 10) is the
    rest of the network applied to each; `inference` (10,) is the model's answer with nothing dropped.
    """

    layer_name: str
    rate: float
    seeds: np.ndarray
    activations: np.ndarray
    masks: np.ndarray
    hidden: np.ndarray
    probabilities: np.ndarray
    inference: np.ndarray

    @property
    def answers(self) -> np.ndarray:
        """(n,) each thinned network's digit."""
        return self.probabilities.argmax(axis=1)

    @property
    def votes(self) -> np.ndarray:
        """(10,) how many of the thinned networks answer each digit."""
        return np.bincount(self.answers, minlength=10)

    @property
    def average(self) -> np.ndarray:
        """(10,) the thinned networks' probabilities averaged."""
        return self.probabilities.mean(axis=0)


def thinned_networks(model: keras.Model, x28: np.ndarray, n: int, seed: int,
                     layer: str | None = None) -> ThinnedNetworks:
    """`n` seeded dropout masks of the Dropout layer `layer` (the model's last one by default) and
    the answer of each thinned network for the digit `x28` (28, 28)."""
    where = _dropout(model, layer)
    # Layer by layer, eagerly: one call of the layers before the Dropout, one of those after it on the n
    # thinned inputs and the untouched one (Dropout at inference passes its input on). Traced functions
    # for the same numbers cost a first visit of the page about a second to build, for an LSTM.
    layers = chain(model)
    at = [layer.name for layer in layers].index(where.name)
    a = _apply(layers[:at], np.asarray(x28, np.float32)[None])[0]
    seeds = mask_seeds(seed, n)
    masks = keep_masks(where.shape, where.rate, seeds)
    hidden = (masks * (a / np.float32(1.0 - where.rate))).astype(np.float32)
    probabilities = _apply(layers[at + 1:], np.concatenate([hidden, a[None]]))
    return ThinnedNetworks(where.name, where.rate, seeds, a, masks, hidden, probabilities[:-1], probabilities[-1])


@dataclass(frozen=True)
class SGDStep:
    """One plain SGD step of a copy of the model on one mini-batch, with one dropout mask for the
    whole mini-batch (the slides' thinned network; Keras's Dropout(noise_shape=(1, units)) does the
    same). `mask` bool (units,) holds the kept units; `gradients` and `changes` map each weight's
    path ("dense/kernel", ...) to its gradient and to new minus old value; `unit_change` (units,)
    is the size (L2 norm) of the change of every weight attached to each hidden unit (its incoming
    column, its bias, its outgoing row); `active` bool (units,) marks the units whose ReLU output is
    above 0 for at least one digit of the batch. `loss_before` / `loss_after` are the batch's mean
    cross-entropy through this thinned network before and after the step."""

    mask: np.ndarray
    gradients: dict[str, np.ndarray]
    changes: dict[str, np.ndarray]
    unit_change: np.ndarray
    active: np.ndarray
    loss_before: float
    loss_after: float


def _neighbours(model: keras.Model, where: DropoutLayer) -> tuple[keras.layers.Layer, keras.layers.Layer]:
    before, after = model.get_layer(where.after), model.get_layer(where.before)
    if len(where.shape) != 1 or not all(isinstance(layer, keras.layers.Dense) for layer in (before, after)):
        raise ValueError(f"the SGD step needs a Dropout between two Dense layers; {where.name} sits between "
                         f"{type(before).__name__} {before.name!r} and {type(after).__name__} {after.name!r}")
    return before, after


def _copy(model: keras.Model) -> keras.Model:
    """A fresh model of the same architecture with the same weights: the shipped one is never touched."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _loss(layers: list[keras.layers.Layer], x: tf.Tensor, y: tf.Tensor, name: str,
          scale: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean cross-entropy of `layers` with the Dropout layer `name` replaced by `* scale`, and the
    (batch, units) values that layer received."""
    received = None
    for layer in layers:
        if layer.name == name:
            received = x
            x = x * scale
        else:
            x = layer(x, training=False)
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, x)), received


def minibatches(total: int, batch_size: int, steps: int, seed: int) -> list[np.ndarray]:
    """`steps` disjoint index arrays of `batch_size` into a training set of `total` digits, in a
    seeded random order, as one epoch of shuffled mini-batches would take them."""
    if batch_size < 1 or steps < 1 or batch_size * steps > total:
        raise ValueError(f"{steps} mini-batches of {batch_size} need {batch_size * steps} digits; "
                         f"the training set has {total}")
    order = np.random.default_rng(seed).permutation(total)
    return [order[k * batch_size:(k + 1) * batch_size] for k in range(steps)]


def sgd_steps(model: keras.Model, batches: list[tuple[np.ndarray, np.ndarray]], seed: int,
              learning_rate: float, layer: str | None = None) -> list[SGDStep]:
    """Consecutive SGD steps on a copy of `model`, step k on mini-batch k of `batches` (x (batch,
    28, 28) float32, y (batch,) labels), with the k-th seeded mask of the Dropout layer `layer` (the
    last one by default) shared by the whole mini-batch."""
    where = _dropout(model, layer)
    _neighbours(model, where)
    copy = _copy(model)
    layers = chain(copy)
    before, after = copy.get_layer(where.after), copy.get_layer(where.before)
    variables = copy.trainable_variables
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    masks = keep_masks(where.shape, where.rate, mask_seeds(seed, len(batches)))
    out = []
    for (x, y), mask in zip(batches, masks):
        xb, yb = tf.constant(x, tf.float32), tf.constant(y)
        scale = tf.constant(mask / np.float32(1.0 - where.rate), tf.float32)
        old = [v.numpy() for v in variables]
        with tf.GradientTape() as tape:
            loss, received = _loss(layers, xb, yb, where.name, scale)
        grads = tape.gradient(loss, variables)
        optimizer.apply(grads, variables)
        loss_after, _ = _loss(layers, xb, yb, where.name, scale)
        changes = {v.path: v.numpy() - o for v, o in zip(variables, old)}
        kernel_in, bias_in, kernel_out = (changes[v.path] for v in (before.kernel, before.bias, after.kernel))
        unit_change = np.sqrt((kernel_in ** 2).sum(0) + bias_in ** 2 + (kernel_out ** 2).sum(1))
        out.append(SGDStep(mask, {v.path: g.numpy() for v, g in zip(variables, grads)}, changes,
                           unit_change, received.numpy().max(axis=0) > 0, float(loss), float(loss_after)))
    return out


def layer_difference(tn: ThinnedNetworks, k: int) -> float:
    """The largest gap between thinned network k's values and a fresh Keras Dropout layer's own
    training-mode output with mask k's seed: the on-screen proof that the masks are Keras's."""
    layer = keras.layers.Dropout(tn.rate, seed=int(tn.seeds[k]))
    own = keras.ops.convert_to_numpy(layer(tn.activations[None], training=True))[0]
    return float(np.abs(own - tn.hidden[k]).max())
