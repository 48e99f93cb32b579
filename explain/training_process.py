"""The server's side of a live training: one child process per run (`python -m
explain.training_process CONFIG_JSON`), which trains with `explain.training.train` and sends its
events as `explain.training_events` lines on stdout; a reader thread here gathers them into the
state every session redraws. A child process, not a thread: Streamlit's per-rerun
`keras.backend.clear_session()` would reset Keras under a thread that is building a model, and the
child keeps training's Python work off the server's GIL while the class draws digits.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from explain import training_events
from explain.data import ROOT
from explain.training import (
    MARKER_KINDS,
    METRICS,
    ONE_RUN,
    Event,
    TrainConfig,
    TrainingBusy,
    train,
    validate,
)

FINAL_STATUSES = ("early_stop", "completed", "user_stop", "nan", "error")


@dataclass
class Snapshot:
    """A copy of a live run's state for one redraw: progress, curves, markers and final summary."""

    status: str                      # "starting", "running", "stopping", or one of FINAL_STATUSES
    config: TrainConfig
    owner: str
    epoch: int
    batch: int
    batches: int
    history: dict[str, list[float]]
    events: list[Event]
    end: Event | None
    error: str | None
    elapsed: float
    run_dir: str | None

    @property
    def active(self) -> bool:
        return self.status not in FINAL_STATUSES


class LiveRun:
    """One training in a child process (`python -m explain.training_process CONFIG_JSON`), whose events
    arrive as JSON lines on its stdout and are gathered here by a reader thread. `stop()` asks the
    child (through its stdin) to end after the current batch."""

    def __init__(self, config: TrainConfig, owner: str = "", release: Callable[[], None] = lambda: None):
        self.config, self.owner, self._release = config, owner, release
        self._lock = threading.Lock()
        self.status, self.epoch, self.batch, self.batches = "starting", 0, 0, 0
        self.history: dict[str, list[float]] = {k: [] for k in (*METRICS, "learning_rate")}
        self.events: list[Event] = []
        self.end: Event | None = None
        self.error: str | None = None
        self.run_dir: str | None = None
        self._output: deque[str] = deque(maxlen=20)
        self._started = time.monotonic()
        self._finished: float | None = None
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen([sys.executable, "-m", "explain.training_process", config.to_json()], cwd=ROOT,
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, name="netlens-training-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self._proc.stdout:
                event = training_events.decode(line)
                if event is not None:
                    self._apply(event)
                elif line.strip():
                    self._output.append(line.rstrip())
            self._proc.wait()
            with self._lock:
                if self.end is None:
                    self.status = "error"
                    self.error = self.error or "\n".join(self._output) or f"exit code {self._proc.returncode}"
                self._finished = time.monotonic()
        finally:
            self._release()

    def _apply(self, event: Event) -> None:
        kind = event["kind"]
        with self._lock:
            if kind == "begin":
                self.batches, self.run_dir = event["batches"], event["run_dir"]
                if self.status == "starting":
                    self.status = "running"
            elif kind == "batch":
                self.epoch, self.batch = event["epoch"], event["batch"]
            elif kind == "epoch":
                self.epoch, self.batch = event["epoch"], event["batches_done"]
                for k in self.history:
                    self.history[k].append(event[k])
            elif kind in MARKER_KINDS:
                self.events.append(event)
            elif kind == "end":
                self.end, self.status = event, event["status"]
            elif kind == "error":
                self.error = event["message"]

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._finished or time.monotonic()
            return Snapshot(self.status, self.config, self.owner, self.epoch, self.batch, self.batches,
                            {k: list(v) for k, v in self.history.items()}, list(self.events), self.end,
                            self.error, end - self._started, self.run_dir)

    @property
    def active(self) -> bool:
        with self._lock:
            return self.status not in FINAL_STATUSES

    def stop(self) -> bool:
        """Ask the run to end after the current batch; False if it is already stopping or over."""
        with self._lock:
            if self.status not in ("starting", "running"):
                return False
            self.status = "stopping"
        try:
            self._proc.stdin.write("stop\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the child has exited and its events are read; True if it has."""
        self._reader.join(timeout)
        return not self._reader.is_alive()


class Trainer:
    """The server's trainer: starts at most one `LiveRun` at a time and remembers the latest one."""

    def __init__(self):
        self.run: LiveRun | None = None
        self._lock = threading.Lock()

    def start(self, config: TrainConfig, owner: str = "") -> LiveRun:
        """Start `config` in a child process; `ConfigError` if it cannot train, `TrainingBusy` if a
        run is in progress (in this server, started from any session)."""
        validate(config)
        with self._lock:
            if not ONE_RUN.acquire(blocking=False):
                raise TrainingBusy("a training run is already in progress on this server")
            try:
                self.run = LiveRun(config, owner, release=ONE_RUN.release)
            except BaseException:
                ONE_RUN.release()
                raise
            return self.run


def _watch_stdin(stop: threading.Event) -> None:
    """In the child: any line, or the parent going away (end of input), means stop."""
    sys.stdin.readline()
    stop.set()


def main(argv: list[str] | None = None) -> None:
    """The child process: train the JSON config given as the only argument, events on stdout."""
    config = TrainConfig.from_json((argv or sys.argv[1:])[0])
    if hasattr(os, "nice"):
        os.nice(5)      # the class's pages stay quick while a run uses the cores
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    out = sys.stdout

    def emit(event: Event) -> None:
        training_events.write(out, event)

    try:
        train(config, on_event=emit, stop=stop)
    except Exception as exc:  # the parent shows the reason; the traceback goes to the output tail
        emit({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
        raise


if __name__ == "__main__":
    main()
