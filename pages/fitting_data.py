"""The Fitting page's digits, the same for every session: the seeded mini-batches its SGD steps take
and the held-out digits the loss is measured on, prepared once per server. A module of their own, not
the page script, so that the server's warm-up (`pages.warmup`) can prepare what the page's first run
uses before its first visit: preparing them (`to_mnist` on 1,780 digits) was most of that visit."""
from __future__ import annotations

import keras
import numpy as np
import streamlit as st

from explain import autodiff, fitting
from explain.data import load_mnist
from explain.preprocess import to_mnist_batch

BATCH_SIZES = (16, 32, 64, 100, 128)
BATCH, STEPS, MAX_STEPS = 64, 20, 50     # the page's defaults, and its most steps
HELD_OUT = 500           # validation digits the loss after each step is measured on
SEED = 0


@st.cache_resource(show_spinner=False)
def training_split():
    return load_mnist().train


@st.cache_resource(show_spinner=False)
def held_out() -> tuple[np.ndarray, np.ndarray]:
    split = load_mnist().val
    return to_mnist_batch(split.x[:HELD_OUT]), split.y[:HELD_OUT]


@st.cache_data(show_spinner=False, max_entries=3 * MAX_STEPS)
def batch(batch_size: int, iteration: int) -> tuple[np.ndarray, np.ndarray]:
    """One mini-batch of the seeded shuffle, prepared once: a longer run prepares only its new batches."""
    return fitting.mini_batch(training_split(), batch_size, iteration, seed=SEED)


def prepare_first_run(mlp: object) -> None:
    """What the page's first run reads with its default settings, and TensorFlow's forward-mode ops
    traced for the shipped `mlp` (ForwardAccumulator traces each op's tangent function on its first
    use: 0.35 s of the page's first run, 17 ms later; on a blank digit: it serves every digit)."""
    held_out()
    for k in range(STEPS):
        batch(BATCH, k)
    if isinstance(mlp, keras.Model):   # not a ModelFileError
        autodiff.forward_mode(mlp, np.zeros((28, 28), np.float32), 0, 0)
