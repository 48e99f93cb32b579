"""The bundled MNIST database and the seeded split every model and page uses: train / validation from
MNIST's 60,000 training digits, and MNIST's own 10,000 test digits as the test set."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "mnist_full.npz"
SPLIT_SEED = 1234
SPLIT_SIZES = (55000, 5000)   # train, validation: all of MNIST's training digits
TEST_SIZE = 10000             # MNIST's official test set, in its original order
_READING = threading.Lock()


@dataclass(frozen=True)
class Split:
    """One part of the data: `x` uint8 (n, 28, 28) white on black, `y` int64 (n,) labels 0-9."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class MNIST:
    train: Split
    val: Split
    test: Split
    source: str
    sha256: str


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stratified_split(y: np.ndarray, sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Index arrays, one per size, disjoint, each with the classes in the proportions of `y`.

    Each class is shuffled with `seed` and dealt out in proportion, so the split is the same on
    every machine and every class is represented in every part.
    """
    if sum(sizes) > len(y):
        raise ValueError(f"split sizes {sizes} add up to more than the {len(y)} samples")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    fractions = np.array(sizes, dtype=float) / len(y)
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        counts = np.floor(fractions * len(idx)).astype(int)
        start = 0
        for part, count in zip(parts, counts):
            part.append(idx[start:start + count])
            start += count
    out = [rng.permutation(np.concatenate(part)) for part in parts]
    # Flooring per class can leave a part a few samples short: top up from the unused rest.
    used = np.concatenate(out)
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), used))
    for i, size in enumerate(sizes):
        short = size - len(out[i])
        out[i] = np.concatenate([out[i], rest[:short]])
        rest = rest[short:]
    return out


@lru_cache(maxsize=1)
def load_test() -> Split:
    """MNIST's official 10,000 test digits alone, in their original order: the 60,000 training digits
    (and their split) stay unread, a few hundred milliseconds less before the Draw page's first sample."""
    with np.load(BUNDLED) as d:
        return Split(d["x_test"], d["y_test"].astype(np.int64))


def load_mnist(seed: int = SPLIT_SEED) -> MNIST:
    """MNIST from `data/mnist_full.npz`: its 60,000 training digits split, stratified by class and
    seeded, into 55,000 for training and 5,000 for validation (early stopping, model selection), and
    its official 10,000 test digits, in their original order, as `test`: never trained or selected
    on, so test accuracy compares with published figures. Nothing is ever downloaded. Read once per
    process, under a lock (a page and the app's warm-up thread may ask at once)."""
    with _READING:
        return _load_mnist(seed)


@lru_cache(maxsize=2)
def _load_mnist(seed: int) -> MNIST:
    with np.load(BUNDLED) as d:
        x, y = d["x_train"], d["y_train"].astype(np.int64)
    train, val = (Split(x[i], y[i]) for i in stratified_split(y, SPLIT_SIZES, seed))
    return MNIST(train, val, load_test(), source=str(BUNDLED.relative_to(ROOT)), sha256=file_sha256(BUNDLED))
