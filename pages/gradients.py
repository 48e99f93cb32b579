"""Gradients: backpropagation through the MLP number by number, the activation functions and their
derivatives, vanishing gradients with depth, gradients through time, exploding and clipping."""
import streamlit as st

from pages.shared import t

st.title(t("nav.gradients"))
st.caption(t("gradients.intro"))
