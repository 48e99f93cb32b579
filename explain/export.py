"""The current digit's whole explanation as one self-contained HTML file a student can keep and open
offline: the input, every model's ten probabilities, the CNN's feature maps and kernels, the LSTM's
and GRU's gates, and the attention weights, in the session's language.

Everything is computed by the same `explain` functions and drawn by the same figure builders as the
pages, so the file shows the app's numbers. plotly.js is embedded once, from the installed plotly
package (no CDN), and the numbers behind the figures are embedded as JSON (`#netlens_data`).
"""
from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import datetime, UTC

import keras
import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from explain import attention, conv, recurrent
from explain.custom import UPLOADED
from explain.figures import attention as attention_figures
from explain.figures import cnn as cnn_figures
from explain.figures import recurrent as recurrent_figures
from explain.figures.draw import probabilities_figure, steps_figure
from explain.i18n import t
from explain.inference import probabilities
from explain.models import COMPARED
from explain.preprocess import Steps

MAX_TILES = 8  # feature maps per row of a grid: LeNet-5's 6 in one row, its 16 in two

CSS = """body{font-family:"Noto Sans CJK SC","Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
max-width:1200px;margin:2em auto;padding:0 1em;color:#262730;line-height:1.5}
h1{font-size:1.8em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}.best{background:#fde9d9;font-weight:bold}
.note{color:#555}.error{color:#b00020}"""


def percent(p: float) -> str:
    """A probability as the export's tables print it, e.g. 0.98765 -> "98.77%"."""
    return f"{100 * p:.2f}%"


def _model_name(name: str, lang: str) -> str:
    return t(f"model.name.{name}", lang)


class _Document:
    """HTML sections in order; every figure after the first reuses the one embedded plotly.js."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, tag: str, text: str, cls: str | None = None) -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<{tag}{attr}>{html.escape(text)}</{tag}>")

    def figure(self, fig: go.Figure) -> None:
        self.parts.append(fig.to_html(full_html=False, include_plotlyjs=False,
                                      config={"displaylogo": False, "responsive": True}))


def pooling_phrase(model: keras.Model, lang: str) -> str:
    """The model's pooling as the CNN intro says it, read from its layers: e.g. "2×2 max pooling",
    one phrase per distinct window and kind among its pooling layers, in layer order."""
    phrases = []
    for name in conv.plan(model).pools:
        layer = model.get_layer(name)
        kind = "max" if isinstance(layer, keras.layers.MaxPooling2D) else "average"
        phrases.append(t(f"export.pool.{kind}", lang, f=layer.pool_size[0]))
    return t("export.pool.separator", lang).join(dict.fromkeys(phrases))


def activation_phrase(model: keras.Model) -> str:
    """The convolutions' activations as the CNN intro names them, read from the model: e.g. "ReLU"."""
    plan = conv.plan(model)
    names = dict.fromkeys({"relu": "ReLU"}.get(plan.activation[name], plan.activation[name]) for name in plan.convs)
    return " / ".join(names)


def feature_maps(model: keras.Model, tr: conv.Trace) -> list[tuple[str, np.ndarray]]:
    """(layer, its maps (H, W, C)) in the order the export draws them, read from the model's plan:
    each convolution's maps before its activation, after it (an activation layer of its own), and
    after the pooling that reads them."""
    plan, shown = conv.plan(model), []
    for name in plan.convs:
        shown.append((name, tr.before[name]))
        after = plan.activated.get(name, name)
        if after != name:
            shown.append((after, tr.maps[after]))
        shown += [(pool, tr.maps[pool]) for pool in plan.pools if plan.source[pool] == after]
    return shown


def _predictions_table(probs: dict[str, np.ndarray], lang: str) -> str:
    """Model | answer | ten probabilities, the answer's cell marked."""
    head = "".join(f"<th>{k}</th>" for k in range(10))
    rows = []
    for name, p in probs.items():
        best = int(np.argmax(p))
        cells = "".join(f'<td{" class=best" if k == best else ""}>{percent(float(v))}</td>' for k, v in enumerate(p))
        rows.append(f"<tr><td>{html.escape(_model_name(name, lang))}</td><td>{best}</td>{cells}</tr>")
    return (f'<table id="predictions"><tr><th>{html.escape(t("export.table.model", lang))}</th>'
            f'<th>{html.escape(t("export.table.answer", lang))}</th>{head}</tr>{"".join(rows)}</table>')


def explanation_html(models: Mapping[str, object], x28: np.ndarray, description: str, lang: str,
                     steps: Steps | None = None, now: datetime | None = None) -> str:
    """The explanation of the digit `x28` (28, 28) in [0, 1] as one HTML page in `lang`.

    `models` maps each name in COMPARED to its keras model, or to the error that kept it from
    loading (its sections then say so), and `UPLOADED` to the session's own model if it has one
    (its probabilities join the comparison). `description` says where the digit came from (e.g. "test
    sample #12 (label 7)"); `steps` are the preprocessing stages of a drawing or upload.
    """
    x28 = np.asarray(x28, np.float32)
    now = now or datetime.now(UTC)
    doc = _Document()
    data: dict[str, object] = {"input": x28.round(6).tolist()}

    doc.text("h1", t("export.title", lang))
    doc.text("p", t("export.subtitle", lang, digit=description, time=now.strftime("%Y-%m-%d %H:%M UTC")),
             "note")

    def loaded(name: str) -> keras.Model | None:
        model = models.get(name)
        if isinstance(model, keras.Model):
            return model
        doc.text("p", t("export.model_missing", lang, model=_model_name(name, lang)), "error")
        return None

    doc.text("h2", t("export.input", lang))
    doc.figure(steps_figure(steps, x28, lang, False))

    doc.text("h2", t("export.predictions", lang))
    probs = probabilities({n: m for n, m in models.items() if n in COMPARED + (UPLOADED,)}, x28)
    for name in COMPARED:
        if name not in probs:
            loaded(name)
    data["probabilities"] = {name: p.tolist() for name, p in probs.items()}
    doc.parts.append(_predictions_table(probs, lang))
    doc.figure(probabilities_figure(probs, lang, False))

    doc.text("h2", t("export.cnn", lang))
    if (cnn := loaded("cnn")) is not None:
        tr = conv.trace(cnn, x28)
        doc.text("p", t("export.cnn_intro", lang, activation=activation_phrase(cnn), pooling=pooling_phrase(cnn, lang)),
                 "note")
        shown = feature_maps(cnn, tr)
        for layer, maps in shown:
            cols = min(maps.shape[2], MAX_TILES)
            doc.figure(cnn_figures.feature_grid(maps, t("export.cnn_maps", lang, layer=layer, channels=maps.shape[2],
                                                          height=maps.shape[0], width=maps.shape[1]),
                                                bool((maps < 0).any()), cols, lang, False))
            if layer in conv.plan(cnn).convs:
                doc.figure(cnn_figures.kernel_grid(cnn.get_layer(layer).get_weights()[0], cols, lang, False))
        doc.figure(cnn_figures.softmax_figure(tr.logits, tr.probabilities, lang, False))
        data["cnn"] = {"logits": tr.logits.tolist(), "maps": {layer: maps.tolist() for layer, maps in shown}}

    doc.text("h2", t("export.recurrent", lang))
    doc.text("p", t("export.recurrent_intro", lang), "note")
    data["gates"] = {}
    for name in ("lstm", "gru"):
        if (model := loaded(name)) is None:
            continue
        for gates in recurrent.gate_trace(model, x28):
            doc.figure(recurrent_figures.gate_heatmaps(gates, x28, lang, False))
            data["gates"][gates.layer_name] = {g: v.tolist() for g, v in gates.gates.items()}

    doc.text("h2", t("export.attention", lang))
    if (model := loaded("attention")) is not None:
        scores = attention.attention_scores(model, x28)
        query = int(x28.sum(axis=1).argmax())   # the row with the most ink
        doc.text("p", t("export.attention_intro", lang, row=query), "note")
        doc.figure(attention_figures.head_grid(scores, query, 0, lang, False))
        data["attention"] = scores.tolist()

    doc.text("p", t("export.data_note", lang), "note")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{html.escape(t('export.title', lang))}</title><style>{CSS}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
            f'{"".join(doc.parts)}'
            f'<script type="application/json" id="netlens_data">{payload}</script></body></html>')


def file_name(source: str, index: int | None, lang: str) -> str:
    """e.g. "netlens-sample-12-zh.html", "netlens-drawn-en.html"."""
    return f"netlens-{source}{'' if index is None else f'-{index}'}-{lang}.html"
