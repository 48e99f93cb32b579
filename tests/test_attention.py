"""The attention page's numbers: the mha layer's own weights, checked against a numpy recomputation
and against Keras's own per-head and projected outputs; the worked example; the row-order test."""
from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from explain import attention
from explain.architectures import attention as build_attention
from explain.figures import attention as figures
from explain.model_cache import forget
from tests.browser import (EXCEPTION, SEVEN, click_chart, draw, draw_every_chart, open_page, settle, wait_drawn,
                           wait_followed)
from tests.charts import CHART

DIGITS = (0, 1, 7, 42, 1234)


@pytest.fixture(scope="module")
def model(models):
    return models["attention"]


@pytest.fixture(scope="module")
def seeded_model():
    """A small untrained attention model with seeded weights (8 heads of 4 dims), to check the code
    against something other than the shipped file."""
    keras.utils.set_random_seed(3)
    return build_attention(depth=32, heads=8)


def known_table(rows: int, depth: int) -> np.ndarray:
    """The course's position table written out entry by entry, apart from the code under test:
    PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d))."""
    table = np.zeros((rows, depth))
    for p in range(rows):
        for i in range(0, depth, 2):
            table[p, i] = math.sin(p / 10000 ** (i / depth))
            table[p, i + 1] = math.cos(p / 10000 ** (i / depth))
    return table


def numpy_tokens(model, x28):
    """(rows, depth): embed(row) + the sinusoidal table, in numpy from the layer weights."""
    kernel, bias = model.get_layer("embed").get_weights()
    tokens = x28 @ kernel + bias
    return tokens + known_table(*tokens.shape)


def numpy_scores(model, x28):
    """(heads, query, key): softmax(Q K^T / sqrt(d_k)) with Q and K from Keras's own query and key
    projection layers."""
    mha = model.get_layer("mha")
    tokens = numpy_tokens(model, x28)[None]
    q = np.asarray(mha.query_dense(tokens))[0].transpose(1, 0, 2)   # (heads, rows, d_k)
    k = np.asarray(mha.key_dense(tokens))[0].transpose(1, 0, 2)
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_scores_have_one_row_per_query_and_key_for_every_head(model, test_digits):
    scores = attention.attention_scores(model, test_digits[0][0])
    assert scores.shape == (4, 28, 28)
    assert isinstance(scores, np.ndarray)


@pytest.mark.parametrize("index", DIGITS)
def test_every_query_row_sums_to_one(model, test_digits, index):
    scores = attention.attention_scores(model, test_digits[0][index])
    assert np.all(scores >= 0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("index", DIGITS)
def test_scores_equal_numpy_softmax_of_scaled_query_key_products(model, test_digits, index):
    x = test_digits[0][index]
    np.testing.assert_allclose(attention.attention_scores(model, x), numpy_scores(model, x), atol=1e-5)


def test_scores_of_a_seeded_untrained_model_equal_numpy_recomputation(seeded_model, test_digits):
    x = test_digits[0][3]
    scores = attention.attention_scores(seeded_model, x)
    assert scores.shape == (8, 28, 28)
    np.testing.assert_allclose(scores, numpy_scores(seeded_model, x), atol=1e-5)


def test_trace_tokens_are_the_layer_input_and_probs_are_the_models(model, test_digits):
    x = test_digits[0][7]
    tr = attention.trace(model, x)
    np.testing.assert_allclose(tr.tokens, numpy_tokens(model, x), atol=1e-5)
    np.testing.assert_allclose(tr.probs, np.asarray(model(x[None], training=False))[0], atol=1e-6)


def test_projections_equal_keras_query_key_value_layers(model, test_digits):
    tr = attention.trace(model, test_digits[0][1])
    mha = model.get_layer("mha")
    for mine, dense in zip(attention.projections(model, tr.tokens),
                           (mha.query_dense, mha.key_dense, mha.value_dense)):
        keras_proj = np.asarray(dense(tr.tokens[None]))[0].transpose(1, 0, 2)
        np.testing.assert_allclose(mine, keras_proj, atol=1e-5)


@pytest.mark.parametrize("head,row", [(0, 0), (1, 20), (2, 14), (3, 27)])
def test_worked_example_equals_the_row_of_the_layers_matrix(model, test_digits, head, row):
    tr = attention.trace(model, test_digits[0][0])
    ex = attention.worked_example(model, tr.tokens, head, row)
    assert ex.d_k == 16 and ex.keys.shape == (28, 16) and ex.values.shape == (28, 16)
    np.testing.assert_allclose(ex.dots, ex.keys @ ex.q, rtol=1e-6)
    np.testing.assert_allclose(ex.scaled, ex.dots / 4.0, rtol=1e-6)
    np.testing.assert_allclose(ex.weights, tr.scores[head, row], atol=1e-5)
    np.testing.assert_allclose(ex.output, ex.weights @ ex.values, atol=1e-6)


def test_every_rows_worked_example_is_the_row_of_softmax_of_kerass_query_and_key_layers(model, test_digits):
    x = test_digits[0][0]
    examples = attention.worked_examples(model, attention.trace(model, x).tokens, 2)
    assert [(e.head, e.row) for e in examples] == [(2, r) for r in range(28)]
    np.testing.assert_allclose(np.stack([e.weights for e in examples]), numpy_scores(model, x)[2], atol=1e-5)
    for e in examples:
        np.testing.assert_allclose(e.output, e.weights @ e.values, atol=1e-6)


def test_weighted_values_equal_keras_per_head_output_and_projected_output(model, test_digits):
    """Keras's own _compute_attention gives the per-head outputs before the output projection;
    projecting the worked example's sums with the layer's output kernel gives the layer's output."""
    tr = attention.trace(model, test_digits[0][42])
    mha = model.get_layer("mha")
    t = tr.tokens[None]
    per_head, _ = mha._compute_attention(mha.query_dense(t), mha.key_dense(t), mha.value_dense(t))
    per_head = np.asarray(per_head)[0]                                     # (rows, heads, d_v)
    sums = np.stack([[attention.worked_example(model, tr.tokens, h, r).output for h in range(4)]
                     for r in range(28)])                                  # (rows, heads, d_v)
    np.testing.assert_allclose(sums, per_head, atol=1e-5)
    kernel, bias = mha.output_dense.get_weights()                          # (heads, d_v, depth), (depth,)
    np.testing.assert_allclose(np.einsum("rhv,hvd->rd", sums, kernel) + bias, tr.output, atol=1e-4)


def test_without_position_encoding_permuting_rows_leaves_the_pooled_vector_unchanged(model, test_digits):
    x = test_digits[0][0]
    res = attention.order_test(model, x, attention.shuffled_order())
    with_pos, without_pos = res.pooled
    np.testing.assert_allclose(without_pos[0], without_pos[1], atol=1e-5)
    np.testing.assert_allclose(res.probs[1, 0], res.probs[1, 1], atol=1e-5)
    assert np.abs(with_pos[0] - with_pos[1]).max() > 0.1
    np.testing.assert_allclose(res.probs[0, 0], attention.trace(model, x).probs, atol=1e-6)


def numpy_layer_norm(model, name, rows):
    """The course's LayerNorm per row, (rows, depth), with the layer's gamma, beta and epsilon."""
    gamma, beta = model.get_layer(name).get_weights()
    mean, var = rows.mean(-1, keepdims=True), rows.var(-1, keepdims=True)
    return gamma * (rows - mean) / np.sqrt(var + model.get_layer(name).epsilon) + beta


@pytest.mark.parametrize("which", ["shipped", "seeded"])
def test_encoder_block_stages_are_the_layers_own_outputs(model, seeded_model, test_digits, which):
    """Each stage recomputed in numpy from the one before it and the layers' weights; the last one
    through the output layer gives Keras's own probabilities."""
    net = model if which == "shipped" else seeded_model
    x = test_digits[0][42]
    block = attention.encoder_trace(net, x)
    np.testing.assert_allclose(block.tokens, numpy_tokens(net, x), atol=1e-5)
    np.testing.assert_allclose(block.attended, attention.trace(net, x).output, atol=1e-5)
    np.testing.assert_allclose(block.residual1, block.tokens + block.attended, atol=1e-5)
    np.testing.assert_allclose(block.norm1, numpy_layer_norm(net, "norm1", block.residual1), atol=1e-4)
    (w1, b1), (w2, b2) = net.get_layer("ffn1").get_weights(), net.get_layer("ffn2").get_weights()
    np.testing.assert_allclose(block.ffn, np.maximum(block.norm1 @ w1 + b1, 0) @ w2 + b2, atol=1e-4)
    np.testing.assert_allclose(block.residual2, block.norm1 + block.ffn, atol=1e-5)
    np.testing.assert_allclose(block.norm2, numpy_layer_norm(net, "norm2", block.residual2), atol=1e-4)
    np.testing.assert_allclose(block.pooled, block.norm2.mean(0), atol=1e-5)
    kernel, bias = net.get_layer("output").get_weights()
    z = block.pooled @ kernel + bias
    np.testing.assert_allclose(np.exp(z) / np.exp(z).sum(), np.asarray(net(x[None], training=False))[0], atol=1e-5)


def test_every_rows_layer_norm_step_gives_the_keras_layers_output_row(model, test_digits):
    x = test_digits[0][0]
    block = attention.encoder_trace(model, x)
    norm1 = np.asarray(keras.Model(model.inputs[0], model.get_layer("norm1").output)(x[None]))[0]
    steps = attention.layer_norm_steps(model, "norm1", block.residual1)
    np.testing.assert_allclose(np.stack([s.after for s in steps]), norm1, atol=1e-4)
    np.testing.assert_allclose(np.stack([s.before for s in steps]), block.residual1, atol=1e-6)


@pytest.mark.parametrize("layer,row", [("norm1", 20), ("norm2", 3)])
def test_layer_norm_step_is_the_formula_and_gives_the_layers_output_row(model, test_digits, layer, row):
    block = attention.encoder_trace(model, test_digits[0][7])
    entering = (block.residual1 if layer == "norm1" else block.residual2)[row]
    step = attention.layer_norm_step(model, layer, entering)
    depth = len(entering)
    assert step.mean == pytest.approx(sum(float(v) for v in entering) / depth, abs=1e-6)
    assert step.variance == pytest.approx(sum((float(v) - step.mean) ** 2 for v in entering) / depth, rel=1e-6)
    assert step.eps == model.get_layer(layer).epsilon
    assert abs(step.normalised.mean()) < 1e-6
    assert step.normalised.var() == pytest.approx(step.variance / (step.variance + step.eps), rel=1e-6)
    np.testing.assert_allclose(step.after, getattr(block, layer)[row], atol=1e-5)


def test_encoder_trace_refuses_a_wrong_shape(model):
    with pytest.raises(ValueError, match=r"\(28, 28\).*\(27, 28\)"):
        attention.encoder_trace(model, np.zeros((27, 28), np.float32))


def test_shuffled_order_is_a_fixed_permutation():
    order = attention.shuffled_order()
    assert sorted(order) == list(range(28)) and np.array_equal(order, attention.shuffled_order())


def test_compiled_probe_is_built_once_and_safe_from_many_threads(seeded_model, test_digits):
    xs = test_digits[0][:8]
    forget(seeded_model)   # every thread runs the probe: no digit's outputs are held yet
    results: dict[int, np.ndarray] = {}

    def work(i):
        results[i] = attention.attention_scores(seeded_model, xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    forget(seeded_model)   # the serial run computes its own
    for i in range(8):
        np.testing.assert_allclose(results[i], attention.attention_scores(seeded_model, xs[i]), atol=1e-6)


def test_the_probe_runs_once_per_digit_and_its_outputs_cannot_be_changed(seeded_model, test_digits, monkeypatch):
    x, other = test_digits[0][0], test_digits[0][1]
    forget(seeded_model)
    calls = []
    real = attention.inference.outputs
    monkeypatch.setattr(attention.inference, "outputs", lambda models, x28: calls.append(1) or real(models, x28))
    tr = attention.trace(seeded_model, x)
    block = attention.encoder_trace(seeded_model, x)
    assert len(calls) == 1 and block.tokens is tr.tokens           # one run serves both views
    attention.trace(seeded_model, other)
    assert len(calls) == 2                                          # another digit, another run
    with pytest.raises(ValueError, match="read-only"):
        tr.scores[0, 0, 0] = 1.0                                    # shared by every session showing it
    forget(seeded_model)
    fresh = attention.trace(seeded_model, x)
    assert len(calls) == 3                                          # the entries leave with the model
    for name in ("tokens", "scores", "output", "probs"):            # and a fresh run gives what was held
        np.testing.assert_array_equal(getattr(fresh, name), getattr(tr, name))


def test_wrong_input_shape_names_what_was_received(model):
    with pytest.raises(ValueError, match=r"\(28, 28\).*\(28, 27\)"):
        attention.attention_scores(model, np.zeros((28, 27), np.float32))


def test_position_table_is_the_sinusoidal_one_the_layer_adds(model, seeded_model):
    np.testing.assert_allclose(attention.position_table(model), known_table(28, 64), atol=1e-6)
    np.testing.assert_allclose(attention.position_table(seeded_model), known_table(28, 32), atol=1e-6)
    assert attention.position_table(model)[3, 30] == pytest.approx(math.sin(3 / 10000 ** (30 / 64)), abs=1e-6)


def test_periods_are_read_from_the_models_own_table(model, seeded_model):
    # 2 pi * 10000^(2i/d): dimension 1 (i = 0) 6.283 rows; dimension 10 at d = 64: 2 pi * 10000^(10/64);
    # at d = 32 the same column waves twice as slowly in the exponent: 2 pi * 10000^(10/32).
    np.testing.assert_allclose(attention.periods(attention.position_table(model), (1, 10, 30)),
                               [2 * math.pi, 2 * math.pi * 10000 ** (10 / 64), 2 * math.pi * 10000 ** (30 / 64)],
                               rtol=1e-4)
    assert attention.periods(attention.position_table(seeded_model), (10,))[0] == pytest.approx(
        2 * math.pi * 10000 ** (10 / 32), rel=1e-4)


def test_strongest_rows_hold_half_the_weight_strongest_first():
    w = np.zeros(28)
    w[[6, 5, 9, 20]] = [0.4, 0.3, 0.2, 0.1]
    np.testing.assert_array_equal(attention.strongest_rows(w), [6, 5])
    w = np.zeros(28)
    w[[3, 8, 1, 12]] = [0.25, 0.24, 0.2, 0.31]                 # half the weight needs 12 and 3
    np.testing.assert_array_equal(attention.strongest_rows(w), [12, 3])
    uniform = attention.strongest_rows(np.full(28, 1 / 28))    # 14 rows would hold half: capped at 4
    assert len(uniform) == 4 and len(set(uniform.tolist())) == 4


# ---- figures: they draw the computed numbers, in the requested language --------------------------

@pytest.fixture(scope="module")
def sample(model, test_digits):
    x = test_digits[0][0]
    tr = attention.trace(model, x)
    return x, tr, attention.worked_example(model, tr.tokens, 1, 20)


def drawn_bars(fig, panel: int) -> dict[int, float]:
    """Key row -> length of the bars a figure draws as rectangles in panel `panel` ("x3": its x axis)."""
    return {round((s.y0 + s.y1) / 2): s.x1 for s in fig.layout.shapes if s.type == "rect" and s.xref == panel}


def path_bars(shape) -> np.ndarray:
    """The lengths of the bars one path shape draws, "M0,aH<length>V..Z" (horizontal) or
    "Ma,0V<length>H..Z" (vertical), in order."""
    return np.array([float(re.match(r"M[^HV]*[HV](-?[\d.e+-]+)", "M" + bar).group(1))
                     for bar in shape.path.split("M")[1:]])


def assert_every_bar(drawn: dict[int, float], weights: np.ndarray, span) -> None:
    """Each key row's bar is its weight; a row without a bar has a weight under a third of a pixel."""
    for j, w in enumerate(weights):
        assert drawn[j] == w if j in drawn else w < (span[1] - span[0]) / 500, (j, w)


def test_row_focus_bars_are_the_query_rows_weights_and_digit_is_the_input(sample):
    x, tr, _ = sample
    w = tr.scores[1, 20]
    fig = figures.row_focus(x, tr.scores[1], 20, 1, "en")
    assert_every_bar(drawn_bars(fig, "x3"), w, fig.layout.xaxis3.range)
    assert fig.layout.xaxis3.range[1] >= tr.scores[1].max()                     # one scale for every row
    (label,) = [s.label.text for s in fig.layout.shapes if s.label.text]
    assert label == f"{w.max():.2f}"                                             # the strongest bar's weight
    hover = next(d for d in fig.data if d.type == "bar")                         # every row's weights, told on hover
    np.testing.assert_allclose(np.asarray(hover.customdata), tr.scores[1].T, rtol=1e-6)
    assert "customdata[20]" in hover.hovertemplate
    (digit,) = [d for d in fig.data if d.type == "heatmap"]
    np.testing.assert_array_equal(digit.z, x)
    tint = {round((s.y0 + s.y1) / 2): float(s.fillcolor.split(",")[-1][:-1])
            for s in fig.layout.shapes if s.xref == "x2"}
    assert {(s.x0, s.x1) for s in fig.layout.shapes if s.xref == "x2"} == {(-0.5, 27.5)}   # across the digit
    for j, alpha in tint.items():
        assert alpha == pytest.approx(0.7 * w[j] / w.max(), abs=5e-4)
    assert set(tint) == set(np.flatnonzero(w >= 0.01 * w.max()).tolist())
    box = fig.layout.shapes[0]   # the query row outlined across the digit, first
    assert (box.y0, box.y1, box.x0, box.x1, box.xref, box.yref) == (19.5, 20.5, 0, 1, "x2 domain", "y2")
    assert "row 20" in fig.layout.title.text and "head 2" in fig.layout.title.text


def test_head_grid_shows_every_head_and_their_mean_with_the_query_row_outlined(sample):
    """One heatmap holds the tiles side by side, empty (NaN) columns between them."""
    _, tr, _ = sample
    fig = figures.head_grid(tr.scores, 20, 1, "zh")
    (heat,) = [d for d in fig.data if d.type == "heatmap"]
    z, keys = np.asarray(heat.z), np.asarray(heat.customdata)
    filled = ~np.isnan(z).all(axis=0)
    starts = np.flatnonzero(filled & ~np.r_[False, filled[:-1]])
    assert len(starts) == 5 and filled.sum() == 5 * 28
    tiles = [z[:, s:s + 28] for s in starts]
    for h in range(4):
        np.testing.assert_array_equal(tiles[h], tr.scores[h])
    np.testing.assert_allclose(tiles[4], tr.scores.mean(0))
    for s in starts:   # the hover's key row: the column within its tile
        np.testing.assert_array_equal(keys[:, s:s + 28], np.broadcast_to(np.arange(28), (28, 28)))
    assert [(b.x0, b.x1, b.y0, b.y1) for b in fig.layout.shapes] == [(s - 0.5, s + 27.5, 19.5, 20.5) for s in starts]
    titles = [a.text for a in fig.layout.annotations]
    assert titles[1] == "<b>▶ 头 2</b>" and titles[0] == "头 1" and titles[4] == "各头平均"
    assert [a.x for a in fig.layout.annotations] == [s + 13.5 for s in starts]   # each above its tile
    assert "头" in fig.layout.title.text


def test_worked_figure_draws_q_keys_dots_scaled_weights_values_and_output(model, sample):
    from plotly.colors import sample_colorscale

    from explain.figures.theme import DIVERGING
    _, tr, ex = sample
    examples = attention.worked_examples(model, tr.tokens, 1)
    fig = figures.worked_figure(examples, 20, "en")
    keys, values = [np.asarray(d.z) for d in fig.data if d.type == "heatmap"]
    np.testing.assert_array_equal(keys, ex.keys)
    np.testing.assert_array_equal(values, ex.values)
    dots, scaled = [path_bars(s) for s in fig.layout.shapes if s.type == "path"]
    np.testing.assert_allclose(dots, ex.dots, rtol=1e-6)
    np.testing.assert_allclose(scaled, ex.scaled, rtol=1e-6)
    assert_every_bar(drawn_bars(fig, "x5"), ex.weights, fig.layout.xaxis5.range)
    span = max(np.abs(ex.keys).max(), np.abs(ex.values).max(), np.abs(ex.queries).max())
    for panel, vector in (("x", ex.q), ("x7", ex.output)):   # each cell in its number's colour on the keys' scale
        cells = sorted((s.x0, s.fillcolor) for s in fig.layout.shapes if s.type == "rect" and s.xref == panel)
        assert [x0 for x0, _ in cells] == [d - 0.5 for d in range(len(vector))]
        assert [c for _, c in cells] == sample_colorscale(DIVERGING, ((vector + span) / (2 * span)).tolist())
    # Told on hover, every row's numbers: q, q·k, the scaled dots, the weights, the output.
    told = [np.asarray(d.customdata) for d in fig.data if d.customdata is not None]
    for drawn, name in zip(told, ("q", "dots", "scaled", "weights", "output")):
        np.testing.assert_allclose(drawn, np.stack([getattr(e, name) for e in examples]).T, rtol=1e-6, atol=1e-7)
    assert all("customdata[20]" in d.hovertemplate for d in fig.data if d.customdata is not None)
    assert "÷ 4" in [a.text for a in fig.layout.annotations]
    assert [s.label.text for s in fig.layout.shapes if s.label.text] == ["q (row 20)"]
    strongest = int(np.argmax(ex.weights))   # the key row written out, outlined in the five key-row panels
    outlines = [s for s in fig.layout.shapes if s.type == "rect" and s.xref.endswith("domain")]
    assert [(b.y0, b.y1, b.yref) for b in outlines] == [(strongest - 0.5, strongest + 0.5, f"y{k}")
                                                        for k in range(2, 7)]


def test_position_and_order_figures_draw_the_table_and_the_reordered_digit(model, sample):
    x, _, _ = sample
    table = attention.position_table(model)
    fig = figures.positional_figure(table, (0, 1, 10, 30), "en")
    np.testing.assert_array_equal(fig.data[0].z, table)
    np.testing.assert_array_equal(fig.data[3].y, table[:, 10])
    res = attention.order_test(model, x, attention.shuffled_order())
    fig = figures.order_figure(x, res, "en")
    np.testing.assert_array_equal(fig.data[1].z, x[res.order])
    assert f"→ {res.probs[0, 1].argmax()}" in fig.layout.annotations[1].text


def test_residual_figure_draws_each_stages_row_lengths_and_marks_the_row(model, sample):
    x, _, _ = sample
    block = attention.encoder_trace(model, x)
    fig = figures.residual_figure(attention.row_norms(block), 20, "en")
    for trace, stage in zip(fig.data, figures.STAGES):
        np.testing.assert_allclose(trace.y, np.linalg.norm(getattr(block, stage), axis=-1), rtol=1e-6)
    assert fig.layout.shapes[0].x0 == 20 and "row 20" in fig.layout.title.text


def test_layer_norm_figure_draws_before_normalised_and_after(model, sample):
    x, _, _ = sample
    block = attention.encoder_trace(model, x)
    steps = attention.layer_norm_steps(model, "norm2", block.residual2)
    fig = figures.layer_norm_figure(steps, "norm2", 5, "zh")
    bars = [path_bars(s) for s in fig.layout.shapes if s.type == "path"]
    every = (block.residual2, np.stack([s.normalised for s in steps]), block.norm2)
    for drawn, expected in zip(bars, every):
        np.testing.assert_allclose(drawn, expected[5], atol=1e-5)
    assert len(bars) == 3
    for trace, expected in zip(fig.data, every):   # every row's numbers, told on hover
        np.testing.assert_allclose(np.asarray(trace.customdata), expected.T, atol=1e-5)
        assert "customdata[5]" in trace.hovertemplate and trace.hovertemplate.endswith("<extra></extra>")
    for k, expected in enumerate(every, start=1):   # one range for every row
        low, high = fig.layout[f"yaxis{k if k > 1 else ''}"].range
        assert low <= min(0, expected.min()) and high >= expected.max()
    assert f"μ = {steps[5].mean:.2f}" in next(s.label.text for s in fig.layout.shapes if s.label.text)


@pytest.mark.parametrize("projector", [False, True])
def test_the_row_charts_built_without_plotlys_checks_pass_them_and_write_the_same_json(model, sample, projector):
    """Built 28 times a head, without plotly's property checks: validated, each gives the same JSON
    (plotly raises on any property it does not know)."""
    import json

    import plotly.graph_objects as go
    x, tr, _ = sample
    block = attention.encoder_trace(model, x)
    examples = [attention.worked_example(model, tr.tokens, 1, r) for r in range(28)]
    steps = attention.layer_norm_steps(model, "norm1", block.residual1)
    for fig in (figures.row_focus(x, tr.scores[1], 20, 1, "zh", projector),
                figures.worked_figure(examples, 20, "en", projector),
                figures.layer_norm_figure(steps, "norm1", 20, "en", projector),
                figures.recurrence_figure(tr.scores[1, 20], 20, "zh", projector),
                figures.residual_figure(attention.row_norms(block), 20, "en", projector)):
        assert json.loads(go.Figure(fig.to_plotly_json()).to_json()) == json.loads(fig.to_json())


def points(shape) -> np.ndarray:
    """(n, 2): the (x, y) points of an SVG path shape "Mx,yLx,y..." or "Mx,yQx,y x,y" (a quadratic
    Bézier: start, control point, end)."""
    return np.array(re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.path), dtype=float)


def test_recurrence_figure_joins_the_query_row_to_every_weighted_key_row(sample):
    _, tr, _ = sample
    w = tr.scores[1, 20]
    fig = figures.recurrence_figure(w, 20, "en")
    lines = [points(s) for s in fig.layout.shapes]
    assert all(len(line) == 2 and tuple(line[0]) == (0, 20) and line[1][0] == 1 for line in lines)
    widths = {int(line[1][1]): shape.line.width for line, shape in zip(lines, fig.layout.shapes)}
    assert sorted(widths) == np.flatnonzero(w >= 0.005).tolist()   # one line to every key row with weight
    assert widths[int(w.argmax())] == max(widths.values())


def test_row_focus_arcs_leave_the_query_row_for_every_weighted_key_row(sample):
    x, tr, _ = sample
    w = tr.scores[1, 20]
    arcs = [s for s in figures.row_focus(x, tr.scores[1], 20, 1, "en").layout.shapes if s.type == "path"]
    ends = {int(round(points(s)[-1][1])): s.line.width for s in arcs}
    assert all(points(s)[0][1] == 20 for s in arcs)
    assert sorted(ends) == np.flatnonzero(w >= 0.01).tolist()
    assert ends[int(w.argmax())] == max(ends.values())


def test_projector_style_keeps_weight_coded_line_widths(sample):
    x, tr, _ = sample
    w = tr.scores[1, 20]
    for fig in (figures.recurrence_figure(w, 20, "en", projector=True),
                figures.row_focus(x, tr.scores[1], 20, 1, "en", True)):
        assert len({s.line.width for s in fig.layout.shapes if s.type == "path"}) > 1


# ---- strings ---------------------------------------------------------------------------------------

def test_attention_strings_exist_in_both_languages():
    from explain.locales.en.attention import STRINGS as EN
    from explain.locales.zh.attention import STRINGS as ZH
    assert EN.keys() == ZH.keys()
    for key in EN:   # the same {fields} to fill, in whatever order the language needs
        assert sorted(re.findall(r"(?<!%){(\w+)", EN[key])) == sorted(re.findall(r"(?<!%){(\w+)", ZH[key])), key


# Layer names, formulas, function names and model names may stay in Latin letters in Chinese text.
ALLOWED = {"embed", "posenc", "mha", "pool", "lstm", "gru", "softmax", "attention", "sin", "cos", "true",
           "keras", "extra", "ffn", "norm", "relu"}


def test_chinese_attention_strings_have_no_english_words():
    from explain.locales.zh.attention import STRINGS as ZH
    for key, text in ZH.items():
        tokens = re.findall(r"[A-Za-z_]+", re.sub(r"%{[^}]*}|{[^}]*}", "", text))
        words = {w.lower() for w in tokens if len(w) >= 3 and "_" not in w}   # x_t, W_Q: formulas
        assert words <= ALLOWED, (key, words - ALLOWED)


# ---- the page, headless (AppTest), and in a real browser -------------------------------------------

def attention_page(lang: str, projector: bool = False):
    """The attention page run on its own (AppTest), its session set as the sidebar would set it."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "attention.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state["projector"] = projector
    return at.run()


def test_page_summary_follows_the_head_and_query_row_controls(model, test_digits):
    at = attention_page("en")
    assert not at.exception
    at.radio(key="attention_head").set_value(2).run()
    at.session_state["attention_row"] = 9      # the scrub slider's value, as the browser would send it
    at.run()
    assert not at.exception
    w = attention.attention_scores(model, test_digits[0][0])[2, 9]
    rows = attention.strongest_rows(w)
    expected = (f"In head 3, row 9 gives **{100 * w[rows].sum():.0f}%** of its attention to rows "
                f"**{', '.join(map(str, rows))}**.")
    assert expected in [m.value for m in at.markdown]
    assert any("Scaled dot-product attention in numbers: head 3, query row 9" in h.value for h in at.subheader)
    at.radio(key="attention_order").set_value("flip").run()
    assert not at.exception
    flipped = attention.order_test(model, test_digits[0][0], np.arange(28)[::-1])
    guess = flipped.probs.argmax(-1)
    table = next(m.value for m in at.markdown if m.value.startswith("| network"))
    assert f"| with position encoding (the trained model) | {guess[0, 0]} | {guess[0, 1]} |" in table
    assert f"| without position encoding | {guess[1, 0]} | {guess[1, 1]} |" in table


def test_the_charts_hold_every_query_rows_picture_with_that_rows_keras_numbers(model, test_digits):
    """What the charts draw in the browser for each row before the server hears of it: the weights
    from Keras's own query and key layers, the norm1 row from a Keras sub-model, each row outlined."""
    at = attention_page("en")
    at.radio(key="attention_head").set_value(2).run()
    assert not at.exception
    building = [rows for _, rows, _ in at.session_state["attention_pictures"].values()]
    deadline = time.monotonic() + 120
    while not all(rows.done for rows in building) and time.monotonic() < deadline:
        time.sleep(0.1)            # the other rows, built in a thread after the run
    assert all(rows.done for rows in building)
    at.session_state["attention_row"] = 9
    at.run()
    frames = {key: held[2] for key, held in at.session_state["_netlens_charts"].frames.items()}
    at.session_state["attention_row"] = 10
    at.run()
    after = at.session_state["_netlens_charts"].frames
    assert len(frames) == 6 and all(after[key][2] is made for key, made in frames.items())   # made once, not a move
    x = test_digits[0][0]
    scores = numpy_scores(model, x)[2]
    norm1 = np.asarray(keras.Model(model.inputs[0], model.get_layer("norm1").output)(x[None]))[0]
    held = {kind: rows.pictures for kind, (_, rows, _) in at.session_state["attention_pictures"].items()}
    assert set(held) == {"focus", "heads", "worked", "residual", "layernorm", "recurrence"}
    assert all(sorted(pictures) == list(range(28)) for pictures in held.values())
    for r in (0, 9, 27):
        focus = held["focus"][r][0]
        drawn = drawn_bars(focus, "x3")
        assert drawn and all(abs(length - scores[r, j]) < 1e-5 for j, length in drawn.items())
        low, high = focus.layout.xaxis3.range
        assert all(scores[r, j] < (high - low) / 500 for j in set(range(28)) - set(drawn))   # under a third of a pixel
        assert "row %d " % r in focus.layout.title.text
        worked = held["worked"][r][0]
        drawn = drawn_bars(worked, "x5")
        assert drawn and all(abs(length - scores[r, j]) < 1e-5 for j, length in drawn.items())
        fan = held["recurrence"][r][0]
        np.testing.assert_allclose(fan.data[1].customdata, scores[r], atol=1e-5)
        (_, _, after) = [s for s in held["layernorm"][r][0].layout.shapes if s.type == "path"]
        np.testing.assert_allclose(path_bars(after), norm1[r], atol=1e-4)
        assert held["residual"][r][0].layout.shapes[0].x0 == r
        grid, outlines = held["heads"][r]
        assert grid is held["heads"][0][0] and not grid.layout.shapes   # one figure under the row's outlines
        assert {(o["y0"], o["y1"]) for o in outlines} == {(r - 0.5, r + 0.5)} and len(outlines) == 5


def test_page_states_the_layer_norm_numbers_of_the_layers_own_output(model, test_digits):
    at = attention_page("en")
    at.session_state["attention_row"] = 9      # the scrub slider's value, as the browser would send it
    at.run()
    at.radio(key="attention_norm").set_value("norm2").run()
    assert not at.exception
    block = attention.encoder_trace(model, test_digits[0][0])
    entering, out = block.residual2[9], block.norm2[9]
    text = next(m.value for m in at.markdown if m.value.startswith("norm2 on row 9"))
    assert f"mean μ = {entering.mean():.3f} and variance σ² = {entering.var():.3f}" in text
    assert f"(mean {out.mean():.3f}, variance {out.var():.3f})" in text
    adds = next(m.value for m in at.markdown if m.value.startswith("Row 9: the token x has length"))
    assert f"attention adds MHA(x) of length {np.linalg.norm(block.attended[9]):.2f}" in adds


def test_the_texts_facts_are_read_from_the_model(model):
    """Heads, dimensions and the position table's periods come from the loaded model: the page would
    say other numbers for another model."""
    at = attention_page("en")
    mha = model.get_layer("mha")
    assert f"mha, {mha.num_heads} heads × {mha.key_dim} dimensions" in at.caption[0].value
    periods = attention.periods(attention.position_table(model), (1, 10, 30))
    body = next(m.value for m in at.markdown if "Read from this model's table" in m.value)
    for dim, period in zip((1, 10, 30), periods):
        assert f"dimension {dim} repeats every {period:.1f} rows" in body


def test_page_in_chinese_projector_mode_runs_in_chinese():
    at = attention_page("zh", projector=True)
    assert not at.exception
    assert [h.value for h in at.subheader][0] == "某一行在看哪里"


def test_page_renders_every_view_for_a_drawn_digit_in_the_browser(app_url, page):
    open_page(page, f"{app_url}/draw?lang=en")
    page.wait_for_selector("[data-testid='stSidebarUserContent'] [role='radiogroup']", timeout=120_000)
    settle(page)
    draw(page, SEVEN)
    settle(page)
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Attention").first.click()
    settle(page)
    page.wait_for_selector(CHART, timeout=60_000)
    # The rows' pictures are handed over 1-2 s after the visit (a rerun of the sections that show
    # them, pages.rows): the page is checked once every chart holds all 28 rows.
    page.wait_for_function("names => names.every(name => Object.keys(document.querySelector("
                           "`.st-key-chart-${name} .netlens-chart`)?.__netlens?.scrub?.frames || {}).length === 28)",
                           arg=list(FOLLOWING), timeout=30_000)
    settle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert draw_every_chart(page) == 8   # focus, heads, worked, residuals, layer norm, PE, order, LSTM
    assert "drawn" in page.locator("[data-testid='stSidebarUserContent']").inner_text()
    assert page.get_by_text("In head 1, row 20 gives").count() == 1
    assert page.get_by_text("norm1 on row 20: the 64 numbers entering").count() == 1


QUERY_ROW = ".netlens-scrub input[type='range'][aria-label='Query row']"


def test_moving_the_query_row_redraws_every_chart_with_only_its_new_shapes(app_url, page):
    """The arcs and fan lines are shapes whose number changes with the row: after each move every chart
    shows the shapes of its figure and no stale ones (plotly.js 4.1 kept the surplus of layer
    "between"), and the focus chart's arcs leave the new row."""
    open_page(page, f"{app_url}/attention?lang=en")
    page.wait_for_selector(CHART, timeout=60_000)
    settle(page)
    thumb = page.locator(QUERY_ROW).first
    for row in (19, 18, 17, 16):
        thumb.press("ArrowLeft")
        settle(page)
        page.wait_for_function(f"() => document.querySelector('{CHART}').layout.title.text.includes('row {row} ')")
        shown = page.evaluate(f"""() => [...document.querySelectorAll('{CHART}')].map(gd =>
            [(gd.layout.shapes || []).length, gd.querySelectorAll('path[data-index]').length])""")
        assert all(drawn == given for given, drawn in shown), (row, shown)
        arcs = page.evaluate(f"""() => document.querySelector('{CHART}').layout.shapes
            .filter(s => s.type === 'path').map(s => s.path.split('Q')[0])""")
        assert arcs and set(arcs) == {f"M0.000,{row}.000"}, arcs
    assert page.locator(EXCEPTION).count() == 0


def test_head_profile_finds_the_common_key_row_and_the_attention_distance():
    rows = np.arange(28)
    scores = np.stack([np.eye(28), np.zeros((28, 28))])
    scores[1, :, 5] = 1.0
    top, share, distance = attention.head_profile(scores)
    assert top[1] == 5 and share[1] == 1.0
    assert distance[0] == 0.0
    np.testing.assert_allclose(distance[1], np.abs(rows - 5).mean())


def test_page_without_its_model_file_says_how_to_rebuild_it_and_still_explains_positions(monkeypatch, tmp_path):
    import explain.models
    from pages.shared import shipped_model
    monkeypatch.setattr(explain.models, "MODELS_DIR", tmp_path)
    shipped_model.clear()
    try:
        at = attention_page("en")
    finally:
        shipped_model.clear()
    assert not at.exception
    assert "python -m explain.train attention" in at.error[0].value
    assert [h.value for h in at.subheader] == ["Positional encoding: how attention knows where a row is"]


def test_the_lstm_comparison_reads_its_units_and_steps_from_the_lstm_model(monkeypatch):
    import pages.shared
    shipped = pages.shared.loaded_models()
    units = sorted({layer.units for layer in shipped["lstm"].layers if isinstance(layer, keras.layers.LSTM)})
    text = next(m.value for m in attention_page("en").markdown if m.value.startswith("**LSTM (recurrent page)**"))
    assert f"with {' / '.join(map(str, units))} units per layer" in text
    inp = keras.Input((28, 28))
    x = keras.layers.LSTM(12, return_sequences=True, name="first")(inp)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.LSTM(7, name="second")(x))
    own, shipped_model = keras.Model(inp, out, name="lstm"), pages.shared.shipped_model
    monkeypatch.setattr(pages.shared, "shipped_model", lambda name: own if name == "lstm" else shipped_model(name))
    at = attention_page("zh")
    text = next(m.value for m in at.markdown if m.value.startswith("**LSTM（循环网络页）**"))
    assert "每层 7 / 12 个单元（first、second）" in text, text
    assert "27 次隐藏状态更新" in text and "28 步依次进行" in text


FOLLOWING = ("attention-row", "attention-heads", "attention-worked", "attention-residual", "attention-layernorm",
             "attention-vs-lstm")   # the charts that show the query row
ROW_CHARTS = ", ".join(f".st-key-chart-{name} .netlens-chart" for name in FOLLOWING)  # the six
# What each of them shows of row r: its title's words, the query dot, the outline or the marker line.
SHOWS_ROW = """([names, r]) => names.map(name => {
  const gd = document.querySelector(`.st-key-chart-${name} .js-plotly-plot`);
  const title = gd.layout.title.text, shapes = gd.layout.shapes || [];
  return {
    "attention-row": () => title.includes(`row ${r} `) && shapes[0].y0 === r - 0.5,
    "attention-heads": () => shapes.length === 5 && shapes.every(s => s.y0 === r - 0.5),
    "attention-worked": () => title.endsWith(`query row ${r}`),
    "attention-residual": () => title.includes(`row ${r} marked`) && shapes[0].x0 === r,
    "attention-layernorm": () => title.endsWith(`row ${r}`),
    "attention-vs-lstm": () => gd.data.at(-1).y[0] === r
      && gd.layout.annotations[1].text.startsWith(`attention: row ${r}<br>`),
  }[name]();
})"""


def test_the_row_charts_follow_the_query_row_before_the_server_hears_of_it_and_the_text_after(app_url, page):
    """Once the server has handed every row's pictures (built after the first run, handed without a
    move), a key press on the query-row slider redraws all six charts that show the row in the tab,
    while the tab's messages (the value for the server among them) are held; the text follows once
    they are released."""
    from tests.browser import HOLD
    open_page(page, f"{app_url}/attention?lang=en&sample=0")
    wait_drawn(page, 8, timeout=60_000)
    settle(page)
    thumb = page.locator(QUERY_ROW).first
    assert thumb.evaluate("e => Number(e.value)") == 20
    page.wait_for_function("names => names.every(name => Object.keys(document.querySelector("
                           "`.st-key-chart-${name} .netlens-chart`).__netlens.scrub?.frames || {}).length === 28)",
                           arg=list(FOLLOWING), timeout=30_000)
    settle(page)
    assert page.evaluate(SHOWS_ROW, [list(FOLLOWING), 20]) == [True] * 6
    page.evaluate(HOLD)
    thumb.press("ArrowLeft")
    wait_followed(page, 19, ROW_CHARTS)
    assert page.evaluate(SHOWS_ROW, [list(FOLLOWING), 19]) == [True] * 6
    assert page.evaluate("() => window.__held.length") >= 1            # the new value, not sent yet
    assert page.get_by_text("In head 1, row 20 gives").count() == 1     # the server's text: the row before
    page.evaluate("() => window.__release()")
    settle(page)
    assert page.get_by_text("In head 1, row 19 gives").count() == 1
    assert page.get_by_text("norm1 on row 19: the 64 numbers entering").count() == 1
    assert page.evaluate(SHOWS_ROW, [list(FOLLOWING), 19]) == [True] * 6
    assert page.locator(EXCEPTION).count() == 0


def test_a_click_on_the_head_grid_picks_that_head_and_query_row(app_url, page):
    """Click head 3's tile at query row 12: every row chart follows row 12 in the tab, then the server's
    rerun shows head 3 at row 12; a click on the digit's row 5 in the focus chart queries from row 5."""
    open_page(page, f"{app_url}/attention?lang=en&sample=0")
    wait_drawn(page, 8, timeout=60_000)
    page.wait_for_function("names => names.every(name => Object.keys(document.querySelector("
                           "`.st-key-chart-${name} .netlens-chart`).__netlens.scrub?.frames || {}).length === 28)",
                           arg=list(FOLLOWING), timeout=30_000)
    settle(page)

    def click(chart: str, x_axis: str, y_axis: str, x: float, y: float) -> None:
        click_chart(page, page.locator(f".st-key-chart-{chart} {CHART}"), x_axis, y_axis, x, y)

    click("attention-heads", "xaxis", "yaxis", 2 * (28 + figures.GRID_GAP) + 7, 12)   # head 3's tile, key row 7
    wait_followed(page, 12, ROW_CHARTS)
    settle(page)
    assert page.get_by_text("In head 3, row 12 gives").count() == 1
    assert page.locator(QUERY_ROW).first.evaluate("e => Number(e.value)") == 12
    page.wait_for_function("names => names.every(name => Object.keys(document.querySelector("
                           "`.st-key-chart-${name} .netlens-chart`).__netlens.scrub?.frames || {}).length === 28)",
                           arg=list(FOLLOWING), timeout=30_000)   # head 3's rows, built after the change
    settle(page)
    click("attention-row", "xaxis2", "yaxis2", 13.5, 5)                              # the digit's row 5
    page.wait_for_function("() => document.querySelector('.st-key-chart-attention-row .netlens-chart')"
                           ".dataset.scrubbed === '5'", timeout=10_000)
    settle(page)
    assert page.get_by_text("In head 3, row 5 gives").count() == 1
    assert page.locator(EXCEPTION).count() == 0
