"""Placeholder until its issue lands."""
import streamlit as st

from pages.shared import t

st.title(t("nav.attention"))
