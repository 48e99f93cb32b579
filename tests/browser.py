"""The browser tests' helpers live in `tools.browser`, shared with the benchmark and the load test."""
from tools.browser import EXCEPTION, ONE, SEVEN, ZERO, canvas_box, draw, open_page, settle

__all__ = ["EXCEPTION", "ONE", "SEVEN", "ZERO", "canvas_box", "draw", "open_page", "settle"]
