"""The app's pages (run by app.py's `st.navigation`) and the helpers they share.

Until the first `st.navigation` call in a server process, Streamlit takes a folder named `pages/`
for a legacy multipage folder: a bookmark such as /cnn?lang=en opened first after a restart would
run pages/cnn.py alone, without app.py's frame and sidebar. Every page imports this package first
(through `pages.shared`), so its first import switches that mode off and reruns through app.py,
before anything slow is imported.
"""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
