"""Loading the shipped models by name. Only names from `MODEL_NAMES` ever reach the file system."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras

from explain import architectures

MODEL_NAMES = ("mlp", "cnn", "lstm", "gru", "attention", "rnn", "cnn_bn")
# The five course networks that the Draw page and the HTML export set side by side.
COMPARED = MODEL_NAMES[:5]
# NETLENS_MODELS_DIR points the app at another folder, e.g. to rehearse a broken or missing model file.
MODELS_DIR = Path(os.environ.get("NETLENS_MODELS_DIR") or Path(__file__).resolve().parent.parent / "models")
# What reading a damaged .keras archive raises: zipfile's BadZipFile (a bad CRC, a cut-off archive),
# KeyError (an entry missing; h5py: an object missing or corrupt), OSError (h5py: not, or no longer,
# an HDF5 file), RuntimeError (h5py: a corrupt HDF5 structure), ValueError (bad JSON; Keras: weights
# that do not fit), TypeError (JSON of the wrong shape). Anything else (MemoryError, a library change)
# is not the file's fault and surfaces rather than reading "damaged, rebuild it".
DAMAGED_ARCHIVE = (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, TypeError)


class ModelFileError(RuntimeError):
    """A shipped model file is missing, damaged or holds another architecture.

    `name` is the model, `problem` one of "missing", "damaged", "architecture", and `command`
    the command that rebuilds it, so the app can say all three in the user's language.
    """

    def __init__(self, name: str, problem: str, detail: str):
        self.name, self.problem, self.command = name, problem, f"python -m explain.train {name}"
        super().__init__(f"model '{name}' {detail}; rebuild it with: {self.command}")


def check_name(name: str) -> str:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid models are: {', '.join(MODEL_NAMES)}")
    return name


def model_path(name: str) -> Path:
    return MODELS_DIR / f"{check_name(name)}.keras"


def _stored_layers(path: Path) -> list[tuple[str, str]]:
    """(name, class) of each layer recorded in a .keras archive's config."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return [(layer["config"]["name"], layer["class_name"]) for layer in config["config"]["layers"]]


def load_model(name: str) -> keras.Model:
    """The pretrained model `name` (one of `MODEL_NAMES`) from `models/NAME.keras`.

    The network is built from `explain.architectures` and only the weights come from the file, so a
    file saved by a newer Keras still loads, and a file holding another network is caught. Raises
    `ValueError` for an unknown name and `ModelFileError` (naming the rebuild command) when the file
    is missing, unreadable, or not the architecture `explain.architectures` defines.
    """
    path = model_path(name)
    if not path.exists():
        raise ModelFileError(name, "missing", f"has no file at models/{path.name}")
    model = architectures.BUILDERS[name]()
    try:
        stored = _stored_layers(path)
    except DAMAGED_ARCHIVE as exc:
        raise ModelFileError(name, "damaged",
                             f"could not be read from models/{path.name} ({type(exc).__name__})") from exc
    if stored != [(layer.name, type(layer).__name__) for layer in model.layers]:
        raise ModelFileError(name, "architecture", f"file models/{path.name} holds a different architecture")
    try:
        model.load_weights(path)
    except DAMAGED_ARCHIVE as exc:
        raise ModelFileError(name, "damaged",
                             f"weights could not be read from models/{path.name} ({type(exc).__name__})") from exc
    return model
