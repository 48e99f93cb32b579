"""A clock in the page for Streamlit reruns, shared by the benchmark and the load test.

Streamlit's status widget only appears for runs longer than 0.5 s, so it cannot tell that a fast
rerun is over; the finish message on the WebSocket can. Times are the tab's `performance.now()`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Runs in every tab before Streamlit's code: each WebSocket message is read, before Streamlit handles
# it, for ForwardMsg field 6 (script_finished) = 0 (FINISHED_SUCCESSFULLY) or 3
# (FINISHED_FRAGMENT_RUN_SUCCESSFULLY: a stroke reruns only the Draw page's fragment), and the tab's
# time of each goes to window.__runs. It is the one sure sign that a rerun is over: Streamlit's status widget only
# appears for runs longer than 0.5 s, and a fast rerun may never mark anything stale. The time of
# each rerun request the tab sends (BackMsg field 11, rerun_script) goes to window.__sends.
HOOK = """(() => {
  const finishStatus = bytes => {
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = bytes[i++]; value += (byte & 127) * scale; scale *= 128; } while (byte & 128);
      return value;
    };
    while (i < bytes.length) {
      const tag = varint(), wire = tag & 7;
      if (tag >>> 3 === 6 && wire === 0) return varint();
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 5) i += 4;
      else return -1;
    }
    return -1;
  };
  window.__runs = [];
  window.__sends = [];
  window.__bytes = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    send(data) {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes && bytes.length && bytes[0] >>> 3 === 11) window.__sends.push(performance.now());
      return super.send(data);
    }
    constructor(...args) {
      super(...args);
      this.addEventListener("message", event => {
        if (!(event.data instanceof ArrayBuffer)) return;
        window.__bytes += event.data.byteLength;
        const status = finishStatus(new Uint8Array(event.data));
        if (status === 0 || status === 3) window.__runs.push(performance.now());
      });
    }
  };
})();"""

# Installed just before an action: notes the time of its event (it reaches the window first, in the
# capture phase), then checks every animation frame until a rerun has finished after the tab's latest
# rerun request (`finished` is when the last one did), that request was sent after the event, the
# digit pad (if the page has one) has had its last drawing read (`window.__netlensPad`), nothing
# is stale (Streamlit marks the previous run's elements stale until the new run re-sends them) and no
# chart of ours is still drawing (`widgets/assets/chart.js` marks it data-drawing until plotly.js has
# drawn its figure: on a first visit its code and plotly.js may still be loading after the finish; a chart
# more than 300 px from sight is drawn only when it comes near, and is not waited for).
# `done` is the next frame, when that state is on screen. "mouseup" is timed from the pointerup of
# the same release, which comes first: the pad sends its drawing then, streamlit-drawable-canvas
# 200 ms after the mouseup.
# Times are the tab's `performance.now()` in ms.
WATCH = """event => {
  const type = event === "mouseup" ? "pointerup" : event;
  const state = {start: null, sends: null, finished: null, done: null, bytes: window.__bytes};
  window.__bench = state;
  window.addEventListener(type, () => { state.start = performance.now(); state.sends = window.__sends.length; },
                          {capture: true, once: true});
  const answered = () => {
    if (state.start === null || window.__sends.length <= state.sends) return null;
    const sent = window.__sends[window.__sends.length - 1];
    const pad = window.__netlensPad;
    if (pad && pad.read < pad.sent) return null;
    const last = window.__runs[window.__runs.length - 1];
    if (last === undefined || last < sent || document.querySelector('[data-stale="true"]')) return null;
    return document.querySelector('.netlens-chart[data-drawing]') ? null : last;
  };
  const tick = () => {
    const finished = answered();
    if (finished !== null) {
      state.finished = finished;
      state.bytes = window.__bytes - state.bytes;
      requestAnimationFrame(() => { state.done = performance.now(); });
    } else {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
}"""
TIMEOUT_MS = 120_000
LOADED = """() => window.__runs.length > 0 && !document.querySelector('[data-stale="true"]')"""


@dataclass(frozen=True)
class Rerun:
    """One timed rerun, in seconds from the user's action: `repainted` when its result is on
    screen, `finished` when the server's finish message reached the browser."""

    repainted: float
    finished: float
    received: int  # bytes the browser received over the WebSocket for it


def open_tab(browser, url: str):
    """A new session (its own browser context) at the projector size, once its first run is on screen."""
    tab = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US").new_page()
    tab.add_init_script(HOOK)
    tab.goto(url)
    tab.wait_for_function(LOADED, polling="raf", timeout=180_000)
    return tab


def rerun(tab, action: Callable[[], None], event: str) -> Rerun:
    """Do `action` and time its rerun, from its `event` ("mouseup", "click") to the repaint."""
    tab.evaluate(WATCH, event)
    action()
    tab.wait_for_function("() => window.__bench.done !== null", polling="raf", timeout=TIMEOUT_MS)
    state = tab.evaluate("() => window.__bench")
    return Rerun((state["done"] - state["start"]) / 1e3, (state["finished"] - state["start"]) / 1e3, state["bytes"])
