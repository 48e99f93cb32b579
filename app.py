"""NetLens: the `st.navigation` frame. Sets the page up, writes the shared sidebar once, runs a page."""
from pathlib import Path

import streamlit as st

from pages import shared, warmup
from pages.shared import t
from pages.streamlit_internals import run_unknown_paths_as_default

# Our own file, served by the app: a ":material/...:" icon is fetched from fonts.gstatic.com on every page.
ICON = Path(__file__).parent / "widgets" / "assets" / "icon.png"
st.set_page_config(page_title="NetLens", page_icon=str(ICON), layout="wide")
warmup.configure()
shared.init_session()

PAGES = [
    st.Page("pages/draw.py", title=t("nav.draw"), icon=":material/draw:", url_path="draw", default=True),
    st.Page("pages/fitting.py", title=t("nav.fitting"), icon=":material/trending_down:", url_path="fitting"),
    st.Page("pages/gradients.py", title=t("nav.gradients"), icon=":material/south:", url_path="gradients"),
    st.Page("pages/cnn.py", title=t("nav.cnn"), icon=":material/grid_on:", url_path="cnn"),
    st.Page("pages/recurrent.py", title=t("nav.recurrent"), icon=":material/repeat:", url_path="recurrent"),
    st.Page("pages/attention.py", title=t("nav.attention"), icon=":material/center_focus_strong:",
            url_path="attention"),
    st.Page("pages/layers.py", title=t("nav.layers"), icon=":material/layers:", url_path="layers"),
    st.Page("pages/training.py", title=t("nav.training"), icon=":material/monitoring:", url_path="training"),
    st.Page("pages/quiz.py", title=t("nav.quiz"), icon=":material/quiz:", url_path="quiz"),
]
run_unknown_paths_as_default(PAGES)
page = st.navigation(PAGES)
sidebar = shared.sidebar_frame()  # filled after the page ran: it then shows the digit the page just set
shared.freeze_heap_once()
try:
    with warmup.page_running():
        page.run()
finally:
    shared.sidebar_ui(sidebar)
warmup.start_once(PAGES)  # after the first run: what the other pages' first visits need, in the background
