"""The Draw page's upload path (read_upload -> preprocess_steps -> the models) on a phone photo of
a digit written on paper: uneven light, grey paper, dark ink, sensor noise, JPEG."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from explain.inference import probabilities
from explain.preprocess import preprocess_steps
from explain.upload import read_upload


def phone_photo(digit28: np.ndarray, seed: int) -> bytes:
    """A 1200x900 JPEG of `digit28` (28, 28) in [0, 1] written in dark ink on lit grey paper."""
    rng = np.random.default_rng(seed)
    ink = np.asarray(Image.fromarray((digit28 * 255).astype(np.uint8)).resize((420, 420), Image.BICUBIC)) / 255.0
    h, w = 900, 1200
    canvas = np.zeros((h, w))
    top, left = 220 + rng.integers(-40, 40), 390 + rng.integers(-80, 80)
    canvas[top:top + 420, left:left + 420] = ink
    light = np.linspace(0.72, 1.05, w)[None, :] * np.linspace(1.0, 0.88, h)[:, None]  # a lamp on one side
    paper = np.array([205.0, 198.0, 186.0])
    pen = np.array([35.0, 38.0, 70.0])
    rgb = (paper * (1 - canvas[..., None]) + pen * canvas[..., None]) * light[..., None]
    rgb += rng.normal(0, 6, rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4, 5, 6, 7])
def test_a_phone_photo_of_a_digit_on_paper_is_read_as_that_digit(models, test_digits, index):
    x, y = test_digits
    steps = preprocess_steps(read_upload(phone_photo(x[index], seed=index)))
    assert steps.inverted  # dark ink on light paper
    assert steps.final.shape == (28, 28) and steps.final.max() > 0.8  # the ink, stretched to white
    answer = probabilities({"cnn": models["cnn"]}, steps.final)["cnn"]
    assert int(np.argmax(answer)) == int(y[index])
