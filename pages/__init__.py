"""The app's pages (run by app.py's `st.navigation`) and the helpers they share.

Every script imports this package early (through `pages.shared`), so its first import in a server
process takes Streamlit out of its legacy multipage mode and keeps it from clearing the compiled
pages' kernels after every rerun (see `pages.streamlit_internals`).
"""
from pages.streamlit_internals import keep_compiled_kernels, leave_legacy_pages_mode

leave_legacy_pages_mode()
keep_compiled_kernels()
