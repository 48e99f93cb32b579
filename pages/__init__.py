"""The app's pages (run by app.py's `st.navigation`) and the helpers they share.

Until the first `st.navigation` call in a server process, Streamlit takes a folder named `pages/`
for a legacy multipage folder: a bookmark such as /cnn?lang=en opened first after a restart would
run pages/cnn.py alone, without app.py's frame and sidebar. Every script imports this package
early (through `pages.shared`), so its first import switches that mode off; when the script
running is a page rather than app.py, it also reruns the session, this time through app.py.
"""
import sys
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def _running_script() -> str:
    """The file of the script Streamlit is executing (the outermost `__main__` frame)."""
    frame, script = sys._getframe(1), ""
    while frame is not None:
        if frame.f_globals.get("__name__") == "__main__":
            script = frame.f_globals.get("__file__", "")
        frame = frame.f_back
    return script


if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    if Path(_running_script()).name != "app.py":
        st.rerun()
