"""Every value's picture for the charts that follow a scrub slider in the browser (`widgets.scrub`),
built in the background: a run shows the server's value's picture at once, a thread builds the
others while no script runs, and a poll hands them to the charts by rerunning the fragment that
shows them (not the app: its sidebar, drawn after the page, would vanish for the run). Building
the Attention page's 28 rows of six charts took ~1.3 s, more than the page's whole first visit."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

import streamlit as st

from pages.streamlit_internals import current_fragment, rerun_fragment, running_on_its_own

Picture = TypeVar("Picture")
_builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="row-pictures")   # sessions queue their builds
PAINT_S = 1.0   # how long the builder leaves the CPU to the tab painting the page (0.3-0.8 s on 2 cores)
YIELD_S = 0.25  # the longest the builder waits for the scripts running to end, between two values
POLL_S = 0.5    # how often a fragment waiting for its pictures looks


def _script_running() -> bool:
    """Whether any session's script is running (Streamlit runs each in a thread of this name)."""
    return any(thread.name == "ScriptRunner.scriptThread" for thread in threading.enumerate())


class RowPictures(Generic[Picture]):
    """One chart's picture for every slider value in `values`, `pictures[value]`, built by the
    `_builder` thread while no script runs (any session's run, a first visit of the next page, goes
    first, for up to YIELD_S a value), or by the run that needs them now (`every`). `fragment` is
    the id of the fragment whose charts show them, which the poll reruns once they are built."""

    def __init__(self, values: range, value: int, picture: Callable[[int], Picture], fragment: str | None):
        self.values, self.fragment = values, fragment
        self.pictures = {value: picture(value)}
        self._picture = picture
        self._lock = threading.Lock()
        self._every: dict[int, Picture] | None = None

    def _build(self, value: int) -> None:
        with self._lock:
            if value not in self.pictures:
                self.pictures[value] = self._picture(value)

    def when_idle(self, start: float) -> None:
        """Build every value's picture, from the monotonic time `start` on."""
        time.sleep(max(0.0, start - time.monotonic()))
        for value in self.values:
            # At most YIELD_S a value: on a server that always runs someone's script, the pictures still come.
            waited = 0.0
            while _script_running() and waited < YIELD_S:
                time.sleep(0.02)
                waited += 0.02
            self._build(value)

    @property
    def done(self) -> bool:
        return len(self.pictures) == len(self.values)

    def every(self) -> dict[int, Picture]:
        """Every value's picture, in the slider's order (those not built yet are built now), the same
        dict on every call: a chart's frames are made again only for new objects
        (`widgets.chart.Sent.scrub_frames`)."""
        if self._every is None:
            for value in self.values:
                self._build(value)
            self._every = {value: self.pictures[value] for value in self.values}
        return self._every


class RowCharts:
    """A page's charts that follow its scrub sliders: each chart's `RowPictures`, kept in the session
    under `state` as kind -> (what they show, the pictures, whether their build was started)."""

    def __init__(self, state: str):
        self.state = state

    def along(self, kind: str, shown: tuple, values: range, value: int,
              picture: Callable[[int], Picture]) -> dict[int, Picture]:
        """The chart `kind`'s pictures `picture(v)` for the slider's `values`, `value` the server's:
        that one alone until the others are built (after the run: `hand_over`), then all of them, kept
        while `shown` (what they show: the model, the digit, language, mode...) stays the same, so that
        a move costs the server a lookup. A run whose value has no picture yet (a move before the
        thread got there) builds the rest itself."""
        held = st.session_state.setdefault(self.state, {})
        if kind not in held or held[kind][0] != shown or held[kind][1].values != values:
            held[kind] = (shown, RowPictures(values, value, picture, current_fragment()), False)
        rows = held[kind][1]
        rows.fragment = current_fragment()
        if rows.done or value not in rows.pictures:
            return rows.every()
        return {value: rows.pictures[value]}

    def hand_over(self) -> None:
        """Start building, in the `_builder` thread, the other values' pictures of the charts this
        fragment shows (`along`), and poll for them (`_poll_ui`): called last in the fragment."""
        held, fragment = st.session_state.get(self.state, {}), current_fragment()
        start = time.monotonic() + PAINT_S
        for kind, (shown, rows, started) in held.items():
            if not started and not rows.done:
                _builder.submit(rows.when_idle, start)
                held[kind] = (shown, rows, True)
        if fragment is not None and not self._built(fragment):
            _poll_ui(self, fragment)

    def _built(self, fragment: str) -> bool:
        return all(rows.done for _, rows, _ in st.session_state.get(self.state, {}).values()
                   if rows.fragment == fragment)


@st.fragment(run_every=POLL_S)
def _poll_ui(charts: RowCharts, fragment: str) -> None:
    """Shows nothing: while the pictures of the charts in `fragment` are being built, looks every
    POLL_S, and once they are, reruns that fragment alone, so that its charts hold every value before
    the first move (its rerun, which calls no poll, ends the polling: Streamlit drops the timer of a
    nested fragment that its parent's run does not call)."""
    if running_on_its_own() and charts._built(fragment):
        rerun_fragment(fragment)
