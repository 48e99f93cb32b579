"""Distortions that real drawings have, applied to the training digits batch by batch.

A student's digit differs from MNIST's in ways `to_mnist` cannot undo: the hand wobbles (elastic
deformation, Simard, Steinkraus & Platt 2003, the classic for MNIST), the digit leans or is squashed
(rotation, shear, aspect), the pen is finer or bolder (stroke thickness), and a photo or a thumbnail is
soft (blur, low resolution). Each batch of prepared digits (n, 28, 28) float32 in [0, 1] gets a random
mix of these and is then refitted as `to_mnist` fits a drawing (strokes stretched to full ink, the
ink's box scaled to 20 px, centred by its centre of mass), with a little jitter of that box's size and
place (scale, shift), so that the models see what the app would hand them.

All of it is vectorised numpy: a warp is one bilinear sampling, a blur or a low-resolution render is
a (28, 28) matrix M applied as M x M^T, and one `numpy.random.Generator` drives it, so a batch of 128
costs about 20 ms on one core and a seeded run is the same on every machine. (scipy.ndimage would be the
usual tool, but the app does not otherwise need scipy, and each operation here is a few lines.)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from explain.preprocess import BOX, CENTRE, INK, SIZE


@dataclass(frozen=True)
class Distortions:
    """How often (probabilities) and how strongly; the defaults are what the shipped models saw."""

    clean: float = 0.2        # share of digits left exactly as `to_mnist` made them
    elastic: float = 0.5      # share deformed elastically ...
    alpha: float = 34.0       # ... with Simard's displacement scale (px) ...
    sigma: float = 4.0        # ... and smoothing (px): about 1.4 px of displacement on average
    rotation: float = 15.0    # degrees, uniform in +-rotation
    shear: float = 0.15       # horizontal shear, uniform in +-shear
    aspect: float = 0.15      # log of the width / height stretch, uniform in +-aspect
    thickness: float = 0.5    # share whose strokes are made thinner or bolder
    thinner: float = 0.7      # at most this much of a one-pixel erosion ...
    bolder: float = 1.0       # ... or of a one-pixel dilation
    blur: float = 0.15        # share blurred, with a Gaussian of 0.5 to 1.5 px
    coarse: float = 0.15      # share rendered at 7 to 14 px and scaled back up
    scale: float = 0.1        # the refitted box is BOX * (1 +- scale)
    shift: float = 1.5        # px the refitted centre of mass may move, in each direction


def augment(x: np.ndarray, rng: np.random.Generator, d: Distortions = Distortions()) -> np.ndarray:
    """Distorted copies (n, 28, 28) in [0, 1], float64, of the prepared digits `x` (n, 28, 28)."""
    x = np.asarray(x, np.float32)
    out = _refit(_filtered(_thickened(_warped(x, rng, d), rng, d), rng, d), rng, d)
    keep = rng.random(len(x)) < d.clean
    # A distortion that erased a digit (an erosion of a faint one) gives the digit back unchanged.
    keep |= out.max(axis=(1, 2)) <= INK
    return np.where(keep[:, None, None], x, out)


def sample(x: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of the images `x` (n, H, W) at pixel coordinates `ys`, `xs` (n, H, W),
    zero outside the image."""
    n, h, w = x.shape
    flat = np.pad(x, ((0, 0), (1, 1), (1, 1))).astype(np.float32).ravel()     # (n, h + 2, w + 2)
    ys = (np.clip(ys, -1, h) + 1).astype(np.float32)
    xs = (np.clip(xs, -1, w) + 1).astype(np.float32)
    y0, x0 = np.minimum(ys.astype(np.int32), h), np.minimum(xs.astype(np.int32), w)   # floor: coords >= 0
    wy, wx = ys - y0, xs - x0
    at = (np.arange(n, dtype=np.int32)[:, None, None] * (h + 2) + y0) * (w + 2) + x0
    top = flat[at] + wx * (flat[at + 1] - flat[at])
    bottom = flat[at + w + 2] + wx * (flat[at + w + 3] - flat[at + w + 2])
    return top + wy * (bottom - top)


def gaussian_matrix(sigma: float, size: int = SIZE) -> np.ndarray:
    """(size, size): row i holds the normalised Gaussian weights of every pixel around pixel i, so
    M @ v blurs a column v and M @ x @ M.T blurs an image x."""
    d = np.arange(size)[:, None] - np.arange(size)[None, :]
    m = np.exp(-0.5 * (d / sigma) ** 2)
    return m / m.sum(axis=1, keepdims=True)


@lru_cache(maxsize=16)
def coarse_matrix(low: int, size: int = SIZE) -> np.ndarray:
    """(size, size): averaging `size` pixels down to `low` (each low pixel the mean of the pixels it
    covers, weighted by the area they share), then bilinear interpolation back up to `size`, as PIL's
    BILINEAR resize does. (PIL's BOX resize gives the same average when `low` divides `size`.)"""
    edges = np.arange(low + 1) * size / low
    left, right = np.arange(size), np.arange(size) + 1
    down = np.clip(np.minimum(edges[1:, None], right) - np.maximum(edges[:-1, None], left), 0, None)
    down /= down.sum(axis=1, keepdims=True)                                       # (low, size)
    centre = (np.arange(size) + 0.5) * low / size - 0.5
    up = np.clip(1 - np.abs(centre[:, None] - np.arange(low)[None, :]), 0, None)
    up /= up.sum(axis=1, keepdims=True)                                           # (size, low)
    return up @ down


def _warped(x: np.ndarray, rng: np.random.Generator, d: Distortions) -> np.ndarray:
    """Rotation, shear and aspect about the image centre, plus (for a share) Simard's elastic field:
    uniform noise in [-1, 1] per pixel and direction, smoothed by a Gaussian of `sigma`, times `alpha`."""
    n = len(x)
    angle = np.deg2rad(rng.uniform(-d.rotation, d.rotation, n))
    shear = rng.uniform(-d.shear, d.shear, n)
    stretch = np.exp(rng.uniform(-d.aspect, d.aspect, n) / 2)
    cos, sin, zero = np.cos(angle), np.sin(angle), np.zeros(n)
    rotate = np.array([[cos, -sin], [sin, cos]]).transpose(2, 0, 1)             # (n, 2, 2), (y, x) axes
    sheared = np.array([[1 + zero, zero], [shear, 1 + zero]]).transpose(2, 0, 1)
    stretched = np.array([[stretch, zero], [zero, 1 / stretch]]).transpose(2, 0, 1)
    affine = rotate @ sheared @ stretched
    centre = (SIZE - 1) / 2
    grid = np.stack(np.mgrid[0:SIZE, 0:SIZE]).astype(np.float64) - centre      # (2, 28, 28)
    coords = np.einsum("nab,bij->naij", affine, grid) + centre
    g = gaussian_matrix(d.sigma)
    noise = rng.uniform(-1, 1, (n, 2, SIZE, SIZE))
    field = g @ noise @ g.T
    elastic = (rng.random(n) < d.elastic) * d.alpha
    coords += field * elastic[:, None, None, None]
    return sample(x, coords[:, 0], coords[:, 1])


def _thickened(x: np.ndarray, rng: np.random.Generator, d: Distortions) -> np.ndarray:
    """For a share, part of a one-pixel grey erosion (thinner) or dilation (bolder) by a plus-shaped
    neighbourhood, blended in by a random amount."""
    n = len(x)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    neighbours = np.stack([padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                           padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])
    amount = rng.uniform(-d.thinner, d.bolder, n) * (rng.random(n) < d.thickness)
    bold, fine = np.maximum(amount, 0)[:, None, None], np.maximum(-amount, 0)[:, None, None]
    return x + bold * (neighbours.max(axis=0) - x) + fine * (neighbours.min(axis=0) - x)


def _filtered(x: np.ndarray, rng: np.random.Generator, d: Distortions) -> np.ndarray:
    """For a share, a Gaussian blur; for another, a low-resolution render: both as M x M^T."""
    n = len(x)
    eye = np.eye(SIZE)
    sigmas = rng.uniform(0.5, 1.5, n)
    lows = rng.integers(7, 15, n)
    blurred, coarse = rng.random(n) < d.blur, rng.random(n) < d.coarse
    m = np.stack([(gaussian_matrix(s) if b else eye) @ (coarse_matrix(int(k)) if c else eye)
                  for s, k, b, c in zip(sigmas, lows, blurred, coarse)])
    return (m @ x @ m.transpose(0, 2, 1)).astype(np.float32)


def _stretched(x: np.ndarray) -> np.ndarray:
    """`to_mnist`'s level stretch: the median is black, the 90th percentile of the strokes (pixels
    more than 0.15 above it) is white."""
    n = len(x)
    flat = x.reshape(n, -1)
    background = np.median(flat, axis=1)
    strokes = flat > background[:, None] + 0.15
    count = strokes.sum(axis=1)
    ordered = np.sort(np.where(strokes, flat, -1.0), axis=1)                    # strokes last, ascending
    position = flat.shape[1] - count + 0.9 * np.maximum(count - 1, 0)             # np.percentile's "linear"
    low = np.minimum(np.floor(position).astype(int), flat.shape[1] - 1)
    high = np.minimum(low + 1, flat.shape[1] - 1)
    rows = np.arange(n)
    top = ordered[rows, low] + (position - low) * (ordered[rows, high] - ordered[rows, low])
    top = np.where(count > 0, top, background + 1)
    return np.clip((x - background[:, None, None]) / (top - background)[:, None, None], 0, 1)


def _refit(x: np.ndarray, rng: np.random.Generator, d: Distortions) -> np.ndarray:
    """`to_mnist`'s fit, vectorised: the ink's bounding box (pixels above INK) scaled so its longer
    side is BOX * (1 +- scale), placed with its centre of mass at CENTRE +- shift (kept inside the
    field), by bilinear sampling."""
    n = len(x)
    x = _stretched(x)
    ink = x > INK
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    top, bottom = rows.argmax(axis=1), SIZE - rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), SIZE - cols[:, ::-1].argmax(axis=1)
    idx = np.arange(SIZE)
    inside = ((idx[None, :, None] >= top[:, None, None]) & (idx[None, :, None] < bottom[:, None, None])
              & (idx[None, None, :] >= left[:, None, None]) & (idx[None, None, :] < right[:, None, None]))
    x = np.where(inside, x, 0)
    mass = np.maximum(x.sum(axis=(1, 2)), 1e-6)
    cy, cx = (x.sum(axis=2) @ idx) / mass, (x.sum(axis=1) @ idx) / mass
    scale = BOX * (1 + rng.uniform(-d.scale, d.scale, n)) / np.maximum(bottom - top, right - left).clip(1)
    oy = CENTRE + rng.uniform(-d.shift, d.shift, n)
    ox = CENTRE + rng.uniform(-d.shift, d.shift, n)
    oy = np.clip(oy, (cy - top + 0.5) * scale, SIZE - (bottom - 0.5 - cy) * scale)
    ox = np.clip(ox, (cx - left + 0.5) * scale, SIZE - (right - 0.5 - cx) * scale)
    ys = cy[:, None, None] + (idx[None, :, None] - oy[:, None, None]) / scale[:, None, None]
    xs = cx[:, None, None] + (idx[None, None, :] - ox[:, None, None]) / scale[:, None, None]
    return np.clip(sample(x, np.broadcast_to(ys, x.shape), np.broadcast_to(xs, x.shape)), 0, 1)
