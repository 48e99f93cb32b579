"""A student's own recurrent models, uploaded: the homework LSTM's ModelCheckpoint weights file and a
notebook GRU (other widths, a hidden Dense layer) saved as .keras. Their recomputed hidden states
equal Keras's own at every timestep, the answer after the last row is the model's output, and the
dropout layers and output sizes the page states are the model's."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from explain import recurrent
from explain.custom import load_uploaded
from tests.test_recurrent import TOL, keras_sequences

L = keras.layers


def homework_lstm() -> keras.Model:
    keras.utils.set_random_seed(31)
    return keras.Sequential([L.Input((28, 28)), L.LSTM(32, return_sequences=True, name="lstm"),
                             L.Dropout(0.25, name="dropout"), L.LSTM(32, name="lstm_1"),
                             L.Dropout(0.4, name="dropout_1"), L.Dense(10, activation="softmax", name="dense")])


def notebook_gru() -> keras.Model:
    keras.utils.set_random_seed(32)
    return keras.Sequential([L.Input((28, 28)), L.GRU(24, return_sequences=True, name="gru"),
                             L.GRU(16, name="gru_1"), L.Dropout(0.1, name="dropout"),
                             L.Dense(20, activation="relu", name="hidden"),
                             L.Dense(10, activation="softmax", name="out")])


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory):
    """(student's model, the same model as the app loaded it from the uploaded file), per kind."""
    folder = tmp_path_factory.mktemp("uploads")
    lstm, gru = homework_lstm(), notebook_gru()
    lstm.save_weights(folder / "best.weights.h5")
    gru.save(folder / "gru.keras")
    return {"lstm": (lstm, load_uploaded((folder / "best.weights.h5").read_bytes(), "best.weights.h5")),
            "gru": (gru, load_uploaded((folder / "gru.keras").read_bytes(), "gru.keras"))}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_an_uploaded_models_hidden_states_equal_keras_at_every_timestep(uploaded, test_digits, kind):
    student, model = uploaded[kind]
    x = test_digits[0][[0, 5]]
    probs = student(x, training=False).numpy()
    expected = keras_sequences(student, x)
    for k in range(len(x)):
        trace = recurrent.gate_trace(model, x[k])
        assert [g.cell for g in trace] == [kind, kind]
        for gates, keras_h in zip(trace, expected):
            np.testing.assert_allclose(gates.gates["hidden"], keras_h[k], atol=TOL)
        np.testing.assert_allclose(recurrent.answer_over_time(model, trace)[-1], probs[k], atol=TOL)


def test_the_homework_lstm_from_its_weights_file_has_its_layer_counts_and_dropout_rates(uploaded):
    student, model = uploaded["lstm"]
    counts = recurrent.parameter_counts(model)
    assert [c.keras for c in counts] == [layer.count_params() for layer in student.layers if isinstance(layer, L.LSTM)]
    assert [c.formula for c in counts] == [c.keras for c in counts]
    # The architecture is the course's (its layer names), the rates the course's 0.2 and 0.3, not the file's:
    # a weights file holds no rates. What the page states is what the loaded model has.
    rates = [(d.name, d.rate, d.before, d.after) for d in recurrent.dropout_layers(model)]
    assert rates == [(layer.name, layer.rate, before.name, after.name)
                     for before, layer, after in zip(model.layers, model.layers[1:], model.layers[2:])
                     if isinstance(layer, L.Dropout)]


def test_a_notebook_grus_dropout_and_dense_layers_are_read_from_it(uploaded):
    _, model = uploaded["gru"]
    assert [(d.name, d.rate, d.before, d.after) for d in recurrent.dropout_layers(model)] == \
        [("dropout", pytest.approx(0.1), "gru_1", "hidden")]
    assert [(d.name, d.inputs, d.units, d.activation) for d in recurrent.output_layers(model)] == \
        [("hidden", 16, 20, "relu"), ("out", 20, 10, "softmax")]
    assert [c.units for c in recurrent.parameter_counts(model)] == [24, 16]


def test_models_the_page_cannot_trace_are_told_apart(models):
    assert recurrent.fits(models["lstm"]) and recurrent.fits(models["gru"])
    assert not recurrent.fits(models["cnn"]) and not recurrent.fits(models["attention"])
    single = keras.Sequential([L.Input((28, 28)), L.LSTM(8), L.RepeatVector(28), L.LSTM(8),
                               L.Dense(10, activation="softmax")])
    assert not recurrent.fits(single)
