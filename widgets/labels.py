"""The labels Streamlit writes in English for screen readers only (the file input's "file upload",
"Help for <label>" on help icons, the uploader button's name), given the page's language by a
components-v2 element with no markup (`labels.js`); `pages.style.apply` mounts it on every page."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

_labels = st.components.v2.component(
    "netlens_built_in_labels", js=(Path(__file__).parent / "labels.js").read_text(encoding="utf-8"),
    isolate_styles=False)


EXACT = ("Fullscreen", "Close fullscreen", "Main menu", "App pages", "Collapse sidebar", "Expand sidebar")


def built_in_labels(input_label: str, button_label: str, help_label: str | None, exact: dict[str, str]) -> None:
    """Mount the element: `help_label` has a "{label}" field for the widget's own label (None keeps
    Streamlit's English "Help for <label>"); `exact` maps labels of `EXACT` to the page's language."""
    _labels(key="built_in_labels_js", data={"input": input_label, "button": button_label, "help": help_label,
                                            "exact": exact}, width="content", height="content")
