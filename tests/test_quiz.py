"""The self-check: one right answer per question in both languages, links to real pages, judged at once."""
import re
from pathlib import Path

import pytest

from explain.i18n import LANGUAGES, strings, t
from explain.quiz import QUESTIONS, question_text, score
from tests.apptest import app_on_page

ROOT = Path(__file__).resolve().parent.parent


def test_there_are_eight_to_fifteen_questions_with_distinct_ids():
    assert 8 <= len(QUESTIONS) <= 15
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_each_question_has_exactly_one_correct_option(question):
    assert [o for o in question.options if o == question.correct] == [question.correct]
    assert len(set(question.options)) == len(question.options) >= 3


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_each_question_is_written_out_in_both_languages_with_distinct_options(question, lang):
    text = question_text(question, lang)
    assert text.prompt and text.explanation
    assert set(text.options) == set(question.options)
    assert len(set(text.options.values())) == len(question.options)
    assert all(option.strip() for option in text.options.values())


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


def test_the_scaling_question_uses_this_models_key_dimension(models):
    """The question says d_k = 16 and divides by 4: that is the shipped attention layer's key_dim."""
    mha = models["attention"].get_layer("mha")
    assert mha.get_config()["key_dim"] == 16
    assert "16" in t("quiz.attention_scale.question", "en") and "4" in t("quiz.attention_scale.question", "en")


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


def test_the_quiz_page_judges_an_answer_at_once_and_updates_the_score(monkeypatch):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="en")
    assert [r.key for r in at.main.radio] == [f"quiz.{q.id}" for q in QUESTIONS]
    first = QUESTIONS[0]
    at.radio(key=f"quiz.{first.id}").set_value(first.correct).run()
    assert at.success[0].value.startswith(t("quiz.correct", "en"))
    assert at.metric[0].value == f"1 / {len(QUESTIONS)}"
    second = QUESTIONS[1]
    wrong = next(o for o in second.options if o != second.correct)
    at.radio(key=f"quiz.{second.id}").set_value(wrong).run()
    assert t("quiz.wrong", "en", answer=question_text(second, "en").options[second.correct]) in at.error[0].value
    assert at.metric[0].value == f"1 / {len(QUESTIONS)}"
    at.button[0].click().run()
    assert at.radio(key=f"quiz.{first.id}").value is None and at.metric[0].value == f"0 / {len(QUESTIONS)}"


def test_the_quiz_page_speaks_chinese(monkeypatch):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="zh")
    assert at.title[0].value == t("nav.quiz", "zh")
    assert at.radio(key=f"quiz.{QUESTIONS[0].id}").label == t(f"quiz.{QUESTIONS[0].id}.question", "zh")
