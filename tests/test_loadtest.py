"""The load test (`python -m tools.loadtest`, the README's command) in its quick mode."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_readme_table_is_rewritten_between_its_markers_and_nowhere_else():
    from tools.loadtest import BEGIN, END, rewrite_readme

    text = f"# Title\n\nintro\n{BEGIN}\nold table\n{END}\n\nWhat the table cannot show.\n"
    new = rewrite_readme(text, f"{BEGIN}\nnew table\n{END}")
    assert new == f"# Title\n\nintro\n{BEGIN}\nnew table\n{END}\n\nWhat the table cannot show.\n"
    with pytest.raises(ValueError, match="found them 0 and 0 times"):
        rewrite_readme("# no markers\n", "x")
    with pytest.raises(ValueError, match="after it"):
        rewrite_readme(f"{END}\n{BEGIN}\n", "x")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rewrite_readme(readme, "") != readme  # the project's README has its markers, around its table


def test_the_readme_block_holds_one_row_per_run_and_each_verdict():
    from tools.loadtest import BEGIN, END, HEADER, Result, Tally, readme_block

    def result(sessions: int, training: bool, probe_s: float, errors: int) -> Result:
        probe = Tally(times={"sample": [probe_s] * 4, "draw": [probe_s] * 4})
        load = Tally(errors=["draw seven: TimeoutError"] * errors)
        cpu = {"server": 6.0, "training": 0.0, "browsers": 30.0, "others": 3.0}
        return Result(sessions, 60, training, load, probe, Tally(), 900 * 2**20, cpu, 60.0)

    block = readme_block([result(0, False, 0.5, 0), result(20, True, 3.5, 1)], "2026-12-01")
    lines = block.splitlines()
    assert lines[0] == BEGIN and lines[-1] == END and HEADER.splitlines()[0] in lines
    rows = [line for line in lines if line.startswith("| 0 |") or line.startswith("| 20 |")]
    assert len(rows) == 2 and rows[0].endswith("| 900 MB | 0.10 / 0.00 / 0.50 / 0.05 |")
    assert "0 sessions: met (probe p95 0.50 s); 20 sessions with a training run: MISSED (probe p95 3.50 s)" in block
    assert "(2026-12-01," in block and "Server memory peaked at 900 MB." in block
