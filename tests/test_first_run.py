"""A newcomer's first run, as the README's first screen tells it: the Python versions it claims, its
two set-up commands (the test command is the one CI runs), plain `pytest`, and what the run command
does when the server is headless."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN = README.split("\n## ", 1)[0]


def claimed_versions() -> list[tuple[int, int]]:
    """The Python versions the README's start line claims: "Python 3.11 or 3.12" or a range "3.11–3.12"."""
    line = next(line for line in FIRST_SCREEN.splitlines() if line.startswith("**Start the app**"))
    found = re.search(r"Python (3)\.(\d+)(?: or |[–-])3\.(\d+)", line)
    assert found, line
    first, last = int(found[2]), int(found[3])
    return [(3, minor) for minor in range(first, last + 1)]


def test_the_python_running_the_tests_is_one_the_readme_claims():
    assert sys.version_info[:2] in claimed_versions(), f"README claims {claimed_versions()}"


def test_every_claimed_python_has_the_standard_modules_the_tests_import():
    uses_tomllib = any("import tomllib" in p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py"))
    assert uses_tomllib and min(claimed_versions()) >= (3, 11)  # tomllib is new in 3.11


def test_the_requirements_pin_one_version_of_each_package_for_every_claimed_python():
    for name in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "python_version" not in text, name


def test_the_first_screen_has_exactly_two_commands_and_the_second_is_what_ci_runs():
    commands = re.findall(r"```bash\n(.*?)\n```", FIRST_SCREEN, flags=re.S)
    assert len(commands) == 2
    start, tests = commands
    assert "pip install -r requirements.txt" in start and start.endswith("streamlit run app.py")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests == ci[ci.index("# The README's test command, word for word:") + 1]


def test_with_a_headless_server_the_readme_says_no_browser_opens_and_which_address_to_open():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["headless"] is True
    assert "no browser window opens" in FIRST_SCREEN and "open http://localhost:8501 yourself" in FIRST_SCREEN
    assert "opens http://" not in FIRST_SCREEN


def test_plain_pytest_finds_the_project_without_python_m():
    """`pytest` (the console script) puts only tests/ on sys.path by itself; pytest.ini adds the root."""
    pytest_exe = Path(sys.executable).with_name("pytest")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(pytest_exe), "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_core.py"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
