"""The runs folder: every training writes to `RUNS_DIR/<time-stamp>/` (never `models/`), and only
the newest `KEEP_RUNS` runs are kept. `NETLENS_RUNS_DIR` moves the folder (the tests point it at a
temporary directory, so they never prune a user's runs)."""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from explain.data import ROOT

RUNS_DIR = Path(os.environ.get("NETLENS_RUNS_DIR") or ROOT / "runs")
KEEP_RUNS = 5
EVENTS_FILE = "events.jsonl"


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


MIN_FREE_BYTES = 20 * 2**20     # a run's checkpoints, log and evaluation take well under 2 MB: room to spare
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
UNWRITABLE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


class FolderError(OSError):
    """The runs folder cannot take a run: `problem` is "unwritable" or "disk_full" (the app's message
    key), `values` the facts the message gives (folder, reason errno, free and needed MB)."""

    def __init__(self, problem: str, message: str, **values):
        self.problem, self.values = problem, values
        super().__init__(message.format(**values))


def check_writable(root: Path | None = None, need_bytes: int = MIN_FREE_BYTES) -> None:
    """Raise `FolderError` unless a file can be created in `root` (default `RUNS_DIR`, made if
    missing) and at least `need_bytes` are free there. Run before a training starts, so a teacher
    learns it at Start, not halfway through a lesson."""
    root = RUNS_DIR if root is None else root
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root) as probe:
            probe.write(b"netlens")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        problem = "disk_full" if exc.errno in DISK_ERRNOS else "unwritable"
        raise FolderError(problem, "cannot write in {folder}: {reason}", folder=str(root),
                          reason=exc.strerror or str(exc), errno=exc.errno, free_mb=0,
                          need_mb=need_bytes // 2**20) from exc
    free = shutil.disk_usage(root).free
    if free < need_bytes:
        raise FolderError("disk_full", "only {free_mb} MB free in {folder}; a run needs {need_mb} MB",
                          folder=str(root), free_mb=round(free / 2**20, 1), need_mb=need_bytes // 2**20,
                          reason=os.strerror(errno.ENOSPC), errno=errno.ENOSPC)
