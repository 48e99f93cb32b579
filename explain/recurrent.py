"""The gates of the LSTM and GRU models at every timestep, recomputed in numpy from the layers' weights.

Keras runs each recurrent layer as one fused cell and returns only h (and c); the gates never leave
it. Here every gate is recomputed from `kernel`, `recurrent_kernel` and `bias`, each layer fed the
previous layer's real output sequence (dropout is the identity at inference), so the hidden states
equal Keras's own to float precision (tests check every timestep of both layers of both models).

A digit is read row by row: timestep t is image row t, a vector of 28 pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from explain.activations import softmax
from explain.model_cache import per_model

LSTM_GATES = ("input", "forget", "candidate", "output", "cell", "hidden")
GRU_GATES = ("update", "reset", "candidate", "hidden")
# The state whose change per row shows where the memory is rewritten.
MEMORY = {"lstm": "cell", "gru": "hidden"}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)  # Keras 3: relu6(x + 3) / 6


ACTIVATIONS = {"tanh": np.tanh, "sigmoid": _sigmoid, "hard_sigmoid": _hard_sigmoid,
               "relu": lambda x: np.maximum(x, 0.0), "linear": lambda x: x, "softmax": softmax}


def _activation_name(fn, where: str) -> str:
    name = keras.activations.serialize(fn)      # "tanh" for built-ins, a config dict for custom ones
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{where} uses activation {name!r}; supported: {', '.join(ACTIVATIONS)}")
    return name


@dataclass(frozen=True)
class LayerGates:
    """One recurrent layer's gates for one digit.

    `gates` maps each gate name (`LSTM_GATES` or `GRU_GATES`) to a (timesteps, units) array: row k
    (0-based) is the value after reading image row k. `preactivations` maps each gate to the (timesteps, units)
    argument of its activation; for the GRU candidate it is split into `candidate_x` (W_h x_t + b_h)
    and `candidate_h` (U_h h_{t-1} + b'_h), which the reset gate scales (Keras's reset_after=True).
    `inputs` is what the layer read, (timesteps, input_dim). `activation` (candidate and output
    squashing) and `recurrent_activation` (the gates) name the layer's functions, "tanh" and "sigmoid"
    in the shipped models.
    """

    layer_name: str
    cell: str
    gates: dict[str, np.ndarray]
    preactivations: dict[str, np.ndarray]
    inputs: np.ndarray
    activation: str
    recurrent_activation: str

    @property
    def units(self) -> int:
        return self.gates["hidden"].shape[1]

    @property
    def input_dim(self) -> int:
        return self.inputs.shape[1]

    def previous(self, gate: str) -> np.ndarray:
        """(timesteps, units): the state one step earlier, zeros before the first row (Keras's initial state)."""
        values = self.gates[gate]
        return np.vstack([np.zeros_like(values[:1]), values[:-1]])


@dataclass(frozen=True)
class _Layer:
    name: str
    cell: str
    kernel: np.ndarray            # (input_dim, gates * units)
    recurrent_kernel: np.ndarray  # (units, gates * units)
    bias: np.ndarray              # (gates * units,) LSTM; (2, 3 * units) GRU (input bias, recurrent bias)
    activation: str
    recurrent_activation: str


@dataclass(frozen=True)
class DenseLayer:
    """A Dense layer after the recurrent ones: `kernel` (inputs, units), `bias` (units,)."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str

    @property
    def inputs(self) -> int:
        return self.kernel.shape[0]

    @property
    def units(self) -> int:
        return self.kernel.shape[1]


@dataclass(frozen=True)
class DropoutLayer:
    """A Dropout layer of the chain, its `rate`, and the layers `before` and `after` it."""

    name: str
    rate: float
    before: str
    after: str


@dataclass(frozen=True)
class _Chain:
    layers: tuple[_Layer, ...]
    head: tuple[DenseLayer, ...]  # the Dense layers after the last recurrent one; the last gives the classes
    dropouts: tuple[DropoutLayer, ...]


def _layer(layer: keras.layers.Layer) -> _Layer:
    cell = layer.cell
    kind = "lstm" if isinstance(layer, keras.layers.LSTM) else "gru"
    if layer.go_backwards:
        raise ValueError(f"layer {layer.name!r} reads backwards (go_backwards=True); only forward layers are traced")
    if kind == "gru" and not cell.reset_after:
        raise ValueError(f"GRU layer {layer.name!r} has reset_after=False; "
                         "only Keras's default reset_after=True is traced")
    kernel, recurrent = (np.asarray(w, dtype=np.float64) for w in (cell.kernel, cell.recurrent_kernel))
    width = recurrent.shape[1]
    if cell.use_bias:
        bias = np.asarray(cell.bias, dtype=np.float64)
    else:
        bias = np.zeros((2, width) if kind == "gru" else (width,))
    return _Layer(layer.name, kind, kernel, recurrent, bias,
                  _activation_name(cell.activation, f"layer {layer.name!r}"),
                  _activation_name(cell.recurrent_activation, f"layer {layer.name!r}"))


def _dense(layer: keras.layers.Dense) -> DenseLayer:
    return DenseLayer(layer.name, np.asarray(layer.kernel, dtype=np.float64),
                  np.asarray(layer.bias, dtype=np.float64) if layer.use_bias else np.zeros(layer.units),
                  _activation_name(layer.activation, f"layer {layer.name!r}"))


@per_model(maxsize=16)
def _chain(model: keras.Model) -> _Chain:
    """The model as recurrent layers followed by Dense layers, with only dropout between them (the
    course's homework has one Dense output layer; a student's may have a hidden one before it).

    Cached per model object: a model's weights never change once it is loaded.
    """
    recurrent: list[_Layer] = []
    head: list[DenseLayer] = []
    dropouts: list[DropoutLayer] = []
    pending: list[keras.layers.Dropout] = []
    previous = None  # the last layer that is not dropout, and whether it returns a sequence
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dropout):
            pending.append(layer)
            continue
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)) and not head:
            if previous is not None and not previous.return_sequences:
                raise ValueError(f"model {model.name!r}: layer {layer.name!r} reads a single vector, not a sequence")
            recurrent.append(_layer(layer))
        elif isinstance(layer, keras.layers.Dense) and recurrent:
            head.append(_dense(layer))
        else:
            raise ValueError(f"model {model.name!r}: layer {layer.name!r} ({type(layer).__name__}) is not part of "
                             "the traced shape Input -> LSTM/GRU layers (dropout between) -> Dense")
        dropouts += [DropoutLayer(d.name, float(d.rate), previous.name if previous else "", layer.name)
                     for d in pending]
        pending, previous = [], layer
    if not head:
        raise ValueError(f"model {model.name!r} has no recurrent layers followed by a Dense output layer")
    return _Chain(tuple(recurrent), tuple(head), tuple(dropouts))


def fits(model) -> bool:
    """Whether `gate_trace` can trace `model`: Input -> LSTM/GRU layers -> Dense layers, dropout between."""
    try:
        _chain(model)
    except ValueError:
        return False
    return True


def output_layers(model: keras.Model) -> tuple[DenseLayer, ...]:
    """The Dense layers after the last recurrent layer, in order (the course's models: one, units -> 10)."""
    return _chain(model).head


def dropout_layers(model: keras.Model) -> tuple[DropoutLayer, ...]:
    """Every Dropout layer between the recurrent and Dense layers, with its rate and neighbours."""
    return _chain(model).dropouts


def _lstm(layer: _Layer, x: np.ndarray) -> LayerGates:
    """Keras's LSTM cell, gate order i, f, c, o in the kernel's columns."""
    steps, units = x.shape[0], layer.recurrent_kernel.shape[0]
    sigma, act = ACTIVATIONS[layer.recurrent_activation], ACTIVATIONS[layer.activation]
    from_x = x @ layer.kernel + layer.bias                     # (timesteps, 4 * units)
    pre = np.empty((steps, 4 * units))
    cell, hidden = np.empty((steps, units)), np.empty((steps, units))
    h, c = np.zeros(units), np.zeros(units)
    for t in range(steps):
        z = from_x[t] + h @ layer.recurrent_kernel
        pre[t] = z
        i, f, g, o = sigma(z[:units]), sigma(z[units:2 * units]), act(z[2 * units:3 * units]), sigma(z[3 * units:])
        c = f * c + i * g
        h = o * act(c)
        cell[t], hidden[t] = c, h
    parts = dict(zip(("input", "forget", "candidate", "output"), np.split(pre, 4, axis=1)))
    gates = {name: (act if name == "candidate" else sigma)(value) for name, value in parts.items()}
    gates.update(cell=cell, hidden=hidden)
    return LayerGates(layer.name, "lstm", gates, parts, x, layer.activation, layer.recurrent_activation)


def _gru(layer: _Layer, x: np.ndarray) -> LayerGates:
    """Keras's GRU cell with reset_after=True, gate order z, r, h in the kernel's columns.

    Keras's convention: h_t = z_t * h_{t-1} + (1 - z_t) * h~_t, so z near 1 KEEPS the old state
    (some textbooks swap z and 1 - z).
    """
    steps, units = x.shape[0], layer.recurrent_kernel.shape[0]
    sigma, act = ACTIVATIONS[layer.recurrent_activation], ACTIVATIONS[layer.activation]
    from_x = x @ layer.kernel + layer.bias[0]                  # (timesteps, 3 * units)
    from_h = np.empty((steps, 3 * units))
    update, reset, candidate, hidden = (np.empty((steps, units)) for _ in range(4))
    h = np.zeros(units)
    for t in range(steps):
        rec = h @ layer.recurrent_kernel + layer.bias[1]
        from_h[t] = rec
        z = sigma(from_x[t, :units] + rec[:units])
        r = sigma(from_x[t, units:2 * units] + rec[units:2 * units])
        hh = act(from_x[t, 2 * units:] + r * rec[2 * units:])
        h = z * h + (1.0 - z) * hh
        update[t], reset[t], candidate[t], hidden[t] = z, r, hh, h
    pre = {"update": from_x[:, :units] + from_h[:, :units],
           "reset": from_x[:, units:2 * units] + from_h[:, units:2 * units],
           "candidate_x": from_x[:, 2 * units:], "candidate_h": from_h[:, 2 * units:]}
    gates = {"update": update, "reset": reset, "candidate": candidate, "hidden": hidden}
    return LayerGates(layer.name, "gru", gates, pre, x, layer.activation, layer.recurrent_activation)


def gate_trace(model: keras.Model, x28: np.ndarray) -> list[LayerGates]:
    """Every recurrent layer's gates, in order, for one digit `x28` (28, 28) float in [0, 1].

    Layer k reads layer k-1's hidden sequence (k = 1 reads the image rows). A few small matrix
    products per row: well under a millisecond per layer, with no Keras call.
    """
    x = np.asarray(x28, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"gate_trace expects one digit of shape (timesteps, features); received shape {x.shape}")
    out: list[LayerGates] = []
    for layer in _chain(model).layers:
        trace = (_lstm if layer.cell == "lstm" else _gru)(layer, x)
        out.append(trace)
        x = trace.gates["hidden"]
    return out


def answer_over_time(model: keras.Model, trace: list[LayerGates]) -> np.ndarray:
    """(timesteps, classes): the output layer applied to the last recurrent layer's h_t at every row.

    Row t is what the network would answer if the digit ended after row t; only the last row is the
    model's real answer (the model only ever sees h after the last row).
    """
    x = trace[-1].gates["hidden"]
    for dense in _chain(model).head:
        x = ACTIVATIONS[dense.activation](x @ dense.kernel + dense.bias)
    return x


def memory_change(gates: LayerGates) -> np.ndarray:
    """(timesteps,): the Euclidean norm over units of s_t - s_{t-1}, where s is the cell state c
    (LSTM) or the hidden state h (GRU) and s_0 = 0: how much each row rewrites the memory."""
    state = MEMORY[gates.cell]
    return np.linalg.norm(gates.gates[state] - gates.previous(state), axis=1)


def parameter_formula(cell: str, input_dim: int, units: int) -> int:
    """The course's count: LSTM 4 (U (D + U) + U); GRU 3 (U (D + U) + 2U), the 2U being reset_after's
    two bias vectors (one for x, one for h)."""
    if cell == "lstm":
        return 4 * (units * (input_dim + units) + units)
    if cell == "gru":
        return 3 * (units * (input_dim + units) + 2 * units)
    raise ValueError(f"unknown cell {cell!r}; valid: lstm, gru")


def keep_factor(gates: LayerGates, first: int = 0) -> np.ndarray:
    """(units,): the product of f_t (LSTM) or z_t (GRU) over the rows after row `first` (0-based).

    Along the additive path c_t = f_t c_{t-1} + ... (h_t = z_t h_{t-1} + ... in the GRU) the
    derivative of the last row's state by row `first`'s state is exactly this product, with no weight
    matrix or tanh' in it, which is why a gate held near 1 lets a gradient cross the whole digit
    without vanishing.
    """
    keep = gates.gates["forget" if gates.cell == "lstm" else "update"]
    return np.prod(keep[first + 1:], axis=0)


def suggested_unit(gates: LayerGates) -> int:
    """The unit whose memory changes most over the digit: a lively default for the unit picker."""
    state = MEMORY[gates.cell]
    return int(np.abs(gates.gates[state] - gates.previous(state)).sum(axis=0).argmax())


@dataclass(frozen=True)
class ParameterCount:
    """One recurrent layer's weight count: the course's formula with D (input size) and U (units)
    filled in, beside the number Keras reports for the same layer."""

    layer_name: str
    cell: str
    input_dim: int
    units: int
    formula: int
    keras: int


def parameter_counts(model: keras.Model) -> list[ParameterCount]:
    """Every recurrent layer of `model`, in order."""
    return [ParameterCount(layer.name, layer.cell, layer.kernel.shape[0], layer.recurrent_kernel.shape[0],
                           parameter_formula(layer.cell, layer.kernel.shape[0], layer.recurrent_kernel.shape[0]),
                           model.get_layer(layer.name).count_params())
            for layer in _chain(model).layers]
