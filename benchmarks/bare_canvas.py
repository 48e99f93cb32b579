"""The floor for stroke-to-repaint: a Streamlit page holding only the Draw page's canvas and one
metric, with no TensorFlow, no models and no charts. `python -m tools.bench` draws the same
strokes here and on the app's pages; whatever the app takes beyond this page is ours to explain.

The metric is labelled "Prediction" like the Draw page's, so the benchmark watches both the same
way; its value is a digest of the drawing, which changes with every stroke.
"""
import hashlib
import json

import streamlit as st
from streamlit_drawable_canvas import st_canvas

# The Draw page's canvas, argument for argument: the browser's work per stroke (PNG-encoding the
# canvas for return_image_data, the component's 200 ms debounce) belongs to the floor.
canvas = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", fill_color="rgba(0, 0, 0, 0)",
                   height=280, width=280, drawing_mode="freedraw", update_streamlit=True, return_image_data=True,
                   key="canvas")
objects = (canvas.json_data or {}).get("objects", [])
digest = hashlib.md5(json.dumps(objects, sort_keys=True).encode()).hexdigest()[:6]
st.metric("Prediction", f"{len(objects)} · {digest}")
