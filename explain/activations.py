"""Numpy softmax, the one every page's hand arithmetic uses (CNN output, attention weights, a
recurrent model's output layer), so the shift that keeps exp from overflowing is written once."""
from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """g(z_m) = e^{z_m} / sum_k e^{z_k} along `axis` (any shape in, same shape out), computed after
    subtracting the maximum along that axis: the same result, and exp never overflows."""
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
