"""A student's own model, uploaded to the app: vetted before Keras sees it, so nothing in the file runs.

Two kinds of file are accepted (anything else is refused with a reason):

* `NAME.weights.h5`, what the homework's `ModelCheckpoint(save_weights_only=True)` writes: only
  arrays. We build one of the course architectures ourselves (`explain.architectures`), match it to
  the file by the shapes of its variables, and copy the arrays into a weights file of our own making,
  which Keras then loads. The upload itself is parsed only by a child process
  (`explain.untrusted_h5`); links to other files or datasets stored outside the file are refused.
* `NAME.keras`, a whole model. Keras has had several advisories about such files (Lambda bytecode,
  CVE-2024-3660; arbitrary modules named in config.json, CVE-2025-1550; a config turning safe mode
  off, CVE-2025-8747; `.h5` models ignoring safe mode, CVE-2025-9905). So the zip and its
  `config.json` are read here first: bounded sizes, plain entry names, every object in the config a
  Keras built-in from an allowlist (layers, initializers, regularizers, constraints, activations), no
  custom or registered objects, no module outside Keras, no request to turn safe mode off. Only then
  is a copy rebuilt from the vetted parts (without the training configuration, its weights file
  written anew from what the child process read) loaded with
  `safe_mode=True` and `compile=False` from a temporary directory that is removed afterwards.

Either way the model must take one digit, (28, 28), (28, 28, 1) or (784,), and return ten
probabilities through a softmax. `ModelUploadError.reason` names the rule that refused a file and
`.key` / `.values` give its message in the user's language (locales/*/custom.py).
"""
from __future__ import annotations

import copy
import io
import json
import lzma
import math
import secrets
import tempfile
import threading
import weakref
import zipfile
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np

from explain import architectures, model_cache, untrusted_h5

MAX_BYTES = 5 * 1024 * 1024        # the same 5 MB as `server.maxUploadSize` in .streamlit/config.toml (a test checks)
MAX_UNZIPPED = 20 * 1024 * 1024    # the declared sizes of all zip entries together (zipfile never reads past them)
MAX_ENTRIES = 8
MAX_PARAMS = 3_000_000             # 12 MB of float32; the course models have 16k to 102k
MAX_LAYERS = 100                   # layers a config may declare (the course models have 5 to 13)
# What one digit may cost: every stroke runs the student's model (the CNN page every layer of it), on a
# classroom's shared 2-core server. The course models need 0.10-0.65 million multiply-adds and their
# largest layer output holds 4,704 numbers; a Conv2D(1_000_000, 1) has only 2M weights but would put
# 784M numbers (3 GB) in one output.
MAX_MACS = 250_000_000
MAX_OUTPUT = 2_000_000             # numbers in one layer's output (8 MB of float32)
UPLOADED = "upload"                # a session's own model's key beside the course models' names
MAX_SESSIONS = 24                  # uploaded models a server holds at once (one per session), the oldest dropped first
INPUT_SHAPES = ((28, 28), (28, 28, 1), (784,))
# The course architectures a weights file may hold, in the order they are tried.
WEIGHT_ARCHITECTURES = tuple(name for name in ("lstm", "gru", "cnn", "mlp", "rnn", "cnn_bn")
                             if name in architectures.BUILDERS)

LAYERS = frozenset({
    "InputLayer", "Reshape", "Flatten", "Dense", "Dropout", "SpatialDropout2D", "GaussianNoise", "Activation",
    "ReLU", "Softmax", "Rescaling", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "BatchNormalization", "LayerNormalization", "SimpleRNN", "LSTM", "GRU"})
ACTIVATIONS = frozenset({"linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish",
                         "sigmoid", "hard_sigmoid", "tanh", "softplus", "softsign", "softmax", "exponential"})


def _classes(module, base: type) -> frozenset[str]:
    return frozenset(name for name in dir(module) if isinstance(getattr(module, name), type)
                     and issubclass(getattr(module, name), base) and name[0].isupper())


# module -> the class names a config may name in it. Everything else is refused.
CLASSES = {
    "keras": frozenset({"Sequential", "Functional", "DTypePolicy", "FloatDTypePolicy"}),
    "keras.src.models.functional": frozenset({"Functional"}),
    "keras.layers": LAYERS,
    "keras.initializers": _classes(keras.initializers, keras.initializers.Initializer),
    "keras.regularizers": _classes(keras.regularizers, keras.regularizers.Regularizer),
    "keras.constraints": _classes(keras.constraints, keras.constraints.Constraint),
    # Only in the training configuration, which is checked like the rest and then left out.
    "keras.optimizers": _classes(keras.optimizers, keras.optimizers.Optimizer),
    "keras.losses": _classes(keras.losses, keras.losses.Loss),
    "keras.metrics": _classes(keras.metrics, keras.metrics.Metric),
}
MODEL_CLASSES = frozenset({"Sequential", "Functional"})
ENTRIES = frozenset({"metadata.json", "config.json", "model.weights.h5"})
# What Keras raises for config parts that do not fit together (RuntimeError: a functional model's
# inputs or outputs naming a layer it does not have).
KERAS_BUILD_ERRORS = (ValueError, TypeError, KeyError, RuntimeError)


class ModelUploadError(ValueError):
    """An uploaded model file refused. `reason` names the rule (e.g. "lambda", "module", "zip_name",
    "weights_shape"); `key` is its message in locales/*/custom.py and `values` fills the message."""

    def __init__(self, reason: str, message: str, **values):
        super().__init__(message)
        self.reason, self.values, self.key = reason, values, f"error.model.{reason}"


def load_uploaded(data: bytes, filename: str, architecture: str | None = None) -> keras.Model:
    """The model in an uploaded file's bytes, `filename` deciding how it is read: `.weights.h5`
    (weights for one of `WEIGHT_ARCHITECTURES`, found by their shapes unless `architecture` names
    one) or `.keras` (a whole model, vetted). Raises `ModelUploadError`; never writes outside a
    temporary directory it removes, never runs code from the file."""
    if len(data) > MAX_BYTES:
        size_mb = math.ceil(len(data) / 2**20 * 10) / 10
        raise ModelUploadError("file_too_big", f"the file is {size_mb} MB; the limit is {MAX_BYTES // 2**20} MB",
                               size_mb=size_mb, limit_mb=MAX_BYTES // 2**20)
    name = filename.lower()
    if name.endswith(".weights.h5"):
        model = _from_weights(data, architecture)
    elif name.endswith((".h5", ".hdf5")):
        raise ModelUploadError("legacy_h5", f"{filename!r} is a legacy HDF5 model, which Keras loads without safe mode",
                               name=filename)
    elif name.endswith(".keras"):
        model = _from_keras(data)
    else:
        raise ModelUploadError("file_type", f"{filename!r} is neither a .keras model nor a .weights.h5 file",
                               name=filename)
    check_model(model)
    return model


# ---- HDF5 weights -------------------------------------------------------------------------------

def _read_h5(data: bytes) -> untrusted_h5.Contents:
    """What the uploaded HDF5 file `data` holds, read in a child process (`explain.untrusted_h5`: the
    server's process never parses it); its refusal (links, data outside the file, too many numbers,
    not HDF5, the reader crashing) raised as the ModelUploadError it names."""
    contents = untrusted_h5.read(data, MAX_PARAMS)
    if contents.problem:
        reason, message, values = contents.problem
        raise ModelUploadError(reason, message, **values)
    return contents


def _datasets(path: Path) -> dict[str, tuple]:
    """Dataset path -> shape in a weights file of our own making."""
    shapes = {}

    def note(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            shapes[name] = obj.shape

    with h5py.File(path, "r") as file:
        file.visititems(note)
    return shapes


def _upload_names(contents: untrusted_h5.Contents) -> dict[str, str]:
    """`_layer_names` of an uploaded file, from the attributes its reader gave back."""
    return {path.rsplit("/vars", 1)[0]: str(attrs.get("name", "")) for path, attrs in contents.attrs.items()
            if path.endswith("vars") and path in contents.groups}


def _layer_names(path: Path) -> dict[str, str]:
    """Keras's weight-group path ("layers/lstm_1/cell") -> the layer name stored with it ("lstm2"),
    in a weights file of our own making."""
    names = {}
    with h5py.File(path, "r") as file:
        file.visititems(lambda path, obj: names.__setitem__(path.rsplit("/vars", 1)[0], obj.attrs.get("name", ""))
                        if path.endswith("vars") and isinstance(obj, h5py.Group) else None)
    return {k: str(v) for k, v in names.items()}


def _template(name: str, folder: Path) -> tuple[keras.Model, Path]:
    model = architectures.BUILDERS[name]()
    path = folder / f"{name}.weights.h5"
    model.save_weights(path)
    return model, path


def _group(path: str) -> str:
    return path.rsplit("/vars/", 1)[0]


def _layer_of(names: dict[str, str], group: str) -> str:
    """The layer name stored for a weight group: "layers/lstm_1/cell" belongs to layer group "layers/lstm_1"."""
    top = "/".join(group.split("/")[:2])
    return names.get(top) or names.get(group) or group.split("/")[-1]


def _from_weights(data: bytes, architecture: str | None) -> keras.Model:
    contents = _read_h5(data)
    uploaded = contents.arrays
    if not uploaded:
        raise ModelUploadError("weights_empty", "the weights file holds no weights")
    if architecture is not None and architecture not in WEIGHT_ARCHITECTURES:
        raise ModelUploadError("architecture", f"unknown architecture {architecture!r}; valid: "
                               f"{', '.join(WEIGHT_ARCHITECTURES)}", name=architecture,
                               valid=", ".join(WEIGHT_ARCHITECTURES))
    with tempfile.TemporaryDirectory(prefix="netlens-weights-") as folder:
        candidates = (architecture,) if architecture else WEIGHT_ARCHITECTURES
        groups = sorted({_group(p) for p in uploaded})
        for name in candidates:
            model, path = _template(name, Path(folder))
            expected = _datasets(path)
            if sorted({_group(p) for p in expected}) != groups and architecture is None:
                continue
            _check_shapes(expected, uploaded, _layer_names(path), _upload_names(contents), name)
            with h5py.File(path, "r+") as ours:  # our own file, our own structure: only the numbers change
                for p in expected:
                    ours[p][...] = uploaded[p]
            model.load_weights(path)
            return model
    layers = ", ".join(g.split("/")[1] for g in groups if g.startswith("layers/")) or ", ".join(groups)
    raise ModelUploadError("weights_architecture", f"weights for layers {layers} fit none of "
                           f"{', '.join(WEIGHT_ARCHITECTURES)}", layers=layers, valid=", ".join(WEIGHT_ARCHITECTURES))


def _check_shapes(expected: dict[str, tuple], uploaded: dict[str, np.ndarray], ours: dict[str, str],
                  theirs: dict[str, str], architecture: str) -> None:
    """Every variable of our architecture must be in the file with the same shape; say which is not."""
    for path, shape in expected.items():
        found = uploaded[path].shape if path in uploaded else None
        if found != shape:
            group = _group(path)
            layer, our_layer = _layer_of(theirs, group), _layer_of(ours, group)
            raise ModelUploadError("weights_shape", f"layer {layer!r} ({architecture} layer {our_layer!r}) "
                                   f"expected {shape} at {path}, found {found}", layer=layer,
                                   ours=our_layer, architecture=architecture, path=path,
                                   expected=_shape(shape), found="—" if found is None else _shape(found))
    extra = sorted(set(uploaded) - set(expected))
    if extra:
        raise ModelUploadError("weights_shape", f"{architecture} has no variable {extra[0]}", layer=extra[0],
                               ours="—", architecture=architecture, path=extra[0], expected="—",
                               found=_shape(uploaded[extra[0]].shape))


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# ---- .keras archives ------------------------------------------------------------------------------

def _zip_entries(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ModelUploadError("not_zip", "a .keras file is a zip archive; this one is not") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ModelUploadError("zip_entries", f"{len(infos)} entries; a .keras model has 3",
                                   entry=f"{len(infos)}", count=len(infos))
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or ":" in name or "\x00" in name:
                raise ModelUploadError("zip_name", f"zip entry {name!r} points outside the archive", entry=name)
        unzipped = sum(info.file_size for info in infos)
        if unzipped > MAX_UNZIPPED:
            raise ModelUploadError("zip_bomb", f"the archive unpacks to {unzipped:,} bytes; the limit is "
                                   f"{MAX_UNZIPPED:,}", size_mb=math.ceil(unzipped / 2**20),
                                   limit_mb=MAX_UNZIPPED // 2**20)
        encrypted = [info.filename for info in infos if info.flag_bits & 0x1]
        if encrypted:
            raise ModelUploadError("zip_encrypted", f"zip entry {encrypted[0]!r} is encrypted", entry=encrypted[0])
        for info in infos:
            if info.filename not in ENTRIES:
                raise ModelUploadError("zip_entries", f"unexpected entry {info.filename!r}", entry=info.filename,
                                       count=len(infos))
        try:
            return {info.filename: archive.read(info) for info in infos}  # zipfile stops at the declared size
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, zlib.error, lzma.LZMAError) as exc:
            raise ModelUploadError("not_zip", f"the archive is damaged ({exc})") from exc


def vet_config(config: dict) -> None:
    """Refuse a model config that names anything but the allowlisted Keras built-ins (see `CLASSES`,
    `ACTIVATIONS`) or asks for unsafe deserialization. Reads the JSON only; imports nothing."""
    text = json.dumps(config)
    if "safe_mode" in text or "unsafe_deserialization" in text:
        raise ModelUploadError("unsafe_mode", "the config asks Keras to turn safe mode off")
    if not isinstance(config, dict) or config.get("class_name") not in MODEL_CLASSES:
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise ModelUploadError("not_model", f"config.json holds {found!r}, not a Sequential or functional model",
                               found=str(found))
    layers = text.count('"module": "keras.layers"')
    if layers > MAX_LAYERS:
        raise ModelUploadError("too_many_layers", f"{layers} layers; the limit is {MAX_LAYERS}", count=layers,
                               limit=MAX_LAYERS)
    _vet(config, "model")


def declared_params(config: dict) -> int:
    """How many weights the vetted `config` would create, counted from the shapes of its variables
    without making them: Keras builds the model in a `StatelessScope` that defers every variable's
    initializer, so a config asking for a Dense layer of 10^8 units allocates nothing. Built in a
    thread of its own, whose (thread-local) list of deferred variables goes with it."""
    result: list = []

    def build() -> None:
        try:
            with keras.StatelessScope(initialize_variables=False):
                model = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
            result.append(sum(math.prod(v.shape) for v in model.weights))
        except Exception as exc:    # handed to the calling thread, which raises it (or says it)
            result.append(exc)

    thread = threading.Thread(target=build, name="netlens-vet-size")
    thread.start()
    thread.join()
    if isinstance(result[0], KERAS_BUILD_ERRORS):
        exc = result[0]
        raise ModelUploadError("keras_load", f"Keras could not build the model ({type(exc).__name__}: {exc})",
                               error=f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


def _check_declared_size(config: dict) -> None:
    """Refuse a config whose variables would hold more than `MAX_PARAMS` weights, before Keras
    allocates them (the weights file is bounded, but the model is built from the config first)."""
    count = declared_params(config)
    if count > MAX_PARAMS:
        raise ModelUploadError("too_many_params", f"{count:,} weights; the limit is {MAX_PARAMS:,}",
                               count=f"{count:,}", limit=f"{MAX_PARAMS:,}")


def _vet(node, where: str) -> None:
    if isinstance(node, list):
        for item in node:
            _vet(item, where)
        return
    if not isinstance(node, dict):
        return
    cls, module = node.get("class_name"), node.get("module")
    if cls is not None and isinstance(node.get("config"), dict) and "name" in node["config"]:
        where = str(node["config"].get("name", where))
    if cls is not None and cls != "__keras_tensor__":
        if cls in ("Lambda", "__lambda__", "function") or "lambda" in str(cls).lower():
            raise ModelUploadError("lambda", f"layer {where!r} is a Lambda or a Python function", layer=where)
        if node.get("registered_name") not in (None, cls):
            raise ModelUploadError("custom_object", f"{where!r} is the custom object {node['registered_name']!r}",
                                   layer=where, name=str(node["registered_name"]))
        if module not in CLASSES:
            raise ModelUploadError("module", f"{where!r} names module {module!r}, which is not Keras", layer=where,
                                   module=str(module))
        if cls not in CLASSES[module]:
            if module == "keras.layers":
                raise ModelUploadError("layer", f"layer {where!r} is a {cls}, not one of the layers we can explain",
                                       layer=where, kind=str(cls), valid=", ".join(sorted(LAYERS)))
            raise ModelUploadError("custom_object", f"{where!r} names {module}.{cls}, not an allowed built-in",
                                   layer=where, name=f"{module}.{cls}")
    for key, value in node.items():
        if key in ("activation", "recurrent_activation") and value is not None:
            _vet(value, where)  # a function named by module and name is refused as such first
            if not isinstance(value, str) or value not in ACTIVATIONS:
                raise ModelUploadError("activation", f"layer {where!r} uses activation {value!r}", layer=where,
                                       activation=str(value if isinstance(value, str) else value.get("config", value)),
                                       valid=", ".join(sorted(ACTIVATIONS)))
        else:
            _vet(value, where)


def _from_keras(data: bytes) -> keras.Model:
    entries = _zip_entries(data)
    if "config.json" not in entries or "model.weights.h5" not in entries:
        raise ModelUploadError("zip_entries", "a .keras model holds config.json and model.weights.h5",
                               entry=", ".join(sorted(entries)) or "—", count=len(entries))
    try:
        config = json.loads(entries["config.json"])
        vet_config(config)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelUploadError("config", f"config.json is not valid JSON ({exc})") from exc
    except RecursionError as exc:   # nested deeper than Python's recursion limit: no model is
        raise ModelUploadError("config", "config.json is nested too deeply") from exc
    weights = _read_h5(entries["model.weights.h5"])  # the same checks as a weights file: no links, bounded size
    config.pop("compile_config", None)       # compile=False: the training set-up is not needed to explain
    _check_declared_size(config)
    with tempfile.TemporaryDirectory(prefix="netlens-upload-") as folder:
        path, h5 = Path(folder) / "model.keras", Path(folder) / "model.weights.h5"
        untrusted_h5.write(weights, h5)  # Keras reads our copy of the numbers, not the uploaded file
        with zipfile.ZipFile(path, "w") as archive:  # only the vetted parts, under names we chose
            archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
            archive.writestr("config.json", json.dumps(config))
            archive.write(h5, "model.weights.h5")
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except (*KERAS_BUILD_ERRORS, OSError) as exc:
            raise ModelUploadError("keras_load", f"Keras could not build the model ({type(exc).__name__}: {exc})",
                                   error=f"{type(exc).__name__}: {str(exc)[:200]}") from exc


# ---- what every uploaded model must be ------------------------------------------------------------

def output_activation(model: keras.Model) -> str | None:
    """The name of the last layer's activation ("softmax" for a Dense(10, activation="softmax") or
    a Softmax layer), None when it has none."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return "softmax"
    fn = getattr(last, "activation", None)
    name = keras.activations.serialize(fn) if fn is not None else None
    return name if isinstance(name, str) else None


def check_model(model: keras.Model) -> None:
    """One digit in, ten softmax probabilities out, a bounded number of weights, all of them finite."""
    if len(model.inputs) != 1 or tuple(model.inputs[0].shape[1:]) not in INPUT_SHAPES:
        shapes = ", ".join(_shape(tuple(i.shape[1:])) for i in model.inputs)
        raise ModelUploadError("input_shape", f"the model takes {shapes}; it must take one digit "
                               "(28, 28), (28, 28, 1) or (784,)", shape=shapes)
    if len(model.outputs) != 1 or tuple(model.outputs[0].shape[1:]) != (10,):
        shapes = ", ".join(_shape(tuple(o.shape[1:])) for o in model.outputs)
        raise ModelUploadError("output_shape", f"the model returns {shapes}; it must return ten probabilities",
                               shape=shapes)
    activation = output_activation(model)
    if activation != "softmax":
        raise ModelUploadError("output_softmax", f"the last layer's activation is {activation!r}, not softmax",
                               activation=str(activation))
    if model.count_params() > MAX_PARAMS:
        raise ModelUploadError("too_many_params", f"{model.count_params():,} weights; the limit is {MAX_PARAMS:,}",
                               count=f"{model.count_params():,}", limit=f"{MAX_PARAMS:,}")
    macs, (largest, layer) = digit_cost(model)
    if largest > MAX_OUTPUT:
        raise ModelUploadError("output_too_big", f"layer {layer!r} outputs {largest:,} numbers per digit; the limit "
                               f"is {MAX_OUTPUT:,}", layer=layer, count=f"{largest:,}", limit=f"{MAX_OUTPUT:,}")
    if macs > MAX_MACS:
        raise ModelUploadError("too_costly", f"a digit costs up to {macs:,} multiply-adds; the limit is {MAX_MACS:,}",
                               count=f"{macs:,}", limit=f"{MAX_MACS:,}")
    for layer in model.layers:  # a run that diverged saves NaN: every page would show NaN probabilities
        for weight in layer.weights:
            values = keras.ops.convert_to_numpy(weight)
            if bad := int(values.size - np.isfinite(values).sum()):
                name = f"{layer.name}/{weight.name}"
                raise ModelUploadError("weights_not_finite", f"{bad:,} of {name}'s numbers are NaN or infinite",
                                       count=f"{bad:,}", weight=name)


def _positions(shape) -> int:
    """The positions a layer's kernel is applied at, for an input of `shape` (batch first, channels
    last): 1 for a flat vector, the timesteps of a sequence, the pixels of an image."""
    return math.prod(shape[1:-1])


def digit_cost(model: keras.Model) -> tuple[int, tuple[int, str]]:
    """An upper bound of the multiply-adds one digit costs `model`, and its largest layer output
    (numbers per digit, the layer's name), from the built model's shapes, before any call. Of the
    allowed layers, each weight is used at most once per position of the layer's input (a Dense or
    Conv2D kernel per pixel or row, an RNN's weights per timestep), and a pooling window once per
    output number. Elementwise work besides (activations, an LSTM's gates) adds a few percent."""
    macs, largest = 0, (0, "")
    for layer in model.layers:
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        macs += layer.count_params() * max((_positions(i.shape) for i in inputs), default=1)
        out = math.prod(layer.output.shape[1:])
        if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            macs += out * math.prod(layer.pool_size)
        largest = max(largest, (out, layer.name))
    return macs, largest


# ---- per-session models, bounded per server ----------------------------------------------------

@dataclass(eq=False)
class Upload:
    """A session's handle on its uploaded model: `filename` as uploaded, `token` its key in a
    `ModelRegistry`. The session keeps the handle; when the session is gone the handle is collected
    and the registry forgets the model."""

    filename: str
    token: str = field(default_factory=lambda: secrets.token_hex(8))


class ModelRegistry:
    """The uploaded models of all sessions, at most `capacity` of them: adding one more drops the
    oldest (its session then finds `get` returning None and says so), and a dropped model leaves the
    `explain.model_cache` caches too, so nothing keeps it alive. Thread-safe: sessions run in
    threads of their own. A collected handle only queues its token: the garbage collector may run
    the finalizer in any thread, even one holding the lock, so the lock is taken later, by the next call."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._models: OrderedDict[str, keras.Model] = OrderedDict()
        self._lock = threading.Lock()
        self._gone: deque[str] = deque()  # tokens of collected handles (deque.append is atomic)

    def _forget_gone(self) -> None:  # with the lock held
        while self._gone:
            if (model := self._models.pop(self._gone.popleft(), None)) is not None:
                model_cache.forget(model)

    def add(self, model: keras.Model, filename: str) -> Upload:
        handle = Upload(filename)
        with self._lock:
            self._forget_gone()
            self._models[handle.token] = model
            while len(self._models) > self.capacity:
                model_cache.forget(self._models.popitem(last=False)[1])
        weakref.finalize(handle, self._gone.append, handle.token)
        return handle

    def get(self, handle: Upload) -> keras.Model | None:
        with self._lock:
            self._forget_gone()
            return self._models.get(handle.token)

    def __len__(self) -> int:
        with self._lock:
            self._forget_gone()
            return len(self._models)
