import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from explain import architectures
from explain.models import COMPARED, MODEL_NAMES, MODELS_DIR, ModelFileError, load_model

TARGETS = {"mlp": 0.95, "cnn": 0.98, "lstm": 0.95, "gru": 0.95, "attention": 0.95, "rnn": 0.90, "cnn_bn": 0.98}


def test_model_names_are_the_five_course_networks_then_the_two_baselines():
    assert MODEL_NAMES == ("mlp", "cnn", "lstm", "gru", "attention", "rnn", "cnn_bn")
    assert COMPARED == ("mlp", "cnn", "lstm", "gru", "attention")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shipped_model_reaches_its_recorded_test_accuracy(models, test_digits, name):
    card = json.loads((MODELS_DIR / f"{name}.json").read_text())
    x, y = test_digits
    accuracy = float((models[name](x, training=False).numpy().argmax(1) == y).mean())
    assert abs(accuracy - card["test_accuracy"]) <= 0.005
    assert accuracy >= TARGETS[name]
    assert card["parameters"] == models[name].count_params()


def test_an_unknown_name_is_refused_with_the_valid_ones_listed():
    with pytest.raises(ValueError, match="mlp, cnn, lstm, gru, attention, rnn, cnn_bn"):
        load_model("resnet")


def test_a_damaged_file_names_the_command_that_rebuilds_it(tmp_path, monkeypatch):
    monkeypatch.setattr("explain.models.MODELS_DIR", tmp_path)
    (tmp_path / "gru.keras").write_bytes((MODELS_DIR / "gru.keras").read_bytes()[:500])
    with pytest.raises(ModelFileError, match=r"python -m explain\.train gru") as info:
        load_model("gru")
    assert info.value.problem == "damaged"


def test_cnn_layers_are_named_for_what_they_are(models):
    names = [layer.name for layer in models["cnn"].layers]
    assert names[:8] == ["digit", "image", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    assert [layer.name for layer in models["cnn_bn"].layers] == [
        "digit", "image", "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2", "flatten",
        "fc1", "bn3", "relu3", "fc2", "bn4", "relu4", "output"]
    assert [layer.name for layer in models["rnn"].layers] == ["digit", "rnn1", "dropout1", "rnn2", "dropout2", "output"]


def test_positional_encoding_is_the_sinusoidal_table(models):
    table = architectures.sinusoidal_table(28, 64)
    assert np.allclose(table[:, 0], np.sin(np.arange(28))) and np.allclose(table[:, 1], np.cos(np.arange(28)))
    layer = models["attention"].get_layer("posenc")
    x = np.zeros((1, 28, 64), np.float32)
    assert np.allclose(keras.ops.convert_to_numpy(layer(x))[0], table)


def test_training_is_repeatable(tmp_path):
    """The same command twice gives the same weights, bit for bit. Run as the real command, in its own
    process, because it switches TensorFlow to deterministic ops for good."""
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-m", "explain.train", "mlp", "--epochs", "2", "--out-dir", tmp_path / run],
                       check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    cards = [json.loads((tmp_path / run / "mlp.json").read_text()) for run in ("a", "b")]
    weights = [keras.saving.load_model(tmp_path / run / "mlp.keras", compile=False).get_weights() for run in ("a", "b")]
    assert cards[0]["val_accuracy"] == cards[1]["val_accuracy"] and cards[0]["epochs"] == 2
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
