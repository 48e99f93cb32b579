"""The Draw and CNN pages' figures show the numbers they are given, where they say: every tile,
cell, bar, box and star is checked against the trace it was drawn from, in both languages and
in projector mode."""
from __future__ import annotations

import numpy as np
import pytest

from explain import conv
from explain.figures import cnn as figures
from explain.figures.draw import probabilities_figure, probability_bars, steps_figure
from explain.preprocess import preprocess_steps


@pytest.fixture(scope="module")
def cnn(models):
    return models["cnn"]


@pytest.fixture(scope="module")
def trace(cnn, test_digits):
    return conv.trace(cnn, test_digits[0][0])


def tile(z: np.ndarray, k: int, cols: int, h: int, w: int) -> np.ndarray:
    """Tile k of a mosaic laid out like `figures._mosaic` (gaps as in `feature_grid`)."""
    gap_x, gap_y = max(1, w // 8), max(2, int(np.ceil(h * 0.25)))
    top, left = (k // cols) * (h + gap_y), (k % cols) * (w + gap_x)
    return z[top:top + h, left:left + w]


@pytest.mark.parametrize("layer,cols", [("conv1", 3), ("relu1", 3), ("conv2", 4), ("relu2", 4)])
def test_each_feature_map_tile_holds_its_channel_and_is_labelled(trace, layer, cols):
    maps = trace.maps[layer]
    fig = figures.feature_grid(maps, layer, layer.startswith("conv"), cols, "en", False)
    z = np.asarray(fig.data[0].z, dtype=float)
    for k in range(maps.shape[2]):
        np.testing.assert_allclose(tile(z, k, cols, *maps.shape[:2]), maps[:, :, k], atol=1e-6)
    assert [a.text for a in fig.layout.annotations] == [str(k) for k in range(maps.shape[2])]
    if layer.startswith("conv"):  # signed values: the diverging scale, centred on 0
        assert fig.data[0].zmid == 0 and fig.data[0].zmin == -fig.data[0].zmax
    else:
        assert fig.data[0].zmin == 0


def test_the_hover_names_each_pixels_channel_row_and_column(cnn, trace):
    maps = trace.maps["conv2"]     # (10, 10, 16), 4 tiles a row
    heat = figures.feature_grid(maps, "conv2", True, 4, "en", False).data[0]
    z, custom = np.asarray(heat.z, dtype=float), np.asarray(heat.customdata)
    for k, r, c in ((0, 0, 0), (5, 3, 9), (15, 9, 2)):
        y, x = (k // 4) * (10 + 3) + r, (k % 4) * (10 + 1) + c   # gaps of 3 rows and 1 column
        assert tuple(custom[y, x]) == (k, r, c) and z[y, x] == pytest.approx(maps[r, c, k], abs=1e-6)
    assert "channel %{customdata[0]}, row %{customdata[1]}, column %{customdata[2]}" in heat.hovertemplate
    assert heat.hoverongaps is False and np.isnan(z[10, 0])   # the gaps (NaN) show no hover
    kernel = cnn.get_layer("conv2").get_weights()[0]  # (5, 5, 6, 16)
    grid = figures.kernel_grid(kernel, 16, "en", False).data[0]
    z, custom = np.asarray(grid.z, dtype=float), np.asarray(grid.customdata)
    assert tuple(custom[2 * 6 + 4, 7 * 6 + 1]) == (2, 7, 4, 1) and z[2 * 6 + 4, 7 * 6 + 1] == pytest.approx(
        kernel[4, 1, 2, 7], abs=1e-6)


def test_conv2_kernels_are_laid_out_input_channel_by_output_channel(cnn):
    kernel = cnn.get_layer("conv2").get_weights()[0]  # (5, 5, 6, 16)
    z = np.asarray(figures.kernel_grid(kernel, 16, "zh", True).data[0].z, dtype=float)
    for i, o in ((0, 0), (5, 15), (2, 7)):
        np.testing.assert_allclose(z[i * 6:i * 6 + 5, o * 6:o * 6 + 5], kernel[:, :, i, o], atol=1e-6)


@pytest.mark.parametrize("layer,channel,row,col,shown", [("conv1", 2, 0, 27, 0), ("conv2", 9, 4, 6, 5)])
def test_the_arithmetic_figures_print_the_patch_kernel_products_and_box_the_position(cnn, trace, layer, channel,
                                                                                      row, col, shown):
    step = conv.conv_step(cnn, trace, layer, channel, row, col)
    input_map = trace.maps[conv.plan(cnn).source[layer]][:, :, shown]
    numbers = figures.conv_numbers_figure(step, input_map, shown, "en", False)
    for trace_, values in zip(numbers.data, (step.patch, step.kernel, step.products)):
        np.testing.assert_allclose(np.asarray(trace_.z, dtype=float), values[:, :, shown], atol=1e-6)
    if layer == "conv1":  # the window hangs over the right border: those cells say so
        assert (np.asarray(numbers.data[0].text)[:, -2:] == "pad").all()
    where = figures.conv_locator_figure(step, input_map, trace.maps[layer][:, :, channel], "en", False)
    window, cell = where.layout.shapes
    assert (window.x0, window.y0) == (step.left - 0.5, step.top - 0.5) and window.x1 - window.x0 == 5
    assert (cell.x0, cell.y0, cell.xref) == (col - 0.5, row - 0.5, "x2")


def test_the_pooling_figure_stars_the_winner_and_boxes_both_ends(cnn, trace):
    channel = 3
    best = np.unravel_index(int(np.argmax(trace.maps["pool2"][:, :, channel])), (5, 5))
    window = conv.pool_window(cnn, trace, "pool2", channel, *map(int, best))
    fig = figures.pool_figure(trace.maps["relu2"][:, :, channel], trace.maps["pool2"][:, :, channel], window,
                              "en", False)
    star = fig.data[2]
    assert (star.y[0], star.x[0]) == (window.top + window.winner[0], window.left + window.winner[1])
    assert trace.maps["relu2"][star.y[0], star.x[0], channel] == pytest.approx(window.value, abs=1e-6)
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (boxes[0].x0, boxes[0].y0) == (window.left - 0.5, window.top - 0.5)
    assert (boxes[1].x0, boxes[1].y0, boxes[1].xref) == (window.col - 0.5, window.row - 0.5, "x2")
    assert len(fig.layout.shapes) == 2
    lines = fig.data[3]  # every 2x2 window's edges over the 10x10 map: 6 lines across, 6 down
    segments = [(lines.x[i], lines.y[i], lines.x[i + 1], lines.y[i + 1]) for i in range(0, len(lines.x), 3)]
    assert segments == [(-0.5, k - 0.5, 9.5, k - 0.5) for k in range(0, 11, 2)] + \
        [(k - 0.5, -0.5, k - 0.5, 9.5) for k in range(0, 11, 2)]


def test_the_softmax_figure_shows_the_logits_and_probabilities(trace):
    fig = figures.softmax_figure(trace.logits, trace.probabilities, "zh", False)
    np.testing.assert_allclose(fig.data[0].y, trace.logits, atol=1e-6)
    np.testing.assert_allclose(fig.data[1].y, trace.probabilities, atol=1e-6)



@pytest.mark.parametrize("projector", [False, True])
def test_the_cnn_figures_built_without_plotlys_checks_pass_them_and_write_the_same_json(cnn, trace, projector):
    """Built unvalidated on every rerun: validated, each gives the same JSON (plotly raises on any
    property or value it does not accept)."""
    import json

    import plotly.graph_objects as go
    p = conv.plan(cnn)
    step = conv.conv_step(cnn, trace, "conv2", 9, 4, 6)
    source = trace.maps[p.source["conv2"]]
    window = conv.pool_window(cnn, trace, "pool1", 2, 3, 4)
    for fig in (figures.feature_grid(trace.maps["conv1"], "conv1", True, 3, "zh", projector),
                figures.feature_grid(trace.maps["relu2"], "relu2", False, 4, "en", projector),
                figures.kernel_grid(cnn.get_layer("conv2").get_weights()[0], 16, "en", projector),
                figures.conv_locator_figure(step, source[:, :, 5], trace.maps["conv2"][:, :, 9], "en", projector),
                figures.conv_numbers_figure(step, source[:, :, 5], 5, "zh", projector),
                figures.pool_figure(trace.maps["relu1"][:, :, 2], trace.maps["pool1"][:, :, 2], window, "en",
                                    projector),
                figures.softmax_figure(trace.logits, trace.probabilities, "zh", projector)):
        assert json.loads(go.Figure(fig.to_plotly_json()).to_json()) == json.loads(fig.to_json())

def test_the_probability_bars_are_each_models_and_titled_with_its_answer(models, test_digits):
    from explain.inference import probabilities
    x, _ = test_digits
    probs = probabilities(models, x[5])
    for lang, projector in (("en", False), ("zh", True)):
        fig = probabilities_figure(probs, lang, projector)
        assert len(fig.data) == len(probs)
        for bars, note, p in zip(fig.data, fig.layout.annotations, probs.values()):
            np.testing.assert_allclose(bars.y, p, atol=1e-7)
            assert f"<b>{int(np.argmax(p))}</b>" in note.text


def test_the_in_place_bars_show_what_each_keras_model_outputs_and_its_answer(models, test_digits):
    from explain.inference import probabilities
    x, _ = test_digits
    probs = probabilities(models, x[5])
    for lang, projector in (("en", False), ("zh", True)):
        data = probability_bars(probs, lang, projector)
        assert [m["name"] for m in data["models"]] == list(probs) and data["projector"] is projector
        for shown in data["models"]:
            keras_p = np.asarray(models[shown["name"]](x[5][None], training=False))[0]
            np.testing.assert_allclose(shown["p"], keras_p, atol=1e-5)
            assert shown["answer"] == int(np.argmax(keras_p))
            assert shown["answer_text"] == f"{keras_p.max():.0%}"
            assert len(shown["hover"]) == 10 and f"{keras_p[3]:.2%}" in shown["hover"][3]
    assert [tick["at"] for tick in data["ticks"]] == [0.0, 0.5, 1.0]


def test_the_preprocessing_strip_boxes_the_crop_and_shows_the_model_input(test_digits):
    ink = np.zeros((260, 260, 4), np.uint8)
    ink[40:220, 120:140, :3] = 255  # a white bar ("1") on the canvas's black
    ink[..., 3] = 255
    steps = preprocess_steps(ink)
    fig = steps_figure(steps, steps.final, "en", False)
    crop = fig.layout.shapes[0]
    top, bottom, left, right = steps.box
    step = int(np.ceil(260 / 112))  # the ink panel is a thumbnail
    assert (crop.y0, crop.y1, crop.x0, crop.x1) == (top / step - 0.5, bottom / step - 0.5,
                                                    left / step - 0.5, right / step - 0.5)
    np.testing.assert_array_equal(np.asarray(fig.data[2].z, dtype=np.float32), steps.final)
    sample = steps_figure(None, test_digits[0][0], "zh", True)  # a test sample: only the 28x28 input
    assert len([d for d in sample.data if d.type == "heatmap"]) == 1
