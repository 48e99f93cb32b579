"""The recomputed gates reproduce Keras's own hidden states, obey the cell equations, and feed the
page's figures and equations with the real numbers."""
from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from explain import recurrent
from explain.figures import recurrent as figures
from explain.i18n import LANGUAGES

DIGITS = (0, 1, 2, 3, 7)      # a few test-split samples
TOL = 1e-5


def keras_sequences(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """Keras's own h_t at every timestep of every recurrent layer, (batch, timesteps, units) each.

    The first layer returns sequences, so a sub-model gives its output; the last does not, so a
    twin built from its config with return_sequences=True and the same weights reads the first
    layer's (Keras-computed) sequence.
    """
    layers = [layer for layer in model.layers if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))]
    out, seq = [], x
    for layer in layers:
        twin = type(layer).from_config({**layer.get_config(), "return_sequences": True})
        twin.build(seq.shape)
        twin.set_weights(layer.get_weights())
        seq = keras.ops.convert_to_numpy(twin(seq))
        out.append(seq)
    first = keras.Model(model.inputs[0], model.get_layer(layers[0].name).output)  # a Sequential refuses .input
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first(x)), out[0], atol=TOL)
    return out


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_recomputed_hidden_states_equal_keras_at_every_timestep_of_both_layers(models, test_digits, name):
    model, x = models[name], test_digits[0][list(DIGITS)]
    expected = keras_sequences(model, x)
    for k in range(len(DIGITS)):
        trace = recurrent.gate_trace(model, x[k])
        assert [g.layer_name for g in trace] == [f"{name}1", f"{name}2"]
        assert [g.cell for g in trace] == [name, name]
        for gates, keras_h in zip(trace, expected):
            assert set(gates.gates) == set(recurrent.LSTM_GATES if name == "lstm" else recurrent.GRU_GATES)
            assert all(v.shape == (28, 32) for v in gates.gates.values())
            np.testing.assert_allclose(gates.gates["hidden"], keras_h[k], atol=TOL)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_output_layer_on_the_last_hidden_state_gives_the_models_probabilities(models, test_digits, name):
    model, x = models[name], test_digits[0][list(DIGITS)]
    probs = keras.ops.convert_to_numpy(model(x))
    for k in range(len(DIGITS)):
        answers = recurrent.answer_over_time(model, recurrent.gate_trace(model, x[k]))
        assert answers.shape == (28, 10)
        np.testing.assert_allclose(answers.sum(axis=1), 1.0, atol=1e-9)
        np.testing.assert_allclose(answers[-1], probs[k], atol=TOL)


def check_lstm_identities(g: recurrent.LayerGates) -> None:
    i, f, cand, o, c, h = (g.gates[k] for k in recurrent.LSTM_GATES)
    np.testing.assert_allclose(c, f * g.previous("cell") + i * cand, atol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-12)
    for gate in ("input", "forget", "output"):
        assert 0 <= g.gates[gate].min() and g.gates[gate].max() <= 1
        np.testing.assert_allclose(g.gates[gate], 1 / (1 + np.exp(-g.preactivations[gate])), atol=1e-12)
    np.testing.assert_allclose(cand, np.tanh(g.preactivations["candidate"]), atol=1e-12)


def check_gru_identities(g: recurrent.LayerGates) -> None:
    z, r, cand, h = (g.gates[k] for k in recurrent.GRU_GATES)
    # Keras's convention: z weights the OLD state.
    np.testing.assert_allclose(h, z * g.previous("hidden") + (1 - z) * cand, atol=1e-12)
    np.testing.assert_allclose(cand, np.tanh(g.preactivations["candidate_x"] + r * g.preactivations["candidate_h"]),
                               atol=1e-12)
    for gate in ("update", "reset"):
        assert 0 <= g.gates[gate].min() and g.gates[gate].max() <= 1


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_returned_gates_obey_the_course_equations(models, test_digits, name):
    for k in DIGITS:
        for g in recurrent.gate_trace(models[name], test_digits[0][k]):
            (check_lstm_identities if name == "lstm" else check_gru_identities)(g)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_parameter_formula_equals_keras_count_for_every_layer(models, name):
    counts = recurrent.parameter_counts(models[name])
    assert [(c.layer_name, c.input_dim, c.units) for c in counts] == [(f"{name}1", 28, 32), (f"{name}2", 32, 32)]
    for c in counts:
        assert c.formula == c.keras == models[name].get_layer(c.layer_name).count_params()
    assert [c.formula for c in counts] == ([7808, 8320] if name == "lstm" else [5952, 6336])


def tiny_model(seed: int, **cell_options) -> keras.Model:
    """Input (5 steps, 3 features) -> LSTM 4 -> dropout -> GRU 3 -> Dense 2, random weights and biases."""
    x = inp = keras.Input((5, 3))
    x = keras.layers.LSTM(4, return_sequences=True, name="a", **cell_options)(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.GRU(3, name="b", **cell_options)(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.8, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("options", [{}, {"recurrent_activation": "hard_sigmoid"}], ids=["default", "hard_sigmoid"])
def test_tiny_random_layers_reproduce_keras(seed, options):
    model = tiny_model(seed, **options)
    x = np.random.default_rng(100 + seed).uniform(0, 1, (2, 5, 3)).astype("float32")
    expected = keras_sequences(model, x)
    probs = keras.ops.convert_to_numpy(model(x))
    for k in range(2):
        trace = recurrent.gate_trace(model, x[k])
        assert [(g.layer_name, g.cell, g.units, g.input_dim) for g in trace] == [("a", "lstm", 4, 3),
                                                                                  ("b", "gru", 3, 4)]
        for gates, keras_h in zip(trace, expected):
            np.testing.assert_allclose(gates.gates["hidden"], keras_h[k], atol=TOL)
        np.testing.assert_allclose(recurrent.answer_over_time(model, trace)[-1], probs[k], atol=TOL)
        if not options:
            check_lstm_identities(trace[0])
            check_gru_identities(trace[1])
    counts = recurrent.parameter_counts(model)
    assert [c.formula for c in counts] == [c.keras for c in counts]


def test_models_outside_the_traced_shape_are_refused_with_the_layer_named(models):
    with pytest.raises(ValueError, match="'image' \\(Reshape\\)"):
        recurrent.gate_trace(models["cnn"], np.zeros((28, 28)))
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GRU(3, reset_after=False, name="old")(inp)))
    with pytest.raises(ValueError, match="reset_after=False"):
        recurrent.gate_trace(model, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(28, 28, 1\)"):
        recurrent.gate_trace(models["lstm"], np.zeros((28, 28, 1)))


def test_memory_change_keep_factor_and_suggested_unit(models, test_digits):
    lstm1, _ = recurrent.gate_trace(models["lstm"], test_digits[0][0])
    change = recurrent.memory_change(lstm1)
    assert change.shape == (28,)
    assert change[0] == pytest.approx(np.linalg.norm(lstm1.gates["cell"][0]))
    assert change[5] == pytest.approx(np.linalg.norm(lstm1.gates["cell"][5] - lstm1.gates["cell"][4]))
    np.testing.assert_allclose(recurrent.keep_factor(lstm1, 10), lstm1.gates["forget"][11:].prod(axis=0))
    unit = recurrent.suggested_unit(lstm1)
    per_unit = np.abs(lstm1.gates["cell"] - lstm1.previous("cell")).sum(axis=0)
    assert per_unit[unit] == per_unit.max()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_gate_figure_shows_the_turned_digit_and_every_gate_of_the_trace(models, test_digits, name, lang):
    x28 = test_digits[0][0]
    for gates in recurrent.gate_trace(models[name], x28):
        fig = figures.gate_heatmaps(gates, x28, lang, projector=lang == "zh", step=12, unit=5)
        heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
        np.testing.assert_array_equal(np.asarray(heatmaps[0].z), x28.T)       # column t = image row t
        assert len(heatmaps) == 1 + len(gates.gates)
        for heatmap, gate in zip(heatmaps[1:], recurrent.LSTM_GATES if name == "lstm" else recurrent.GRU_GATES):
            np.testing.assert_array_equal(np.asarray(heatmap.z), gates.gates[gate].T)    # (units, timesteps)
            assert list(heatmap.x) == list(range(1, 29))
        assert any(shape.x0 == 11.5 and shape.x1 == 12.5 and shape.yref == "paper" for shape in fig.layout.shapes)
        titles = [a.text for a in fig.layout.annotations]
        assert all(figures.gate_name(name, g, lang) in titles for g in gates.gates)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_answer_and_memory_figures_plot_the_computed_numbers(models, test_digits, name):
    x28 = test_digits[0][1]
    trace = recurrent.gate_trace(models[name], x28)
    probs = recurrent.answer_over_time(models[name], trace)
    fig = figures.answer_over_time(probs, x28, name, "en", step=28)
    lines = [d for d in fig.data if d.type == "scatter" and d.mode == "lines"]
    assert [d.name for d in lines] == [str(k) for k in range(10)]
    for k, line in enumerate(lines):
        np.testing.assert_array_equal(np.asarray(line.y), probs[:, k])
    assert f"{100 * probs[-1].max():.1f}%" in " ".join(a.text for a in fig.layout.annotations)
    changes = [recurrent.memory_change(g) for g in trace]
    bars = [d for d in figures.memory_changes(trace, x28, changes, "zh").data if d.type == "bar"]
    assert [b.name for b in bars] == [g.layer_name for g in trace]
    for bar, change in zip(bars, changes):
        np.testing.assert_array_equal(np.asarray(bar.y), change)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_unit_figure_plots_that_units_gates(models, test_digits, name):
    gates = recurrent.gate_trace(models[name], test_digits[0][4])[0]
    fig = figures.unit_over_time(gates, 17, test_digits[0][4], "zh", step=3)
    lines = [d for d in fig.data if d.type == "scatter"]
    assert [d.name for d in lines] == [figures.SYMBOLS[name][g] for g in gates.gates]
    for line, values in zip(lines, gates.gates.values()):
        np.testing.assert_array_equal(np.asarray(line.y), values[:, 17])


def test_lstm_equations_carry_the_units_real_numbers(models, test_digits):
    gates = recurrent.gate_trace(models["lstm"], test_digits[0][2])[1]
    step, unit = 15, 7
    lines = figures.equations(gates, step, unit)
    g = {k: v[step - 1, unit] for k, v in gates.gates.items()}
    c_prev = gates.gates["cell"][step - 2, unit]
    for line, gate in zip(lines, ("forget", "input", "candidate", "output", "cell", "hidden")):
        assert line.removesuffix(r" \end{aligned}").endswith(f"= {g[gate]:.3f}"), line
    for gate in ("forget", "input", "candidate", "output"):
        assert f"({gates.preactivations[gate][step - 1, unit]:.3f})" in " ".join(lines)
    assert f"{abs(c_prev):.3f}" in lines[4] and f"{abs(g['forget'] * c_prev):.3f}" in lines[4]


def test_gru_equations_use_kerass_convention_with_real_numbers(models, test_digits):
    gates = recurrent.gate_trace(models["gru"], test_digits[0][2])[0]
    step, unit = 1, 3                                  # first row: h_0 = 0
    lines = figures.equations(gates, step, unit)
    z, hh, h = (gates.gates[k][0, unit] for k in ("update", "candidate", "hidden"))
    assert f"{z:.3f} \\times 0.000" in lines[3] and f"{1 - z:.3f} \\times" in lines[3]
    assert lines[3].endswith(f"= {h:.3f} \\end{{aligned}}")
    assert f"= {hh:.3f}" in lines[2] and f"{gates.preactivations['candidate_x'][0, unit]:.3f}" in lines[2]


def test_parameter_equation_fills_in_d_and_u(models):
    lstm1, gru2 = recurrent.parameter_counts(models["lstm"])[0], recurrent.parameter_counts(models["gru"])[1]
    assert figures.parameter_equation(lstm1) == r"4 \times \big(32 \times (28 + 32) + 32\big) = 7808"
    assert figures.parameter_equation(gru2) == r"3 \times \big(32 \times (32 + 32) + 2 \times 32\big) = 6336"


def test_locale_files_have_the_same_keys():
    from explain.locales.en import recurrent as en
    from explain.locales.zh import recurrent as zh
    assert en.STRINGS.keys() == zh.STRINGS.keys()
    untranslated = [key for key, text in zh.STRINGS.items()
                    if text == en.STRINGS[key] or not re.search(r"[\u4e00-\u9fff]", text)]
    assert untranslated == []
    assert [key for key, text in en.STRINGS.items() if re.search(r"[\u4e00-\u9fff]", text)] == []


def test_the_pages_charts_are_the_figures_for_the_sliders_row_after_moves_too(monkeypatch, models):
    """The page builds each chart once per digit and moves only its outlines (`shapes=`): what it
    sends equals the figure builders' own output for the row and unit the pickers show."""
    import json

    from explain.data import load_mnist
    from explain.preprocess import to_mnist
    from tests.apptest import app_on_page
    from tests.charts import charts, figure_json

    at = app_on_page(monkeypatch, "pages/recurrent.py", lang="en", sample="3")
    x28 = to_mnist(load_mnist().test.x[3])
    trace = recurrent.gate_trace(models["lstm"], x28)
    answers = recurrent.answer_over_time(models["lstm"], trace)
    for step in (at.session_state["recurrent_step"], 5, 6, 28):
        at.session_state["recurrent_step"] = step
        at.run()
        unit = next(box.value for box in at.selectbox if box.key.startswith("recurrent_unit_"))
        sent = {chart["key"]: json.loads(figure_json(at, chart)) for chart in charts(at)}
        layer = trace[0].layer_name
        expected = {f"chart-recurrent-{layer}": figures.gate_heatmaps(trace[0], x28, "en", False, step, unit),
                    f"chart-recurrent-{layer}-unit{unit}": figures.unit_over_time(trace[0], unit, x28, "en", False,
                                                                                  step),
                    "chart-recurrent-lstm-answer": figures.answer_over_time(answers, x28, "LSTM", "en", False, step),
                    "chart-recurrent-lstm-memory": figures.memory_changes(
                        trace, x28, [recurrent.memory_change(g) for g in trace], "en", False, step)}
        for key, fig in expected.items():
            assert sent[key] == json.loads(fig.to_json()), (key, step)
        assert sent[f"chart-recurrent-{layer}"]["layout"]["shapes"][-1]["x0"] == step - 0.5
