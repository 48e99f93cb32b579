"""The self-check questions, as data: which options each question has, which one is right, and which
page of the app shows the idea. The wording lives in the locales (`quiz.<id>.question`,
`quiz.<id>.option.<option>`, `quiz.<id>.explain`), so both languages share one answer key."""
from __future__ import annotations

from dataclasses import dataclass

from explain.i18n import t


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: `correct` is one of `options` (in display order), `page` the
    app page (its file, e.g. "pages/cnn.py") whose view the explanation points to."""

    id: str
    correct: str
    page: str
    options: tuple[str, ...] = ("a", "b", "c", "d")


QUESTIONS: tuple[Question, ...] = (
    Question("cnn_vs_rnn", "b", "pages/recurrent.py"),
    Question("vanishing", "d", "pages/recurrent.py"),
    Question("lstm_forget", "a", "pages/recurrent.py"),
    Question("gru_update", "c", "pages/recurrent.py"),
    Question("batch_norm", "b", "pages/layers.py"),
    Question("dropout", "d", "pages/layers.py"),
    Question("dropout_network", "c", "pages/layers.py"),
    Question("reduce_lr", "a", "pages/training.py"),
    Question("early_stopping", "c", "pages/training.py"),
    Question("attention_scale", "b", "pages/attention.py"),
    Question("positional_encoding", "c", "pages/attention.py"),
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


def question_text(question: Question, lang: str) -> QuestionText:
    key = f"quiz.{question.id}"
    return QuestionText(t(f"{key}.question", lang),
                        {o: t(f"{key}.option.{o}", lang) for o in question.options},
                        t(f"{key}.explain", lang))


def score(answers: dict[str, str]) -> int:
    """How many of `answers` (question id -> chosen option id) are right; unanswered ones count 0."""
    return sum(answers.get(q.id) == q.correct for q in QUESTIONS)
