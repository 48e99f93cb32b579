"""How Streamlit's own elements look. Projector mode (charts get theirs from
`explain.figures.theme.style`): every text at least 20 px for the back row of a 1280x720 lecture
hall, and secondary controls hidden. In every mode: the few texts Streamlit writes itself in
English (the file uploader's button and size limit, the header's Stop) in the session's language.

Streamlit sizes its text in rem (captions, labels and tables at 0.875rem, body at 1rem), so raising
the root size scales everything together; the smaller roles are then lifted to the floor. Headings
and the top padding shrink instead, so a 720-pixel-high screen shows content rather than margin.
"""
from __future__ import annotations

import json

import streamlit as st

from explain.i18n import t
from widgets.labels import EXACT, built_in_labels

MIN_PX = 20
SECONDARY_KEY = "secondary_"

_SMALL_ROLES = ", ".join(f"{scope} {role}" for scope in ("[data-testid='stMain']", "[data-testid='stSidebar']")
                         for role in (
    "[data-testid='stCaptionContainer']", "[data-testid='stCaptionContainer'] *",
    "[data-testid='stWidgetLabel'] *", "[data-testid='stMetricLabel'] *", "[data-testid='stMetricDelta'] *",
    "[data-testid='stMarkdownContainer'] p", "[data-testid='stMarkdownContainer'] li",
    "[data-testid='stExpander'] summary *", "[data-testid='stSliderTickBar'] *",
    ".netlens-scrub output", ".netlens-scrub .ticks *",
    "[data-testid='stTable'] *", "[data-testid='stAlertContainer'] *", "[data-testid='stTooltipIcon'] *",
    "[data-baseweb='tab'] *", "[data-baseweb='select'] *", "[data-testid='stSliderThumbValue']",
    "[data-testid='stSidebarNav'] *", "[data-testid='stSidebarNavItems'] *", "button *", "label *",
    "[data-testid='stPageLink'] *", "code", "input", "textarea"))

PROJECTOR_CSS = f"""<style>
html {{ font-size: {MIN_PX + 2}px; }}
{_SMALL_ROLES} {{ font-size: max({MIN_PX}px, 1em) !important; }}
.katex {{ font-size: max({MIN_PX}px, 1.1em) !important; }}  /* not 1.21em: long formulas must fit */
div[class*='st-key-{SECONDARY_KEY}'] {{ display: none !important; }}
[data-testid='stMainBlockContainer'] {{ padding-top: 4rem !important; }}  /* clears the 3.75rem header */
[data-testid='stMain'] h1 {{ font-size: 1.9rem !important; }}
[data-testid='stMain'] h2 {{ font-size: 1.5rem !important; }}
[data-testid='stMain'] h3 {{ font-size: 1.25rem !important; }}
</style>"""


# Streamlit's own text, hidden (size 0) and written again, translated, after it.
_BUILT_IN_TEXT = {
    "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p": "style.uploader_button",
    "[data-testid='stFileUploaderDropzoneInstructions'] span": "style.uploader_limit",
    "[data-testid='stStatusWidget'] button": "style.stop",     # shown in the header while a rerun runs
}


def built_in_text_css(lang: str) -> str:
    """CSS that replaces Streamlit's built-in English widget text with `lang`'s (and hides the
    element that translates the built-in labels: it shows nothing)."""
    limit = st.get_option("server.maxUploadSize")
    rules = [".st-key-built_in_labels { display: none !important; }"] + [f"{sel} {{ font-size: 0 !important; }} "
             f"{sel}::after {{ content: {json.dumps(t(key, lang, mb=limit), ensure_ascii=False)}; font-size: 1rem; }}"
             for sel, key in _BUILT_IN_TEXT.items()]
    return "<style>" + "\n".join(rules) + "</style>"


def apply(projector: bool, lang: str) -> None:
    """Inject this rerun's stylesheets: the translated built-in texts, and projector mode's if on;
    and the built-in labels only screen readers read, in `lang` (`widgets/labels.js`)."""
    st.html(built_in_text_css(lang) + (PROJECTOR_CSS if projector else ""))
    with st.container(key="built_in_labels"):  # hidden: it has nothing to show
        built_in_labels(t("style.uploader_input", lang), t("style.uploader_button", lang),
                        None if lang == "en" else t("style.help_for", lang),
                        {} if lang == "en" else {label: t(f"style.label.{label}", lang) for label in EXACT})


def secondary(name: str):
    """A container for controls a lecture hall does not need (`with secondary("brush"): ...`).
    Projector mode hides it with CSS, so the widgets inside keep running and keep their values.
    `name` must be unique on the page."""
    return st.container(key=f"{SECONDARY_KEY}{name}")
