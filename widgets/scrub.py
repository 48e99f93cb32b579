"""A slider whose charts follow it in the browser (components v2, no new dependency).

`st.slider` asks the server for every value: a timestep moved reruns the page's fragment and its
charts wait for the answer (80-300 ms), and while the thumb is dragged nothing follows it. This
slider tells the tab's charts (`widgets.chart`, given a `Scrub` of every value's picture) its value
at once, so they redraw within the frame, and sends the value to the server as `st.slider` would
(while dragged, one value in flight at a time), for the text that the server writes.

Its value lives in `st.session_state[key]`, as an `st.slider(key=...)`'s does: set it before the
first call for a default, or to move the slider from the server (the tests do).
"""
from __future__ import annotations

import streamlit as st

from widgets.served import LOADER, code

THROTTLE_MS = 100  # while the thumb is dragged, at most one value sent per this many ms
_scrub = st.components.v2.component(
    "netlens_scrub",
    html=('<div class="netlens-scrub"><label><span class="text"></span><span class="help" tabindex="0" hidden>?</span>'
          '</label><div class="track"><output class="value"></output><input type="range" step="1"></div>'
          '<div class="ticks"><span class="low"></span><span class="high"></span></div></div>'),
    js=LOADER,  # assets/scrub.js and scrub.css, served once per tab (`widgets.served`)
    isolate_styles=False,  # the page's projector stylesheet sizes its label and numbers like Streamlit's
)


def _sent(key: str) -> dict:
    """What the slider under `key` last sent: {"v": its value, "n": how many values it has sent,
    "id": the browser's slider's own random id}, or {"n": 0} before it sent any."""
    state = st.session_state.get(f"{key}_scrub")
    value = state.get("value") if state else None
    return value if isinstance(value, dict) and isinstance(value.get("n"), int) else {"n": 0}


def scrub_slider(label: str, low: int, high: int, key: str, help: str | None = None) -> int:
    """A slider from `low` to `high` (integers, step 1) labelled `label`, with `help` behind its "?",
    and its value (`st.session_state[key]`, kept inside the range; `low` if unset). Charts given
    `Scrub(key, ...)` follow its thumb in the browser before the server hears of it."""
    if low > high:
        raise ValueError(f"scrub_slider {key!r}: low must be at most high, got low={low}, high={high}")

    # The browser's value becomes the session's when it is one the session has not taken yet (the
    # element's on-change callback did not run for it in Streamlit 1.67: compared here instead).
    sent, taken = _sent(key), f"{key}_taken"
    if sent.get("n") and sent != st.session_state.get(taken) and isinstance(sent.get("v"), int):
        st.session_state[key] = sent["v"]
        st.session_state[taken] = sent
    value = min(max(int(st.session_state.get(key, low)), low), high)
    st.session_state[key] = value
    _scrub(key=f"{key}_scrub", data={"group": key, "label": label, "help": help, "min": low, "max": high,
                                      "value": value, "read": sent["n"], "throttle": THROTTLE_MS,
                                      "code": code("scrub")},
           default={"value": None}, on_value_change=lambda: None, width="stretch")
    return value
