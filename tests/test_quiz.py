"""The self-check: one right answer per question in both languages, links to real pages, judged at once."""
import re
from dataclasses import replace
import string
from pathlib import Path

import keras
import pytest

from explain.architectures import attention as build_attention
from explain.i18n import LANGUAGES, strings, t
from explain import quiz, training
from explain.quiz import QUESTIONS, askable, model_facts, question_text, score, training_facts
from explain.models import ModelFileError
from tests.apptest import app_on_page

ROOT = Path(__file__).resolve().parent.parent


def test_there_are_eight_to_fifteen_questions_with_distinct_ids():
    assert 8 <= len(QUESTIONS) <= 15
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_each_question_has_exactly_one_correct_option(question):
    assert [o for o in question.options if o == question.correct] == [question.correct]
    assert len(set(question.options)) == len(question.options) >= 3


@pytest.fixture(scope="module")
def facts(models):
    return model_facts(models)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_each_question_is_written_out_in_both_languages_with_distinct_options(question, lang, facts):
    text = question_text(question, lang, facts)
    assert text.prompt and text.explanation
    assert set(text.options) == set(question.options)
    assert len(set(text.options.values())) == len(question.options)
    assert all(option.strip() for option in text.options.values())
    if lang == "zh":
        assert all(re.search(r"[\u4e00-\u9fff]", s) for s in (text.prompt, text.explanation)), text.prompt


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_both_languages_quote_the_same_model_facts_and_the_models_provide_them(question, facts):
    keys = [f"quiz.{question.id}.{part}" for part in ("question", "explain")]
    keys += [f"quiz.{question.id}.option.{o}" for o in question.options]
    for key in keys:
        assert fields(strings("zh")[key]) == fields(strings("en")[key]), key
        assert fields(strings("en")[key]) <= set(facts) | set(quiz.NAMED), key
    quoted = set().union(*(fields(strings("en")[key]) for key in keys)) - set(training_facts()) - set(quiz.NAMED)
    assert bool(quoted) == bool(question.models), "a question quoting model facts names its models"


def test_the_quiz_has_no_strings_that_no_question_uses():
    used = {f"quiz.{q.id}.{part}" for q in QUESTIONS for part in ("question", "explain")}
    used |= {f"quiz.{q.id}.option.{o}" for q in QUESTIONS for o in q.options}
    per_question = {k for k in strings("en") if re.match(r"quiz\.\w+\.(question|explain|option\.\w+)$", k)}
    assert per_question == used


def test_the_right_answers_are_not_all_in_the_same_place():
    assert len({q.correct for q in QUESTIONS}) >= 3


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_each_explanation_points_to_a_page_of_the_app(question):
    assert (ROOT / question.page).is_file()
    assert f'"{question.page}"' in (ROOT / "app.py").read_text()
    assert t(f"nav.{Path(question.page).stem}", "zh")


def test_the_score_counts_right_answers_and_ignores_unanswered_ones():
    assert score({}) == 0
    assert score({q.id: q.correct for q in QUESTIONS}) == len(QUESTIONS)
    first, second = QUESTIONS[:2]
    wrong = next(o for o in second.options if o != second.correct)
    assert score({first.id: first.correct, second.id: wrong}) == 1


def test_the_facts_of_the_shipped_models_are_their_keras_configs(models, facts):
    mlp_dense, dropout = (models["mlp"].get_layer(n).get_config() for n in ("dense", "dropout"))
    mha = models["attention"].get_layer("mha").get_config()
    conv1 = models["cnn"].get_layer("conv1")
    assert (facts["mlp_units"], float(facts["mlp_rate"])) == (str(mlp_dense["units"]), dropout["rate"])
    assert float(facts["mlp_keep"]) == pytest.approx(1 - dropout["rate"])
    assert (int(facts["d_k"]), int(facts["heads"])) == (mha["key_dim"], mha["num_heads"])
    assert float(facts["root_d_k"]) ** 2 == pytest.approx(mha["key_dim"])
    assert int(facts["conv_params"]) == conv1.count_params() == sum(w.size for w in conv1.get_weights())
    assert int(facts["depth"]) == models["attention"].get_layer("posenc").output.shape[-1]


def variants() -> dict[str, keras.Model]:
    """Untrained models shaped unlike the shipped ones: the quiz must quote these numbers instead."""
    def model(x, *layers):
        inp = out = keras.Input(x)
        for layer in layers:
            out = layer(out)
        return keras.Model(inp, out)
    L = keras.layers
    return {"mlp": model((28, 28), L.Flatten(), L.Dense(48, activation="relu"), L.Dropout(0.35), L.Dense(10)),
            "cnn": model((28, 28, 1), L.Conv2D(4, 3), L.Flatten(), L.Dense(10)),
            "lstm": model((14, 28), L.LSTM(8), L.Dense(10)),
            "attention": build_attention(depth=36, heads=4)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_questions_quote_the_loaded_models_numbers_in_both_languages(lang):
    facts = model_facts(variants())
    by_id = {q.id: question_text(q, lang, facts) for q in QUESTIONS}
    dropout = by_id["dropout"]
    assert "Dropout(0.35)" in dropout.prompt and "48" in dropout.prompt and "128" not in dropout.prompt
    assert "35%" in dropout.options["a"] and "0.65" in dropout.options["b"] and "0.65" in dropout.explanation
    scale = by_id["attention_scale"]
    assert "d\u2096 = 9" in scale.prompt and scale.prompt.rstrip("?)\uff1f\uff09").endswith("3"), scale.prompt
    assert "16" not in scale.prompt and "4" in scale.options["c"]
    assert "36" in by_id["positional_encoding"].explanation and "36" in by_id["batch_norm"].explanation
    assert "4 \u00d7 9 + 4 = 40" in by_id["cnn_vs_rnn"].explanation and "14" in by_id["cnn_vs_rnn"].options["b"]
    assert not any("{" in s for q in by_id.values() for s in (q.prompt, q.explanation, *q.options.values()))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_callback_questions_quote_the_callbacks_the_training_builds(lang, monkeypatch, tmp_path):
    """Other homework defaults: the questions quote Keras's own ReduceLROnPlateau / EarlyStopping
    attributes as `training.keras_callbacks` builds them, not numbers written in the text."""
    homework = replace(training.TrainConfig(), reduce_lr_monitor="val_accuracy", reduce_lr_factor=0.3,
                       reduce_lr_patience=4, early_stopping_patience=6)
    monkeypatch.setattr(training, "TrainConfig", lambda: homework)
    quiz.training_facts.cache_clear()
    try:
        by_id = {q.id: question_text(q, lang, model_facts({})) for q in QUESTIONS if not q.models}
    finally:
        quiz.training_facts.cache_clear()
    cbs = training.keras_callbacks(homework, tmp_path)
    reduce_lr, early = cbs["reduce_lr"], cbs["early_stopping"]
    assert (reduce_lr.monitor, reduce_lr.factor, reduce_lr.patience, early.patience) == ("val_accuracy", 0.3, 4, 6)
    plateau = by_id["reduce_lr"]
    assert 'ReduceLROnPlateau(monitor="val_accuracy", factor=0.3, patience=4)' in plateau.prompt
    assert "0.3" in plateau.options["a"] and "4" in plateau.options["a"]
    name = {"en": "val_accuracy", "zh": "验证集准确率"}[lang]  # the options name the metric in the user's language
    assert all(name in plateau.options[o] for o in "acd")
    assert "patience=6" in by_id["early_stopping"].options["c"] and "6" in by_id["early_stopping"].explanation
    texts = [s for q in (plateau, by_id["early_stopping"]) for s in (q.prompt, q.explanation, *q.options.values())]
    assert not any(bad in s for s in texts for bad in ("0.5", "patience=2", "patience=3", "{"))
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_model_leaves_out_only_the_questions_that_quote_it(models):
    broken = {**models, "mlp": ModelFileError("mlp", "damaged", "test")}
    asked = askable(broken)
    assert "dropout" not in {q.id for q in asked}
    assert {q.id for q in asked} == {q.id for q in QUESTIONS if "mlp" not in q.models}
    assert askable(models) == QUESTIONS


def test_without_positional_encoding_the_attention_model_ignores_row_order(models):
    """The positional-encoding answer is true of the shipped model: skip `posenc`, shuffle the rows,
    and the probabilities do not change."""
    import numpy as np
    model = models["attention"]
    layer = model.get_layer

    def without_posenc(x):
        h = layer("embed")(x)
        h = layer("norm1")(layer("residual1")([h, layer("mha")(h, h)]))
        f = layer("ffn2")(layer("ffn1")(h))
        h = layer("norm2")(layer("residual2")([h, f]))
        return layer("output")(layer("pool")(h)).numpy()

    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    shuffled = x[:, np.random.default_rng(1).permutation(28)]
    np.testing.assert_allclose(without_posenc(x), without_posenc(shuffled), atol=1e-5)
    assert not np.allclose(model(x).numpy(), model(shuffled).numpy(), atol=1e-3)


def test_the_quiz_page_judges_an_answer_at_once_and_updates_the_score(monkeypatch, facts):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="en")
    assert [r.key for r in at.main.radio] == [f"quiz.{q.id}" for q in QUESTIONS]
    first = QUESTIONS[0]
    at.radio(key=f"quiz.{first.id}").set_value(first.correct).run()
    assert at.success[0].value.startswith(t("quiz.correct", "en"))
    assert at.metric[0].value == f"1 / {len(QUESTIONS)}"
    second = QUESTIONS[1]
    wrong = next(o for o in second.options if o != second.correct)
    at.radio(key=f"quiz.{second.id}").set_value(wrong).run()
    assert t("quiz.wrong", "en", answer=question_text(second, "en", facts).options[second.correct]) in at.error[0].value
    assert at.metric[0].value == f"1 / {len(QUESTIONS)}"
    at.button[0].click().run()
    assert at.radio(key=f"quiz.{first.id}").value is None and at.metric[0].value == f"0 / {len(QUESTIONS)}"


def test_the_quiz_page_speaks_chinese_with_the_shipped_models_facts(monkeypatch, facts):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="zh")
    assert at.title[0].value == t("nav.quiz", "zh")
    for question in QUESTIONS:
        assert at.radio(key=f"quiz.{question.id}").label == question_text(question, "zh", facts).prompt
    assert f"Dropout({facts['mlp_rate']})" in at.radio(key="quiz.dropout").label
