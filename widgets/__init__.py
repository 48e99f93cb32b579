"""The app's own Streamlit elements, on components v2: the digit pad and the probability bars.
Each imports only Streamlit (and Pillow), so the benchmark's bare pages can hold them as they are.
The pad's size and brush live here, importable without Streamlit (the benchmark's server rows)."""

PAD_SIZE = 260  # px, the pad's side (the canvas's own pixels, whatever the screen's density)
BRUSH = 20      # px on the 260 px pad: after the fit into 20x20 about MNIST's 2-3 px strokes
