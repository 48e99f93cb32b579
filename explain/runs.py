"""The runs folder: every training writes to `RUNS_DIR/<time-stamp>/` (never `models/`), and only
the newest `KEEP_RUNS` runs are kept. `NETLENS_RUNS_DIR` moves the folder (the tests point it at a
temporary directory, so they never prune a user's runs)."""
from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

from explain.data import ROOT

RUNS_DIR = Path(os.environ.get("NETLENS_RUNS_DIR") or ROOT / "runs")
KEEP_RUNS = 5


def new_run_dir(root: Path | None = None, keep: int = KEEP_RUNS) -> Path:
    """A fresh `root/<time-stamp>/` (root: `RUNS_DIR`), after deleting all but the newest `keep - 1`
    earlier runs."""
    root = RUNS_DIR if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    prune_runs(root, keep - 1)
    run_dir = root / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    run_dir.mkdir()
    return run_dir


def run_dirs(root: Path) -> list[Path]:
    """The run folders under `root` (only time-stamp-named ones), oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name[:8].isdigit() and "-" in p.name)


def prune_runs(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` run folders under `root` (only time-stamp-named folders)."""
    runs = run_dirs(root)
    doomed = runs[:max(len(runs) - keep, 0)]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed
