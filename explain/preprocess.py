"""The one preprocessing path: training digits, canvas drawings, uploads and samples all go through
`to_mnist`, so the models always see input prepared the way MNIST prepared its digits."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

BOX = 20          # MNIST fitted each digit into a 20x20 box ...
SIZE = 28         # ... and centred it by its centre of mass in a 28x28 field.
CENTRE = 14.0     # where MNIST's centres of mass sit, in pixel-index coordinates (measured on the data)
MAX_SIDE = 560    # larger uploads (phone photos) are shrunk first: the result is 28x28 anyway
INK = 0.12        # a pixel counts as ink above this fraction of the brightest stroke
MIN_EXTENT = 0.06  # ink whose bounding box is smaller than this share of the image is a dot, not a digit
MAX_COVER = 0.4   # MNIST's boldest digit covers 35% of its 28x28 field; more ink than this is a scribble
BLOB = 13         # a brush dot fitted into the 20x20 box holds a solid 13x13 square; MNIST's boldest digits 9x9


class EmptyDrawingError(ValueError):
    """The input has no digit to read: it is blank, holds only a dot or blob, or is a scribble.

    `reason` is "blank", "tiny" or "scribble", so the app can say it in the user's language
    (`key`, under "error.drawing." for the canvas; pages use "error.upload." for an uploaded picture).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.values, self.key = reason, {}, f"error.drawing.{reason}"


@dataclass(frozen=True)
class Steps:
    """What `to_mnist` did, for showing: each stage as a float32 array in [0, 1], white on black.

    `ink` (H, W) the input as ink intensity; `crop` (h, w) cut to the ink's bounding box;
    `fitted` (<=20, <=20) scaled into the 20x20 box; `final` (28, 28) centred by centre of mass.
    `box` is the crop as (top, bottom, left, right) in `ink`'s pixels; `inverted` says whether the
    input was dark on light.
    """

    ink: np.ndarray
    crop: np.ndarray
    fitted: np.ndarray
    final: np.ndarray
    box: tuple[int, int, int, int]
    inverted: bool

    @property
    def scale(self) -> float:
        """The factor the crop was scaled by into the 20x20 box (its longer side becomes 20 px);
        `fitted`'s sides are the crop's times this, rounded."""
        return fit_scale(*self.crop.shape)


def _shrunk_size(h: int, w: int) -> tuple[int, int] | None:
    """(width, height) that fits MAX_SIDE, or None when the image is small enough already."""
    scale = MAX_SIDE / max(h, w)
    return None if scale >= 1 else (max(1, round(w * scale)), max(1, round(h * scale)))


def _pil_array(image: Image.Image) -> np.ndarray:
    """A PIL image (any mode, any size) as an 8-bit L/LA/RGB/RGBA array no larger than MAX_SIDE: the
    shrinking happens on 8-bit pixels, so a large upload never becomes a large float array."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8))
    elif image.mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    size = _shrunk_size(image.height, image.width)
    return np.asarray(image if size is None else image.resize(size, Image.BOX))


def _as_array(image) -> np.ndarray:
    a = _pil_array(image) if isinstance(image, Image.Image) else np.asarray(image)
    if a.dtype == np.uint16:
        a = a / 65535.0
    elif a.dtype == np.uint8 or a.dtype == bool:
        a = a / (1.0 if a.dtype == bool else 255.0)
    else:
        a = a.astype(np.float64)
        if a.size and a.max() > 1.0:
            a = a / 255.0
    if a.ndim == 3 and a.shape[2] == 2:  # grey + alpha
        a = np.dstack([a[..., 0]] * 3 + [a[..., 1]])
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected a (H, W), (H, W, 3) or (H, W, 4) image, got shape {a.shape}")
    return np.clip(a, 0.0, 1.0)


def _shrink(a: np.ndarray) -> np.ndarray:
    size = _shrunk_size(*a.shape[:2])
    if size is None:
        return a
    chans = [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]
    out = [np.asarray(Image.fromarray(c.astype(np.float32), "F").resize(size, Image.BOX)) for c in chans]
    return out[0] if a.ndim == 2 else np.dstack(out)


def ink_map(image) -> tuple[np.ndarray, bool]:
    """The input as ink intensity (H, W) float32 in [0, 1], white digit on black, and whether it was
    inverted. Transparency, when the image has any, is the ink (a canvas stroke on a clear
    background); otherwise brightness is, inverted when the border is lighter than the middle."""
    a = _shrink(_as_array(image))
    if a.ndim == 3 and a.shape[2] == 4 and a[..., 3].min() < 0.98:
        alpha = a[..., 3]
        opaque = a[alpha >= 0.5, :3] @ np.array([0.299, 0.587, 0.114])
        if opaque.size == 0 or np.percentile(opaque, 98) - np.percentile(opaque, 2) < 0.4:
            # Strokes of one colour on a clear background (a canvas, a cut-out digit): opacity is the ink.
            return _normalise(_covered(alpha)), False
        # An opaque picture (a digit on a card) with some clear pixels (rounded corners): fill those
        # with the card's own colour, then read the digit from brightness below.
        paper = np.median(a[alpha >= 0.5, :3], axis=0)
        a = a[..., :3] * alpha[..., None] + paper * (1.0 - alpha[..., None])
    if a.ndim == 3:
        grey = a[..., :3] @ np.array([0.299, 0.587, 0.114]) if a.shape[2] >= 3 else a[..., 0]
    else:
        grey = a
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    inverted = bool(np.median(border) > 0.5)
    if inverted and min(grey.shape) >= 64:  # dark ink on paper: a photo or a scan, lit unevenly
        return _normalise(_covered(_flatten_light(1.0 - grey))), inverted
    return _normalise(_covered(1.0 - grey if inverted else grey)), inverted


def _covered(ink: np.ndarray) -> np.ndarray:
    """`ink` (H, W) unchanged, unless strokes (above half the strongest, and above the 0.15 that
    `_normalise` takes for noise) cover more than MAX_COVER of it: then no digit stands out of the
    paper (a canvas scribbled full), and saying so beats reading a pattern of gaps as a digit."""
    if ink.size and (ink > max(0.5 * ink.max(), 0.15)).mean() > MAX_COVER:
        raise EmptyDrawingError("scribble", "The ink covers most of the box: draw a single digit with a few strokes.")
    return ink


def _flatten_light(ink: np.ndarray) -> np.ndarray:
    """`ink` (H, W) minus its slowly varying background, so that the darker side of a photographed
    page (a lamp on one side, the phone's shadow) does not count as ink. The background is a grey-scale
    opening (local minimum, then maximum) over windows about a fifth of the short side wide, which
    strokes are narrower than, computed on a coarse grid and interpolated back to full size."""
    h, w = ink.shape
    cell = max(1, min(h, w) // 32)
    coarse = Image.fromarray(ink.astype(np.float32), "F").resize((max(1, w // cell), max(1, h // cell)), Image.BOX)
    background = coarse.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7))
    background = background.resize((w, h), Image.BILINEAR)
    return np.clip(ink - np.asarray(background), 0.0, 1.0)


def _normalise(ink: np.ndarray) -> np.ndarray:
    """Subtract the background level and stretch the strokes to 1, so that grey paper in a photo
    becomes black and a faint pencil line becomes white."""
    background = np.median(ink)
    strokes = ink[ink > background + 0.15]
    if strokes.size == 0:
        return np.zeros_like(ink, dtype=np.float32)
    top = np.percentile(strokes, 90)  # the strokes' level, robust to a few bright specks
    out = (ink - background) / (top - background)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def fit_scale(h: int, w: int) -> float:
    """The factor that fits an h x w crop into the BOX x BOX box keeping its aspect ratio."""
    return BOX / max(h, w)


def _fit(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape
    scale = fit_scale(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(crop.astype(np.float32), "F")
    # Lanczos widens its kernel when shrinking, so thin strokes are averaged (anti-aliased), not lost.
    return np.clip(np.asarray(img.resize(size, Image.LANCZOS)), 0.0, 1.0)


def _centre(fitted: np.ndarray) -> np.ndarray:
    h, w = fitted.shape
    ys, xs = np.mgrid[0:h, 0:w]
    mass = fitted.sum()
    cy, cx = (fitted * ys).sum() / mass, (fitted * xs).sum() / mass
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top:top + h, left:left + w] = fitted
    return out


def _is_blob(fitted: np.ndarray) -> bool:
    """Whether the fitted digit (<=20, <=20) holds a solid BLOBxBLOB square of ink: a click of a wide
    brush, scaled up to the box, does; strokes, however bold, do not. Every BLOBxBLOB window is checked
    in numpy: the answer of PIL's MinFilter(BLOB) on the zero-padded mask (a test compares the two) in a
    tenth of its time, which counts when a page prepares a thousand dataset digits."""
    solid = np.asarray(fitted) > 0.5
    if solid.shape[0] < BLOB or solid.shape[1] < BLOB:
        return False
    return bool(np.lib.stride_tricks.sliding_window_view(solid, (BLOB, BLOB)).all(axis=(2, 3)).any())


def preprocess_steps(image) -> Steps:
    """`to_mnist` with every stage kept, for the Draw page's "what the model sees" strip."""
    ink, inverted = ink_map(image)
    mask = ink > INK
    if not mask.any():
        raise EmptyDrawingError("blank", "The drawing is empty: draw a digit (0-9) in the box.")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = ink[top:bottom, left:right]
    fitted = _fit(crop)
    if max(bottom - top, right - left) < MIN_EXTENT * max(ink.shape) or _is_blob(fitted):
        raise EmptyDrawingError("tiny", "That is only a dot: draw a whole digit, large enough to fill the box.")
    return Steps(ink, crop, fitted, _centre(fitted), (int(top), int(bottom), int(left), int(right)), inverted)


def to_mnist(image) -> np.ndarray:
    """Any digit image -> (28, 28) float32 in [0, 1], white digit on black, prepared as MNIST was:
    cropped to the ink, scaled into a 20x20 box keeping its aspect ratio, anti-aliased, and centred
    by centre of mass. Accepts RGBA canvas arrays (any stroke colour on a clear, black or white
    background), grey or RGB arrays (uint8, uint16 or float) and PIL images; dark-on-light input is
    inverted. Raises `EmptyDrawingError` for a blank input, a lone dot or blob, or a scribble."""
    return preprocess_steps(image).final


def to_mnist_batch(images: np.ndarray) -> np.ndarray:
    """`to_mnist` over a stack of images (n, H, W) -> (n, 28, 28) float32."""
    return np.stack([to_mnist(im) for im in images])


class PreparedDigits:
    """A dataset's digits (n, H, W) as `to_mnist_batch` prepares them, each prepared the first time it is
    indexed and kept: a page that puts 31 random test digits beside the student's prepares those 31,
    not all 10,000 (seconds on a first visit). Indexing takes what a numpy array takes along the first
    axis and returns a copy, (28, 28) or (k, 28, 28) float32. Thread-safe: sessions share one."""

    def __init__(self, images: np.ndarray):
        self._images = images
        self._prepared = np.zeros((len(images), SIZE, SIZE), np.float32)
        self._done = np.zeros(len(images), bool)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index) -> np.ndarray:
        wanted = np.atleast_1d(np.arange(len(self))[index])
        with self._lock:
            todo = np.unique(wanted[~self._done[wanted]])
            if todo.size:
                self._prepared[todo] = to_mnist_batch(self._images[todo])
                self._done[todo] = True
            return self._prepared[index].copy()
