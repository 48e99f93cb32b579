"""Both languages everywhere, the projector mode, and the URL as a bookmark of language, projector
mode and test sample. Static checks on the string tables, AppTest for the URL, and one browser walk
per language through every page (after drawing a digit) for what a student actually sees."""
from __future__ import annotations

import importlib
import pkgutil
import re
import string

import pytest

from explain import i18n
from tests.apptest import app_on_page
from tests.browser import EXCEPTION, SEVEN, draw, open_page, settle

# Words that may stay in Latin letters in the Chinese UI: layer types and the layer names of the
# shipped models, the functions of the formulas, the Keras arguments the course teaches by name,
# Python's constants, the app's name and the Draw page's metric.
LATIN_TERMS = {"netlens", "prediction", "keras", "relu", "softmax", "sigmoid", "tanh", "dense", "dropout",
               "flatten", "argmax", "max", "min", "sin", "cos", "exp", "log", "xavier", "png", "html", "csv",
               "lenet", "logits", "adam", "sgd", "rmsprop", "monitor", "patience", "mode", "factor", "cooldown",
               "verbose", "true", "false", "none", "softplus",
               # layer names of the shipped models (explain/architectures.py)
               "digit", "image", "embed", "posenc", "mha", "pool", "output", "norm", "residual"}
# A word not inside another, and not code: no `\cmd`, `model.predict`, `models/`, `name=` or `f(`.
WORD = re.compile(r"(?<![A-Za-z0-9_\\./])[A-Za-z][A-Za-z0-9_]*(?![A-Za-z0-9_]*(\s*[=(]|[./]\w))")
TAG, FIELD, CODE = re.compile(r"<[^<>]*>"), re.compile(r"\{[^{}]*\}"), re.compile(r"`[^`]*`")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def leftover_english(text: str) -> list[str]:
    """Latin words in `text` that a Chinese UI should have translated. Kept: words of one or two
    letters (variables, units), identifiers (conv1, val_loss, EarlyStopping, LSTM: a digit, an
    underscore or a capital after the first letter), code (`name=`, `f(`, `\\cmd`, `a.b`, `dir/`,
    markdown `code`), HTML tags, format fields and LATIN_TERMS."""
    words = [m.group(0) for m in WORD.finditer(FIELD.sub("x", TAG.sub(" ", CODE.sub(" ", text))))]
    return [w for w in words
            if len(w) > 2 and not re.search(r"[0-9_]|.[A-Z]", w) and w.lower() not in LATIN_TERMS]


def leftover_english_ui(text: str) -> list[str]:
    """`leftover_english` of page text, where the language switch rightly says English."""
    return leftover_english(text.replace(i18n.LANGUAGE_NAMES["en"], ""))


def leftover_chinese(text: str) -> list[str]:
    """Chinese characters in English UI text, except the language switch's own 中文."""
    return CJK.findall(text.replace(i18n.LANGUAGE_NAMES["zh"], ""))


def _modules(lang: str) -> dict[str, dict[str, str]]:
    package = importlib.import_module(f"explain.locales.{lang}")
    return {info.name: importlib.import_module(f"{package.__name__}.{info.name}").STRINGS
            for info in pkgutil.iter_modules(package.__path__)}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# ---- the string tables ------------------------------------------------------------------------

def test_both_languages_have_the_same_locale_modules_and_the_same_keys_in_each():
    zh, en = _modules("zh"), _modules("en")
    assert set(zh) == set(en)
    for module in zh:
        assert set(zh[module]) == set(en[module]), (
            f"locales/{{zh,en}}/{module}.py differ: only zh {sorted(set(zh[module]) - set(en[module]))}, "
            f"only en {sorted(set(en[module]) - set(zh[module]))}")


def test_every_format_field_of_one_language_exists_in_the_other():
    zh, en = i18n.strings("zh"), i18n.strings("en")
    mismatched = {key: (_fields(en[key]), _fields(zh[key])) for key in en if _fields(en[key]) != _fields(zh[key])}
    assert not mismatched


def test_no_string_is_empty():
    for lang in i18n.LANGUAGES:
        assert not [key for key, text in i18n.strings(lang).items() if not text.strip()]


def test_chinese_strings_leave_no_english_words_untranslated():
    found = {key: leftover_english(text) for key, text in i18n.strings("zh").items()}
    assert not {key: words for key, words in found.items() if words}


def test_english_strings_hold_no_chinese():
    found = {key: leftover_chinese(text) for key, text in i18n.strings("en").items()}
    assert not {key: chars for key, chars in found.items() if chars}


def test_the_leftover_rule_keeps_identifiers_and_catches_words():
    assert leftover_english("卷积层 conv1 的 ReLU 输出，val_loss 与 LSTM/GRU，patience=3，softmax(z)") == []
    assert leftover_english("第 3 行 Prediction：7（98.2%）") == []
    assert leftover_english("点击 Clear 清除 the canvas") == ["Clear", "the", "canvas"]


# ---- the language a session starts in -----------------------------------------------------------

@pytest.mark.parametrize("requested, browser, expected", [
    ("en", "zh-CN", "en"), ("zh", "en-US", "zh"),
    (None, "en-GB", "en"), (None, "zh-TW", "zh"), (None, "zh_CN", "zh"),
    (None, "de-DE", "zh"), (None, None, "zh"), ("fr", "en-US", "en"), ("fr", None, "zh"), ("", "", "zh"),
])
def test_the_language_is_the_requested_one_else_the_browsers_else_chinese(requested, browser, expected):
    assert i18n.pick_language(requested, browser) == expected


# ---- the URL as a bookmark (AppTest: the whole app, no browser) ----------------------------------

def test_a_browser_in_english_gets_english_and_any_other_gets_chinese(monkeypatch):
    at = app_on_page(monkeypatch, "pages/quiz.py", context={"locale": "en-US"})
    assert at.session_state["lang"] == "en" and at.title[0].value == i18n.t("nav.quiz", "en")
    at = app_on_page(monkeypatch, "pages/quiz.py", context={"locale": "fr-FR"})
    assert at.session_state["lang"] == "zh" and at.title[0].value == i18n.t("nav.quiz", "zh")


def test_lang_in_the_url_wins_over_the_browser_and_an_unknown_value_falls_back(monkeypatch):
    at = app_on_page(monkeypatch, "pages/quiz.py", context={"locale": "en-US"}, lang="zh")
    assert at.session_state["lang"] == "zh"
    at = app_on_page(monkeypatch, "pages/quiz.py", context={"locale": "en-US"}, lang="klingon")
    assert at.session_state["lang"] == "en"
    assert at.query_params["lang"] == "en"


def test_projector_and_sample_come_from_the_url_and_are_written_back(monkeypatch):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="en", projector="1", sample="12")
    assert at.sidebar.toggle(key="projector").value is True
    digit = at.session_state["digit"]
    assert (digit.source, digit.index) == ("sample", 12)
    assert at.query_params["projector"] == "1" and at.query_params["sample"] == "12"
    at.sidebar.toggle(key="projector").set_value(False).run()
    assert "projector" not in at.query_params
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert at.query_params["lang"] == "zh" and at.title[0].value == i18n.t("nav.quiz", "zh")


@pytest.mark.parametrize("sample", ["10000", "-1", "seven", ""])
def test_an_unknown_sample_or_projector_value_falls_back_to_the_defaults(monkeypatch, sample):
    at = app_on_page(monkeypatch, "pages/quiz.py", lang="en", projector="maybe", sample=sample)
    assert at.sidebar.toggle(key="projector").value is False
    assert at.session_state["digit"].index == 0
    assert at.query_params["sample"] == "0"


# ---- what a student sees, in a real browser -------------------------------------------------------

# Every visible text node of the main area and the sidebar, with its rendered font size (HTML and
# SVG text alike), whether it is code and whether it is a sub- or superscript (smaller by design, part
# of a formula whose main text is measured); plotly's toolbar and hover labels, KaTeX's hidden
# MathML copy of each formula and Streamlit's texts that pages/style.py replaces are not page text.
VISIBLE_TEXT = """() => {
  const out = [];
  for (const area of document.querySelectorAll("[data-testid='stMain'], [data-testid='stSidebar']")) {
    const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, el = node.parentElement, text = node.textContent.trim();
      const skip = '.modebar, .hoverlayer, [role=tooltip], style, script, .katex-mathml, [data-testid=stIconMaterial]';
      if (!text.replace(/\u200b/g, '') || !el || el.closest(skip)) continue;
      const box = el.getBoundingClientRect(), css = getComputedStyle(el);
      if (box.width === 0 || box.height === 0 || css.visibility === 'hidden' || css.fontSize === '0px') continue;
      out.push({text, size: parseFloat(css.fontSize), code: !!el.closest('code, pre, .katex'),
                script: !!el.closest('sub, sup, .msupsub, .mtight')});
    }
  }
  return out;
}"""
NAV = "[data-testid='stSidebarNav'] a, [data-testid='stSidebarNavLink']"


def walk_every_page(page, app_url: str, query: str):
    """Open the Draw page with `query`, draw a 7, then visit every page by its sidebar link (a reload
    would start a new session and lose the drawing); yields (page url, page) on each."""
    open_page(page, f"{app_url}/?{query}")
    draw(page, SEVEN)
    settle(page)
    yield page.url, page
    for index in range(1, page.locator(NAV).count()):
        page.locator(NAV).nth(index).click()
        settle(page)
        yield page.url, page


def test_every_page_in_chinese_has_no_english_left(page, app_url):
    """Without projector mode, so the secondary controls are on screen and checked too."""
    problems = {}
    for url, tab in walk_every_page(page, app_url, "lang=zh"):
        assert tab.locator(EXCEPTION).count() == 0, url
        assert tab.locator(".st-key-secondary_export").is_visible()
        words = leftover_english_ui("\n".join(t["text"] for t in tab.evaluate(VISIBLE_TEXT) if not t["code"]))
        if words:
            problems[url] = sorted(set(words))
    assert not problems, "\n".join(f"{url}: {found}" for url, found in problems.items())


def test_every_page_in_english_projector_mode_has_no_chinese_left_and_text_of_at_least_20px(page, app_url):
    problems = {}
    for url, tab in walk_every_page(page, app_url, "lang=en&projector=1"):
        assert tab.locator(EXCEPTION).count() == 0, url
        assert tab.locator(".st-key-secondary_export").count() == 1
        assert not tab.locator(".st-key-secondary_export").is_visible()  # a secondary control: hidden
        texts = tab.evaluate(VISIBLE_TEXT)
        chars = leftover_chinese("\n".join(t["text"] for t in texts))
        small = [f'{t["size"]}px: {t["text"][:40]}' for t in texts if t["size"] < 19.5 and not t["script"]]
        if chars or small:
            problems[url] = {"chinese": "".join(sorted(set(chars))), "smaller than 20px": small[:10]}
    assert not problems, "\n".join(f"{url}: {found}" for url, found in problems.items())
