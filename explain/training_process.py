"""The server's side of a live training: one child process per run (`python -m
explain.training_process train CONFIG_JSON`), which trains with `explain.training.train` and sends
its events as `explain.training_events` lines on stdout; a reader thread here gathers them into the
state every session redraws. A child process, not a thread: Streamlit's per-rerun
`keras.backend.clear_session()` would reset Keras under a thread that is building a model, and the
child keeps training's Python work off the server's GIL while the class draws digits.

A lecture must survive the child's faults: a child that dies (a signal such as the out-of-memory
killer's SIGKILL, a crash, an error, a full disk) becomes a `Failure` saying how, the run's files
stay and the one-run lock is released; a child that stops answering for `HANG_SECONDS` is reported
as hung, and Stop then ends it for sure (terminate, kill after `KILL_GRACE`); a run whose server
went away is read back from its folder (`FolderRun`) as "interrupted".
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from explain import runs, training_events
from explain.data import ROOT
from explain.training import (
    MARKER_KINDS,
    METRICS,
    ONE_RUN,
    Event,
    Stop,
    TrainConfig,
    TrainingBusy,
    checkpoint_path,
    evaluate_checkpoint,
    save_evaluation,
    train,
    validate,
)

LOG = logging.getLogger("netlens.training")
ACTIVE_STATUSES = ("starting", "running", "stopping")
FINAL_STATUSES = ("early_stop", "completed", "user_stop", "interrupted", "nan", "failed")
HANG_SECONDS = 120.0     # nothing heard for this long from a run that has begun: it stopped answering
START_SECONDS = 300.0    # ... before its first event (TensorFlow's import on a busy machine is slow)
KILL_GRACE = 5.0         # after terminate() (SIGTERM), how long before kill() (SIGKILL)
LOG_LINES = 200          # the child's last lines of plain output kept for the details box
SIGNAL_HINTS = {"SIGKILL": "memory", "SIGTERM": "asked", "SIGINT": "asked", "SIGHUP": "asked",
                "SIGSEGV": "crash", "SIGBUS": "crash", "SIGABRT": "crash", "SIGFPE": "crash", "SIGILL": "crash"}


@dataclass(frozen=True)
class Failure:
    """How a child ended without finishing. `how` is "signal" (killed by `signal`), "exit" (exit
    `code` without a word), "error" (an exception `error_type`: `message`), "disk" (an OSError with
    `errno` writing the run's files) or "hung" (silent for `silent` s, then ended by Stop)."""

    how: str
    code: int | None = None
    signal: int | None = None
    error_type: str | None = None
    message: str | None = None
    errno: int | None = None
    silent: float | None = None

    @property
    def signal_name(self) -> str | None:
        try:
            return signal.Signals(self.signal).name if self.signal is not None else None
        except ValueError:
            return None

    @property
    def hint(self) -> str | None:
        """What such a signal usually means: "memory", "asked" or "crash" (the app's message keys)."""
        return SIGNAL_HINTS.get(self.signal_name or "")


def classify(returncode: int, error: Event | None, silent: float | None = None) -> Failure:
    """The `Failure` of a child that exited with `returncode` (negative: killed by that signal),
    after sending `error` (its "error" event, or None); `silent` is set when Stop ended a hung child."""
    killed_by = -returncode if returncode < 0 else None
    if silent is not None:
        return Failure("hung", code=returncode, signal=killed_by, silent=silent)
    if error is not None:
        how = "disk" if error.get("errno") in runs.DISK_ERRNOS | runs.UNWRITABLE_ERRNOS else "error"
        return Failure(how, code=returncode, error_type=error.get("type"), message=error.get("message"),
                       errno=error.get("errno"))
    if killed_by is not None:
        return Failure("signal", code=returncode, signal=killed_by)
    return Failure("exit", code=returncode)


@dataclass
class Snapshot:
    """A copy of a run's state for one redraw: progress, curves, markers, how it ended.

    `history` holds per-epoch lists (as `TrainResult.history`), `events` the markers; `end` is the
    run's "end" event; `failure` says how a "failed" run ended and `output` holds the child's last
    lines of plain output (TensorFlow's log, a traceback) for a details box; `silent` is how long
    the child has said nothing and `hung` whether that is longer than it may."""

    status: str                      # one of ACTIVE_STATUSES or FINAL_STATUSES
    config: TrainConfig
    owner: str
    epoch: int
    batch: int
    batches: int
    history: dict[str, list[float]]
    events: list[Event]
    end: Event | None
    elapsed: float
    run_dir: str | None
    failure: Failure | None = None
    output: str = ""
    silent: float = 0.0
    hung: bool = False
    evaluating: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def epochs_done(self) -> int:
        return len(self.history["loss"])

    def kept(self) -> Kept:
        """The files the run left that a user can take away or reload."""
        folder = Path(self.run_dir) if self.run_dir else None
        if folder is None:
            return Kept(None, None, None, None)
        csv, weights = folder / "log.csv", checkpoint_path(self.config, folder)
        saves = [e for e in self.events if e["kind"] == "checkpoint"]
        evaluation = folder / "evaluation.npz"
        return Kept(csv if csv.exists() else None, weights if weights.exists() and saves else None,
                    saves[-1] if saves and weights.exists() else None,
                    evaluation if evaluation.exists() else None)


@dataclass(frozen=True)
class Kept:
    """A run's files: the CSV log, the best checkpoint (and `save`, the marker of the epoch that wrote
    it), and the homework step's evaluation.npz; None where there is none."""

    csv_log: Path | None
    checkpoint: Path | None
    save: Event | None
    evaluation: Path | None


@dataclass
class RunState:
    """A run as its events tell it, folded one event at a time (live, or read back from events.jsonl)."""

    status: str = "starting"
    epoch: int = 0
    batch: int = 0
    batches: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in (*METRICS, "learning_rate")})
    events: list[Event] = field(default_factory=list)
    end: Event | None = None
    error: Event | None = None
    run_dir: str | None = None
    pid: int | None = None
    failure: Failure | None = None

    def apply(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "begin":
            self.batches, self.run_dir, self.pid = event["batches"], event["run_dir"], event.get("pid")
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
            self.error = event
        elif kind == "failed":      # written by the server into events.jsonl when the child died
            self.status, self.failure = "failed", Failure(**event["failure"])


class ChildProcess:
    """One `python -m explain.training_process ARGS...` child. Its events go to `on_event` as they
    arrive, its other output is kept (the last `LOG_LINES` lines), and `on_exit(returncode, output)`
    runs once it has exited and everything it wrote is read. Its own session: a Ctrl-C meant for the
    server does not kill it; it sees the server go away as the end of its stdin."""

    def __init__(self, args: list[str], on_event: Callable[[Event], None],
                 on_exit: Callable[[int, str], None]):
        self.on_event, self.on_exit = on_event, on_exit
        self.output: deque[str] = deque(maxlen=LOG_LINES)
        self.last_heard = time.monotonic()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "explain.training_process", *args], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", bufsize=1, start_new_session=True)
        self._reader = threading.Thread(target=self._read, name="netlens-training-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self.last_heard = time.monotonic()
                event = training_events.decode(line)
                if event is not None:
                    self.on_event(event)
                elif line.strip():
                    self.output.append(line.rstrip())
        # A line that is not what the child should send (cut-off or foreign JSON: ValueError; an event
        # without the keys RunState reads, or not an object: KeyError, TypeError) or a broken pipe
        # (OSError): end the child and keep the server. Bytes that are not UTF-8 in its plain output
        # (errors="replace") are no reason to end a run.
        except (ValueError, KeyError, TypeError, OSError):
            LOG.exception("reading training process %d failed", self.pid)
            self.proc.kill()
        finally:
            self.on_exit(self.proc.wait(), "\n".join(self.output))

    def silent_for(self) -> float:
        return time.monotonic() - self.last_heard

    def send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass        # it has already gone: its exit is being read

    def end_for_sure(self, grace: float = KILL_GRACE) -> None:
        """terminate() (SIGTERM), then kill() (SIGKILL, which a stopped or stuck process cannot
        ignore) if it has not ended after `grace` seconds; returns at once."""
        def end() -> None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(grace)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        threading.Thread(target=end, name="netlens-training-end", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the child has exited and its output is read; True if it has."""
        self._reader.join(timeout)
        return not self._reader.is_alive()


class LiveRun:
    """One training in a child process, as the pages see it. `stop()` asks the child (through its
    stdin) to end after the current batch, or ends a hung child for sure; `evaluate()` runs the
    homework step on the checkpoint of a run that ended without it."""

    def __init__(self, config: TrainConfig, owner: str = "", release: Callable[[], None] = lambda: None,
                 hang_seconds: float = HANG_SECONDS, start_seconds: float = START_SECONDS):
        self.config, self.owner, self._release = config, owner, release
        self.hang_seconds, self.start_seconds = hang_seconds, start_seconds
        self._lock = threading.Lock()
        self.state = RunState(run_dir=config.out_dir)
        self.failure: Failure | None = None
        self.output = ""
        self._ended_hung: float | None = None
        self._started = time.monotonic()
        self._finished: float | None = None
        self._evaluator: ChildProcess | None = None
        self._child = ChildProcess(["train", config.to_json()], self._apply, self._exited)
        threading.Thread(target=self._watch, name="netlens-training-watch", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._child.pid

    def _apply(self, event: Event) -> None:
        with self._lock:
            self.state.apply(event)

    def _exited(self, returncode: int, output: str) -> None:
        try:
            with self._lock:
                self.output = output
                if self.state.end is None:
                    self.state.status = "failed"
                    self.failure = classify(returncode, self.state.error, self._ended_hung)
                self._finished = time.monotonic()
            if self.failure is not None:
                LOG.warning("training process %d ended without finishing (%s, after %d epochs); its last output:\n%s",
                            self._child.pid, self.failure, len(self.state.history["loss"]), output)
                self._record_failure()
        finally:
            self._release()

    def _record_failure(self) -> None:
        """Note the failure in the run's events.jsonl, so a restarted server shows it too."""
        if self.state.run_dir and (Path(self.state.run_dir) / "config.json").exists():
            try:
                training_events.EventLog(Path(self.state.run_dir) / runs.EVENTS_FILE).append(
                    {"kind": "failed", "failure": asdict(self.failure)})
            except OSError as exc:      # the disk that ended the run may still be full
                LOG.warning("could not note the failure in %s: %s", self.state.run_dir, exc)

    def _hung(self, silent: float | None = None) -> bool:
        limit = self.hang_seconds if self.state.batches else self.start_seconds
        silent = self._child.silent_for() if silent is None else silent
        return self.state.status in ACTIVE_STATUSES and silent > limit

    def _watch(self) -> None:
        """Once Stop was pressed, a child that stops answering is ended without a second press."""
        while not self._child.wait(1.0):
            with self._lock:
                force = self.state.status == "stopping" and self._hung() and self._ended_hung is None
                if force:
                    self._ended_hung = self._child.silent_for()
            if force:
                self._child.end_for_sure()

    def snapshot(self) -> Snapshot:
        with self._lock:
            s, silent = self.state, self._child.silent_for()
            end = self._finished or time.monotonic()
            return Snapshot(s.status, self.config, self.owner, s.epoch, s.batch, s.batches,
                            {k: list(v) for k, v in s.history.items()}, list(s.events), s.end, end - self._started,
                            s.run_dir, self.failure, self.output, silent, self._hung(silent),
                            self._evaluator is not None and not self._evaluator.wait(0))

    @property
    def active(self) -> bool:
        with self._lock:
            return self.state.status in ACTIVE_STATUSES

    def stop(self) -> bool:
        """Ask the run to end after the current batch; a hung child is ended for sure (terminate,
        then kill). False if the run is already stopping (and still answering) or over."""
        with self._lock:
            hung = self._hung()
            if self.state.status not in ("starting", "running") and not (self.state.status == "stopping" and hung):
                return False
            self.state.status = "stopping"
            if hung:
                self._ended_hung = self._child.silent_for()
        if hung:
            self._child.end_for_sure()
        else:
            self._child.send("stop")
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the child has exited and its events are read; True if it has."""
        return self._child.wait(timeout)

    def evaluate(self, release: Callable[[], None] = lambda: None) -> None:
        """The homework step (reload the checkpoint, predict the validation set) in a child of its
        own, for a run that ended before doing it; it writes the run's evaluation.npz."""
        self._evaluator = _evaluator(self.state.run_dir, release)


def _evaluator(run_dir: str, release: Callable[[], None]) -> ChildProcess:
    def exited(returncode: int, output: str) -> None:
        if returncode != 0:
            LOG.warning("the homework step for %s failed (exit %d):\n%s", run_dir, returncode, output)
        release()
    return ChildProcess(["evaluate", run_dir], lambda event: None, exited)


class FolderRun:
    """A run read back from its folder: what a server shows after a restart. A run that has no
    "end" event there was cut off when its server stopped: it shows as "interrupted"."""

    owner = ""
    active = False

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.config = TrainConfig.from_json((run_dir / "config.json").read_text())
        self._evaluator: ChildProcess | None = None

    def snapshot(self) -> Snapshot:
        state = RunState(run_dir=str(self.run_dir))
        log = self.run_dir / runs.EVENTS_FILE
        for event in training_events.read_log(log) if log.exists() else []:
            state.apply(event)
        if state.end is None and state.failure is None:
            state.status = "interrupted"
        state.run_dir = str(self.run_dir)
        seconds = state.end["seconds"] if state.end else (
            log.stat().st_mtime - (self.run_dir / "config.json").stat().st_mtime if log.exists() else 0.0)
        return Snapshot(state.status, self.config, self.owner, state.epoch, state.batch, state.batches,
                        state.history, state.events, state.end, seconds, state.run_dir, state.failure,
                        evaluating=self._evaluator is not None and not self._evaluator.wait(0))

    def stop(self) -> bool:
        return False

    def evaluate(self, release: Callable[[], None] = lambda: None) -> None:
        self._evaluator = _evaluator(str(self.run_dir), release)


def same_settings(a: TrainConfig, b: TrainConfig) -> bool:
    """Whether two runs differ at most in the model (and their folders)."""
    return replace(a, model="", out_dir=None) == replace(b, model="", out_dir=None)


def _folder_runs(root: Path | None) -> Iterator[FolderRun]:
    """The runs of the runs folder that can be read back, newest first (a folder without a readable
    config.json is not a run this app can show)."""
    for folder in reversed(runs.run_dirs(runs.RUNS_DIR if root is None else root)):
        try:
            yield FolderRun(folder)
        except (OSError, ValueError, TypeError):
            continue


def comparable_run(config: TrainConfig, root: Path | None = None) -> FolderRun | None:
    """The newest finished run in the runs folder of another model with `config`'s settings: the
    curves to draw beside this run's (cnn beside cnn_bn shows what batch normalisation changes)."""
    for other in _folder_runs(root):
        if config.out_dir and other.run_dir == Path(config.out_dir):
            continue
        if other.config.model != config.model and same_settings(other.config, config) \
                and other.snapshot().epochs_done:
            return other
    return None


def last_ended_run(config: TrainConfig, root: Path | None = None) -> Snapshot | None:
    """The newest run in the runs folder with exactly `config`'s settings (model too) that ended by
    itself (early stop or its last epoch): what such a run took on this machine, measured."""
    for other in _folder_runs(root):
        if replace(other.config, out_dir=None) == replace(config, out_dir=None):
            snap = other.snapshot()
            if snap.end is not None and snap.end["status"] in ("early_stop", "completed"):
                return snap
    return None


def latest_run(root: Path | None = None) -> FolderRun | None:
    """The newest run in the runs folder that can be read back, or None."""
    return next(_folder_runs(root), None)


class Trainer:
    """The server's trainer: starts at most one `LiveRun` at a time and remembers the latest one
    (at first, the newest run in the runs folder, from before a restart)."""

    def __init__(self, root: Path | None = None, hang_seconds: float = HANG_SECONDS,
                 start_seconds: float = START_SECONDS):
        self.root, self.hang_seconds, self.start_seconds = root, hang_seconds, start_seconds
        self.run: LiveRun | FolderRun | None = latest_run(root)
        self._lock = threading.Lock()

    def start(self, config: TrainConfig, owner: str = "") -> LiveRun:
        """Start `config` in a child process; `ConfigError` if it cannot train, `runs.FolderError` if
        its folder cannot be written or lacks space, `TrainingBusy` if a run (or a homework step) is
        in progress (in this server, started from any session)."""
        validate(config)
        runs.check_writable(Path(config.out_dir).parent if config.out_dir else self.root)
        with self._lock:
            if not ONE_RUN.acquire(blocking=False):
                raise TrainingBusy("a training run is already in progress on this server")
            try:
                if not config.out_dir:
                    config = replace(config, out_dir=str(runs.new_run_dir(self.root)))
                self.run = LiveRun(config, owner, release=ONE_RUN.release, hang_seconds=self.hang_seconds,
                                   start_seconds=self.start_seconds)
            except BaseException:
                ONE_RUN.release()
                raise
            return self.run

    def evaluate(self) -> None:
        """Run the homework step on the latest run's checkpoint (one child at a time, like a run)."""
        with self._lock:
            if self.run is None or self.run.active:
                return
            if not ONE_RUN.acquire(blocking=False):
                raise TrainingBusy("a training run is already in progress on this server")
            try:
                self.run.evaluate(release=ONE_RUN.release)
            except BaseException:
                ONE_RUN.release()
                raise


# ---- the child ------------------------------------------------------------------------------------

def _watch_stdin(stop: Stop) -> None:
    """A "stop" line means Stop was pressed; the end of input means the server went away."""
    line = sys.stdin.readline()
    stop.request("user_stop" if line else "interrupted")


def _train(config: TrainConfig) -> None:
    stop = Stop()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    out = sys.stdout

    def emit(event: Event) -> None:
        if stop.reason == "interrupted" and stop.is_set():
            return          # nobody reads any more: the run's folder records the rest
        try:
            training_events.write(out, event)
        except OSError:     # the server went away mid-write
            stop.request("interrupted")

    try:
        train(config, on_event=emit, stop=stop)
    # Broad on purpose: the child's last resort. Whatever Keras, TensorFlow or the disk raise here (of
    # types nobody can list), the server is told what happened before the child dies of it; the
    # exception is raised again, so its traceback still goes to the output tail and the exit code is 1.
    except Exception as exc:
        emit({"kind": "error", "type": type(exc).__name__, "message": str(exc), "errno": _errno(exc)})
        raise


_HDF5_ERRNO = re.compile(r"\berrno = (\d+)\b")


def _errno(exc: BaseException) -> int | None:
    """The operating system's error number behind `exc`: an OSError's own, one it was raised from, or
    the one in the text of h5py's RuntimeError (a checkpoint's HDF5 write that hits a full disk raises
    RuntimeError("... errno = 28, error message = 'No space left on device' ..."), no OSError)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc.errno
        found = _HDF5_ERRNO.search(str(exc)) if isinstance(exc, RuntimeError) else None
        if found:
            return int(found.group(1))
        exc = exc.__cause__ or exc.__context__
    return None


def _evaluate(run_dir: Path) -> None:
    config = TrainConfig.from_json((run_dir / "config.json").read_text())
    save_evaluation(evaluate_checkpoint(config, checkpoint_path(config, run_dir)), run_dir)


def main(argv: list[str] | None = None) -> None:
    """The child process: `train CONFIG_JSON` (events on stdout) or `evaluate RUN_DIR`."""
    command, arg = argv or sys.argv[1:]
    if hasattr(os, "nice"):
        os.nice(5)      # the class's pages stay quick while a run uses the cores
    if command == "train":
        _train(TrainConfig.from_json(arg))
    elif command == "evaluate":
        _evaluate(Path(arg))
    else:
        raise SystemExit(f"unknown command {command!r}; use train CONFIG_JSON or evaluate RUN_DIR")


if __name__ == "__main__":
    main()
