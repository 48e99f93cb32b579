"""Every model's ten probabilities as bars that update in place (components v2).

Streamlit 1.67 derives a Plotly chart's element id from a hash of its figure, so a chart whose data
changed is unmounted and drawn anew on every stroke; this element keeps its id (its key) and only
moves its bars. What it shows is built, without Streamlit, by `explain.figures.draw.probability_bars`.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

_HERE = Path(__file__).parent
_bars = st.components.v2.component(
    "netlens_probability_bars",
    html='<div class="bars" role="group"></div>',
    css=(_HERE / "bars.css").read_text(encoding="utf-8"),
    js=(_HERE / "bars.js").read_text(encoding="utf-8"),
)


def probability_bars(data: dict, key: str) -> None:
    """Mount (or update) the bars under `key`; `data` as `probability_bars` builds it."""
    _bars(key=key, data=data, width="stretch")
