"""Loading the shipped models by name. Only names from `MODEL_NAMES` ever reach the file system."""
from __future__ import annotations

from pathlib import Path

import keras

from explain import architectures

MODEL_NAMES = ("mlp", "cnn", "lstm", "gru", "attention")
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


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


def _signature(model: keras.Model) -> list[tuple[str, str, tuple]]:
    return [(layer.name, type(layer).__name__, tuple(w.shape for w in layer.weights)) for layer in model.layers]


def load_model(name: str) -> keras.Model:
    """The pretrained model `name` (one of `MODEL_NAMES`) from `models/NAME.keras`.

    Raises `ValueError` for an unknown name and `ModelFileError` (naming the rebuild command) when
    the file is missing, unreadable, or not the architecture `explain.architectures` defines.
    """
    path = model_path(name)
    if not path.exists():
        raise ModelFileError(name, "missing", f"has no file at models/{path.name}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a damaged zip or config
        raise ModelFileError(name, "damaged", f"could not be read from models/{path.name} ({type(exc).__name__})") from exc
    if _signature(model) != _signature(architectures.BUILDERS[name]()):
        raise ModelFileError(name, "architecture", f"file models/{path.name} holds a different architecture")
    return model
