import numpy as np
import pytest
from PIL import Image, ImageFilter

from explain.preprocess import EmptyDrawingError, preprocess_steps, to_mnist


def canvas_with(digit: np.ndarray, size: int = 280, scale: float = 1.0, corner: bool = False,
                thicken: int = 0) -> np.ndarray:
    """A (size, size, 4) RGBA canvas like st_canvas returns: the digit in white on a clear background."""
    side = int(size * 0.7 * scale)
    img = Image.fromarray((digit * 255).astype(np.uint8)).resize((side, side), Image.BILINEAR)
    if thicken:
        img = img.filter(ImageFilter.MaxFilter(thicken))
    rgba = np.zeros((size, size, 4), np.uint8)
    top = 5 if corner else (size - side) // 2
    rgba[top:top + side, top:top + side, :3] = 255
    rgba[top:top + side, top:top + side, 3] = np.asarray(img)
    return rgba


def centre_of_mass(x):
    ys, xs = np.mgrid[0:28, 0:28]
    return (x * ys).sum() / x.sum(), (x * xs).sum() / x.sum()


@pytest.fixture(scope="module")
def seven(test_digits):
    x, y = test_digits
    return x[np.flatnonzero(y == 7)[0]]


def test_output_is_28x28_float_in_unit_range_centred_like_mnist(seven):
    out = to_mnist(canvas_with(seven))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1 and out.max() > 0.9
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) < 1 and abs(cx - 14) < 1
    rows, cols = np.flatnonzero(out.max(1) > 0.1), np.flatnonzero(out.max(0) > 0.1)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21


WHITE, BLACK, RED = (255, 255, 255), (0, 0, 0), (230, 30, 30)


@pytest.mark.parametrize("background, stroke", [("clear", WHITE), ("clear", BLACK), ("clear", RED),
                                                ("black", WHITE), ("black", RED), ("white", BLACK), ("white", RED)])
def test_any_stroke_colour_on_any_background_gives_the_same_digit(seven, background, stroke):
    ink = canvas_with(seven)[..., 3] / 255.0
    bg = {"clear": (0, 0, 0, 0), "black": (0, 0, 0, 255), "white": (255, 255, 255, 255)}[background]
    rgba = np.zeros((280, 280, 4))
    for c in range(3):
        rgba[..., c] = stroke[c] * ink + bg[c] * (1 - ink) if background != "clear" else stroke[c]
    rgba[..., 3] = 255 if background != "clear" else ink * 255
    reference = to_mnist(canvas_with(seven))
    assert np.abs(to_mnist(rgba.astype(np.uint8)) - reference).mean() < 0.03


def test_grey_rgb_and_pil_inputs_agree_and_dark_on_light_is_inverted(seven):
    grey = canvas_with(seven)[..., 3]
    reference = to_mnist(grey)
    dark_on_light = 255 - grey
    steps = preprocess_steps(dark_on_light)
    assert steps.inverted
    assert np.abs(steps.final - reference).max() < 1e-6
    assert np.abs(to_mnist(np.dstack([grey] * 3)) - reference).max() < 1e-6
    assert np.abs(to_mnist(Image.fromarray(dark_on_light)) - reference).max() < 1e-6
    assert np.abs(to_mnist(grey / 255.0) - reference).max() < 1e-6


def test_mnist_digits_pass_through_almost_unchanged(test_digits):
    from explain.data import load_mnist
    raw = load_mnist().test.x[:100] / 255.0
    out = test_digits[0][:100]
    assert np.abs(out - raw).mean() < 0.01


@pytest.mark.parametrize("blank", [np.zeros((280, 280, 4), np.uint8), np.full((280, 280), 255, np.uint8),
                                   np.zeros((28, 28), np.float32)])
def test_blank_input_raises_a_readable_error(blank):
    with pytest.raises(EmptyDrawingError, match="draw a digit") as info:
        to_mnist(blank)
    assert isinstance(info.value, ValueError) and info.value.reason == "blank"


def test_a_lone_dot_is_not_a_digit():
    dot = np.zeros((280, 280, 4), np.uint8)
    dot[130:142, 130:142] = 255
    with pytest.raises(EmptyDrawingError) as info:
        to_mnist(dot)
    assert info.value.reason == "tiny"


def test_moved_shrunk_or_thick_digits_are_read_as_well_as_untouched_ones(models, test_digits):
    """The CNN on 200 validation digits: each distortion costs at most 2 accuracy points."""
    from explain.data import load_mnist
    val = load_mnist().val
    x, y = val.x[:200] / 255.0, val.y[:200]
    cnn = models["cnn"]

    def accuracy(make) -> float:
        batch = np.stack([to_mnist(make(d)) for d in x])
        return float((cnn(batch, training=False).numpy().argmax(1) == y).mean())

    untouched = accuracy(canvas_with)
    assert untouched > 0.95
    for name, make in [("corner", lambda d: canvas_with(d, scale=0.5, corner=True)),
                       ("third", lambda d: canvas_with(d, scale=1 / 3)),
                       ("thick", lambda d: canvas_with(d, thicken=9))]:
        assert accuracy(make) >= untouched - 0.02, name


def test_the_scale_is_the_fit_of_the_longer_side_into_20_pixels_even_for_a_flat_digit():
    # A 12x220 bar: its longer side, 220 px, becomes 20, so the scale is 20/220 = 0.0909; its 12 px
    # side becomes round(12 * 20/220) = 1 px, which is why fitted height / crop height (1/12) is not it.
    bar = np.zeros((260, 260), np.float32)
    bar[120:132, 20:240] = 1.0
    steps = preprocess_steps(bar)
    assert steps.crop.shape == (12, 220)
    assert steps.scale == pytest.approx(20 / 220)
    assert steps.fitted.shape == (1, 20)


def test_blob_check_gives_pils_minfilter_answer_on_random_masks():
    """`_is_blob` checks BLOBxBLOB windows in numpy; PIL's MinFilter(BLOB) on the zero-padded mask
    (what it replaced) is the reference, on masks with and without a solid square."""
    from PIL import Image, ImageFilter

    from explain.preprocess import BLOB, _is_blob

    rng = np.random.default_rng(0)
    found = 0
    for _ in range(3000):
        h, w = rng.integers(8, 21, 2)
        fitted = np.zeros((h, w))
        top, left = rng.integers(0, 8, 2)
        fitted[top:top + rng.integers(11, 18), left:left + rng.integers(11, 18)] = 0.9
        if rng.random() < 0.5:
            fitted[rng.integers(0, h), rng.integers(0, w)] = 0.3
        solid = np.pad(fitted > 0.5, 1).astype(np.uint8) * 255
        pil = bool(np.asarray(Image.fromarray(solid).filter(ImageFilter.MinFilter(BLOB))).any())
        assert _is_blob(fitted) == pil, (h, w)
        found += pil
    assert 100 < found < 2900, found  # both answers were tested


def test_prepared_digits_match_to_mnist_and_prepare_only_what_is_indexed():
    from explain.data import load_mnist
    from explain.preprocess import PreparedDigits, to_mnist_batch

    raw = load_mnist().test.x[:50]
    prepared = PreparedDigits(raw)
    picked = np.array([7, 3, 7, 40])
    np.testing.assert_array_equal(prepared[picked], to_mnist_batch(raw[picked]))
    assert int(prepared._done.sum()) == 3
    np.testing.assert_array_equal(prepared[3], to_mnist(raw[3]))
    np.testing.assert_array_equal(prepared[:10], to_mnist_batch(raw[:10]))
    assert len(prepared) == 50 and int(prepared._done.sum()) == 11
