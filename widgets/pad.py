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

SIZE = 260        # px, the drawing's side (the canvas's own pixels, whatever the screen's density)
BRUSH = 20        # px on the 260 px pad: after the fit into 20x20 about MNIST's 2-3 px strokes
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
        """The drawing as (SIZE, SIZE, 4) uint8 RGBA: white strokes on a clear background, the image
        streamlit-drawable-canvas gave `to_mnist` before (its opacity is the ink)."""
        return np.asarray(Image.open(io.BytesIO(self.png)).convert("RGBA"))


def _drawing(value) -> Drawing | None:
    """The pad's state value ({"png": data URL, "n": int} or None) as a Drawing; anything else
    (a value this page did not write) is treated as a blank pad."""
    if not isinstance(value, dict) or not str(value.get("png", "")).startswith(PNG_PREFIX):
        return None
    try:
        png = base64.b64decode(value["png"][len(PNG_PREFIX):], validate=True)
        Image.open(io.BytesIO(png)).verify()
    except (binascii.Error, UnidentifiedImageError, OSError):
        return None
    return Drawing(png, int(value.get("n", 0)))


def digit_pad(key: str, brush: int, labels: dict[str, str]) -> Drawing | None:
    """Mount the pad under `key` (a new key gives a new, empty pad) and return its drawing, or None
    while it is blank. `labels`: "undo", "clear", their "undo_help" and "clear_help", and "canvas"
    (the pad's accessible name), in the user's language."""
    previous = st.session_state.get(key)
    read = _drawing(previous.get("drawing") if previous else None)
    result = _pad(key=key, data={"size": SIZE, "brush": brush, "throttle": THROTTLE_MS, "labels": labels,
                                 "read": read.number if read else 0},
                  default={"drawing": None}, on_drawing_change=lambda: None, width="content")
    return _drawing(result.drawing)
