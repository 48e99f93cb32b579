"""Backpropagation through time in a SimpleRNN, recomputed in numpy, and what gradient clipping does.

The course writes the error at row k, sent back from row t, as
delta_{t,k} = prod_{i=k+1..t} (diag(f'(z_i)) U^T) delta_{t,t} ~ gamma^{t-k} delta_{t,t}:
each step back multiplies by one recurrent Jacobian J_i = dh_i/dh_{i-1} = diag(f'(z_i)) U^T.
Keras runs the whole recurrence in one fused op and never shows those factors, so here the forward
and backward passes are written out row by row from the layers' weights (`kernel` W, `recurrent_kernel`
U, `bias` b: z_t = x_t W + h_{t-1} U + b, h_t = f(z_t)), which also lets the recurrent kernels be
scaled on a copy to make the gradients vanish or explode. Tests check every gradient against
TensorFlow's (GradientTape) on the same network with the same scaled weights.

A digit is read row by row: timestep t is image row t (0-based in arrays, 1-based on screen).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import keras
import numpy as np

from explain import activations
from explain.activations import softmax
from explain.gradients import check_label

CLIPNORM, CLIPVALUE = 1.0, 0.5       # the values the course (and the page) try


@dataclass(frozen=True)
class _Layer:
    name: str
    kernel: np.ndarray            # (input_dim, units)
    recurrent_kernel: np.ndarray  # (units, units)
    bias: np.ndarray              # (units,)
    activation: activations.Activation
    return_sequences: bool


@dataclass(frozen=True)
class _Chain:
    layers: tuple[_Layer, ...]
    output_name: str
    output_kernel: np.ndarray     # (units, classes)
    output_bias: np.ndarray       # (classes,)


@dataclass(frozen=True)
class LayerBackprop:
    """One SimpleRNN layer for one digit: `activation` names f, `inputs` (timesteps, input_dim) what it
    read, `z` and `h` (timesteps, units) pre-activation and state after each row, `delta` (timesteps, units) dL/dz_t,
    `jacobians` (timesteps, units, units) J_t = dh_t/dh_{t-1} = diag(f'(z_t)) U^T (row 0's J
    multiplies the zero initial state, so it is shown but moves nothing), and the weight gradients
    in the kernels' shapes."""

    layer_name: str
    activation: str
    inputs: np.ndarray
    z: np.ndarray
    h: np.ndarray
    delta: np.ndarray
    jacobians: np.ndarray
    kernel_gradient: np.ndarray
    recurrent_kernel_gradient: np.ndarray
    bias_gradient: np.ndarray

    @property
    def jacobian_norms(self) -> np.ndarray:
        """(timesteps,): the spectral norm of each step's J_t."""
        return np.linalg.norm(self.jacobians, ord=2, axis=(1, 2))

    def product_norms(self) -> np.ndarray:
        """(timesteps,): the spectral norm of dh_T/dh_k = J_T ... J_{k+1}, the course's product, for
        each row k (1 at k = T: no factor). It can fall far below the product of the norms: the
        factors do not all stretch the same direction. 28 small SVDs: computed only when asked."""
        products, running = np.empty(len(self.jacobians)), np.eye(self.jacobians.shape[1])
        for k in range(len(self.jacobians) - 1, -1, -1):       # running = dh_T/dh_k
            products[k] = np.linalg.norm(running, ord=2)
            running = running @ self.jacobians[k]
        return products


@dataclass(frozen=True)
class RNNBackprop:
    """The whole SimpleRNN model for one digit and target: `layers` in order, the ten
    `probabilities`, the cross-entropy `loss`, `input_gradient` (timesteps, features) dL/dx and
    `output_kernel_gradient` (units, classes), `output_bias_gradient` (classes,)."""

    layers: tuple[LayerBackprop, ...]
    output_name: str
    probabilities: np.ndarray
    loss: float
    input_gradient: np.ndarray
    output_kernel_gradient: np.ndarray
    output_bias_gradient: np.ndarray

    @property
    def row_norms(self) -> np.ndarray:
        """(timesteps,): the L2 norm of dL/d(input row t), as `explain.gradients.row_gradients`."""
        return np.linalg.norm(self.input_gradient, axis=1)

    def weight_gradients(self) -> dict[str, np.ndarray]:
        """Every weight's gradient, named "layer/weight" in Keras's `model.trainable_variables` order."""
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            out[f"{layer.layer_name}/kernel"] = layer.kernel_gradient
            out[f"{layer.layer_name}/recurrent_kernel"] = layer.recurrent_kernel_gradient
            out[f"{layer.layer_name}/bias"] = layer.bias_gradient
        out[f"{self.output_name}/kernel"] = self.output_kernel_gradient
        out[f"{self.output_name}/bias"] = self.output_bias_gradient
        return out


def _float(w) -> np.ndarray:
    return np.asarray(w, dtype=np.float64)


@lru_cache(maxsize=16)
def _chain(model: keras.Model) -> _Chain:
    """The model as SimpleRNN layers (dropout between) then one softmax Dense layer; cached per model
    object, whose weights never change once loaded."""
    layers: list[_Layer] = []
    output = None
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if isinstance(layer, keras.layers.SimpleRNN) and output is None and not layer.go_backwards:
            cell = layer.cell
            bias = _float(cell.bias) if cell.use_bias else np.zeros(cell.units)
            layers.append(_Layer(layer.name, _float(cell.kernel), _float(cell.recurrent_kernel), bias,
                                 activations.lookup(cell.activation, f"layer {layer.name!r}"), layer.return_sequences))
        elif (isinstance(layer, keras.layers.Dense) and layers and output is None
              and keras.activations.serialize(layer.activation) == "softmax"):
            output = layer
        else:
            raise ValueError(f"model {model.name!r}: layer {layer.name!r} ({type(layer).__name__}) is not part of "
                             "the traced shape Input -> forward SimpleRNN layers (dropout between) -> softmax Dense")
    if output is None or layers[-1].return_sequences or not all(x.return_sequences for x in layers[:-1]):
        raise ValueError(f"model {model.name!r} must be SimpleRNN layers returning sequences, a last SimpleRNN "
                         "returning its final state, then a softmax Dense layer")
    bias = _float(output.bias) if output.use_bias else np.zeros(output.units)
    return _Chain(tuple(layers), output.name, _float(output.kernel), bias)


def rnn_backprop(model: keras.Model, x28: np.ndarray, label: int, recurrent_scale: float = 1.0) -> RNNBackprop:
    """Forward and backward pass of the SimpleRNN `model` for the digit `x28` (28, 28) and target
    `label`, every layer's recurrent kernel U multiplied by `recurrent_scale` (the model itself is
    never changed). A few hundred small matrix products: about a millisecond."""
    x = _float(x28)
    if x.ndim != 2:
        raise ValueError(f"rnn_backprop expects one digit of shape (timesteps, features); received shape {x.shape}")
    if not np.isfinite(recurrent_scale) or recurrent_scale <= 0:
        raise ValueError(f"recurrent_scale must be a positive number; received {recurrent_scale!r}")
    label = check_label(label)
    chain = _chain(model)
    steps = x.shape[0]
    forward = []
    seq = x
    for layer in chain.layers:
        u = layer.recurrent_kernel * recurrent_scale
        z, h = np.empty((steps, u.shape[0])), np.empty((steps, u.shape[0]))
        state = np.zeros(u.shape[0])
        from_x = seq @ layer.kernel + layer.bias
        for t in range(steps):
            z[t] = from_x[t] + state @ u
            state = h[t] = layer.activation.f(z[t])
        forward.append((layer, u, seq, z, h))
        seq = h
    last = forward[-1][4][-1]
    p = softmax(last @ chain.output_kernel + chain.output_bias)
    d_logits = p - np.eye(p.shape[0])[label]
    # dL/dh of the layer being walked back, per row: only the last row feeds the output layer.
    d_h_above = np.zeros_like(forward[-1][4])
    d_h_above[-1] = chain.output_kernel @ d_logits
    out: list[LayerBackprop] = []
    for layer, u, inputs, z, h in reversed(forward):
        delta = np.empty_like(z)
        carry = np.zeros(u.shape[0])           # dL/dh_t arriving from row t + 1
        fprime = layer.activation.derivative(z)
        for t in range(steps - 1, -1, -1):
            delta[t] = fprime[t] * (d_h_above[t] + carry)
            carry = u @ delta[t]
        previous = np.vstack([np.zeros_like(h[:1]), h[:-1]])
        jacobians = fprime[:, :, None] * u.T[None]        # J_t = diag(f'(z_t)) U^T, (timesteps, units, units)
        out.insert(0, LayerBackprop(layer.name, layer.activation.name, inputs, z, h, delta, jacobians,
                                    inputs.T @ delta, previous.T @ delta, delta.sum(axis=0)))
        d_h_above = delta @ layer.kernel.T      # dL/d(input rows) = dL/d(h of the layer below)
    return RNNBackprop(tuple(out), chain.output_name, p, float(-np.log(p[label])), d_h_above,
                       np.outer(last, d_logits), d_logits)


def is_simple_rnn(model: keras.Model) -> bool:
    try:
        _chain(model)
    except ValueError:
        return False
    return True


# ---- gamma^(T-t) ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeometricFit:
    """norm_t ~ scale * gamma^(T - t) over the rows t = 1..T, fitted by least squares on log norm_t:
    gamma < 1 means the gradient shrinks by that factor per row it travels back, > 1 that it grows."""

    gamma: float
    scale: float
    steps: int

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """The fitted norms at the 1-based rows `rows`."""
        return self.scale * self.gamma ** (self.steps - np.asarray(rows, dtype=float))


def fit_gamma(norms: np.ndarray) -> GeometricFit:
    """The geometric fit of `norms` (timesteps,), all positive."""
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 1 or len(norms) < 2 or not np.all(norms > 0):
        raise ValueError(f"fit_gamma needs at least two positive norms in a 1-D array; received {norms!r}")
    distance = len(norms) - np.arange(1, len(norms) + 1)     # T - t
    slope, intercept = np.polyfit(distance, np.log(norms), 1)
    return GeometricFit(float(np.exp(slope)), float(np.exp(intercept)), len(norms))


# ---- clipping -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClippedGradient:
    """One weight's gradient `raw` and what Keras's optimizer would use instead: `by_norm`
    (clipnorm: g * c / max(|g|, c), the weight's own norm) and `by_value` (clipvalue: each entry
    clipped to [-v, v]), all in the weight's shape."""

    name: str
    raw: np.ndarray
    by_norm: np.ndarray
    by_value: np.ndarray

    @property
    def norms(self) -> tuple[float, float, float]:
        return tuple(float(np.linalg.norm(g)) for g in (self.raw, self.by_norm, self.by_value))

    @property
    def clipped_share(self) -> float:
        """The share of entries that clipvalue changed."""
        return float((self.raw != self.by_value).mean())

    @property
    def by_value_cosine(self) -> float:
        """cos of the angle between the raw and the value-clipped gradient: 1 = same direction
        (clipnorm never turns it; clipvalue does when it clips some entries and not others)."""
        a, b = self.raw.ravel(), self.by_value.ravel()
        denominator = np.linalg.norm(a) * np.linalg.norm(b)
        return float(a @ b / denominator) if denominator else 1.0


def clip(gradients: dict[str, np.ndarray], clipnorm: float = CLIPNORM,
         clipvalue: float = CLIPVALUE) -> list[ClippedGradient]:
    """Each named gradient clipped as `keras.optimizers.SGD(clipnorm=...)` and `(clipvalue=...)`
    would clip it before the step w <- w - learning_rate * g (tests check against Keras's optimizer)."""
    out = []
    for name, g in gradients.items():
        norm = np.linalg.norm(g)
        out.append(ClippedGradient(name, g, g * clipnorm / max(norm, clipnorm), np.clip(g, -clipvalue, clipvalue)))
    return out
