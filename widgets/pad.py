"""The digit pad: the Draw page's canvas, written on Streamlit's components v2 (no new dependency).

streamlit-drawable-canvas 0.13 waits 200 ms after the mouse is released before it sends the drawing
and sends nothing while the pen moves; this pad sends the drawing while the pen moves (one drawing
in flight at a time, at most one per `THROTTLE_MS`) and at once when it lifts, reads mouse, touch and
pen alike (pointer events), and labels its buttons in the page's language. It imports only
Streamlit, so the benchmark's bare pages can hold exactly the Draw page's pad.
"""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from widgets import PAD_SIZE

THROTTLE_MS = 100  # while the pen moves, at most one drawing sent per this many ms
PNG_PREFIX = "data:image/png;base64,"

_HERE = Path(__file__).parent
_pad = st.components.v2.component(
    "netlens_digit_pad",
    html=('<div class="pad"><canvas width="260" height="260"></canvas><div class="actions">'
          '<button type="button" data-action="undo"></button><button type="button" data-action="clear"></button>'
          '</div></div>'),
    css=(_HERE / "pad.css").read_text(encoding="utf-8"),
    js=(_HERE / "pad.js").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Drawing:
    """What the pad holds: `png` its PNG bytes, `number` counts the drawings this pad has sent."""

    png: bytes
    number: int

    def rgba(self) -> np.ndarray:
        """The drawing as (PAD_SIZE, PAD_SIZE, 4) uint8 RGBA: white strokes on a clear background, the image
        streamlit-drawable-canvas gave `to_mnist` before (its opacity is the ink)."""
        return np.asarray(Image.open(io.BytesIO(self.png)).convert("RGBA"))


def _number(value) -> int:
    """How many drawings the pad had sent when it sent `value` ({"png": data URL or None, "n": int})."""
    number = value.get("n") if isinstance(value, dict) else None
    return number if isinstance(number, int) else 0


def _drawing(value) -> Drawing | None:
    """The pad's state value ({"png": data URL or None, "n": int}) as a Drawing, or None while the
    pad is blank; anything else (a value the pad did not write) is taken for a blank pad."""
    if not isinstance(value, dict) or not str(value.get("png") or "").startswith(PNG_PREFIX):
        return None
    try:
        png = base64.b64decode(value["png"][len(PNG_PREFIX):], validate=True)
        Image.open(io.BytesIO(png)).verify()
    except (binascii.Error, UnidentifiedImageError, OSError):
        return None
    return Drawing(png, _number(value))


def digit_pad(key: str, brush: int, labels: dict[str, str]) -> Drawing | None:
    """Mount the pad under `key` (a new key gives a new, empty pad) and return its drawing, or None
    while it is blank. `labels`: "undo", "clear", their "undo_help" and "clear_help", and "canvas"
    (the pad's accessible name), in the user's language."""
    # The pad sends its next drawing once it sees, in `read`, that this one was read.
    state = st.session_state.get(key)
    read = _number(state.get("drawing") if state else None)
    data = {"size": PAD_SIZE, "brush": brush, "throttle": THROTTLE_MS, "labels": labels, "read": read}
    result = _pad(key=key, data=data, default={"drawing": None}, on_drawing_change=lambda: None, width="content")
    return _drawing(result.drawing)
