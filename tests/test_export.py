"""The exported explanation: one self-contained HTML file, in the session's language, holding the
numbers the explain functions compute, that renders in Chromium with the network switched off."""
from __future__ import annotations

import html
import json
import re

import keras
import numpy as np
import pytest

from explain import attention, conv, export, recurrent
from explain.i18n import t
from explain.inference import probabilities
from explain.models import COMPARED, ModelFileError
from tests.browser import open_page
from tests.charts import charts

SAMPLE = 12


@pytest.fixture(scope="module")
def digit(test_digits):
    x, y = test_digits
    return x[SAMPLE], int(y[SAMPLE])


@pytest.fixture(scope="module")
def exported(models, digit) -> dict[str, str]:
    """lang -> the export of test sample 12."""
    return {lang: export.explanation_html(models, digit[0], f"#{SAMPLE}", lang) for lang in ("zh", "en")}


def compared(models: dict) -> dict:
    """The five course models, which the export sets side by side."""
    return {name: models[name] for name in COMPARED}


def embedded_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="netlens_data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_the_file_loads_nothing_from_the_network_and_embeds_plotly_once(exported):
    from plotly.offline import get_plotlyjs
    for page in exported.values():
        assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", page, re.I)
        assert page.count(get_plotlyjs()) == 1
        assert page.count('class="plotly-graph-div"') >= 10


def test_the_embedded_numbers_are_the_explain_functions_numbers(exported, models, digit):
    x28 = digit[0]
    data = embedded_data(exported["en"])
    np.testing.assert_array_equal(np.float32(data["input"]), x28.round(6))
    assert list(data["probabilities"]) == list(COMPARED)  # the five course models, not the baselines
    for name, p in probabilities(compared(models), x28).items():
        np.testing.assert_allclose(data["probabilities"][name], p, rtol=0, atol=1e-7)
    np.testing.assert_allclose(data["cnn"]["logits"], conv.trace(models["cnn"], x28).logits, atol=1e-6)
    np.testing.assert_allclose(data["cnn"]["maps"]["relu2"], conv.trace(models["cnn"], x28).maps["relu2"], atol=1e-6)
    for name in ("lstm", "gru"):
        for gates in recurrent.gate_trace(models[name], x28):
            for gate, values in gates.gates.items():
                np.testing.assert_allclose(data["gates"][gates.layer_name][gate], values, atol=1e-6)
    np.testing.assert_allclose(data["attention"], attention.attention_scores(models["attention"], x28), atol=1e-7)


def test_the_predictions_table_prints_every_models_probabilities(exported, models, digit):
    table = re.search(r'<table id="predictions">(.*?)</table>', exported["zh"], re.S).group(1)
    for name, p in probabilities(compared(models), digit[0]).items():
        row = re.search(rf"<tr><td>{re.escape(t(f'model.name.{name}', 'zh'))}</td><td>(\d)</td>(.*?)</tr>", table).group
        assert int(row(1)) == int(np.argmax(p))
        assert re.findall(r">([\d.]+%)<", row(2)) == [export.percent(float(v)) for v in p]


def test_the_cnn_reads_this_sample_right_and_the_file_says_so(exported, models, digit):
    x28, label = digit
    assert int(np.argmax(probabilities(models, x28)["cnn"])) == label
    assert np.argmax(embedded_data(exported["zh"])["probabilities"]["cnn"]) == label


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_file_is_in_the_sessions_language(exported, lang):
    other = "en" if lang == "zh" else "zh"
    for key in ("export.title", "export.predictions", "export.cnn", "export.recurrent", "export.attention"):
        assert html.escape(t(key, lang)) in exported[lang]
        assert html.escape(t(key, other)) not in exported[lang]


def test_the_cnn_intro_names_the_pooling_the_model_has(exported, models, digit):
    """The shipped LeNet-5's pooling read from its Keras layers; a CNN with other windows is said so."""
    cnn = models["cnn"]
    sizes = {cnn.get_layer(name).pool_size for name in ("pool1", "pool2")}
    assert sizes == {(2, 2)} and isinstance(cnn.get_layer("pool1"), keras.layers.MaxPooling2D)
    assert "after 2\u00d72 max pooling;" in exported["en"] and "2×2 最大池化之后" in exported["zh"]
    keras.utils.set_random_seed(0)
    other = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3, padding="same", name="conv1"),
        keras.layers.Activation("relu", name="relu1"), keras.layers.AveragePooling2D(2, name="pool1"),
        keras.layers.Conv2D(2, 3, name="conv2"), keras.layers.Activation("relu", name="relu2"),
        keras.layers.MaxPooling2D(3, name="pool2"), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", name="out")])
    page = export.explanation_html({"cnn": other}, digit[0], "#12", "en")
    assert "after 2\u00d72 average pooling, 3\u00d73 max pooling;" in page and "2\u00d72 max" not in page
    assert "2×2 平均池化、3×3 最大池化之后" in export.explanation_html({"cnn": other}, digit[0], "#12", "zh")


def test_a_model_that_failed_to_load_leaves_a_message_and_the_rest(models, digit):
    partial = {"lstm": models["lstm"], "gru": ModelFileError("gru", "damaged", "truncated")}  # others missing too
    page = export.explanation_html(partial, digit[0], "#12", "en")
    for name in ("gru", "cnn", "attention"):
        assert html.escape(t("export.model_missing", "en", model=t(f"model.name.{name}", "en"))) in page
    data = embedded_data(page)
    assert list(data["probabilities"]) == ["lstm"] and list(data["gates"]) == ["lstm1", "lstm2"]
    assert "cnn" not in data and "attention" not in data


def test_a_drawing_is_exported_with_its_preprocessing_steps(models):
    from explain.preprocess import preprocess_steps
    drawing = np.zeros((280, 280), np.uint8)
    drawing[40:240, 130:150] = 255                                   # a thick "1"
    steps = preprocess_steps(drawing)
    page = export.explanation_html(models, steps.final, "drawn", "zh", steps=steps)
    assert json.dumps(t("draw.fig.ink", "zh")) in page                  # a panel title inside the figure's JSON
    np.testing.assert_allclose(embedded_data(page)["input"], steps.final, atol=1e-6)
    assert np.argmax(embedded_data(page)["probabilities"]["cnn"]) == 1


def test_every_chart_of_every_page_goes_through_show_chart():
    """A page calling st.plotly_chart itself would lose the PNG download below."""
    from pathlib import Path
    pages = Path(__file__).resolve().parent.parent / "pages"
    assert [p.name for p in pages.glob("*.py") if p.name != "shared.py" and "plotly_chart(" in p.read_text()] == []


def _one_chart():
    import plotly.graph_objects as go

    from pages.shared import show_chart
    show_chart(go.Figure(go.Bar(y=[0.2, 0.8])), "probabilities")


def test_a_charts_toolbar_saves_a_png_at_three_times_screen_resolution_named_for_the_chart():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_one_chart).run()
    config = charts(at)[0]["config"]
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "netlens-probabilities", "scale": 3}


def test_file_names_say_which_digit_and_language():
    assert export.file_name("sample", 12, "zh") == "netlens-sample-12-zh.html"
    assert export.file_name("drawn", None, "en") == "netlens-drawn-en.html"


def test_the_file_renders_offline_in_chromium(browser, exported, tmp_path):
    path = tmp_path / "netlens.html"
    path.write_text(exported["zh"], encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 720})
    requests, errors = [], []
    context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_())
                  if route.request.url.startswith("file://") else (requests.append(route.request.url), route.abort()))
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(path.as_uri(), wait_until="load")
    tab.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    figures = exported["zh"].count('class="plotly-graph-div"')
    assert tab.locator(".js-plotly-plot").count() == figures
    assert tab.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                        ".filter(p => p.querySelector('.main-svg .trace, .main-svg image')).length") == figures
    assert t("export.title", "zh") in tab.locator("h1").inner_text()
    assert not errors
    assert [url for url in requests if not url.startswith("file://")] == []
    context.close()


def test_the_sidebar_button_downloads_the_explanation_of_the_current_sample(page, app_url, models, test_digits):
    open_page(page, f"{app_url}/quiz?lang=en&sample={SAMPLE}")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=t("export.button", "en")).click()
    assert download.value.suggested_filename == export.file_name("sample", SAMPLE, "en")
    data = embedded_data(open(download.value.path(), encoding="utf-8").read())
    for name, p in probabilities(compared(models), test_digits[0][SAMPLE]).items():
        np.testing.assert_allclose(data["probabilities"][name], p, atol=1e-6)


def test_the_cnn_section_follows_the_models_own_layers_and_activation(exported, models, digit):
    """The maps drawn (and embedded) are the model's own convolution, activation and pooling layers in
    order; a convolution with a fused tanh is shown before its tanh and after its pooling, and the
    intro names tanh, not ReLU."""
    kinds = (keras.layers.Conv2D, keras.layers.Activation, keras.layers.ReLU, keras.layers.MaxPooling2D,
             keras.layers.AveragePooling2D)
    shipped = [layer.name for layer in models["cnn"].layers if isinstance(layer, kinds)]
    assert list(embedded_data(exported["en"])["cnn"]["maps"]) == shipped
    assert "feature maps before ReLU" in exported["en"] and "ReLU 之后的特征图" in exported["zh"]
    keras.utils.set_random_seed(0)
    fused = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 3, activation="tanh", name="c1"),
                              keras.layers.MaxPooling2D(2, name="p1"), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    page = export.explanation_html({"cnn": fused}, digit[0], "#12", "en")
    assert "feature maps before tanh" in page and "ReLU" not in page.split("<h2>")[3]
    maps = embedded_data(page)["cnn"]["maps"]
    assert list(maps) == ["c1", "p1"]
    x = digit[0][None, :, :, None]
    pooled = keras.ops.convert_to_numpy(keras.Model(fused.inputs[0], fused.get_layer("p1").output)(x))[0]
    np.testing.assert_allclose(maps["p1"], pooled, atol=1e-6)
    linear = keras.layers.Conv2D(3, 3, name="c1_linear")
    linear.build((None, 28, 28, 1))
    linear.set_weights(fused.get_layer("c1").get_weights())
    np.testing.assert_allclose(maps["c1"], keras.ops.convert_to_numpy(linear(x))[0], atol=1e-5)   # before tanh
