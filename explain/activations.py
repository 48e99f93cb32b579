"""Activation functions in numpy: the one softmax every page's hand arithmetic uses (CNN output,
attention weights, a recurrent model's output layer, backpropagation), so the shift that keeps exp
from overflowing is written once; and the course's table of activation functions and their
derivatives, with Keras's own constants (LeakyReLU's negative slope 0.2 and ELU's alpha 1.0 are
Keras 3's defaults), so that f(z) equals `keras.activations.NAME(z)` and f'(z) equals
GradientTape's derivative of it (tests check).

Backpropagation multiplies by f'(z) at every layer: where f' is near 0 the error stops there.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import keras
import numpy as np

LEAKY_SLOPE = 0.2   # keras.activations.leaky_relu's default negative_slope
ELU_ALPHA = 1.0     # keras.activations.elu's default alpha
FLAT = 0.01         # |f'(z)| below this counts as "the gradient stops here"


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """g(z_m) = e^{z_m} / sum_k e^{z_k} along `axis` (any shape in, same shape out), computed after
    subtracting the maximum along that axis: the same result, and exp never overflows."""
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))       # = 1 / (1 + e^-z), without overflow for large |z|


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)                 # log(1 + e^z), stable for large z


@dataclass(frozen=True)
class Activation:
    """f and its derivative f', both elementwise on an array of any shape."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]


TABLE = {a.name: a for a in (
    Activation("sigmoid", _sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    Activation("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    # Keras (and TF) take the derivative of ReLU at exactly 0 as 0, and LeakyReLU's as the slope.
    Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    Activation("leaky_relu", lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
               lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE)),
    Activation("elu", lambda z: np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0))),
               lambda z: np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0.0)))),
    Activation("softplus", _softplus, _sigmoid),
)}
COURSE = tuple(TABLE)                           # the order of the course's table
LABELS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU",
          "softplus": "softplus", "linear": "linear"}   # as the course writes them
LINEAR = Activation("linear", lambda z: np.asarray(z, dtype=float), lambda z: np.ones_like(z, dtype=float))


def lookup(fn, where: str) -> Activation:
    """The `Activation` of a Keras activation function (`layer.activation`); `where` names the layer
    for the error raised when the function is not in the table."""
    name = keras.activations.serialize(fn)      # "relu" for built-ins, a config dict for custom ones
    if name == "linear":
        return LINEAR
    if not isinstance(name, str) or name not in TABLE:
        raise ValueError(f"{where} uses activation {name!r}; supported: linear, {', '.join(TABLE)}")
    return TABLE[name]


def flat_share(name: str, z: np.ndarray) -> float:
    """The share of the values `z` at which f'(z) < `FLAT`: units whose error term is (almost) zero."""
    return float((np.abs(TABLE[name].derivative(np.asarray(z, dtype=float))) < FLAT).mean())
