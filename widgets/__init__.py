"""The app's own Streamlit elements, on components v2: the digit pad and the probability bars.
Each imports only Streamlit (and Pillow), so the benchmark's bare pages can hold them as they are."""
