"""A convolutional network on one digit, as plain arrays: every layer's output from one compiled call,
and the arithmetic behind any single value: a convolution's patch x kernel products plus bias, a
pooling window's maximum or mean, the softmax of the logits, each layer's output size and parameter
count, each layer's receptive field.

Any model whose layers form one chain (Sequential, or functional without branches) with at least one
Conv2D layer is read: the course's LeNet-5 (the reference the tests check) or a student's upload.
Convolutions may be 'same' or 'valid', any square kernel and stride, with or without a fused
activation; pooling layers are max or average with square windows that tile the map (stride = size).
Values a layer computes but does not output (a convolution's map before its fused ReLU, the logits
before the output layer's softmax) come from a copy of that layer without its activation, sharing
its weights, called by Keras in the same compiled call.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import keras
import numpy as np

from explain import activations
from explain.inference import outputs
from explain.model_cache import per_model

INPUT = "(input)"  # the key of the digit as the model takes it, (28, 28, 1) for an image input
_CONV, _POOLS = "Conv2D", ("MaxPooling2D", "AveragePooling2D")  # the classes traced
ACTIVATION_LAYERS = ("Activation", "ReLU")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Plan:
    """How a model's layers are read. `chain` names every layer after the input, in order; `convs`
    and `pools` the convolution and pooling layers among them; `source[name]` the map a layer reads
    (`INPUT` for the first); `activated[conv]` the map after the convolution's activation (itself if
    fused, the next Activation layer's, absent if it has none) and `activation[conv]` its name;
    `output` the last layer, whose softmax input the logits are."""

    chain: tuple[str, ...]
    convs: tuple[str, ...]
    pools: tuple[str, ...]
    source: dict[str, str]
    activated: dict[str, str]
    activation: dict[str, str]
    output: str


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    names = [layer.name for layer in layers]
    for layer in model.get_config()["layers"]:
        if layer["class_name"] == "InputLayer":
            continue
        inbound = [arg["config"]["keras_history"][0] for node in layer.get("inbound_nodes", [])
                   for arg in node.get("args", []) if isinstance(arg, dict) and "config" in arg]
        position = names.index(layer["name"])
        if len(inbound) != 1 or (position > 0 and inbound[0] != names[position - 1]):
            raise ValueError(f"model {model.name!r}: layer {layer['name']!r} does not simply follow the layer "
                             "before it; only a chain of layers is traced")
    return layers


def activation_name(layer) -> str:
    """"relu", "tanh", ... for a layer's activation; "custom" for one that is not a plain built-in
    (a ReLU layer with a cap, threshold or slope is not plain relu)."""
    if isinstance(layer, keras.layers.ReLU):
        plain = layer.max_value is None and not layer.negative_slope and not layer.threshold
        return "relu" if plain else "custom"
    name = keras.activations.serialize(layer.activation)
    return name if isinstance(name, str) else "custom"


def _check(layer) -> None:
    kind = type(layer).__name__
    if kind == _CONV:
        ok = (layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1
              and layer.kernel_size[0] == layer.kernel_size[1] and layer.strides[0] == layer.strides[1])
        why = "square kernels and strides, no dilation or groups, channels last"
    else:
        ok = (layer.data_format == "channels_last" and layer.padding == "valid"
              and layer.pool_size[0] == layer.pool_size[1] and tuple(layer.strides) == tuple(layer.pool_size))
        why = "square 'valid' windows that tile the map (stride = window size)"
    if not ok:
        raise ValueError(f"layer {layer.name!r} ({kind}) is not traced: only {why}")


@per_model(maxsize=32)
def plan(model: keras.Model) -> Plan:
    """How `model` is read (cached per model: a model's layers never change). Raises ValueError,
    saying why, for a model without Conv2D layers or with layers this module does not trace."""
    layers = _chain(model)
    if not any(type(layer).__name__ == _CONV for layer in layers):
        raise ValueError(f"model {model.name!r} has no Conv2D layer")
    source, activated, activation = {}, {}, {}
    previous = INPUT
    for k, layer in enumerate(layers):
        kind = type(layer).__name__
        source[layer.name] = previous
        if kind == _CONV or kind in _POOLS:
            _check(layer)
        if kind == _CONV:
            fused = activation_name(layer)
            following = layers[k + 1] if k + 1 < len(layers) else None
            if fused != "linear":
                activated[layer.name], activation[layer.name] = layer.name, fused
            elif following is not None and type(following).__name__ in ACTIVATION_LAYERS:
                activated[layer.name], activation[layer.name] = following.name, activation_name(following)
            else:
                activation[layer.name] = "linear"
        previous = layer.name
    names = {kind: tuple(layer.name for layer in layers if type(layer).__name__ in kind) for kind in ((_CONV,), _POOLS)}
    return Plan(tuple(layer.name for layer in layers), names[(_CONV,)], names[_POOLS], source, activated, activation,
                layers[-1].name)


@per_model(maxsize=32)
def why_not(model) -> str | None:
    """None if `model` fits, else the reason `plan` gives. Cached per model, as `plan` is: the CNN page
    asks it of every loaded model on every run, and read each model that does not fit again (its
    Keras config, 13 ms a run)."""
    try:
        plan(model)
    except ValueError as exc:
        return str(exc)
    return None


def fits(model) -> bool:
    """Whether this module can trace `model` (see `plan`)."""
    return why_not(model) is None


def _linear_copy(layer, x):
    """`layer` without its activation, applied to the symbolic tensor `x`, sharing nothing but a copy
    of its weights: Keras's own value of what the layer computes before its activation."""
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_before_activation"}
    copy = type(layer).from_config(config)
    out = copy(x)
    copy.set_weights(layer.get_weights())
    return out


@per_model(maxsize=32)
def _probe(model: keras.Model) -> tuple[keras.Model, tuple[str, ...], tuple[str, ...], str | None]:
    """A model from `model`'s input to every chain layer's output, the fused convolutions' maps
    before their activation, and the logits (None: the logits are the output of the layer before)."""
    p = plan(model)
    layers = [model.get_layer(name) for name in p.chain]
    fused = tuple(name for name in p.convs if p.activated.get(name) == name)
    out = [layer.output for layer in layers] + [_linear_copy(model.get_layer(name), model.get_layer(name).input)
                                                 for name in fused]
    last = layers[-1]
    logits_from = None
    if isinstance(last, (keras.layers.Softmax, keras.layers.Activation)):
        logits_from = p.source[last.name]    # a separate softmax layer: the logits are a real layer output
    else:
        out.append(_linear_copy(last, last.input))
    return keras.Model(model.inputs[0], out, name=f"{model.name}_conv_trace"), p.chain, fused, logits_from


@dataclass(frozen=True)
class Trace:
    """The network's view of one digit. `maps[name]` is each chain layer's output without the batch
    axis (LeNet-5: "image" (28, 28, 1), conv1/relu1 (28, 28, 6), pool1 (14, 14, 6), conv2/relu2
    (10, 10, 16), pool2 (5, 5, 16), fc1 (120,), fc2 (84,)) and `maps[INPUT]` the digit as the model
    takes it. `before[conv]` is a convolution's map before its activation (its own output when it
    has no fused activation). `logits` (10,) are the output layer's values before its softmax, from
    Keras (the layer without its activation); `probabilities` (10,) are the model's own output."""

    maps: dict[str, np.ndarray]
    before: dict[str, np.ndarray]
    logits: np.ndarray
    probabilities: np.ndarray


def trace(model: keras.Model, x28: np.ndarray) -> Trace:
    """Every layer of `model` on the digit `x28` (28, 28) in [0, 1], from one compiled call."""
    p = plan(model)
    with _LOCK:
        probe, names, fused, logits_from = _probe(model)
    values = outputs([probe], x28)
    maps = dict(zip(names, values))
    maps[INPUT] = np.asarray(x28, np.float32).reshape(tuple(model.inputs[0].shape[1:]))
    extra = dict(zip(fused, values[len(names):]))
    before = {name: extra.get(name, maps[name]) for name in p.convs}
    logits = maps[logits_from] if logits_from is not None else values[-1]
    return Trace(maps, before, logits, maps[p.output])


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
    is the value before the activation, `activated` = `activation`(total) ("linear": the same);
    `map_value` is what the network itself produced there before its activation (equal to `total`
    up to float rounding). `top`, `left` give the window's first input row and column (negative
    inside the padding); `stride` is the layer's, `pad` the zeros (before, after) each side,
    `source` the map it reads (`INPUT` or, after only reshaping layers, the digit: `reads_digit`).
    """

    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    bias: float
    total: float
    activation: str
    activated: float
    map_value: float
    stride: int
    pad: tuple[int, int]
    source: str
    reads_digit: bool


def padding(model: keras.Model, layer: str) -> tuple[int, int]:
    """Zero padding (before, after) along each side of `layer`'s input, as Keras pads it: none for
    'valid'; for 'same' the total (out - 1) S + F - W, its smaller half first (TensorFlow's rule)."""
    conv = model.get_layer(layer)
    if conv.padding != "same":
        return 0, 0
    size, stride = conv.kernel_size[0], conv.strides[0]
    width = int(conv.input.shape[1])
    total = max((math.ceil(width / stride) - 1) * stride + size - width, 0)
    return total // 2, total - total // 2


def _activate(name: str, z: float) -> float:
    """f(z) for the activation `name`; NaN for a "custom" one, which is not spelt out."""
    if name == "linear":
        return z
    if name == "custom":
        return float("nan")
    if name in activations.TABLE:
        return float(activations.TABLE[name].f(np.float64(z)))
    return float(keras.ops.convert_to_numpy(keras.activations.get(name)(np.float32(z))))


def _valid(names: tuple[str, ...], layer: str, what: str) -> None:
    if layer not in names:
        raise ValueError(f"unknown {what} layer {layer!r}; valid: {', '.join(names)}")


def conv_step(model: keras.Model, tr: Trace, layer: str, channel: int, row: int, col: int) -> ConvStep:
    """The arithmetic behind `tr.before[layer][row, col, channel]` for one of `plan(model).convs`."""
    p = plan(model)
    _valid(p.convs, layer, "convolution")
    conv = model.get_layer(layer)
    weights = conv.get_weights()  # (F, F, C_in, C_out), (C_out,) if it has a bias
    kernel = weights[0]
    bias = float(weights[1][channel]) if conv.use_bias else 0.0
    size, stride = kernel.shape[0], conv.strides[0]
    before, after = padding(model, layer)
    padded = np.pad(tr.maps[p.source[layer]], ((before, after), (before, after), (0, 0)))
    patch = padded[row * stride:row * stride + size, col * stride:col * stride + size, :]
    k = kernel[:, :, :, channel]
    products = patch * k
    sums = products.sum(axis=(0, 1))
    total = float(sums.sum() + bias)
    name = p.activation[layer]
    earlier = p.chain[:p.chain.index(layer)]
    reads_digit = all(isinstance(model.get_layer(n), keras.layers.Reshape) for n in earlier)
    return ConvStep(layer, channel, row, col, row * stride - before, col * stride - before, patch, k, products, sums,
                    bias, total, name, _activate(name, total), float(tr.before[layer][row, col, channel]), stride,
                    (before, after), p.source[layer], reads_digit)


def activated_map(model: keras.Model, tr: Trace, layer: str) -> np.ndarray | None:
    """(H, W, C): convolution `layer`'s map after its activation, None when it has none."""
    name = plan(model).activated.get(layer)
    return None if name is None else tr.maps[name]


# ---- pooling ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolWindow(Window):
    """One pooling window: `window` (F, F) of the layer's input starting at input (`top`, `left`),
    `kind` "max" or "average", the position of its maximum `winner` (row, col) inside the window,
    and the pooled `value` the network produced at (`row`, `col`) of the pooled map (the window's
    maximum, or its mean)."""

    window: np.ndarray
    winner: tuple[int, int]
    value: float
    kind: str


def pool_window(model: keras.Model, tr: Trace, layer: str, channel: int, row: int, col: int) -> PoolWindow:
    """The window of pooling `layer` that produced `tr.maps[layer][row, col, channel]`."""
    p = plan(model)
    _valid(p.pools, layer, "pooling")
    pool = model.get_layer(layer)
    size, stride = pool.pool_size[0], pool.strides[0]
    top, left = row * stride, col * stride
    window = tr.maps[p.source[layer]][top:top + size, left:left + size, channel]
    winner = np.unravel_index(int(np.argmax(window)), window.shape)
    kind = "max" if isinstance(pool, keras.layers.MaxPooling2D) else "average"
    return PoolWindow(layer, channel, row, col, top, left, window, (int(winner[0]), int(winner[1])),
                      float(tr.maps[layer][row, col, channel]), kind)


# ---- shapes, parameters, receptive fields -------------------------------------------------------

@dataclass(frozen=True)
class LayerInfo:
    """One layer's output `shape` (without batch) and `params` (Keras's count). For convolution and
    pooling layers, `w, f, p, s` fill the course's formula L = (W - F + 2P) / S + 1 = `size` (P may be
    a half: 'same' padding with an odd total puts the extra zero after); `param_formula` spells the
    count out, e.g. "6 × (5 × 5 × 1) + 6" (None for layers without weights). `receptive` is the side
    of the input square one value of this layer depends on (None after flattening)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    params: int
    w: int | None = None
    f: int | None = None
    p: float | None = None
    s: int | None = None
    param_formula: str | None = None
    receptive: int | None = None

    @property
    def size(self) -> int | None:
        return None if self.w is None else int((self.w - self.f + 2 * self.p) // self.s + 1)


def layer_table(model: keras.Model) -> list[LayerInfo]:
    """Every layer from the input to the output: shapes, formula terms, parameter counts (their sum
    is `model.count_params()`), receptive fields (r grows by (F - 1) x the input's step j; j x= S)."""
    rows, r, jump = [], 1, 1
    for name in plan(model).chain:
        layer = model.get_layer(name)
        shape = tuple(int(d) for d in layer.output.shape[1:])
        kind = type(layer).__name__
        params = int(layer.count_params())
        if kind == _CONV or kind in _POOLS:
            f = layer.kernel_size[0] if kind == _CONV else layer.pool_size[0]
            s = layer.strides[0]
            r, jump = r + (f - 1) * jump, jump * s
            w_in = int(layer.input.shape[1])
            p = sum(padding(model, name)) / 2 if kind == _CONV else 0
            formula = None
            if kind == _CONV:
                c_in = int(layer.input.shape[-1])
                formula = f"{layer.filters} × ({f} × {f} × {c_in})" + (f" + {layer.filters}" if layer.use_bias else "")
            rows.append(LayerInfo(name, kind, shape, params, w_in, f, int(p) if p == int(p) else p, s, formula, r))
        elif kind == "Dense":
            n_in = int(layer.input.shape[-1])
            formula = f"{n_in} × {layer.units}" + (f" + {layer.units}" if layer.use_bias else "")
            rows.append(LayerInfo(name, kind, shape, params, param_formula=formula))
        else:
            rows.append(LayerInfo(name, kind, shape, params, receptive=r if len(shape) == 3 else None))
    return rows


@dataclass(frozen=True)
class DenseEquivalent:
    """A convolution beside the fully connected layer that would map the same `inputs` values to
    the same `outputs` values (every output wired to every input, plus a bias each): `dense` weights
    against the convolution's `params`."""

    layer: str
    inputs: int
    outputs: int
    params: int

    @property
    def dense(self) -> int:
        return self.inputs * self.outputs + self.outputs


def dense_equivalent(model: keras.Model, layer: str) -> DenseEquivalent:
    conv = model.get_layer(layer)
    return DenseEquivalent(layer, int(np.prod(conv.input.shape[1:])), int(np.prod(conv.output.shape[1:])),
                           int(conv.count_params()))
