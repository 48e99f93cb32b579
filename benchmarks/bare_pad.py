"""The floor for stroke-to-repaint with the Draw page's own digit pad: a Streamlit page holding only
that pad (`widgets.pad.digit_pad`, the same arguments) and one metric, with no TensorFlow, no models
and no charts. `python -m tools.bench` draws the same strokes here, on the bare drawable-canvas page
and on the app's pages; whatever the app takes beyond this page is ours to explain.

The metric is labelled "Prediction" like the Draw page's, so the benchmark watches both the same
way; its value is a digest of the drawing, which changes with every stroke.
"""
import hashlib

import streamlit as st

from widgets import BRUSH
from widgets.pad import digit_pad

drawing = digit_pad("pad", BRUSH, {"undo": "Undo", "clear": "Clear", "undo_help": "Undo the last stroke",
                                   "clear_help": "Clear the pad", "canvas": "Digit pad"})
st.metric("Prediction", hashlib.md5(drawing.png).hexdigest()[:6] if drawing else "–")
