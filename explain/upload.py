"""Decoding an uploaded image in memory, safely: never written to disk, bounded in bytes and pixels,
and only by the few common decoders a digit photo or screenshot needs."""
from __future__ import annotations

import io
import math
import struct

from PIL import Image, ImageOps

from explain.preprocess import MAX_SIDE

MAX_BYTES = 5 * 1024 * 1024  # the same 5 MB as `server.maxUploadSize` in .streamlit/config.toml (a test checks)
MAX_PIXELS = 40_000_000      # a 20000x20000 "image" in a tiny file is a decompression bomb; Pillow itself
                             # only warns above 89M pixels and refuses above 179M
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
# What Pillow raises for a file it cannot read: OSError (its UnidentifiedImageError, "image file is
# truncated", decoder errors) and the errors its own format probing treats as "not this format"
# (SyntaxError, IndexError, TypeError, struct.error, in Image.open), which its plugins and EXIF parser
# also raise from a damaged file; ValueError and EOFError for bad values and missing frames. Anything
# else (MemoryError, a bug, a library change) is not the file's fault and surfaces.
BAD_FILE = (OSError, SyntaxError, IndexError, TypeError, struct.error, ValueError, EOFError)

# Formats people upload that are not in FORMATS, told apart by their first bytes, so the message can say
# "HEIC is not supported, use PNG or JPEG" instead of "not an image". (offset, magic, format name)
_OTHER_FORMATS = (
    *((4, b"ftyp" + brand, "HEIC")
      for brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevx", b"mif1", b"msf1")),
    (4, b"ftypavif", "AVIF"),
    (0, b"II*\x00", "TIFF"), (0, b"MM\x00*", "TIFF"),
    (0, b"%PDF", "PDF"),
    (0, b"8BPS", "PSD"),
    (0, b"<svg", "SVG"), (0, b"<?xml", "SVG"),
)


class UploadError(ValueError):
    """The upload cannot be used. `reason` says why: "file_too_big", "not_image", "unsupported",
    "too_large" (too many pixels), "damaged". `key` is the translated message's key in
    locales/*/errors.py and `values` fills its fields (`limit_mb`, `size_mb`, `format`, `limit_mp`)."""

    def __init__(self, reason: str, message: str, **values):
        super().__init__(message)
        self.reason, self.values, self.key = reason, values, f"error.upload.{reason}"


def _sniff(data: bytes) -> str | None:
    head = data[:32].lstrip()
    return next((name for offset, magic, name in _OTHER_FORMATS if head[offset:offset + len(magic)] == magic), None)


def read_upload(data: bytes) -> Image.Image:
    """The uploaded bytes as a decoded PIL image (the first frame of an animation, turned upright by
    its EXIF orientation), ready for `to_mnist`. Sizes are checked from the header, before any pixel
    is decoded; nothing touches the disk. Raises `UploadError`."""
    limit_mb = MAX_BYTES // 2**20
    if len(data) > MAX_BYTES:
        size_mb = math.ceil(len(data) / 2**20 * 10) / 10  # rounded up: 5.01 MB must not read "5.0 MB"
        raise UploadError("file_too_big", f"The file is {size_mb} MB; the limit is {limit_mb} MB.",
                          size_mb=size_mb, limit_mb=limit_mb)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # the warning, if made an error
        raise UploadError("too_large", f"The image claims too many pixels ({exc}).",
                          limit_mp=MAX_PIXELS // 10**6) from exc
    except BAD_FILE as exc:
        other = _sniff(data)
        if other:
            raise UploadError("unsupported", f"{other} images are not supported; use PNG or JPEG.",
                              format=other) from exc
        raise UploadError("not_image", "This file is not an image that can be read.") from exc
    if image.width * image.height > MAX_PIXELS:
        raise UploadError("too_large", f"The image is {image.width}x{image.height} pixels, too large to read.",
                          limit_mp=MAX_PIXELS // 10**6)
    if image.format == "JPEG":
        image.draft(None, (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 or 1/8 scale: a phone photo needs no more
    try:
        image.seek(0)
        image.load()
        return ImageOps.exif_transpose(image)
    except BAD_FILE as exc:  # truncated data, a broken chunk, a bad frame, broken EXIF
        raise UploadError("damaged", "The image file is damaged or incomplete.") from exc
