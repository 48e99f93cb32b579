"""The app's pages (run by app.py's `st.navigation`) and the helpers they share.

Every script imports this package early (through `pages.shared`), so its first import in a server
process takes Streamlit out of its legacy multipage mode (see `pages.streamlit_internals`).
"""
from pages.streamlit_internals import leave_legacy_pages_mode

leave_legacy_pages_mode()
