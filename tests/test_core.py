"""`explain/` is the computing core: importing all of it loads no web framework, browser driver,
test runner or tool, so it runs with requirements.txt alone and every number is testable headless."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("streamlit", "playwright", "pytest", "websockets", "tests", "tools")

IMPORT_ALL = """
import pkgutil, sys, importlib
import explain
for info in pkgutil.walk_packages(explain.__path__, "explain."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_every_explain_module_loads_no_tool_test_or_ui_package():
    out = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stdout.split())
    assert "explain" in loaded and "keras" in loaded
    assert sorted(loaded & set(FORBIDDEN)) == []
