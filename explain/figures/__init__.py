"""Plotly figure builders: plain functions from numpy arrays to `plotly.graph_objects.Figure`, no
streamlit, so a test can check the numbers a chart draws. One module per page; `theme` styles them."""
