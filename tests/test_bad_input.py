"""What students do to the canvas: nothing, one click, a stroke hard against the edge, a scribble
over everything. Each gives a (28, 28) digit or an `EmptyDrawingError` whose reason has a message
in both languages. The canvases are built as `st_canvas` returns them: (260, 260, 4) uint8 RGBA,
white strokes on black (the Draw page's background) or on a clear background."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from explain import i18n
from explain.preprocess import EmptyDrawingError, preprocess_steps, to_mnist
from tests.browser import ONE, SEVEN, ZERO

SIDE = 260
BACKGROUNDS = {"black": (0, 0, 0, 255), "clear": (0, 0, 0, 0)}


def canvas(background: str, strokes: list[list[tuple[float, float]]], brush: int = 20) -> np.ndarray:
    """Polylines in canvas fractions drawn with a round brush, like fabric's free drawing."""
    image = Image.new("RGBA", (SIDE, SIDE), BACKGROUNDS[background])
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * SIDE, y * SIDE) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=(255, 255, 255, 255), width=brush, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            pen.ellipse([x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2], fill=(255, 255, 255, 255))
    return np.asarray(image)


def reason(image: np.ndarray) -> str:
    with pytest.raises(EmptyDrawingError) as info:
        to_mnist(image)
    return info.value.reason


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:28, 0:28]
    return float((x * ys).sum() / x.sum()), float((x * xs).sum() / x.sum())


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_a_blank_canvas_is_blank(background):
    assert reason(canvas(background, [])) == "blank"


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("brush", [8, 20, 40])  # the Draw page's brush slider runs from 8 to 40 px
@pytest.mark.parametrize("where", [(0.5, 0.5), (0.1, 0.9)])
def test_a_single_click_is_a_dot_whatever_the_brush(background, brush, where):
    assert reason(canvas(background, [[where]], brush)) == "tiny"


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("brush", [8, 20, 40])
@pytest.mark.parametrize("strokes", [ONE, SEVEN, ZERO], ids=["one", "seven", "zero"])
def test_real_digits_are_neither_dots_nor_scribbles_at_any_brush_width(background, brush, strokes):
    out = to_mnist(canvas(background, strokes, brush))
    assert out.shape == (28, 28) and out.max() > 0.7  # a thin brush is anti-aliased a little below 1


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_drawn_digits_are_read_by_the_cnn(models, background):
    batch = np.stack([to_mnist(canvas(background, s)) for s in (ONE, SEVEN, ZERO)])
    assert list(models["cnn"](batch, training=False).numpy().argmax(1)) == [1, 7, 0]


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_a_one_drawn_hard_against_the_left_edge_is_cropped_centred_and_read(models, background):
    """Half of the brush falls outside the canvas: the crop starts at the edge, the digit is centred."""
    steps = preprocess_steps(canvas(background, [[(0.0, 0.15), (0.0, 0.85)]]))
    assert steps.box[2] == 0 and steps.box[3] <= 12
    cy, cx = centre_of_mass(steps.final)
    assert abs(cy - 14) < 1 and abs(cx - 14) < 1
    assert models["cnn"](steps.final[None], training=False).numpy().argmax() == 1


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_a_stroke_along_the_top_border_becomes_a_centred_bar_not_an_error(background):
    steps = preprocess_steps(canvas(background, [[(0.05, 0.0), (0.95, 0.0)]]))
    assert steps.box[0] == 0
    rows = np.flatnonzero(steps.final.max(1) > 0.5)
    assert rows.size <= 4 and abs(centre_of_mass(steps.final)[0] - 14) < 1


def zigzag(lines: int) -> list[list[tuple[float, float]]]:
    return [[(float(k % 2), k / lines) for k in range(lines + 1)]]


def random_scribble(points: int, seed: int) -> list[list[tuple[float, float]]]:
    return [[tuple(p) for p in np.random.default_rng(seed).uniform(0, 1, (points, 2))]]


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("strokes", [zigzag(6), zigzag(12), random_scribble(40, 0), random_scribble(80, 1)],
                         ids=["zigzag6", "zigzag12", "random40", "random80"])
def test_a_scribble_over_the_canvas_is_a_scribble(background, strokes):
    assert reason(canvas(background, strokes)) == "scribble"


def test_a_canvas_painted_over_entirely_is_a_scribble_not_blank():
    full = np.full((SIDE, SIDE, 4), 255, np.uint8)
    full[:2, :2, 3] = 0  # the canvas still has some transparency, so its opacity is read as ink
    assert reason(full) == "scribble"


@pytest.mark.parametrize("reason_key", ["blank", "tiny", "scribble"])
def test_every_drawing_problem_has_a_message_in_both_languages(reason_key):
    error = EmptyDrawingError(reason_key, "")
    assert error.key == f"error.drawing.{reason_key}"
    texts = [i18n.t(error.key, lang) for lang in i18n.LANGUAGES]
    assert all(texts) and texts[0] != texts[1]
