"""The floor for a moved control: a Streamlit page holding only one `st.slider`, the same as the
app page's (label, range and value passed in the query string by `python -m tools.bench`, which
reads them from that page's slider), and one metric, with no TensorFlow, no models and no charts.
Whatever the CNN, Recurrent or Attention page takes beyond this page when its slider moves is the
page's own work.

Query string: `label`, `min`, `max`, `value` (integers), e.g. `?label=Row&min=0&max=23&value=12`.
"""
import streamlit as st

query = st.query_params
value = st.slider(query.get("label", "Row"), int(query.get("min", 0)), int(query.get("max", 27)),
                  int(query.get("value", 0)), key="control")
st.metric("Prediction", value)
