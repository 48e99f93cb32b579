"""What the attention model's self-attention layer does with one digit.

The model treats the 28 image rows as 28 tokens: `embed` maps each row's 28 pixels to 64 numbers,
`posenc` adds the sinusoidal position table, and `mha` (4 heads, key_dim 16) lets every row look at
every row. The attention weights are the layer's own (`return_attention_scores=True`), read through a
compiled function built once per model; the worked example recomputes one row of them from the
layer's query/key/value kernels, exactly as Keras does (the query is scaled by 1/sqrt(d_k) before
the dot product).
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

ROWS = 28


@dataclass(frozen=True)
class AttentionTrace:
    """One digit through the attention layer.

    `tokens` (rows, depth): the layer's input, embed(row) + position encoding;
    `scores` (heads, query, key): the layer's attention weights, each query row sums to 1;
    `output` (rows, depth): the layer's output after its output projection;
    `probs` (10,): the model's class probabilities.
    """

    tokens: np.ndarray
    scores: np.ndarray
    output: np.ndarray
    probs: np.ndarray


@dataclass(frozen=True)
class WorkedExample:
    """softmax(q K^T / sqrt(d_k)) V for one head and one query row, step by step.

    `q` (d_k,), `keys` (key, d_k), `dots` (key,) = keys @ q, `scaled` (key,) = dots / sqrt(d_k),
    `weights` (key,) = softmax(scaled), `values` (key, d_v), `output` (d_v,) = weights @ values.
    """

    head: int
    row: int
    q: np.ndarray
    keys: np.ndarray
    dots: np.ndarray
    scaled: np.ndarray
    weights: np.ndarray
    values: np.ndarray
    output: np.ndarray

    @property
    def d_k(self) -> int:
        return self.q.shape[0]


@dataclass(frozen=True)
class OrderTest:
    """The same digit with its rows in another order, through the model with and without `posenc`.

    `order` (rows,): the permutation (permuted digit row r = original row order[r]);
    `pooled` (2, 2, depth) and `probs` (2, 2, 10), indexed [with position encoding?, permuted?],
    where index 0 is "with encoding" / "original" and 1 is "without" / "permuted". `pooled` is the
    average over rows that the classifier sees.
    """

    order: np.ndarray
    pooled: np.ndarray
    probs: np.ndarray


class _Compiled:
    """The model's own layers wired to expose what the page shows, compiled once with tf.function."""

    def __init__(self, model: keras.Model):
        embed, posenc, mha = (model.get_layer(n) for n in ("embed", "posenc", "mha"))
        # The model's own graph from the attention layer's input to its pooling and output, so the
        # order test runs the trained network itself, only with or without the position table.
        tail = keras.Model(posenc.output, [model.get_layer("pool").output, model.output])
        spec = [tf.TensorSpec((None, ROWS, ROWS), tf.float32)]

        @tf.function(input_signature=spec)
        def trace(x):
            tokens = posenc(embed(x))
            output, scores = mha(tokens, tokens, return_attention_scores=True)
            return tokens, scores, output, model(x, training=False)

        @tf.function(input_signature=spec)
        def order(x):
            rows = embed(x)
            with_pos = tail(posenc(rows), training=False)
            without_pos = tail(rows, training=False)
            return tf.stack([with_pos[0], without_pos[0]]), tf.stack([with_pos[1], without_pos[1]])

        self.trace, self.order = trace, order
        blank = tf.zeros((2, ROWS, ROWS))
        trace(blank)  # trace both now, under the builder's lock, not in a session's first rerun
        order(blank)


_lock = threading.Lock()
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _for(model: keras.Model) -> _Compiled:
    """The compiled probes of `model`, built once and shared by every session (thread-safe)."""
    with _lock:
        if model not in _compiled:
            _compiled[model] = _Compiled(model)
        return _compiled[model]


def _batch(x28: np.ndarray) -> tf.Tensor:
    x = np.asarray(x28, dtype=np.float32)
    if x.shape != (ROWS, ROWS):
        raise ValueError(f"expected one (28, 28) digit, received shape {x.shape}")
    return tf.constant(x[None])


def trace(model: keras.Model, x28: np.ndarray) -> AttentionTrace:
    """The attention layer's input, weights and output for one (28, 28) digit, and the prediction."""
    tokens, scores, output, probs = (a.numpy()[0] for a in _for(model).trace(_batch(x28)))
    return AttentionTrace(tokens, scores, output, probs)


def attention_scores(model: keras.Model, x28: np.ndarray) -> np.ndarray:
    """(heads, query, key): the `mha` layer's own attention weights for a (28, 28) digit."""
    return trace(model, x28).scores


def projections(model: keras.Model, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys and values, each (heads, rows, 16), from the layer's EinsumDense kernels
    (depth, heads, 16) and biases (heads, 16) applied to `tokens` (rows, depth)."""
    mha = model.get_layer("mha")
    out = []
    for dense in (mha.query_dense, mha.key_dense, mha.value_dense):
        kernel, bias = (np.asarray(w) for w in dense.get_weights())
        out.append(np.einsum("td,dhk->htk", tokens, kernel) + bias[:, None, :])
    return tuple(out)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def worked_example(model: keras.Model, tokens: np.ndarray, head: int, row: int) -> WorkedExample:
    """Scaled dot-product attention of query `row` in `head` (0-based), from the layer's weights."""
    q, k, v = projections(model, tokens)
    dots = k[head] @ q[head, row]
    scaled = dots / np.sqrt(q.shape[-1])
    weights = softmax(scaled)
    return WorkedExample(head, row, q[head, row], k[head], dots, scaled, weights, v[head], weights @ v[head])


def shuffled_order(seed: int = 0) -> np.ndarray:
    """(rows,): a fixed random permutation of the row indices, the same on every rerun."""
    return np.random.default_rng(seed).permutation(ROWS)


def order_test(model: keras.Model, x28: np.ndarray, order: np.ndarray) -> OrderTest:
    """Run the digit and its rows permuted by `order`, with and without the position table."""
    x = np.asarray(x28, dtype=np.float32)
    pair = tf.constant(np.stack([x, x[order]]))
    pooled, probs = _for(model).order(pair)
    return OrderTest(np.asarray(order), pooled.numpy(), probs.numpy())
