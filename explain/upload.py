"""Decoding an uploaded image in memory, safely: never written to disk, bounded in size."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

MAX_PIXELS = 40_000_000  # a 20000x20000 "image" in a tiny file is a decompression bomb


class UploadError(ValueError):
    """The upload cannot be used; `reason` ("not_image", "too_large", "damaged") names why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def read_upload(data: bytes) -> Image.Image:
    """The uploaded bytes as a PIL image (first frame of an animation), ready for `to_mnist`."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as exc:
        raise UploadError("not_image", "This file is not an image that can be read.") from exc
    if image.width * image.height > MAX_PIXELS:
        raise UploadError("too_large", f"The image is {image.width}x{image.height} pixels, too large to read.")
    try:
        image.seek(0)
        image.load()
    except Exception as exc:
        raise UploadError("damaged", "The image file is damaged or incomplete.") from exc
    return image


def upload_array(data: bytes) -> np.ndarray:
    return np.asarray(read_upload(data))
