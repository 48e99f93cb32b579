"""NetLens's computing half: data, preprocessing, models and every internal quantity the pages show.

Nothing in this package imports streamlit, so every number on screen can be checked by a test.
TensorFlow is imported here first, with its start-up noise kept out of the server log (tf_noise).
"""
from explain.tf_noise import import_tensorflow_quietly

import_tensorflow_quietly()
