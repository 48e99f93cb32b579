"""The CNN (LeNet-5) on one digit, as plain arrays: every layer's output from one compiled call, and
the arithmetic behind any single value: a convolution's patch x kernel products plus bias, a pooling
window's maximum, the softmax of the logits, each layer's output size and parameter count."""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from explain.inference import outputs, submodel

LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "fc2")
CONVS = ("conv1", "conv2")
POOLS = ("pool1", "pool2")
RELU_OF = {"conv1": "relu1", "conv2": "relu2"}
INPUT_OF = {"conv1": "image", "conv2": "pool1", "pool1": "relu1", "pool2": "relu2"}


@dataclass(frozen=True)
class Trace:
    """The CNN's view of one digit. `maps[name]` is each layer's output without the batch axis:
    "image" (28, 28, 1), conv1/relu1 (28, 28, 6), pool1 (14, 14, 6), conv2/relu2 (10, 10, 16),
    pool2 (5, 5, 16), fc1 (120,), fc2 (84,). `logits` (10,) are the output layer's inputs to its
    softmax (the model's Dense applies softmax itself, so they are recomputed as fc2 @ W + b);
    `probabilities` (10,) are the model's own output."""

    maps: dict[str, np.ndarray]
    logits: np.ndarray
    probabilities: np.ndarray


def trace(model: keras.Model, x28: np.ndarray) -> Trace:
    """Every layer of `model` on the digit `x28` (28, 28) in [0, 1], from one compiled call."""
    values = outputs([submodel(model, LAYERS + ("output",))], x28)
    maps = dict(zip(LAYERS, values))
    maps["image"] = np.asarray(x28, np.float32).reshape(28, 28, 1)
    kernel, bias = model.get_layer("output").get_weights()
    return Trace(maps, maps["fc2"] @ kernel + bias, values[-1])


# ---- convolution arithmetic -------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """Where a worked example sits: output (`row`, `col`) of `channel` in `layer`, computed from the
    input window whose first row and column are (`top`, `left`)."""

    layer: str
    channel: int
    row: int
    col: int
    top: int
    left: int


@dataclass(frozen=True)
class ConvStep(Window):
    """How one value of a convolution's feature map is computed.

    `patch`, `kernel` and `products` are (F, F, C_in): the input window (zeros where it hangs over
    the border of a 'same'-padded layer), the channel's kernel, and their element-wise product.
    `channel_sums` (C_in,) sums the products per input channel; `total` = sum(channel_sums) + bias
    is the value before ReLU, `relu` = max(0, total); `map_value` is what the network itself
    produced at that position (equal to `total` up to float rounding). `top`, `left` give the
    window's first input row and column (negative inside the padding).
    """

    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    bias: float
    total: float
    relu: float
    map_value: float


def padding(model: keras.Model, layer: str) -> int:
    """Zero padding P on each side: (F - 1) / 2 for 'same' (stride 1, odd F), 0 for 'valid'."""
    conv = model.get_layer(layer)
    return (conv.kernel_size[0] - 1) // 2 if conv.padding == "same" else 0


def conv_step(model: keras.Model, tr: Trace, layer: str, channel: int, row: int, col: int) -> ConvStep:
    """The arithmetic behind `tr.maps[layer][row, col, channel]` for conv1 or conv2."""
    if layer not in CONVS:
        raise ValueError(f"unknown convolution layer {layer!r}; valid: {', '.join(CONVS)}")
    kernel, bias = model.get_layer(layer).get_weights()  # (F, F, C_in, C_out), (C_out,)
    size = kernel.shape[0]
    pad = padding(model, layer)
    padded = np.pad(tr.maps[INPUT_OF[layer]], ((pad, pad), (pad, pad), (0, 0)))
    patch = padded[row:row + size, col:col + size, :]
    k = kernel[:, :, :, channel]
    products = patch * k
    sums = products.sum(axis=(0, 1))
    total = float(sums.sum() + bias[channel])
    return ConvStep(layer, channel, row, col, row - pad, col - pad, patch, k, products, sums,
                    float(bias[channel]), total, max(total, 0.0), float(tr.maps[layer][row, col, channel]))


# ---- pooling ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolWindow(Window):
    """One max-pooling window: `window` (2, 2) of the ReLU map starting at input (`top`, `left`),
    the position of its maximum `winner` (row, col) inside the window, and the pooled `value`
    the network produced at (`row`, `col`) of the pooled map (equal to the window's maximum)."""

    window: np.ndarray
    winner: tuple[int, int]
    value: float


def pool_window(model: keras.Model, tr: Trace, layer: str, channel: int, row: int, col: int) -> PoolWindow:
    """The window of `layer` (pool1 or pool2) that produced `tr.maps[layer][row, col, channel]`."""
    if layer not in POOLS:
        raise ValueError(f"unknown pooling layer {layer!r}; valid: {', '.join(POOLS)}")
    size = model.get_layer(layer).pool_size[0]
    top, left = row * size, col * size
    window = tr.maps[INPUT_OF[layer]][top:top + size, left:left + size, channel]
    winner = np.unravel_index(int(np.argmax(window)), window.shape)
    return PoolWindow(layer, channel, row, col, top, left, window, (int(winner[0]), int(winner[1])),
                      float(tr.maps[layer][row, col, channel]))


# ---- shapes and parameters --------------------------------------------------------------------

@dataclass(frozen=True)
class LayerInfo:
    """One layer's output `shape` (without batch) and trainable `params`. For convolution and
    pooling layers, `w, f, p, s` fill the course's formula L = (W - F + 2P) / S + 1 = `size`;
    `param_formula` spells the count out, e.g. "6 x (5 x 5 x 1) + 6" (None for layers without weights)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    params: int
    w: int | None = None
    f: int | None = None
    p: int | None = None
    s: int | None = None
    param_formula: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.w is None else (self.w - self.f + 2 * self.p) // self.s + 1


def layer_table(model: keras.Model) -> list[LayerInfo]:
    """Every layer from the reshaped image to the output: shapes, formula terms, parameter counts
    (their sum is `model.count_params()`)."""
    rows = []
    for layer in model.layers[1:]:  # [0] is the (28, 28) Input
        shape = tuple(int(d) for d in layer.output.shape[1:])
        kind = type(layer).__name__
        params = int(layer.count_params())
        w_in = int(layer.input.shape[1]) if kind in ("Conv2D", "MaxPooling2D") else None
        if kind == "Conv2D":
            f, c_in = layer.kernel_size[0], int(layer.input.shape[-1])
            rows.append(LayerInfo(layer.name, kind, shape, params, w_in, f, padding(model, layer.name),
                                  layer.strides[0], f"{layer.filters} × ({f} × {f} × {c_in}) + {layer.filters}"))
        elif kind == "MaxPooling2D":
            rows.append(LayerInfo(layer.name, kind, shape, params, w_in, layer.pool_size[0], 0, layer.strides[0]))
        elif kind == "Dense":
            n_in = int(layer.input.shape[-1])
            rows.append(LayerInfo(layer.name, kind, shape, params,
                                  param_formula=f"{n_in} × {layer.units} + {layer.units}"))
        else:
            rows.append(LayerInfo(layer.name, kind, shape, params))
    return rows


def dense_equivalent(model: keras.Model, layer: str = "conv1") -> int:
    """Weights a fully connected layer would need to map the same input to the same output as
    convolution `layer` (every output value wired to every input value, plus a bias each)."""
    conv = model.get_layer(layer)
    n_in = int(np.prod(conv.input.shape[1:]))
    n_out = int(np.prod(conv.output.shape[1:]))
    return n_in * n_out + n_out
