"""The floor for stroke-to-repaint with streamlit-drawable-canvas, the canvas the Draw page held
before its own digit pad: a Streamlit page holding only that canvas, at the pad's size and brush
(`widgets.PAD_SIZE`, `widgets.BRUSH`), and one metric, with no TensorFlow, no models and no charts.
`python -m tools.bench` draws the same strokes here, on the bare pad page and on the app's pages.

The metric is labelled "Prediction" like the Draw page's, so the benchmark watches both the same
way; its value is a digest of the drawing, which changes with every stroke.
"""
import hashlib
import json

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from widgets import BRUSH, PAD_SIZE

# The browser's work per stroke (PNG-encoding the canvas for return_image_data, the component's
# 200 ms debounce) belongs to this floor.
canvas = st_canvas(stroke_width=BRUSH, stroke_color="#FFFFFF", background_color="#000000",
                   fill_color="rgba(0, 0, 0, 0)", height=PAD_SIZE, width=PAD_SIZE, drawing_mode="freedraw",
                   update_streamlit=True, return_image_data=True, key="canvas")
objects = (canvas.json_data or {}).get("objects", [])
digest = hashlib.md5(json.dumps(objects, sort_keys=True).encode()).hexdigest()[:6]
st.metric("Prediction", f"{len(objects)} · {digest}")
