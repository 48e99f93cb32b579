"""The wire between a training child and the server: one event per line on the child's stdout,
`EVENT_PREFIX` + a JSON object with a "kind". Anything else on that stream (TensorFlow's start-up
log, a traceback) is plain output, kept apart from the events.

Kinds, in the order a run sends them: "begin" (epochs, batches, fit_samples, val_samples, run_dir,
initial_lr), "batch" (epoch, batch, batches; at most every `training.BATCH_EVERY_SECONDS`), "epoch"
(the epoch's metrics and learning_rate), the markers in `training.MARKER_KINDS`, and "end" (the
run's summary). A child that fails sends "error" (type, message, errno) before it exits."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

EVENT_PREFIX = "@netlens-event "

Event = dict


def encode(event: Event) -> str:
    """One event as its line (with the newline)."""
    return EVENT_PREFIX + json.dumps(event) + "\n"


def decode(line: str) -> Event | None:
    """The event a line carries, or None for plain output."""
    return json.loads(line[len(EVENT_PREFIX):]) if line.startswith(EVENT_PREFIX) else None


def write(out: TextIO, event: Event) -> None:
    """Send one event now (the reader shows progress as it arrives)."""
    out.write(encode(event))
    out.flush()


class EventLog:
    """A run's events.jsonl: every event but the batch progress, one JSON object a line, flushed at
    once, so whatever ends the process, the file holds the run up to its last finished epoch."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, event: Event) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(event) + "\n")


def read_log(path: Path) -> list[Event]:
    """The events of an events.jsonl; a last line cut short (the process died writing it) is left out."""
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out
