"""Fast, thread-safe inference on one digit, for pages that rerun on every stroke.

`model.predict` costs about 50 ms a call and an eager call of a recurrent model about 90 ms, because
Keras rebuilds its execution machinery each time. Here each group of models (or sub-models) is traced
once into one `tf.function` graph with a fixed (1, 28, 28) float32 input, so a call of all five
models costs a few milliseconds. Not XLA-compiled: XLA would save about 2 ms a call but costs several
seconds of compiling per function, which every page's first visit after a server start would wait for.
The compiled functions are cached per server and shared by all sessions: building happens under a
lock, calling a built function is thread-safe.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from explain.model_cache import per_model

_SPEC = tf.TensorSpec((1, 28, 28), tf.float32)
_LOCK = threading.RLock()


def skip_graph_rewrites() -> None:
    """Turn TensorFlow's graph optimizer (Grappler) off for this process, before its first compiled call.

    On graphs of one digit its rewrites save nothing measurable (the five models' call 3.6-4.0 ms with
    or without them) but take about half of every function's first call: the five models' trace and
    first call 0.84-1.35 s -> 0.40-0.63 s, an LSTM's input gradient 1.0-1.2 s -> 0.37-0.45 s (a busy
    2-core machine). The app's server calls it; the training child process keeps the optimizer.
    Without rewrites, a graph runs the very ops an eager call runs."""
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


@per_model(maxsize=32)
def _submodel(model: keras.Model, layer_names: tuple[str, ...]) -> keras.Model:
    # model.inputs, not model.input, which a Sequential model (as students save them) refuses.
    return keras.Model(model.inputs[0], [model.get_layer(name).output for name in layer_names],
                       name=f"{model.name}_trace")


def _input_shape(model) -> tuple[int, ...]:
    """The digit's shape as `model` takes it, without the batch axis: (28, 28), or (28, 28, 1) or
    (784,) for an uploaded model; (28, 28) for a callable that is not a Keras model."""
    inputs = getattr(model, "inputs", None)
    return tuple(inputs[0].shape[1:]) if inputs else (28, 28)


def submodel(model: keras.Model, layer_names: Sequence[str]) -> keras.Model:
    """A model from `model`'s input to the outputs of `layer_names` (in that order), sharing its
    weights; built once per (model, names)."""
    with _LOCK:
        return _submodel(model, tuple(layer_names))


@per_model(maxsize=32)
def _compiled(models: tuple[keras.Model, ...]) -> Callable:
    shapes = [(1, *_input_shape(model)) for model in models]

    def call(x):
        outs = []
        for model, shape in zip(models, shapes):
            out = model(tf.reshape(x, shape), training=False)  # inference mode: Dropout passes everything through
            outs.extend(out if isinstance(out, (list, tuple)) else [out])
        return outs

    fn = tf.function(call, input_signature=[_SPEC], jit_compile=False)
    fn(tf.zeros(_SPEC.shape))  # trace and compile now, inside the lock, not in a racing first call
    return fn


def outputs(models: Sequence[keras.Model], x28: np.ndarray) -> list[np.ndarray]:
    """Every output of every model in `models` for one digit `x28` (28, 28) in [0, 1], in order
    (a multi-output model contributes all its outputs), each without the batch axis."""
    with _LOCK:
        fn = _compiled(tuple(models))
    x = tf.convert_to_tensor(np.asarray(x28, np.float32).reshape(_SPEC.shape))
    return [out.numpy()[0] for out in fn(x)]


def probabilities(models: Mapping[str, object], x28: np.ndarray) -> dict[str, np.ndarray]:
    """name -> the model's ten class probabilities (10,) for `x28` (28, 28), in one compiled call
    for all of them; entries that are not models (a file that failed to load) are skipped."""
    names = [name for name, model in models.items() if isinstance(model, keras.Model)]
    return dict(zip(names, outputs([models[name] for name in names], x28)))
