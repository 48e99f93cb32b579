"""Check yourself: multiple-choice questions, each judged as soon as it is answered, with an
explanation and a link to the page that shows the idea; the score at the end."""
import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

from pathlib import Path

import streamlit as st

from explain.quiz import QUESTIONS, Question, askable, model_facts, question_text, score
from pages.shared import lang, loaded_models, model_or_error, t
from pages.style import secondary


def _key(question_id: str) -> str:
    return f"quiz.{question_id}"


def question_ui(number: int, total: int, question: Question, facts: dict[str, str]) -> str | None:
    """One question with its feedback; returns the chosen option id (None until answered)."""
    text = question_text(question, lang(), facts)
    st.subheader(t("quiz.number", number=number, total=total))
    choice = st.radio(text.prompt, question.options, index=None, key=_key(question.id),
                      format_func=text.options.get)
    if choice is not None:
        if choice == question.correct:
            st.success(f"{t('quiz.correct')} {text.explanation}")
        else:
            st.error(f"{t('quiz.wrong', answer=text.options[question.correct])} {text.explanation}")
        page_title = t(f"nav.{Path(question.page).stem}")
        st.page_link(question.page, label=t("quiz.see_page", page=page_title), icon=":material/arrow_forward:")
    return choice


def _reset() -> None:
    for question in QUESTIONS:
        st.session_state.pop(_key(question.id), None)


st.title(t("nav.quiz"))
models = loaded_models()
questions = askable(models)
for name in sorted({n for q in QUESTIONS for n in q.models}):
    model_or_error(name)  # a damaged model file: say which, and how to rebuild it; its questions are left out
facts = model_facts(models)
total = len(questions)
st.write(t("quiz.intro", total=total))
answers = {}
for number, question in enumerate(questions, start=1):
    choice = question_ui(number, total, question, facts)
    if choice is not None:
        answers[question.id] = choice
    st.divider()

right = score(answers, questions)
st.metric(t("quiz.score"), t("quiz.score_value", right=right, total=total),
          help=t("quiz.score_help", answered=len(answers), total=total))
if right == total:
    st.success(t("quiz.all_right", total=total))
with secondary("quiz_reset"):
    st.button(t("quiz.reset"), on_click=_reset)
