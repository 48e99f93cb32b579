"""What the attention model, one Transformer encoder block, does with one digit.

The model treats the 28 image rows as 28 tokens: `embed` maps each row's 28 pixels to 64 numbers,
`posenc` adds the sinusoidal position table, and `mha` (4 heads, key_dim 16) lets every row look at
every row; then, as the course draws the block, x + MHA(x) (`residual1`), layer normalisation
(`norm1`), the position-wise feed-forward network (`ffn1`, ReLU, `ffn2`), a second residual
(`residual2`) and normalisation (`norm2`), the average over rows (`pool`) and the classifier.

The attention weights are the layer's own (`return_attention_scores=True`), read through a probe built
once per model, compiled by `explain.inference` and run once per digit; the worked example recomputes one
row of them from the layer's query/key/value kernels, exactly as Keras does (Keras scales the query
by 1/sqrt(d_k) before the dot product; dividing the dot products is the same number).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import keras
import numpy as np

from explain import inference
from explain.activations import softmax
from explain.model_cache import per_model

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
    `weights` (key,) = softmax(scaled), `values` (key, d_v), `output` (d_v,) = weights @ values;
    `queries` (query, d_k) every row's query in this head (`q` is one of them): what a colour scale
    kept the same for every query row spans.
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
    queries: np.ndarray

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

    @property
    def gap(self) -> np.ndarray:
        """(2,): largest |pooled(original) - pooled(permuted)|, with and without the position table."""
        return np.abs(self.pooled[:, 0] - self.pooled[:, 1]).max(axis=-1)


_lock = threading.Lock()


class _Probe(keras.Model):
    """The attention model's own layers, called so as to expose what the page shows:
    x (batch, 28, 28) -> [tokens, scores, mha output, probs, pooled, pooled and probs without posenc,
    then every stage of the encoder block after posenc (`BLOCK[1:]`)]: one traced function for the
    page's views (a second one for the block cost its first visit another trace of the same layers).

    A subclassed model because Keras's symbolic graph does not connect the scores that
    `return_attention_scores=True` adds as a second output of an already-used layer.
    """

    def __init__(self, model: keras.Model):
        super().__init__(name=f"{model.name}_attention_probe")
        self.net = model
        # The model's own graph from the attention layer's input to its pooling and output, so
        # the row-order test runs the trained network itself, with or without the position table.
        self.tail = keras.Model(model.get_layer("posenc").output,
                                [model.get_layer(name).output for name in BLOCK[1:]] + [model.output])

    def call(self, x, training=False):
        embed, posenc, mha = (self.net.get_layer(n) for n in ("embed", "posenc", "mha"))
        rows = embed(x)
        tokens = posenc(rows)
        output, scores = mha(tokens, tokens, return_attention_scores=True)
        *stages, probs = self.tail(tokens, training=False)
        *bare, probs_bare = self.tail(rows, training=False)
        return [tokens, scores, output, probs, stages[-1], bare[-1], probs_bare, *stages]


@lru_cache(maxsize=8)
def _build_probe(model: keras.Model) -> _Probe:
    return _Probe(model)


def _probe(model: keras.Model) -> _Probe:
    """The probe of `model`, built once per model (under a lock: sessions share models); the
    `inference` module compiles it once."""
    with _lock:
        return _build_probe(model)


@per_model(maxsize=64)
def _probe_outputs(model: keras.Model, digit: bytes) -> tuple[np.ndarray, ...]:
    # Read-only: the entry is shared by every session (and thread) showing this digit.
    outs = inference.outputs([_probe(model)], np.frombuffer(digit, np.float32).reshape(ROWS, ROWS))
    for out in outs:
        out.flags.writeable = False
    return tuple(outs)


def _run(model: keras.Model, x28: np.ndarray) -> list[np.ndarray]:
    """The probe's outputs for one digit, run once per (model, digit): the page asks for them on every
    move of its controls (`trace` and `encoder_trace` both), and a compiled call costs 1.5-11 ms on a
    busy 2-core machine where a lookup costs microseconds."""
    x = np.asarray(x28, dtype=np.float32)
    if x.shape != (ROWS, ROWS):
        raise ValueError(f"expected one (28, 28) digit, received shape {x.shape}")
    return list(_probe_outputs(model, x.tobytes()))


def trace(model: keras.Model, x28: np.ndarray) -> AttentionTrace:
    """The attention layer's input, weights and output for one (28, 28) digit, and the prediction."""
    return AttentionTrace(*_run(model, x28)[:4])


def attention_scores(model: keras.Model, x28: np.ndarray) -> np.ndarray:
    """(heads, query, key): the `mha` layer's own attention weights for a (28, 28) digit."""
    return trace(model, x28).scores


def position_table(model: keras.Model) -> np.ndarray:
    """(rows, depth): the table the model's `posenc` layer adds to its row tokens."""
    return np.asarray(model.get_layer("posenc").table)


def periods(table: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """(len(dims),): how many rows each column of the position table `table` (rows, depth) takes to
    repeat, read from the table itself: the pair (2i, 2i+1) is (sin, cos) of the angle p * w_i, so
    its row 1 holds w_i = atan2(PE[1, 2i], PE[1, 2i+1]), and the period is 2 pi / w_i."""
    pairs = [2 * (d // 2) for d in dims]
    return np.array([2 * np.pi / np.arctan2(table[1, j], table[1, j + 1]) for j in pairs])


BLOCK = ("posenc", "mha", "residual1", "norm1", "ffn2", "residual2", "norm2", "pool")


@dataclass(frozen=True)
class EncoderTrace:
    """One digit through the encoder block, each array the named layer's own output, (rows, depth)
    unless said: `tokens` x (posenc), `attended` MHA(x) (mha), `residual1` x + MHA(x), `norm1`
    LayerNorm of that, `ffn` FFN(norm1) (ffn2), `residual2` norm1 + FFN(norm1), `norm2` LayerNorm of
    that, `pooled` (depth,) the average over rows (pool)."""

    tokens: np.ndarray
    attended: np.ndarray
    residual1: np.ndarray
    norm1: np.ndarray
    ffn: np.ndarray
    residual2: np.ndarray
    norm2: np.ndarray
    pooled: np.ndarray


def encoder_trace(model: keras.Model, x28: np.ndarray) -> EncoderTrace:
    """Every stage of the encoder block for one (28, 28) digit: the model's own layers' outputs, from
    the same compiled probe run as `trace` (built once per model)."""
    x = np.asarray(x28, dtype=np.float32)
    if x.shape != (ROWS, ROWS):
        raise ValueError(f"expected one (28, 28) digit, received shape {x.shape}")
    run = _run(model, x)
    return EncoderTrace(run[0], *run[7:])


@dataclass(frozen=True)
class LayerNormStep:
    """Layer normalisation of one row, by the course's formula, with the layer's own gamma, beta, eps.

    `before` (depth,) the row entering the layer; `mean`, `variance` its mean and (biased) variance
    over the depth numbers; `normalised` (depth,) = (before - mean) / sqrt(variance + eps), whose
    mean is 0 and variance almost 1; `gamma`, `beta` (depth,); `after` (depth,) = gamma *
    normalised + beta, which equals the layer's output row.
    """

    before: np.ndarray
    mean: float
    variance: float
    eps: float
    normalised: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    after: np.ndarray


def layer_norm_step(model: keras.Model, layer: str, before: np.ndarray) -> LayerNormStep:
    """`layer` ("norm1" or "norm2") applied by hand to the row `before` (depth,)."""
    return layer_norm_steps(model, layer, np.asarray(before)[None])[0]


def layer_norm_steps(model: keras.Model, layer: str, rows: np.ndarray) -> list[LayerNormStep]:
    """`layer_norm_step` of each row of `rows` (rows, depth), the layer's weights read once."""
    norm = model.get_layer(layer)
    gamma, beta = (np.asarray(w, np.float64) for w in norm.get_weights())
    steps = []
    for before in np.asarray(rows, np.float64):
        mean, variance = float(before.mean()), float(before.var())
        normalised = (before - mean) / np.sqrt(variance + norm.epsilon)
        steps.append(LayerNormStep(before, mean, variance, float(norm.epsilon), normalised, gamma, beta,
                                   gamma * normalised + beta))
    return steps


def row_norms(tr: EncoderTrace) -> dict[str, np.ndarray]:
    """Length (Euclidean norm, (rows,)) of each row's vector at every stage: how much each residual
    sub-layer adds to what passes by it, and the size layer normalisation brings it back to."""
    return {name: np.linalg.norm(getattr(tr, name), axis=-1)
            for name in ("tokens", "attended", "residual1", "norm1", "ffn", "residual2", "norm2")}


def projections(model: keras.Model, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys and values, each (heads, rows, 16), from the layer's EinsumDense kernels
    (depth, heads, 16) and biases (heads, 16) applied to `tokens` (rows, depth)."""
    mha = model.get_layer("mha")
    out = []
    for dense in (mha.query_dense, mha.key_dense, mha.value_dense):
        kernel, bias = (np.asarray(w) for w in dense.get_weights())
        out.append(np.einsum("td,dhk->htk", tokens, kernel) + bias[:, None, :])
    return tuple(out)


def worked_example(model: keras.Model, tokens: np.ndarray, head: int, row: int) -> WorkedExample:
    """Scaled dot-product attention of query `row` in `head` (0-based), from the layer's weights."""
    return _worked(*projections(model, tokens), head, row)


def worked_examples(model: keras.Model, tokens: np.ndarray, head: int) -> list[WorkedExample]:
    """`worked_example` of every query row of `head`, row 0 first, from one projection of `tokens`
    (each row projecting them again took 15-20 ms for the 28, in the run of a head picked)."""
    q, k, v = projections(model, tokens)
    return [_worked(q, k, v, head, row) for row in range(q.shape[1])]


def _worked(q: np.ndarray, k: np.ndarray, v: np.ndarray, head: int, row: int) -> WorkedExample:
    """The worked example from the queries, keys and values, each (heads, rows, 16)."""
    dots = k[head] @ q[head, row]
    scaled = dots / np.sqrt(q.shape[-1])
    weights = softmax(scaled)
    return WorkedExample(head, row, q[head, row], k[head], dots, scaled, weights, v[head], weights @ v[head], q[head])


def strongest_rows(weights: np.ndarray, share: float = 0.5, most: int = 4) -> np.ndarray:
    """The fewest key rows (at most `most`) that together hold `share` of a query row's weights
    `weights` (key,), strongest first: what "row 20 looks mostly at rows 5-9" means in numbers."""
    order = np.argsort(weights)[::-1]
    count = int(np.searchsorted(np.cumsum(weights[order]), share)) + 1
    return order[:min(count, most)]


def head_profile(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each head does over all query rows of `scores` (heads, query, key): the key row that gets
    the most weight on average (heads,), that average weight (heads,), and the attention-weighted
    distance |query - key| in rows, averaged over queries (heads,): 0 means every row looks at itself."""
    to_key = scores.mean(axis=1)
    rows = np.arange(scores.shape[-1])
    distance = (scores * np.abs(rows[:, None] - rows[None, :])).sum(-1).mean(-1)
    return to_key.argmax(-1), to_key.max(-1), distance


def shuffled_order(seed: int = 0) -> np.ndarray:
    """(rows,): a fixed random permutation of the row indices, the same on every rerun."""
    return np.random.default_rng(seed).permutation(ROWS)


def order_test(model: keras.Model, x28: np.ndarray, order: np.ndarray) -> OrderTest:
    """Run the digit and its rows permuted by `order`, with and without the position table."""
    order = np.asarray(order)
    runs = [_run(model, x) for x in (x28, np.asarray(x28)[order])]
    pooled = np.array([[run[k] for run in runs] for k in (4, 5)])
    probs = np.array([[run[k] for run in runs] for k in (3, 6)])
    return OrderTest(order, pooled, probs)
