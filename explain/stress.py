"""The stress set: MNIST's own test digits redrawn the ways a student's digit differs from MNIST's.

Each distortion turns test digits (n, 28, 28) uint8 into 280x280 canvas images (n, 280, 280) uint8,
white strokes on black like the Draw page's canvas, which then go through `to_mnist` like any drawing.
So a model is measured on what the app would give it, not on a distortion of its own input. Built
with PIL and numpy, apart from `explain.augment` (the training distortions): the models are not
measured on the very transformations they were trained with.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

from explain.preprocess import EmptyDrawingError, to_mnist

CANVAS = 280       # the canvas side, px: ten canvas pixels per MNIST pixel
LOW = 10           # the "coarse" digits are rendered at LOW x LOW
CORNER = 112       # the "corner" digits are drawn this large against the canvas's top-left corner
ANGLE = 15.0       # degrees; even-numbered digits turn anticlockwise, odd-numbered ones clockwise
CHUNK = 250        # digits distorted at once: 250 canvases are 20 MB


def allowed_drop(model: str) -> float:
    """The accuracy a model may lose on any distortion (issue #13): 2 points for the CNN, 4 for the others."""
    return 0.02 if model == "cnn" else 0.04


def _large(digit: np.ndarray, size: int = CANVAS) -> Image.Image:
    return Image.fromarray(digit).resize((size, size), Image.BILINEAR)


def _enlarged(digits: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(_large(d)) for d in digits])


def _morphology(canvases: np.ndarray, width: int, reduce: np.ufunc) -> np.ndarray:
    """A square `width` x `width` grey dilation (`np.maximum`) or erosion (`np.minimum`) of (n, H, W)
    images: two one-dimensional passes (the square is separable), each reducing shifted copies."""
    r, (h, w) = width // 2, canvases.shape[1:]
    padded = np.pad(canvases, ((0, 0), (r, r), (0, 0)))
    canvases = reduce.reduce([padded[:, s:s + h] for s in range(width)])
    padded = np.pad(canvases, ((0, 0), (0, 0), (r, r)))
    return reduce.reduce([padded[:, :, s:s + w] for s in range(width)])


def thick(digits: np.ndarray) -> np.ndarray:
    """Strokes 1.6 MNIST pixels wider: a felt pen, or a wide brush. About one bold digit in a thousand
    then covers so much of the canvas that `to_mnist` refuses it as a scribble (two pixels: one in a
    hundred); `stress_digits` counts such a digit as unreadable."""
    return _morphology(_enlarged(digits), 17, np.maximum)


def thin(digits: np.ndarray) -> np.ndarray:
    """Strokes one MNIST pixel narrower: a fine pen."""
    return _morphology(_enlarged(digits), 11, np.minimum)


def blurred(digits: np.ndarray) -> np.ndarray:
    """A Gaussian blur of 1.5 MNIST pixels: an out-of-focus photo."""
    return np.stack([np.asarray(_large(d).filter(ImageFilter.GaussianBlur(15))) for d in digits])


def coarse(digits: np.ndarray) -> np.ndarray:
    """Rendered at LOW x LOW, then scaled back up: a thumbnail, or a low-resolution screen."""
    small = (Image.fromarray(d).resize((LOW, LOW), Image.BOX) for d in digits)
    return np.stack([np.asarray(s.resize((CANVAS, CANVAS), Image.BILINEAR)) for s in small])


def corner(digits: np.ndarray) -> np.ndarray:
    """Small, pushed into the top-left corner of the canvas."""
    out = np.zeros((len(digits), CANVAS, CANVAS), np.uint8)
    out[:, :CORNER, :CORNER] = [np.asarray(_large(d, CORNER)) for d in digits]
    return out


def rotated(digits: np.ndarray) -> np.ndarray:
    """Turned by ANGLE degrees, alternately anticlockwise and clockwise."""
    return np.stack([np.asarray(_large(d).rotate(ANGLE if k % 2 == 0 else -ANGLE, Image.BILINEAR))
                     for k, d in enumerate(digits)])


DISTORTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "thick": thick, "thin": thin, "blurred": blurred, "coarse": coarse, "corner": corner, "rotated": rotated}


def _prepared(canvas: np.ndarray) -> np.ndarray | None:
    try:
        return to_mnist(canvas)
    except EmptyDrawingError:
        return None


def stress_digits(digits: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The test digits (n, 28, 28) uint8 distorted by `name` on a canvas and passed through
    `to_mnist`: (n, 28, 28) float32, ready for any model, and (n,) bool, False where `to_mnist`
    refused the canvas (its digit then is all zeros, and counts as misread)."""
    if name not in DISTORTIONS:
        raise ValueError(f"unknown distortion {name!r}; known: {', '.join(DISTORTIONS)}")
    draw = DISTORTIONS[name]
    prepared = [_prepared(c) for i in range(0, len(digits), CHUNK) for c in draw(digits[i:i + CHUNK])]
    readable = np.array([p is not None for p in prepared])
    blank = np.zeros((28, 28), np.float32)
    return np.stack([blank if p is None else p for p in prepared]), readable
