"""How a network is fitted, on the MLP and the current digit: the computational graph and reverse
against forward mode, square error against cross-entropy, SGD steps with the epoch / batch /
iteration counters, and L1 / L2 weight regularisation. The SGD runs on a copy of the model."""
import numpy as np
import streamlit as st

from explain.inference import outputs
from pages.shared import current_digit, digit_description, model_or_error, t

st.title(t("nav.fitting"))
model = model_or_error("mlp")
if model is not None:
    digit = current_digit()
    probabilities = outputs([model], digit.x28)[0]
    best = int(np.argmax(probabilities))
    st.caption(t("fitting.showing", description=digit_description(digit), digit=best,
                 p=float(probabilities[best])))
