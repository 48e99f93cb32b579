"""The load test (`python -m tools.loadtest`, the README's command) in its quick mode."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_load_test_runs_two_browser_sessions_against_the_app_without_errors_or_mismatches(browser, app_url):
    """`python -m tools.loadtest --quick` (two sessions, 5 s) against the suite's server; its own
    process, because it drives Chromium with Playwright's async API."""
    out = subprocess.run([sys.executable, "-m", "tools.loadtest", "--quick", "--url", app_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    rows = [line for line in out.stdout.splitlines() if line.startswith("| 2 |")]
    assert rows, out.stdout + out.stderr  # the exit code also says whether p95 < 3 s: a busy machine's verdict
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[3] == "0" and cells[4] == "0" and int(cells[2].split()[0]) >= 3  # errors, mismatches, requests
