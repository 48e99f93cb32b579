"""The training distortions, each checked against an independent reference: PIL's resizes for the
low-resolution render, a Gaussian's own moments for the blur, `to_mnist` for the refit, np.percentile
for the level stretch, plain shifts for the sampler."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from explain import augment
from explain.augment import Distortions
from explain.data import load_mnist
from explain.preprocess import to_mnist, to_mnist_batch

NONE = Distortions(clean=0, elastic=0, rotation=0, shear=0, aspect=0, thickness=0, blur=0, coarse=0, scale=0, shift=0)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return to_mnist_batch(load_mnist().val.x[:64])


def test_sampling_at_the_pixel_grid_gives_the_image_back_and_a_shift_shifts_it(digits):
    ys, xs = np.mgrid[0:28, 0:28].astype(float)
    ys, xs = np.broadcast_to(ys, digits.shape), np.broadcast_to(xs, digits.shape)
    np.testing.assert_allclose(augment.sample(digits, ys, xs), digits, atol=1e-6)
    shifted = augment.sample(digits, ys - 2, xs + 3)           # out[i, j] = in[i - 2, j + 3]
    np.testing.assert_allclose(shifted[:, 2:, :25], digits[:, :26, 3:], atol=1e-6)
    assert not shifted[:, :2].any() and not shifted[:, :, 25:].any()
    half = augment.sample(digits, ys, xs + 0.5)                 # halfway between two pixels
    np.testing.assert_allclose(half[:, :, :27], (digits[:, :, :27] + digits[:, :, 1:]) / 2, atol=1e-6)


def test_the_low_resolution_matrix_is_an_area_average_then_pils_bilinear_resize():
    rng = np.random.default_rng(1)
    image = rng.random((28, 28)).astype(np.float32)
    for low in (7, 10, 14):
        # the exact area average: every pixel split into low x low parts, then 28 x 28 parts per low pixel
        fine = np.repeat(np.repeat(image, low, axis=0), low, axis=1)
        small = fine.reshape(low, 28, low, 28).mean(axis=(1, 3)).astype(np.float32)
        pil = Image.fromarray(small, "F").resize((28, 28), Image.BILINEAR)
        m = augment.coarse_matrix(low)
        np.testing.assert_allclose(m @ image @ m.T, np.asarray(pil), atol=1e-5)


def test_the_blur_matrix_is_a_normalised_gaussian_of_the_asked_width():
    m = augment.gaussian_matrix(1.2)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    row = m[14]                                                  # far from the edges
    centre = (row * np.arange(28)).sum()
    assert centre == pytest.approx(14.0, abs=1e-9)
    assert np.sqrt((row * (np.arange(28) - centre) ** 2).sum()) == pytest.approx(1.2, rel=1e-3)


def test_the_level_stretch_is_to_mnists(digits):
    dim = digits * 0.6 + 0.1                                     # grey paper, faint strokes
    median = np.median(dim.reshape(len(dim), -1), axis=1)
    for image, background, out in zip(dim, median, augment._stretched(dim)):
        strokes = image[image > background + 0.15]
        top = np.percentile(strokes, 90)
        np.testing.assert_allclose(out, np.clip((image - background) / (top - background), 0, 1), atol=1e-5)


def test_refitting_a_moved_and_shrunk_digit_gives_what_to_mnist_gives(digits):
    """A digit drawn small and off centre: refit and `to_mnist` both put it back into MNIST's frame."""
    ys, xs = np.mgrid[0:28, 0:28].astype(float)
    ys, xs = np.broadcast_to((ys - 4) / 0.7, digits.shape), np.broadcast_to((xs - 2) / 0.7, digits.shape)
    small = augment.sample(digits, ys, xs)
    refit = augment._refit(small, np.random.default_rng(0), NONE)
    reference = np.stack([to_mnist(im) for im in small])
    assert np.abs(refit - reference).mean() < 0.03
    assert np.abs(small - reference).mean() > 0.1               # without the refit they would differ a lot


def test_with_every_distortion_off_only_the_refit_remains(digits):
    out = augment.augment(digits, np.random.default_rng(0), NONE)
    assert np.abs(out - digits).mean() < 0.03


def test_distortions_are_seeded_bounded_and_actually_distort(digits):
    a = augment.augment(digits, np.random.default_rng(5))
    b = augment.augment(digits, np.random.default_rng(5))
    c = augment.augment(digits, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == digits.shape and a.dtype == np.float64 and a.min() >= 0 and a.max() <= 1
    changed = np.abs(a - digits).mean(axis=(1, 2)) > 0.02
    assert 0.6 < changed.mean() < 0.95                           # the clean share (0.2) is left alone


def test_thicker_and_thinner_strokes_change_the_ink_as_asked(digits):
    bold = Distortions(clean=0, elastic=0, rotation=0, shear=0, aspect=0, thickness=1, thinner=0, bolder=1,
                       blur=0, coarse=0)
    fine = Distortions(clean=0, elastic=0, rotation=0, shear=0, aspect=0, thickness=1, thinner=0.7, bolder=0,
                       blur=0, coarse=0)
    rng = np.random.default_rng(2)
    plain = augment._thickened(digits, rng, NONE)
    np.testing.assert_array_equal(plain, digits)
    assert (augment._thickened(digits, rng, bold).sum(axis=(1, 2)) >= digits.sum(axis=(1, 2))).all()
    assert (augment._thickened(digits, rng, fine).sum(axis=(1, 2)) <= digits.sum(axis=(1, 2))).all()


def test_the_elastic_field_moves_pixels_by_about_what_simard_s_parameters_give(digits):
    """alpha 34, sigma 4: the smoothed uniform noise has a standard deviation of about
    alpha * sqrt(1/3) / (2 sqrt(pi) sigma) = 1.38 px per direction away from the borders."""
    g = augment.gaussian_matrix(4.0)
    noise = np.random.default_rng(0).uniform(-1, 1, (2000, 28, 28))
    field = 34.0 * (g @ noise @ g.T)
    assert field[:, 10:18, 10:18].std() == pytest.approx(34 * np.sqrt(1 / 3) / (2 * np.sqrt(np.pi) * 4), rel=0.1)
