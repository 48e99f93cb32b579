"""Uploaded models: a homework weights file or a notebook's .keras model loads and computes what the
student's own model computes; every malicious or unfit file is refused with a reason that has a
message in both languages, and the payloads hidden in them never run (each would create a file)."""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from explain import architectures, custom, i18n, model_cache, models
from explain.custom import ModelUploadError, load_uploaded

ROOT = Path(__file__).resolve().parent.parent
L = keras.layers
MARKER = "NETLENS_PAYLOAD_MARKER"


def _payload(x):
    """Creates the file named by $NETLENS_PAYLOAD_MARKER when it runs (and only then), then passes x on."""
    target = os.environ.get(MARKER)
    if target:
        open(target, "w").write("ran")
        print("PAYLOAD RAN")
    return x


# The same payload as a Lambda: self-contained, since Keras stores a lambda's bytecode without its module.
PAYLOAD_LAMBDA = lambda x: (__import__("os").environ.get("NETLENS_PAYLOAD_MARKER")  # noqa: E731
                            and print("PAYLOAD RAN") is None
                            and open(__import__("os").environ["NETLENS_PAYLOAD_MARKER"], "w").write("ran"), x)[1]


def lambda_model() -> keras.Model:
    return keras.Sequential([L.Input((28, 28)), L.Lambda(PAYLOAD_LAMBDA, name="lambda"), L.Flatten(name="flatten"),
                             L.Dense(10, activation="softmax", name="dense")])


@keras.saving.register_keras_serializable(package="student")
class Sneaky(L.Layer):
    """A custom layer whose call would run the payload."""

    def call(self, x):
        return _payload(x)


@pytest.fixture
def marker(tmp_path, monkeypatch):
    """The file a payload would create; the test asserts it never appears."""
    path = tmp_path / "payload-ran.txt"
    monkeypatch.setenv(MARKER, str(path))
    return path


@pytest.fixture(scope="module")
def digits(test_digits) -> np.ndarray:
    return test_digits[0][:8]


def saved(model: keras.Model, folder: Path, name: str) -> bytes:
    path = folder / name
    (model.save_weights if name.endswith(".weights.h5") else model.save)(path)
    return path.read_bytes()


def refused(data: bytes, filename: str, reason: str, **kwargs) -> ModelUploadError:
    with pytest.raises(ModelUploadError) as info:
        load_uploaded(data, filename, **kwargs)
    error = info.value
    assert error.reason == reason, str(error)
    for lang in i18n.LANGUAGES:  # a message in both languages, every field filled
        text = i18n.t(error.key, lang, **error.values)
        assert text and "{" not in text.replace("{}", "")
    return error


def homework_lstm(units: int = 32) -> keras.Model:
    """The homework's LSTM as a student writes it: Sequential, default layer names."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([L.Input((28, 28)), L.LSTM(units, return_sequences=True, name="lstm"),
                             L.Dropout(0.2, name="dropout"), L.LSTM(32, name="lstm_1"),
                             L.Dropout(0.3, name="dropout_1"),
                             L.Dense(10, activation="softmax", name="dense")])


def notebook_cnn(input_shape=(28, 28, 1), out: int = 10, activation: str = "softmax") -> keras.Model:
    keras.utils.set_random_seed(4)
    return keras.Sequential([L.Input(input_shape), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                             L.Conv2D(12, 3, padding="same", activation="relu"), L.AveragePooling2D(2),
                             L.Flatten(), L.Dense(32, activation="relu"), L.Dense(out, activation=activation)])


def keras_zip(config: dict, weights: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def parts(data: bytes) -> tuple[dict, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("config.json")), archive.read("model.weights.h5")


# ---- what must load, and compute what the student's own model computes -----------------------

def test_homework_lstm_weights_load_into_our_lstm_and_answer_like_the_students_model(tmp_path, digits):
    student = homework_lstm()
    model = load_uploaded(saved(student, tmp_path, "best.weights.h5"), "best.weights.h5")
    kinds = [type(layer).__name__ for layer in architectures.lstm().layers]
    assert [type(layer).__name__ for layer in model.layers] == kinds
    np.testing.assert_allclose(model(digits).numpy(), student(digits).numpy(), atol=1e-6)
    np.testing.assert_array_equal(model.get_layer("lstm1").get_weights()[1], student.layers[0].get_weights()[1])


@pytest.mark.parametrize("name", [n for n in custom.WEIGHT_ARCHITECTURES if n != "lstm"])
def test_weights_of_every_course_architecture_are_recognised_by_their_shapes(tmp_path, digits, name):
    keras.utils.set_random_seed(5)
    original = architectures.BUILDERS[name]()
    model = load_uploaded(saved(original, tmp_path, "w.weights.h5"), "w.weights.h5")
    assert [layer.name for layer in model.layers] == [layer.name for layer in original.layers]
    np.testing.assert_allclose(model(digits).numpy(), original(digits).numpy(), atol=1e-6)


def test_a_notebook_cnn_saved_as_keras_loads_and_answers_like_the_original(tmp_path, digits):
    original = notebook_cnn()
    original.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model = load_uploaded(saved(original, tmp_path, "my_model.keras"), "my_model.keras")
    np.testing.assert_allclose(model(digits[..., None]).numpy(), original(digits[..., None]).numpy(), atol=1e-6)


def test_flat_784_input_models_are_accepted(tmp_path, digits):
    keras.utils.set_random_seed(6)
    original = keras.Sequential([L.Input((784,)), L.Dense(16, activation="relu"), L.Dense(10, activation="softmax")])
    model = load_uploaded(saved(original, tmp_path, "flat.keras"), "flat.keras")
    flat = digits.reshape(len(digits), 784)
    np.testing.assert_allclose(model(flat).numpy(), original(flat).numpy(), atol=1e-6)


def test_loading_leaves_nothing_behind_in_the_temporary_folder(tmp_path, monkeypatch):
    data = saved(notebook_cnn(), tmp_path, "m.keras")
    weights = saved(homework_lstm(), tmp_path, "m.weights.h5")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    load_uploaded(data, "m.keras")
    load_uploaded(weights, "m.weights.h5")
    assert list(scratch.iterdir()) == []


def test_the_size_limit_is_the_servers_upload_limit():
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == custom.MAX_BYTES


# ---- weights files that do not fit ------------------------------------------------------------

def test_weights_with_other_unit_counts_name_the_layer_the_expected_and_the_found_shape(tmp_path):
    error = refused(saved(homework_lstm(units=64), tmp_path, "w.weights.h5"), "w.weights.h5", "weights_shape")
    assert error.values["layer"] == "lstm" and error.values["ours"] == "lstm1"
    assert error.values["expected"] == "(28, 128)" and error.values["found"] == "(28, 256)"
    assert "(28, 128)" in i18n.t(error.key, "zh", **error.values)


def test_weights_of_a_network_unlike_any_course_network_are_refused(tmp_path):
    keras.utils.set_random_seed(7)
    other = keras.Sequential([L.Input((28, 28)), L.Flatten(), L.Dense(7), L.Dense(9), L.Dense(3), L.Dense(10)])
    error = refused(saved(other, tmp_path, "w.weights.h5"), "w.weights.h5", "weights_architecture")
    assert "dense_3" in error.values["layers"]


def test_an_explicit_architecture_is_checked_against_the_file(tmp_path):
    data = saved(homework_lstm(), tmp_path, "w.weights.h5")
    error = refused(data, "w.weights.h5", "weights_shape", architecture="gru")
    assert error.values["architecture"] == "gru"
    refused(data, "w.weights.h5", "architecture", architecture="resnet")


def test_a_weights_file_that_links_to_another_file_is_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["kernel"] = np.ones((28, 128), np.float32)
    path = tmp_path / "linked.weights.h5"
    with h5py.File(path, "w") as f:
        f["layers/lstm/cell/vars/0"] = h5py.ExternalLink(str(secret), "kernel")
    refused(path.read_bytes(), "linked.weights.h5", "weights_link")


def test_a_weights_file_that_is_not_hdf5_is_refused():
    refused(b"not an hdf5 file at all" * 10, "w.weights.h5", "weights_unreadable")


# ---- .keras files that must be refused, their payloads never run -----------------------------

def test_the_payload_used_below_does_run_when_keras_loads_unsafely(tmp_path, marker):
    """The control: without the app's vetting, this Lambda model runs its payload on load."""
    model = lambda_model()
    marker.unlink(missing_ok=True)  # building the model above ran it once
    path = tmp_path / "lambda.keras"
    model.save(path)
    keras.saving.load_model(path, safe_mode=False)(np.zeros((1, 28, 28), np.float32))
    assert marker.exists()


def test_a_lambda_layer_is_refused_and_never_runs(tmp_path, marker, capsys):
    model = lambda_model()
    marker.unlink(missing_ok=True)  # building the model ran the payload once
    capsys.readouterr()
    data = saved(model, tmp_path, "lambda.keras")
    error = refused(data, "lambda.keras", "lambda")
    assert error.values["layer"] == "lambda"
    assert not marker.exists() and "PAYLOAD RAN" not in capsys.readouterr().out


def test_a_custom_layer_class_is_refused_and_never_runs(tmp_path, marker, capsys):
    model = keras.Sequential([L.Input((28, 28)), Sneaky(name="sneaky"), L.Flatten(), L.Dense(10, activation="softmax")])
    marker.unlink(missing_ok=True)  # building the model ran the payload once
    capsys.readouterr()
    error = refused(saved(model, tmp_path, "custom.keras"), "custom.keras", "custom_object")
    assert error.values["layer"] == "sneaky" and "Sneaky" in error.values["name"]
    assert not marker.exists() and "PAYLOAD RAN" not in capsys.readouterr().out


def test_a_config_naming_a_module_outside_keras_is_refused(tmp_path, marker):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    # CVE-2025-1550: Keras imported any module a config named; this one would create the marker file.
    config["config"]["layers"][1]["module"] = "pathlib"
    config["config"]["layers"][1]["class_name"] = "Path"
    config["config"]["layers"][1]["config"] = {"name": str(marker)}
    error = refused(keras_zip(config, weights), "m.keras", "module")
    assert error.values["module"] == "pathlib"
    assert not marker.exists()


def test_a_function_from_another_module_as_activation_is_refused(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    config["config"]["layers"][1]["config"]["activation"] = {"module": "os", "class_name": "function",
                                                             "config": "system", "registered_name": "function"}
    refused(keras_zip(config, weights), "m.keras", "lambda")


def test_a_config_asking_for_safe_mode_off_is_refused(tmp_path, marker):
    model = lambda_model()
    marker.unlink(missing_ok=True)
    config, weights = parts(saved(model, tmp_path, "m.keras"))
    # CVE-2025-8747: a layer that calls keras.config.enable_unsafe_deserialization before the Lambda.
    config["config"]["layers"].insert(1, {"module": "keras.config", "class_name": "enable_unsafe_deserialization",
                                          "config": {}, "registered_name": None})
    refused(keras_zip(config, weights), "m.keras", "unsafe_mode")
    assert not marker.exists()
    from keras.src.saving import serialization_lib
    assert serialization_lib.in_safe_mode() is not False


def test_a_layer_outside_the_allowlist_is_refused(tmp_path):
    keras.utils.set_random_seed(8)
    model = keras.Sequential([L.Input((28, 28)), L.Conv1D(4, 3), L.Flatten(), L.Dense(10, activation="softmax")])
    error = refused(saved(model, tmp_path, "m.keras"), "m.keras", "layer")
    assert error.values["kind"] == "Conv1D"


def test_an_activation_outside_the_allowlist_is_refused(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    config["config"]["layers"][1]["config"]["activation"] = "deserialize"
    error = refused(keras_zip(config, weights), "m.keras", "activation")
    assert error.values["activation"] == "deserialize"


@pytest.mark.parametrize("entry", ["../payload-ran.txt", "/tmp/netlens-payload-ran.txt", "..\\payload-ran.txt",
                                   "assets/../../payload-ran.txt"])
def test_zip_entries_with_odd_names_are_refused_and_nothing_is_extracted(tmp_path, monkeypatch, entry):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    error = refused(keras_zip(config, weights, {entry: b"ran"}), "m.keras", "zip_name")
    assert error.values["entry"] == entry
    assert not (tmp_path / "work" / "payload-ran.txt").exists() and not (tmp_path / "payload-ran.txt").exists()
    assert not Path("/tmp/netlens-payload-ran.txt").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights + b"\0" * (custom.MAX_UNZIPPED + 1))
    assert len(buffer.getvalue()) < custom.MAX_BYTES  # small on the wire, huge unpacked
    refused(buffer.getvalue(), "m.keras", "zip_bomb")


def test_an_unexpected_zip_entry_is_refused(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    refused(keras_zip(config, weights, {"payload.py": b"print('ran')"}), "m.keras", "zip_entries")


def test_a_file_over_the_size_limit_is_refused():
    error = refused(b"\0" * (custom.MAX_BYTES + 1), "big.keras", "file_too_big")
    assert error.values["limit_mb"] == 5


def test_a_file_that_is_not_a_zip_is_refused():
    refused(b"print('hello')\n" * 20, "model.keras", "not_zip")


def test_a_legacy_h5_full_model_is_refused_and_its_lambda_never_runs(tmp_path, marker):
    model = lambda_model()
    marker.unlink(missing_ok=True)
    path = tmp_path / "model.h5"
    model.save(path)
    refused(path.read_bytes(), "model.h5", "legacy_h5")
    assert not marker.exists()


def test_other_file_types_are_refused():
    refused(b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "digit.png", "file_type")


@pytest.mark.parametrize("builder,reason", [
    (lambda: notebook_cnn(input_shape=(32, 32, 1)), "input_shape"),
    (lambda: notebook_cnn(out=5), "output_shape"),
    (lambda: notebook_cnn(activation="linear"), "output_softmax"),
])
def test_models_of_the_wrong_input_or_output_are_refused(tmp_path, builder, reason):
    refused(saved(builder(), tmp_path, "m.keras"), "m.keras", reason)


def test_a_config_declaring_more_weights_than_allowed_is_refused_before_keras_allocates_them(tmp_path):
    """Keras builds a model from config.json before it reads the (bounded) weights file: a Dense layer
    of 10^8 units would ask for 292 GB (with 10^6, 3 GB that a 2-core classroom server would give)."""
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    dense, output = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    dense["config"]["units"] = 10**8
    output["build_config"]["input_shape"][-1] = 10**8     # the next layer agrees, as an attacker's file would
    error = refused(keras_zip(config, weights), "m.keras", "too_many_params")
    cnn = notebook_cnn()     # what Keras would build: its convolutions, then Dense(10^8) and Dense(10) on top
    convs = sum(layer.count_params() for layer in cnn.layers if isinstance(layer, L.Conv2D))
    flat = next(layer for layer in cnn.layers if isinstance(layer, L.Dense)).input.shape[-1]
    assert error.values["count"] == f"{convs + (flat + 1) * 10**8 + (10**8 + 1) * 10:,}"
    assert custom.declared_params(parts(saved(notebook_cnn(), tmp_path, "n.keras"))[0]) \
        == notebook_cnn().count_params()



def tensorflow_macs(model: keras.Model) -> float:
    """Half of TensorFlow's own count of the float operations in `model`'s graph for one digit (its
    profiler's registry: a multiply-add is two); a while loop's body is not counted."""
    import tensorflow as tf
    spec = tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), autograph=False).get_concrete_function(spec).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / 2


@pytest.mark.parametrize("name", ["mlp", "cnn", "notebook_cnn", "unrolled_lstm"])
def test_a_digits_cost_bounds_tensorflows_own_count_of_its_multiply_adds(name):
    """The bound an upload is held to, against TensorFlow's count (an LSTM unrolled, so that its
    timesteps are in the graph): at least what the weights cost (TensorFlow also counts elementwise
    work: an LSTM's gate products), at most twice the whole count; for a plain MLP, that count."""
    keras.utils.set_random_seed(1)
    model = {"notebook_cnn": notebook_cnn,
             "unrolled_lstm": lambda: keras.Sequential([L.Input((28, 28)), L.LSTM(16, unroll=True),
                                                        L.Dense(10, activation="softmax")]),
             }.get(name, lambda: models.load_model(name))()
    bound, (largest, _) = custom.digit_cost(model)
    counted = tensorflow_macs(model)
    assert 0.97 * counted <= bound <= 2 * counted
    assert largest == max(np.prod(layer.output.shape[1:]) for layer in model.layers)
    if name == "mlp":
        assert bound == pytest.approx(counted, rel=1e-3)


@pytest.mark.parametrize("layers,reason", [
    ([L.Conv2D(3000, 1)], "output_too_big"),          # 6,000 weights, 784 x 3,000 numbers out
    ([L.Conv2D(64, 3, padding="same"), L.Conv2D(500, 3, padding="same"), L.Conv2D(16, 3, padding="same")],
     "too_costly"),                                    # 0.36M weights, applied at 784 pixels each
])
def test_a_model_too_costly_for_a_shared_server_is_refused_before_it_runs(tmp_path, layers, reason):
    model = keras.Sequential([L.Input((28, 28, 1)), *layers, L.GlobalAveragePooling2D(),
                              L.Dense(10, activation="softmax")])
    assert model.count_params() < custom.MAX_PARAMS
    error = refused(saved(model, tmp_path, "m.keras"), "m.keras", reason)
    if reason == "output_too_big":
        assert error.values["layer"] == model.layers[0].name and error.values["count"] == f"{784 * 3000:,}"
    else:
        assert tensorflow_macs(model) > custom.MAX_MACS

def test_a_config_with_too_many_layers_is_refused_before_keras_builds_it(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    layers = config["config"]["layers"]
    dropout = {"module": "keras.layers", "class_name": "Dropout", "registered_name": None,
               "config": {"name": "dropout", "rate": 0.1, "trainable": True, "dtype": "float32"}}
    config["config"]["layers"] = layers[:-1] + [{**dropout, "config": {**dropout["config"], "name": f"d{k}"}}
                                                for k in range(custom.MAX_LAYERS)] + layers[-1:]
    refused(keras_zip(config, weights), "m.keras", "too_many_layers")


def zip_with(tmp_path, transform) -> bytes:
    """The notebook CNN's .keras file, its bytes changed by `transform` (bytearray -> None)."""
    data = bytearray(saved(notebook_cnn(), tmp_path, "m.keras"))
    transform(data)
    return bytes(data)


def test_an_encrypted_zip_entry_is_refused_with_a_message(tmp_path):
    def encrypt(data: bytearray) -> None:     # set the "encrypted" flag in every local and central header
        for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            start = data.find(signature)
            while start >= 0:
                data[start + flags] |= 1
                start = data.find(signature, start + 4)
    refused(zip_with(tmp_path, encrypt), "m.keras", "zip_encrypted")


def test_a_damaged_compressed_entry_is_refused_with_a_message(tmp_path):
    config, weights = parts(saved(notebook_cnn(), tmp_path, "m.keras"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    data = bytearray(buffer.getvalue())
    start = data.find(b"config.json") + len("config.json")
    data[start + 8:start + 40] = bytes(b ^ 0x55 for b in data[start + 8:start + 40])   # inside the deflate stream
    refused(bytes(data), "m.keras", "not_zip")


def test_a_config_nested_past_pythons_recursion_limit_is_refused_with_a_message():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "[" * 100_000 + "]" * 100_000)
        archive.writestr("model.weights.h5", b"")
    refused(buffer.getvalue(), "m.keras", "config")


def test_a_functional_config_whose_output_names_a_missing_layer_is_refused_with_a_message(tmp_path):
    inputs = L.Input((784,))
    config, weights = parts(saved(keras.Model(inputs, L.Dense(10, activation="softmax")(inputs)), tmp_path, "m.keras"))
    config["config"]["output_layers"] = [["missing", 0, 0]]
    refused(keras_zip(config, weights), "m.keras", "keras_load")


def test_every_refusal_reason_has_a_message_in_both_languages():
    reasons = set(re.findall(r'ModelUploadError\(\s*"(\w+)"', (ROOT / "explain" / "custom.py").read_text()))
    for lang in i18n.LANGUAGES:
        assert {f"error.model.{r}" for r in reasons} <= i18n.strings(lang).keys()


# ---- the server's registry of uploaded models --------------------------------------------------

def test_the_registry_keeps_the_newest_models_and_drops_the_oldest_first():
    registry = custom.ModelRegistry(capacity=2)
    models = [keras.Sequential([L.Input((784,)), L.Dense(10, activation="softmax")]) for _ in range(3)]
    handles = [registry.add(model, f"m{k}.keras") for k, model in enumerate(models)]
    assert registry.get(handles[0]) is None
    assert registry.get(handles[1]) is models[1] and registry.get(handles[2]) is models[2]
    assert len(registry) == 2


def test_a_model_is_forgotten_when_its_sessions_handle_is_gone():
    import gc
    registry = custom.ModelRegistry(capacity=4)
    handle = registry.add(keras.Sequential([L.Input((784,)), L.Dense(10, activation="softmax")]), "m.keras")
    keep = registry.add(keras.Sequential([L.Input((784,)), L.Dense(10, activation="softmax")]), "n.keras")
    del handle
    gc.collect()
    assert len(registry) == 1 and registry.get(keep) is not None


def _use_everywhere(cnn: keras.Model, lstm: keras.Model) -> None:
    """What the pages do with an upload: probabilities, the CNN trace, the gates, the row gradients."""
    from explain import conv, gradients, inference, recurrent
    x28 = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    inference.probabilities({"cnn": cnn, "lstm": lstm}, x28)
    conv.trace(cnn, x28)
    recurrent.gate_trace(lstm, x28)
    gradients.row_gradients(lstm, x28, 3)


def _uploads() -> tuple[keras.Model, keras.Model]:
    cnn = keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(2, 3, activation="relu"), L.MaxPooling2D(2),
                            L.Flatten(), L.Dense(10, activation="softmax")])
    lstm = keras.Sequential([L.Input((28, 28)), L.LSTM(4), L.Dense(10, activation="softmax")])
    return cnn, lstm


def test_a_model_the_registry_drops_is_freed_with_everything_the_pages_built_from_it():
    import gc
    import weakref
    registry = custom.ModelRegistry(capacity=2)
    cnn, lstm = _uploads()
    registry.add(cnn, "cnn.keras"), registry.add(lstm, "lstm.keras")
    _use_everywhere(cnn, lstm)
    alive = [weakref.ref(cnn), weakref.ref(lstm)]
    del cnn, lstm
    gc.collect()
    assert all(ref() is not None for ref in alive)      # the registry still holds them
    newer = _uploads()
    registry.add(newer[0], "a.keras"), registry.add(newer[1], "b.keras")   # drops both
    gc.collect()
    assert [ref() for ref in alive] == [None, None]


def test_without_the_registrys_word_the_caches_would_keep_a_model_alive():
    """The control: the per-model caches alone hold a used model; `model_cache.forget` lets it go."""
    import gc
    import weakref
    cnn, lstm = _uploads()
    _use_everywhere(cnn, lstm)
    alive = [weakref.ref(cnn), weakref.ref(lstm)]
    del cnn, lstm
    gc.collect()
    assert all(ref() is not None for ref in alive)      # nothing but the caches holds them now
    for ref in alive:
        model_cache.forget(ref())
    gc.collect()
    assert [ref() for ref in alive] == [None, None]


def test_the_readme_states_the_limits_the_code_enforces():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your own model"):]
    section = section[:section.index("\n## ", 3)]
    assert f"at most {custom.MAX_BYTES // 2**20} MB" in section
    assert f"keeps at most {custom.MAX_SESSIONS} of them" in section
    assert f"{custom.MAX_LAYERS} layers and {custom.MAX_PARAMS:,} weights" in section.replace("\n", " ")
    assert "(28, 28)" in section and custom.INPUT_SHAPES[0] == (28, 28)


def test_the_html_export_compares_the_uploaded_model_with_the_five(models, test_digits):
    import re

    from explain import export
    from explain.models import COMPARED
    keras.utils.set_random_seed(9)
    own = keras.Sequential([L.Input((784,)), L.Dense(10, activation="softmax")])
    x = test_digits[0][12]
    page = export.explanation_html({**{n: models[n] for n in COMPARED}, custom.UPLOADED: own}, x, "#12", "en")
    data = json.loads(re.search(r'<script type="application/json" id="netlens_data">(.*?)</script>', page,
                                re.S).group(1).replace("<\\/", "</"))
    assert list(data["probabilities"]) == [*COMPARED, custom.UPLOADED]
    np.testing.assert_allclose(data["probabilities"][custom.UPLOADED], own(x.reshape(1, 784)).numpy()[0], atol=1e-6)
    assert "<td>Your model</td>" in page


# ---- the upload's HDF5 is parsed in a child process -------------------------------------------

def test_the_server_process_never_opens_an_uploaded_hdf5_file(tmp_path, monkeypatch, digits):
    """h5py in the server opens only files of our own making (paths in our temporary folders), never the
    upload's bytes: those go to `explain.untrusted_h5`'s child process. Both kinds of upload still load
    and answer like the student's model."""
    opened = []
    real = h5py.File

    def watched(name, *args, **kwargs):  # a path, or the bytes of a file object Keras opens from our archive
        if hasattr(name, "read"):
            at = name.tell()
            opened.append(name.read())
            name.seek(at)
        else:
            opened.append(name)
        return real(name, *args, **kwargs)

    lstm, cnn = homework_lstm(), notebook_cnn()
    weights, keras_file = saved(lstm, tmp_path, "hw.weights.h5"), saved(cnn, tmp_path, "nb.keras")
    monkeypatch.setattr(custom.h5py, "File", watched)
    from_weights = load_uploaded(weights, "hw.weights.h5")
    from_keras = load_uploaded(keras_file, "nb.keras")
    uploaded = zipfile.ZipFile(io.BytesIO(keras_file)).read("model.weights.h5")
    assert opened and all("netlens-" in str(name) for name in opened if not isinstance(name, bytes)), opened
    assert not any(isinstance(name, bytes) and name in (weights, uploaded) for name in opened)
    np.testing.assert_allclose(from_weights(digits).numpy(), lstm(digits).numpy(), atol=1e-6)
    np.testing.assert_allclose(from_keras(digits[..., None]).numpy(), cnn(digits[..., None]).numpy(), atol=1e-6)


def test_a_reader_that_dies_refuses_the_file_with_a_message_and_the_server_goes_on(tmp_path):
    from explain import untrusted_h5
    data = saved(homework_lstm(), tmp_path, "hw.weights.h5")
    starved = untrusted_h5.read(data, custom.MAX_PARAMS, memory=16 * 1024 ** 2)  # too little to start h5py
    assert starved.problem[0] == "weights_unreadable" and "exit code" in starved.problem[1]
    whole = untrusted_h5.read(data, custom.MAX_PARAMS)
    assert whole.problem is None
    with h5py.File(io.BytesIO(data)) as f:  # the test reads the file itself: the child gave back every number
        expected = {}
        f.visititems(lambda name, obj: expected.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    assert whole.arrays.keys() == expected.keys()
    assert all(np.array_equal(whole.arrays[k], v) and whole.arrays[k].dtype == v.dtype for k, v in expected.items())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_model_whose_weights_diverged_is_refused_with_the_weight_named(tmp_path, bad):
    model = notebook_cnn()
    kernel = model.layers[0].kernel
    values = kernel.numpy()
    values[0, 0, 0, :3] = bad
    kernel.assign(values)
    with pytest.raises(ModelUploadError) as caught:
        load_uploaded(saved(model, tmp_path, "diverged.keras"), "diverged.keras")
    assert caught.value.reason == "weights_not_finite"
    assert caught.value.values == {"count": "3", "weight": f"{model.layers[0].name}/kernel"}
    assert f"{model.layers[0].name}/kernel" in i18n.t(caught.value.key, "zh", **caught.value.values)
