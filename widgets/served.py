"""Our elements' code and styles, served as files once per tab instead of inline in every message.

A components-v2 element's `js` and `css` travel in each of its messages (the chart's were 8 KB, the
scrub slider's 6 KB, on every move of a slider): ours hold a one-line loader that imports the
element's module (`widgets/assets/<name>.js`) from Streamlit's component file route, which the
browser caches, and the module adds its stylesheet (`<name>.css`) to the page once.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).parent / "assets"

# Imports the module whose URL is the element's data.code once per tab (a failed import is tried again).
# Two lines: Streamlit takes a one-line string with brackets for a file's path (a glob).
LOADER = """const modules = window.__netlensModules || (window.__netlensModules = {});
export default c => (modules[c.data.code] ||= import(new URL(c.data.code, document.baseURI).href)
  .catch(e => { delete modules[c.data.code]; throw e; })).then(m => m.default(c));"""


def served(name: str, directory: Path, file: str) -> str:
    """Where Streamlit serves `file` of `directory`: `<baseUrlPath>/component/<name>/<file>`, a v1
    component's file route (the browser caches it: `Cache-Control: public`), registered here, once
    per runtime (AppTest makes a runtime per test)."""
    component = st.components.v1.declare_component(name, path=str(directory))
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"{'/' + base if base else ''}/component/{component.name}/{file}"


def code(name: str) -> str:
    """The URL of `widgets/assets/<name>.js`, for the element's `data.code`."""
    return served("assets", ASSETS, f"{name}.js")
