"""NetLens's computing half: data, preprocessing, models and every internal quantity the pages show.

Nothing in this package imports streamlit, so every number on screen can be checked by a test.
"""
