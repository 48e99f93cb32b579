"""A classroom on one server: every session calls the same cached models from its own thread.
Inference from many threads at once must give exactly what one thread gets alone, including the
very first calls, which build and compile the shared functions while other threads wait."""
from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from PIL import Image

from explain import attention, conv, inference, recurrent
from explain.models import MODEL_NAMES, load_model
from explain.preprocess import to_mnist
from explain.upload import read_upload

THREADS = 8


def everything(models: dict, x28: np.ndarray) -> dict[str, np.ndarray]:
    """What the pages compute for one digit: all five models' probabilities, the CNN's feature maps,
    both recurrent models' gates and the attention weights."""
    out = {f"probs.{name}": p for name, p in inference.probabilities(models, x28).items()}
    out["cnn.relu1"] = conv.trace(models["cnn"], x28).maps["relu1"]
    for name in ("lstm", "gru"):
        for layer in recurrent.gate_trace(models[name], x28):
            out.update({f"{name}.{layer.layer_name}.{gate}": v for gate, v in layer.gates.items()})
    out["attention.scores"] = attention.attention_scores(models["attention"], x28)
    return out


def hammer(work, items: list, threads: int = THREADS) -> list:
    """`work(item)` for every item, from `threads` threads released together, each taking the items in
    its own order, so that different threads run different digits at the same moment."""
    barrier = threading.Barrier(threads)

    def one_thread(seed: int) -> list:
        order = np.random.default_rng(seed).permutation(len(items))
        barrier.wait()
        return [(int(i), work(items[i])) for i in order]

    with ThreadPoolExecutor(threads) as pool:
        runs = list(pool.map(one_thread, range(threads)))
    return runs


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)


@pytest.fixture(scope="module")
def digits(test_digits) -> list[np.ndarray]:
    return list(test_digits[0][:24])


def test_many_threads_get_the_serial_results_for_every_page_computation(models, digits):
    serial = [everything(models, x) for x in digits]
    for run in hammer(lambda x: everything(models, x), digits):
        for index, result in run:
            assert_same(serial[index], result)


def keras_probabilities(models: dict, batch: np.ndarray) -> dict[str, np.ndarray]:
    """(digits, 10) per model from a plain serial Keras call, none of the app's compiled functions."""
    return {name: model(batch, training=False).numpy() for name, model in models.items()}


def keras_attention_scores(model, batch: np.ndarray) -> np.ndarray:
    """(digits, heads, query, key): the `mha` layer called eagerly by Keras on the position-encoded rows."""
    tokens = keras.Model(model.inputs[0], model.get_layer("posenc").output)(batch, training=False)
    _, scores = model.get_layer("mha")(tokens, tokens, return_attention_scores=True, training=False)
    return scores.numpy()


def test_every_thread_gets_keras_own_probabilities(models, digits):
    reference = keras_probabilities(models, np.stack(digits))
    runs = hammer(lambda x: inference.probabilities(models, x), digits, 4)
    assert len(runs) == 4 and all(len(run) == len(digits) for run in runs)
    for thread, run in enumerate(runs):
        for index, result in run:
            assert result.keys() == reference.keys()
            for name in MODEL_NAMES:
                np.testing.assert_allclose(result[name], reference[name][index], atol=1e-5,
                                           err_msg=f"{name}, thread {thread}, digit {index}")


def test_the_first_calls_race_safely_on_freshly_loaded_models(digits):
    """New model objects have no compiled function yet: eight threads ask for it at the same moment,
    and every one of them gets what a plain serial Keras call gives."""
    fresh = {name: load_model(name) for name in ("cnn", "attention")}
    batch = np.stack(digits[:4])
    probs_ref = keras_probabilities({name: load_model(name) for name in fresh}, batch)
    scores_ref = keras_attention_scores(load_model("attention"), batch)
    runs = hammer(lambda x: (inference.probabilities(fresh, x), attention.attention_scores(fresh["attention"], x)),
                  digits[:4])
    assert len(runs) == THREADS
    for thread, run in enumerate(runs):
        for index, (probs, scores) in run:
            for name in fresh:
                np.testing.assert_allclose(probs[name], probs_ref[name][index], atol=1e-5,
                                           err_msg=f"{name}, thread {thread}, digit {index}")
            np.testing.assert_allclose(scores, scores_ref[index], atol=1e-5, err_msg=f"thread {thread}, digit {index}")


def test_uploads_are_read_in_parallel_without_mixing_up_images(test_digits):
    x, _ = test_digits
    files = []
    for digit in x[:16]:
        buffer = io.BytesIO()
        Image.fromarray((255 - digit * 255).astype(np.uint8)).resize((300, 300)).save(buffer, "PNG")
        files.append(buffer.getvalue())
    serial = [to_mnist(read_upload(data)) for data in files]
    for run in hammer(lambda data: to_mnist(read_upload(data)), files):
        for index, result in run:
            assert np.array_equal(result, serial[index])
