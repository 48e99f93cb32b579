"""The self-check questions, as data: which options each question has, which one is right, and which
page of the app shows the idea. The wording lives in the locales (`quiz.<id>.question`,
`quiz.<id>.option.<option>`, `quiz.<id>.explain`), so both languages share one answer key. A fact the
wording states about one of the app's models (a layer size, a rate, a dimension) is a `{field}` filled
from the loaded model by `model_facts`, so a retrained model can never contradict the text."""
from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import keras

from explain import training
from explain.i18n import t


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: `correct` is one of `options` (in display order), `page` the
    app page (its file, e.g. "pages/cnn.py") whose view the explanation points to, `models` the
    models whose facts its wording quotes (it cannot be asked without them)."""

    id: str
    correct: str
    page: str
    options: tuple[str, ...] = ("a", "b", "c", "d")
    models: tuple[str, ...] = ()


QUESTIONS: tuple[Question, ...] = (
    Question("cnn_vs_rnn", "b", "pages/recurrent.py", models=("cnn", "lstm")),
    Question("vanishing", "d", "pages/recurrent.py"),
    Question("lstm_forget", "a", "pages/recurrent.py"),
    Question("gru_update", "c", "pages/recurrent.py"),
    Question("batch_norm", "b", "pages/layers.py", models=("attention",)),
    Question("dropout", "d", "pages/layers.py", models=("mlp",)),
    Question("dropout_network", "c", "pages/layers.py", models=("mlp",)),
    Question("reduce_lr", "a", "pages/training.py"),
    Question("early_stopping", "c", "pages/training.py"),
    Question("attention_scale", "b", "pages/attention.py", models=("attention",)),
    Question("positional_encoding", "c", "pages/attention.py", models=("attention",)),
    Question("loss_choice", "b", "pages/fitting.py"),
    Question("weight_penalty", "c", "pages/fitting.py"),
    Question("sigmoid_depth", "a", "pages/gradients.py"),
    Question("clipping", "d", "pages/gradients.py"),
)


@dataclass(frozen=True)
class QuestionText:
    """A question in one language: the prompt, option id -> text, and the explanation."""

    prompt: str
    options: dict[str, str]
    explanation: str


def _number(x: float) -> str:
    return f"{round(x, 6):g}"


def _first(model: keras.Model, kind: type) -> keras.layers.Layer:
    layer = next((layer for layer in model.layers if isinstance(layer, kind)), None)
    if layer is None:
        raise ValueError(f"model {model.name!r} has no {kind.__name__} layer; its layers: "
                         f"{', '.join(type(layer).__name__ for layer in model.layers)}")
    return layer


def _mlp_facts(model: keras.Model) -> dict[str, str]:
    """The MLP's dropout rate and the width of the Dense layer it follows."""
    dropout = _first(model, keras.layers.Dropout)
    dense = model.layers[model.layers.index(dropout) - 1]
    return {"mlp_units": str(dense.units), "mlp_rate": _number(dropout.rate),
            "mlp_rate_pct": _number(100 * dropout.rate), "mlp_keep": _number(1 - dropout.rate)}


def _cnn_facts(model: keras.Model) -> dict[str, str]:
    """The first convolution: filters, kernel side, weights per filter (side x side x input channels)."""
    conv = _first(model, keras.layers.Conv2D)
    rows, cols, channels, _ = conv.kernel.shape
    return {"conv_filters": str(conv.filters), "conv_kernel": str(rows), "conv_weights": str(rows * cols * channels),
            "conv_params": str(conv.count_params())}


def _attention_facts(model: keras.Model) -> dict[str, str]:
    """The attention layer's key dimension and heads, the token depth and the number of rows (tokens)."""
    mha = _first(model, keras.layers.MultiHeadAttention)
    key_dim = mha.get_config()["key_dim"]
    return {"d_k": str(key_dim), "root_d_k": _number(math.sqrt(key_dim)), "heads": str(mha.num_heads),
            "depth": str(model.get_layer("embed").units), "rows": str(model.inputs[0].shape[1])}


def _lstm_facts(model: keras.Model) -> dict[str, str]:
    return {"timesteps": str(model.inputs[0].shape[1])}


_FACTS = {"mlp": _mlp_facts, "cnn": _cnn_facts, "attention": _attention_facts, "lstm": _lstm_facts}


@cache
def training_facts() -> dict[str, str]:
    """ReduceLROnPlateau's and EarlyStopping's settings, read from the Keras callbacks that
    `training.keras_callbacks` builds for the default run (`TrainConfig()`, the homework). Building
    them writes nothing (the run folder is only used once training begins)."""
    cbs = training.keras_callbacks(training.TrainConfig(), Path(tempfile.gettempdir()))
    reduce_lr, early = cbs["reduce_lr"], cbs["early_stopping"]
    return {"reduce_lr_monitor": reduce_lr.monitor, "reduce_lr_factor": _number(reduce_lr.factor),
            "reduce_lr_patience": str(reduce_lr.patience), "early_stopping_patience": str(early.patience),
            "early_stopping_restore": str(early.restore_best_weights)}


def model_facts(models: Mapping[str, object]) -> dict[str, str]:
    """The `{field}`s the questions quote, read from whichever of `models` (name -> keras.Model; other
    values, such as a load error, are skipped) the questions take facts from, plus `training_facts()`."""
    facts: dict[str, str] = dict(training_facts())
    for name, read in _FACTS.items():
        if isinstance(models.get(name), keras.Model):
            facts.update(read(models[name]))
    return facts


def askable(models: Mapping[str, object]) -> tuple[Question, ...]:
    """The questions whose models are loaded (a damaged model file leaves its questions out)."""
    return tuple(q for q in QUESTIONS if all(isinstance(models.get(n), keras.Model) for n in q.models))


# Facts the questions name in the user's language: field -> (the fact, the string naming its value),
# e.g. the monitored metric "val_loss" as 验证集损失 in Chinese.
NAMED = {"reduce_lr_monitor_name": ("reduce_lr_monitor", "training.metric.{}")}


def question_text(question: Question, lang: str, facts: Mapping[str, str]) -> QuestionText:
    """`question` in `lang`, its `{field}`s filled from `facts` (`model_facts` of the loaded models)
    and the `NAMED` facts' names in `lang`."""
    key = f"quiz.{question.id}"
    facts = {**facts, **{name: t(pattern.format(facts[fact]), lang) for name, (fact, pattern) in NAMED.items()
                         if fact in facts}}
    return QuestionText(t(f"{key}.question", lang, **facts),
                        {o: t(f"{key}.option.{o}", lang, **facts) for o in question.options},
                        t(f"{key}.explain", lang, **facts))


def score(answers: dict[str, str], questions: Sequence[Question] = QUESTIONS) -> int:
    """How many of `answers` (question id -> chosen option id) are right; unanswered ones count 0."""
    return sum(answers.get(q.id) == q.correct for q in questions)
