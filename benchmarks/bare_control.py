"""The floor for a moved control: a Streamlit page holding only one slider, the same as the app
page's (label, range and value passed in the query string by `python -m tools.bench`, which reads
them from that page's slider; `kind` "scrub" for the app's own scrub slider, `widgets/scrub.py`,
else `st.slider`), and one metric, with no TensorFlow, no models and no charts. Whatever the CNN,
Recurrent or Attention page takes beyond this page when its slider moves is the page's own work.

Query string: `label`, `min`, `max`, `value` (integers), `kind`, e.g. `?label=Row&min=0&max=23&value=12`.
"""
import streamlit as st

from widgets.scrub import scrub_slider

query = st.query_params
label, low, high = query.get("label", "Row"), int(query.get("min", 0)), int(query.get("max", 27))
st.session_state.setdefault("control", int(query.get("value", 0)))
if query.get("kind") == "scrub":
    value = scrub_slider(label, low, high, key="control")
else:
    value = st.slider(label, low, high, key="control")
st.metric("Prediction", value)
