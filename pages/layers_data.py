"""The Dropout & BatchNorm page's inputs that do not depend on the student's digit, the same for
every session: the MLP's SGD steps on seeded training mini-batches, the prepared test digits batch
mates come from, the models' card batch sizes. A module of their own, not the page script, so that
the server's warm-up (`pages.warmup`) can do before the page's first visit what its first run with
the default settings would: on a fresh server that run spent 0.36 s on the SGD steps (0.22 s of it
preparing their 384 training digits), 0.69 s tracing the batch-normalised CNN's two runs (inference
and training mode) and 0.12 s preparing the default batch mates (cProfile through AppTest)."""
from __future__ import annotations

import json

import keras
import numpy as np
import streamlit as st

from explain import batchnorm, dropout, inference
from explain.models import MODELS_DIR
from explain.preprocess import PreparedDigits, to_mnist_batch
from pages.fitting_data import training_split
from pages.shared import shipped_model, test_split

SGD_STEPS, SGD_RATE, SEED = 3, 0.1, 0       # the page's defaults


@st.cache_data(show_spinner=False)
def card_batch_size(model_name: str) -> int:
    """The mini-batch size the shipped model was trained with, from its card."""
    return int(json.loads((MODELS_DIR / f"{model_name}.json").read_text())["recipe"]["batch_size"])


@st.cache_data(show_spinner=False, max_entries=4)
def sgd(_model, model_name: str, batch_size: int, steps: int, seed: int, learning_rate: float):
    """The mini-batches (x (batch, 28, 28), y (batch,)) in order, and the SGD steps through them."""
    split = training_split()
    batches = [(to_mnist_batch(split.x[i]), split.y[i])
               for i in dropout.minibatches(len(split.y), batch_size, steps, seed)]
    return batches, dropout.sgd_steps(_model, batches, seed, learning_rate)


@st.cache_resource(show_spinner=False)
def prepared_test() -> tuple[PreparedDigits, np.ndarray]:
    """The test digits as the models read them, (10000, 28, 28), each prepared when first picked as
    a batch mate, and their labels."""
    split = test_split()
    return PreparedDigits(split.x), split.y


def mates(kind: str, label: int, size: int, seed: int) -> np.ndarray:
    """(size - 1, 28, 28) prepared test digits: random ones, or of class `label` (`kind` "random" or
    "class"; the page makes "copies" of the digit itself)."""
    x, y = prepared_test()
    return x[batchnorm.choose_mates(y, size - 1, seed, label if kind == "class" else None)]


def prepare_first_run() -> None:
    """What the page's first run with its default settings does whatever the digit: the MLP's SGD
    steps, the default batch mates, the batch-normalised CNN's runs in both modes traced and the
    formula's sub-model compiled (on a blank digit: they serve every digit)."""
    mlp, cnn_bn = shipped_model("mlp"), shipped_model("cnn_bn")
    if isinstance(mlp, keras.Model):
        sgd(mlp, "mlp", card_batch_size("mlp"), SGD_STEPS, SEED, SGD_RATE)
    size = card_batch_size("cnn_bn")
    batch = mates("random", 0, size, SEED)
    if isinstance(cnn_bn, keras.Model):
        blank = np.zeros((28, 28), np.float32)
        alone = batchnorm.bn_run(cnn_bn, blank)
        batchnorm.bn_run(cnn_bn, blank, batchnorm.mini_batch(blank, batch, size))
        first = alone.layers[0].layer_name    # the formula's check, the layer shown first
        inference.outputs([inference.submodel(cnn_bn, [first])], blank)
