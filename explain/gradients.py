"""Gradients of the cross-entropy loss for one digit and one target label, the course's way.

Backpropagation through the MLP is recomputed in numpy from the layers' weights, layer by layer as
the course writes it: the output error delta^(L) = p - y (softmax with cross-entropy), then
delta^(l) = f'(z^(l)) * (W^(l+1) delta^(l+1)) and dL/dW^(l) = a^(l-1) delta^(l)^T, so every number
on the page can be shown; tests check each against TensorFlow's own gradient (GradientTape).
Dropout is the identity at inference, so the gradients are those of the model in inference mode.

`row_gradients` asks TensorFlow directly: it is the reference the through-time views build on.
It is traced once per model into a `tf.function` (an eager backward pass through an LSTM runs its 28
steps op by op, ten to thirty times slower than the traced one). Tracing an LSTM's or GRU's gradient
and building it (its first call) takes 0.3-0.45 s without graph rewrites, which a page's first visit
would wait for: `trace_in_background` traces and builds it in a thread (the server's warm-up, after
`trace_graph`; a page once its answers are on screen); a call before that runs eagerly, a call while
it runs waits for it. Thread-safe.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explain import activations
from explain.activations import softmax
from explain.model_cache import per_model

CLASSES = 10
TRACE_WAIT = 10.0   # s: at most this long for a trace under way, then eager
_LOCK = threading.RLock()


@dataclass(frozen=True)
class DenseBackprop:
    """One Dense layer's forward and backward pass for one digit.

    `inputs` (fan_in,) is a^(l-1), what the layer read (the flattened 784 pixels for the first);
    `kernel` (fan_in, units) its weights W (Keras's layout: z = a^(l-1) W + b); `z` (units,) the
    pre-activation; `a` (units,) the activation f(z) (the ten probabilities for the output);
    `delta` (units,) dL/dz; `weight_gradient` (fan_in, units) dL/dW = outer(a^(l-1), delta), the
    kernel's shape; `bias_gradient` (units,) dL/db = delta. `activation` names f.
    """

    layer_name: str
    activation: str
    inputs: np.ndarray
    kernel: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    weight_gradient: np.ndarray
    bias_gradient: np.ndarray


def check_label(label: int) -> int:
    if not isinstance(label, (int, np.integer)) or not 0 <= label < CLASSES:
        raise ValueError(f"target label must be an integer 0..{CLASSES - 1}; received {label!r}")
    return int(label)


def cross_entropy(probabilities: np.ndarray, label: int) -> float:
    """-log p_label: the loss the models were trained with (sparse categorical cross-entropy)."""
    return float(-np.log(probabilities[check_label(label)]))


def dense_chain(model: keras.Model) -> list[keras.layers.Dense]:
    """The model's Dense layers, after checking it is Input -> Flatten -> Dense (dropout between)... ->
    a softmax Dense: the shape the hand computation follows."""
    dense = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            dense.append(layer)
        elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Dropout)):
            raise ValueError(f"model {model.name!r}: layer {layer.name!r} ({type(layer).__name__}) is not part of "
                             "the traced shape Input -> Flatten -> Dense layers (dropout between) -> softmax Dense; "
                             f"its layers: {', '.join(type(each).__name__ for each in model.layers)}")
    if not dense or keras.activations.serialize(dense[-1].activation) != "softmax":
        raise ValueError(f"model {model.name!r} must end in a Dense layer with a softmax activation")
    return dense


def _weights(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.asarray(layer.kernel, dtype=np.float64)
    bias = np.asarray(layer.bias, dtype=np.float64) if layer.use_bias else np.zeros(layer.units)
    return kernel, bias


def mlp_backprop(model: keras.Model, x28: np.ndarray, label: int) -> list[DenseBackprop]:
    """Every Dense layer of the MLP `model`, in order, for the digit `x28` (28, 28) in [0, 1] and
    the target `label` (0..9): forward values, error terms and weight gradients, in float64 numpy.

    The last entry's `a` holds the ten probabilities and its `delta` is p - y.
    """
    x = np.asarray(x28, dtype=np.float64)
    if x.shape != (28, 28):
        raise ValueError(f"mlp_backprop expects one digit of shape (28, 28); received shape {x.shape}")
    label = check_label(label)
    layers = dense_chain(model)
    forward, a = [], x.reshape(-1)
    for k, layer in enumerate(layers):
        kernel, bias = _weights(layer)
        z = a @ kernel + bias
        fn = softmax if k == len(layers) - 1 else activations.lookup(layer.activation, f"layer {layer.name!r}").f
        forward.append((layer, a, kernel, z, fn(z)))
        a = forward[-1][-1]
    delta = a - np.eye(CLASSES)[label]                   # softmax + cross-entropy: dL/dz = p - y
    out: list[DenseBackprop] = []
    for k in range(len(layers) - 1, -1, -1):
        layer, inputs, kernel, z, a = forward[k]
        if k < len(layers) - 1:
            above = forward[k + 1][2]                    # W^(l+1), (units, units above)
            f = activations.lookup(layer.activation, f"layer {layer.name!r}")
            delta = f.derivative(z) * (above @ out[0].delta)
        name = keras.activations.serialize(layer.activation)
        out.insert(0, DenseBackprop(layer.name, name, inputs, kernel, z, a, delta, np.outer(inputs, delta), delta))
    return out


def largest_difference_from_tape(model: keras.Model, x28: np.ndarray, label: int,
                                 steps: list[DenseBackprop]) -> float:
    """The largest |hand-computed - TensorFlow| over every weight and bias gradient in `steps`
    (`mlp_backprop`'s result for the same digit and label): the page shows it as its proof."""
    x = tf.constant(np.asarray(x28, dtype=np.float32)[None])
    variables = [w for layer in dense_chain(model) for w in (layer.kernel, layer.bias)]
    with tf.GradientTape() as tape:
        p = model(x, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(tf.constant([check_label(label)]), p)
    tf_grads = [g.numpy() for g in tape.gradient(loss, variables)]
    ours = [g for step in steps for g in (step.weight_gradient, step.bias_gradient)]
    return float(max(np.abs(a - b).max() for a, b in zip(ours, tf_grads)))


class _InputGradient:
    """dL/dx of one model for one digit (1, 28, 28) and label (1,): eager until a background thread
    (`trace`) has traced it into a `tf.function`; the same gradient either way."""

    def __init__(self, model: keras.Model):
        self._model = model
        self._traced = tf.function(self._eager, input_signature=[tf.TensorSpec((1, 28, 28), tf.float32),
                                                                 tf.TensorSpec((1,), tf.int32)])
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def _eager(self, x, label):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = keras.losses.sparse_categorical_crossentropy(label, self._model(x, training=False))
        return tape.gradient(loss, x)

    def _build(self) -> None:
        # Called once, not only traced: TensorFlow builds the graph's kernels on its first call,
        # about as long again as the trace, which the first real call would otherwise wait for.
        self._traced(tf.zeros((1, 28, 28)), tf.zeros((1,), tf.int32))
        self._ready.set()

    def trace_graph(self) -> None:
        """Trace the graph now, in this thread (about 0.2 s for an LSTM); `trace` then only builds it."""
        self._traced.get_concrete_function()

    def trace(self) -> threading.Thread:
        """Start tracing in a thread of its own, once; the thread (a test may join it)."""
        with _LOCK:
            if self._thread is None:
                # Not a daemon (said explicitly: a thread started from Streamlit's script thread would
                # inherit its daemon flag): the interpreter waits for a trace at exit rather than tearing
                # TensorFlow down under it (which aborted short pytest runs with "terminate called after throwing").
                self._thread = threading.Thread(target=self._build, name=f"trace-{self._model.name}", daemon=False)
                self._thread.start()
            return self._thread

    def __call__(self, x, label):
        # A trace under way is waited for: an eager call beside it would take as long and slow both.
        if self._thread is not None:
            self._ready.wait(timeout=TRACE_WAIT)
        return (self._traced if self._ready.is_set() else self._eager)(x, label)


@per_model(maxsize=16)
def _input_gradient(model: keras.Model) -> _InputGradient:
    return _InputGradient(model)


def reads_rows(model: keras.Model) -> bool:
    """Whether `model` reads the digit as 28 timesteps (28, 28) through a recurrent layer, so that its
    per-row input gradients (`row_gradients`) are gradients through time."""
    return (tuple(model.inputs[0].shape[1:]) == (28, 28)
            and any(isinstance(layer, keras.layers.RNN) for layer in model.layers))


def trace_in_background(model: keras.Model) -> threading.Thread:
    """Trace `model`'s `row_gradients` in a background thread (once per model): the calls after it
    ends are about thirty times faster. The thread is returned."""
    with _LOCK:
        gradient = _input_gradient(model)
    return gradient.trace()


def trace_graph(model: keras.Model) -> None:
    """The first half of `trace_in_background`, in the calling thread: `model`'s `row_gradients` traced
    into a graph, not yet built (its first call) nor used; a server's warm-up takes the two halves as two
    of its short tasks."""
    with _LOCK:
        gradient = _input_gradient(model)
    gradient.trace_graph()


def row_gradients(model: keras.Model, x28: np.ndarray, label: int) -> np.ndarray:
    """(28,): for each image row t, the L2 norm of d(cross-entropy loss)/d(input row t), the model in
    inference mode (dropout off): how strongly the loss for `label` depends on what row t holds."""
    x = np.asarray(x28, dtype=np.float32)
    if x.shape != (28, 28):
        raise ValueError(f"row_gradients expects one digit of shape (28, 28); received shape {x.shape}")
    with _LOCK:
        gradient = _input_gradient(model)
    grad = gradient(tf.constant(x[None]), tf.constant([check_label(label)], tf.int32)).numpy()[0]   # (rows, columns)
    return np.linalg.norm(grad.astype(np.float64), axis=1)
