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


_declared: dict[tuple[str, str], tuple[object, str]] = {}  # (name, directory) -> (runtime, route)


def served(name: str, directory: Path, file: str) -> str:
    """Where Streamlit serves `file` of `directory`: `<baseUrlPath>/component/<name>/<file>`, a v1
    component's file route (the browser caches it: `Cache-Control: public`), registered here once
    per runtime (AppTest makes a runtime per test): declaring it on every chart took 2 ms a rerun."""
    from streamlit.runtime import Runtime
    runtime = Runtime.instance() if Runtime.exists() else None
    held = _declared.get((name, str(directory)))
    if held is None or held[0] is not runtime:
        component = st.components.v1.declare_component(name, path=str(directory))
        held = _declared[(name, str(directory))] = (runtime, component.name)
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"{'/' + base if base else ''}/component/{held[1]}/{file}"


def code(name: str) -> str:
    """The URL of `widgets/assets/<name>.js`, for the element's `data.code`."""
    return served("assets", ASSETS, f"{name}.js")
