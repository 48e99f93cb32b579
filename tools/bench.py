"""How fast NetLens answers a stroke, measured: `python -m tools.bench [--quick]`.

Prints one table and writes it, with the machine's cores, CPU and the date, to BENCHMARKS.md.
Every figure is a median (p50) and a 95th percentile (p95) over many runs, and every comparison is
a ratio of two things measured in the same run, so a busy machine slows both sides alike:

1. server-side work per stroke over test-split digits, against the naive Keras way (`predict`);
2. stroke to repaint in headless Chromium on the Draw and CNN pages, against a bare canvas page;
3. cold start, from `streamlit run app.py` to the Draw page rendered;
4. the server's resident memory, with the models loaded and after ten sessions drew a digit;
5. seconds per epoch of the homework LSTM with the live-curve recorder, against a bare `fit`, and
   started from the Training page (its curves redrawn every second) against the same run without it.

`--quick` runs a few iterations of everything (the test suite runs it so the benchmark cannot rot);
its numbers are not worth reading. The browser parts need playwright and Debian's chromium.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from tools import browser as drive
from tools.clock import Rerun, open_tab, rerun
from widgets import PAD_SIZE as CANVAS_SIDE  # the Draw page's pad, in pixels

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("server", "browser", "training")


@dataclass(frozen=True)
class Plan:
    """How many of each measurement a run takes."""

    digits: int          # server-side: test digits timed per page
    naive_digits: int    # ... of which the naive Keras way runs on this many (it is 100-1000x slower)
    strokes: int         # stroke to repaint: timed strokes per page; a control moved: timed moves per slider
    warmups: int         # ... untimed strokes and moves before those (quick: none, its numbers are not judged)
    sessions: int        # memory: extra browser sessions that each draw a digit
    visit_pages: bool    # memory: one session also visits every page
    epochs: int          # training: epochs per run (early stopping off)
    rounds: int          # training: runs of each kind, alternating
    train_samples: int   # training: digits in the classroom demo's subset
    app_training: bool   # training: the classroom demo from the Training page, against the same run without it


FULL = Plan(digits=200, naive_digits=30, strokes=20, warmups=1, sessions=10, visit_pages=True, epochs=4, rounds=4,
            train_samples=5000, app_training=True)
QUICK = Plan(digits=5, naive_digits=2, strokes=1, warmups=0, sessions=1, visit_pages=True, epochs=2, rounds=1,
             train_samples=200, app_training=False)


# ---- statistics and the table ---------------------------------------------------------------------

@dataclass(frozen=True)
class Stat:
    """A distribution of durations in seconds: its median, 95th percentile and sample count."""

    p50: float
    p95: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        if not samples:
            raise ValueError("a Stat needs at least one sample, received none")
        return cls(float(np.percentile(samples, 50)), float(np.percentile(samples, 95)), len(samples))


def time_each(fn: Callable, inputs: Iterable, warmup: int = 2) -> Stat:
    """`fn(x)` timed once per input, after `warmup` untimed calls on the first input (tracing,
    compiling and first-touch allocations happen once per server, not once per stroke)."""
    inputs = list(inputs)
    for _ in range(warmup):
        fn(inputs[0])
    samples = []
    for x in inputs:
        start = time.perf_counter()
        fn(x)
        samples.append(time.perf_counter() - start)
    return Stat.of(samples)


def duration(seconds: float) -> str:
    """A duration in the unit that reads best: '0.42 ms', '38 ms', '1.24 s'."""
    if seconds < 0.01:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MB"


@dataclass
class Row:
    """One line of the table. `met` is None where there is no target."""

    section: str
    measure: str
    p50: str
    p95: str = ""
    comparison: str = ""
    target: str = ""
    met: bool | None = None
    n: int | None = None
    parts: dict = field(default_factory=dict)  # measured values (seconds, KiB) the report's notes quote


FAILED = "FAILED"


def failed(section: str, measure: str, exc: BaseException) -> Row:
    """The row of a measurement that raised: the table says what broke (on one line, so the table
    holds) instead of losing the run."""
    message = " ".join(str(exc).split()).replace("|", "/")
    return Row(section, measure, FAILED, comparison=f"{type(exc).__name__}: {message[:240]}", met=False)


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**MISSED**", None: ""}[met]


def table(rows: Sequence[Row]) -> str:
    """The rows as one markdown table, grouped by section."""
    lines = ["| section | measure | n | p50 | p95 | comparison (same run) | target | |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        n = "" if row.n is None else str(row.n)
        lines.append(f"| {row.section} | {row.measure} | {n} | {row.p50} | {row.p95} | {row.comparison} "
                     f"| {row.target} | {verdict(row.met)} |")
    return "\n".join(lines)


@dataclass
class Machine:
    """Where and when the run happened, and how busy the machine was (other work skews timings)."""

    cores: int
    cpu: str
    date: str
    python: str
    versions: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    took: dict[str, float] = field(default_factory=dict)  # seconds per section run
    others: float | None = None  # cores that processes other than this run's used, on average

    @classmethod
    def now(cls) -> Machine:
        import importlib.metadata as md
        versions = ", ".join(f"{p} {md.version(p)}" for p in ("tensorflow", "keras", "streamlit", "numpy"))
        return cls(os.cpu_count() or 1, _cpu_model(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                   platform.python_version(), versions, os.getloadavg())

    def describe(self) -> str:
        busy = max(self.load_before[0], self.load_after[0]) > 0.75 * self.cores
        load = (f"load average (1 min) {self.load_before[0]:.1f} before, {self.load_after[0]:.1f} after"
                + (" - other work was running, so absolute times are pessimistic; ratios compare "
                   "runs made side by side" if busy else ""))
        others = "" if self.others is None else \
            f"; processes other than the benchmark's used {self.others:.2f} of the {self.cores} cores on average"
        took = ", ".join(f"{section} {seconds / 60:.1f}" for section, seconds in self.took.items())
        took = f" It took {sum(self.took.values()) / 60:.1f} min ({took})." if self.took else ""
        return (f"{self.cores} cores, {self.cpu}, {platform.system()} {platform.release()}; Python {self.python}; "
                f"{self.versions}. Run on {self.date}; {load}{others}.{took}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---- 1. server-side work per stroke ------------------------------------------------------------

def canvas_like(x28: np.ndarray) -> np.ndarray:
    """A test digit (28, 28) uint8 as the Draw page's pad sends it: (260, 260, 4) uint8 RGBA,
    a white stroke on a clear background (its opacity is the ink)."""
    grey = np.asarray(Image.fromarray(x28).resize((CANVAS_SIDE, CANVAS_SIDE), Image.BILINEAR))
    white = np.full_like(grey, 255)
    return np.dstack([white, white, white, grey])


def png_data_url(rgba: np.ndarray) -> str:
    """What the canvas component sends the server: a PNG data URL (`canvas.toDataURL`)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_url(url: str) -> np.ndarray:
    """The server's decoding of each drawing, as `widgets.pad.Drawing.rgba` does it."""
    _, encoded = url.split(";base64,", 1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


def _predict(model, x: np.ndarray):
    return model.predict(x[None], verbose=0)


def server_rows(n: int, n_naive: int) -> list[Row]:
    """Each page's computation on `n` test digits, and the naive Keras way on `n_naive` of them."""
    import gc

    import keras

    from explain import attention, conv, inference, recurrent
    from explain.data import load_mnist
    from explain.models import MODEL_NAMES, load_model
    from explain.preprocess import to_mnist

    models = {name: load_model(name) for name in MODEL_NAMES}
    gc.collect()
    gc.freeze()  # as app.py does once the models are loaded (see cleanup_row)
    test = load_mnist().test
    picks = np.random.default_rng(0).choice(len(test.y), size=n, replace=False)
    canvases = [canvas_like(test.x[i]) for i in picks]
    urls = [png_data_url(c) for c in canvases]
    digits = [to_mnist(c) for c in canvases]
    few = digits[:n_naive]
    rows = [
        Row("server", "the pad's PNG -> RGBA array (`widgets.pad.Drawing.rgba`)",
            *_p(time_each(decode_data_url, urls))),
        Row("server", f"preprocessing: `to_mnist` on a {CANVAS_SIDE}x{CANVAS_SIDE} RGBA drawing",
            *_p(time_each(to_mnist, canvases))),
    ]

    cnn, att, lstm, gru = models["cnn"], models["attention"], models["lstm"], models["gru"]
    mha = att.get_layer("mha")

    def naive_attention(x):
        tokens = _predict(att_tokens, x)
        mha(tokens, tokens, return_attention_scores=True)  # Keras exposes the scores only by calling the layer
        return _predict(att, x)

    # (measure, our way, the naive way, its name, target p50 in seconds)
    pages = [
        ("Draw: all five models' probabilities (`inference.probabilities`)",
         lambda x: inference.probabilities(models, x), lambda x: [_predict(m, x) for m in models.values()],
         "`model.predict` per model", 0.015),
        ("CNN: every feature map, pooled map and logit (`conv.trace`)",
         lambda x: conv.trace(cnn, x), lambda x: [_predict(m, x) for m in cnn_layers],
         f"a `predict` per layer sub-model ({len(conv.plan(cnn).chain)})", 0.010),
        ("Recurrent: every gate of both LSTM and GRU layers (`recurrent.gate_trace` x2)",
         lambda x: [recurrent.gate_trace(m, x) for m in (lstm, gru)],
         lambda x: [_predict(m, x) for m in recurrent_layers],
         "a `predict` per recurrent layer sub-model (4, hidden states only)", 0.010),
        ("Attention: every head's scores, tokens and output (`attention.trace`)",
         lambda x: attention.trace(att, x), naive_attention,
         "`predict` of the tokens, an eager `mha` call and `model.predict`", 0.010),
    ]
    first: dict[str, float | Exception] = {}
    for measure, fast, *_ in pages:  # the first call builds and compiles, once per server
        start = time.perf_counter()
        try:
            fast(digits[0])
            first[measure] = time.perf_counter() - start
        except Exception as exc:  # a broken page function is reported in its row; the rest still runs
            first[measure] = exc
    cleanup = cleanup_row(n)  # the server's heap now: models frozen, every page's compiled path not
    # The naive way's sub-models, built after that measurement (the server never builds them).
    att_tokens = keras.Model(att.input, att.get_layer("posenc").output)
    cnn_layers = [keras.Model(cnn.input, cnn.get_layer(name).output) for name in conv.plan(cnn).chain]
    recurrent_layers = [keras.Model(m.input, m.get_layer(name).output)
                        for m, names in ((lstm, ("lstm1", "lstm2")), (gru, ("gru1", "gru2"))) for name in names]

    for measure, fast, naive, naive_name, target in pages:
        if isinstance(first[measure], Exception):
            rows.append(failed("server", measure, first[measure]))
            continue
        ours, theirs = time_each(fast, digits), time_each(naive, few, warmup=1)
        rows.append(Row("server", measure, *_p(ours),
                        comparison=(f"{theirs.p50 / ours.p50:.0f}x faster than {naive_name} "
                                    f"(p50 {duration(theirs.p50)}, n={theirs.n}); "
                                    f"first call {duration(first[measure])}"),
                        target=f"p50 <= {target * 1e3:.0f} ms", met=ours.p50 <= target))
    rows.append(charts_row(models, canvases))
    for row in rows:
        row.n = n
    return rows + [cleanup]


def charts_row(models: dict, canvases: list[np.ndarray]) -> Row:
    """The Draw page's two Plotly figures for each drawing, as it builds them on every stroke (plotly's
    object model, not the arithmetic, is what a page spends its server time on)."""
    from explain.figures.draw import probabilities_figure, steps_figure
    from explain.inference import probabilities
    from explain.preprocess import preprocess_steps

    def charts(canvas: np.ndarray) -> None:
        steps = preprocess_steps(canvas)
        steps_figure(steps, steps.final, "en", False)
        probabilities_figure(probabilities(models, steps.final), "en", False)

    measure = "Draw: its two charts built (`steps_figure`, `probabilities_figure`, with their inputs)"
    try:
        return Row("server", measure, *_p(time_each(charts, canvases)))
    except Exception as exc:
        return failed("server", measure, exc)


def cleanup_row(repeats: int) -> Row:
    """What Streamlit does after every rerun of every session: `gc.collect(2)` (its
    runner.postScriptGC) and `keras.backend.clear_session()` (which collects again). Each walks
    every tracked object, except those `gc.freeze()` moved out of reach: called once the models
    are loaded (as app.py does), and after each page's path compiled, as in a server whose pages
    have all been visited. Then the same without the freeze; the heap is frozen again after."""
    import gc

    import keras

    def cleanup(_) -> None:
        gc.collect(2)
        keras.backend.clear_session()

    frozen = time_each(cleanup, range(repeats), warmup=1)
    gc.unfreeze()
    loose = time_each(cleanup, range(repeats), warmup=1)
    gc.freeze()
    return Row("server", "Streamlit's cleanup after each rerun (`gc.collect(2)`, `keras.backend.clear_session()`), "
               "heap frozen once the models loaded (as app.py does), every page's path compiled since",
               *_p(frozen),
               comparison=(f"{loose.p50 / frozen.p50:.0f}x faster than without `gc.freeze()` "
                           f"(p50 {duration(loose.p50)})"),
               n=frozen.n)


def _p(stat: Stat) -> tuple[str, str]:
    return duration(stat.p50), duration(stat.p95)


# ---- 2-4. in the browser: stroke to repaint, live answers, cold start, first visits, memory ------

# The bare drawable-canvas page's toolbar reset, and the digit pad's Clear.
RESET = "button[title='Reset canvas & history'], button[data-action='clear']"
NAV = "[data-testid='stSidebarNav'] a, [data-testid='stSidebarNavLink']"  # the Draw page first
CNN_LINK = "[data-testid='stSidebarNav'] a[href$='/cnn']"
BARE_PAGES = {"canvas": "benchmarks/bare_canvas.py", "pad": "benchmarks/bare_pad.py"}
COLD_TARGET, VISIT_TARGET = 6.0, 1.5  # s: cold start; first visit of each page after a server start
LIVE_PAUSE_MS = 25  # between mouse moves of a live stroke: 24 moves, a 7 drawn in about 0.6 s plus the moves' cost
LIVE_FIRST, LIVE_GAP = 0.150, 0.250  # s: first answer after the pen starts to move; then at least this often


def stroke(tab, strokes) -> Rerun:
    """Draw `strokes` (`tools.browser`'s canvas fractions) and time the rerun their last mouse-up sends."""
    return rerun(tab, lambda: drive.draw(tab, strokes), "mouseup")


def clear_canvas(tab) -> Rerun:
    """The canvas toolbar's reset or the pad's Clear (only on a drawing: a blank one sends nothing)."""
    return rerun(tab, lambda: tab.locator(RESET).first.click(), "click")


# The times of the pen's first press and last release on the tab (ms, its performance.now()).
PEN = """() => {
  window.__pen = {down: null, up: null};
  window.addEventListener("pointerdown", () => { window.__pen.down ??= performance.now(); }, {capture: true});
  window.addEventListener("pointerup", () => { window.__pen.up = performance.now(); }, {capture: true});
}"""


@dataclass(frozen=True)
class Live:
    """One stroke drawn at a hand's pace: seconds from the pen's press to the first answer on
    screen (a rerun finished), and between the answers that came while the pen moved."""

    first: float | None
    gaps: list[float]
    drawing: float  # seconds the pen was down


def live_stroke(tab) -> Live:
    """A 7 drawn at a hand's pace on a blank pad, its final answer waited for (the rerun clock)."""
    tab.evaluate(PEN)
    runs_before = tab.evaluate("() => window.__runs.length")
    rerun(tab, lambda: drive.draw(tab, drive.SEVEN, pause_ms=LIVE_PAUSE_MS), "mouseup")
    pen, runs = tab.evaluate("() => [window.__pen, window.__runs]")
    during = [r for r in runs[runs_before:] if pen["down"] < r <= pen["up"]]
    first = (during[0] - pen["down"]) / 1e3 if during else None
    return Live(first, list(np.diff(during) / 1e3), (pen["up"] - pen["down"]) / 1e3)


def _rss(proc) -> int:
    import psutil
    return psutil.Process(proc.pid).memory_info().rss


def cpu_seconds(proc) -> float:
    """A server's CPU time so far (user + system), in seconds."""
    import psutil
    times = psutil.Process(proc.pid).cpu_times()
    return times.user + times.system


@dataclass(frozen=True)
class Timed:
    """One timed rerun and the CPU seconds its server process spent meanwhile."""

    rerun: Rerun
    cpu: float


def timed(tab, action: Callable[[], None], event: str, server) -> Timed:
    """`rerun(tab, action, event)`, with the CPU time `server` (a process) spent over it."""
    before = cpu_seconds(server)
    result = rerun(tab, action, event)
    return Timed(result, cpu_seconds(server) - before)


def shares(runs: Sequence[Timed]) -> dict:
    """The medians a row's comparison and miss note quote: to the repaint (`p50`), to the last finish
    message (`finished`, the server's share), from there to the paint (`paint`, the browser's), KiB
    received (`kib`) and the server's CPU time (`cpu`), each over `runs`."""
    return {"p50": Stat.of([r.rerun.repainted for r in runs]).p50,
            "finished": Stat.of([r.rerun.finished for r in runs]).p50,
            "paint": Stat.of([r.rerun.repainted - r.rerun.finished for r in runs]).p50,
            "kib": float(np.median([r.rerun.received for r in runs])) / 1024,
            "cpu": float(np.median([r.cpu for r in runs]))}


def described(p: dict) -> str:
    return (f"last finish message after p50 {duration(p['finished'])}, then {duration(p['paint'])} to paint; "
            f"{p['kib']:.0f} KiB received; the server's CPU {duration(p['cpu'])}")


def browser_rows(plan: Plan, app_training: bool, logs: Path) -> list[Row]:
    """Cold start, first visits, memory, stroke-to-repaint against the two bare floors, moved controls
    against a bare slider, and (with `app_training`) the Training page's run, in one Chromium. Each
    step after the cold start reports its own failure and the next one still runs."""
    if not Path(drive.CHROMIUM).exists():
        raise RuntimeError(drive.NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    servers: list = []
    rows: list[Row] = []
    step = "cold start"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=drive.CHROMIUM, args=drive.CHROMIUM_ARGS)
            port = drive.free_port()
            url = f"http://127.0.0.1:{port}"
            start = time.perf_counter()
            app = drive.start_app(port, logs / "app.log")
            servers.append(app)
            up = time.perf_counter() - start
            draw_tab = open_tab(browser, f"{url}/?lang=en")  # the root URL: Streamlit serves the default page there
            cold = time.perf_counter() - start
            loaded = _rss(app)
            rows += [Row("cold start", "`streamlit run app.py` -> Draw page on screen in Chromium", duration(cold),
                         comparison=f"the server answered its health check after {duration(up)}",
                         target=f"<= {COLD_TARGET:.0f} s", met=cold <= COLD_TARGET, n=1,
                         parts={"s": cold, "up": up, "rest": cold - up}),
                     Row("memory", "server RSS, all models loaded (Draw page on screen)", megabytes(loaded),
                         target="<= 1.5 GB", met=loaded <= MEMORY_LIMIT, n=1)]
            drive.settle(draw_tab)  # see open_page: the pad's first state, sent as it mounts, is answered
            steps: list[tuple[str, Callable[[], list[Row]]]] = [
                ("stroke to repaint", lambda: stroke_rows(browser, draw_tab, url, app, plan, logs, servers)),
                ("a control moved", lambda: control_rows(browser, url, app, plan, logs, servers)),
                (f"memory: {plan.sessions} sessions drawing", lambda: sessions_rows(browser, url, app, plan.sessions,
                                                                                     loaded)),
            ]
            if plan.visit_pages:  # first: nothing has compiled the other pages' paths yet
                steps.insert(0, ("first visit of each page", lambda: first_visit_rows(draw_tab, app, loaded)))
            if app_training:
                steps.append(("training from the Training page", lambda: app_training_rows(browser, url, app, logs)))
            for step, run in steps:
                try:
                    rows += run()
                except Exception as exc:  # the next step still runs, on the same server and browser
                    rows.append(failed("browser", step, exc))
                if step == "stroke to repaint":
                    draw_tab.context.close()  # every later step opens its own tabs
            browser.close()
    except Exception as exc:
        rows.append(failed("browser", step, exc))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return rows


MEMORY_LIMIT = 1.5 * 2**30


def first_visit_rows(tab, app, loaded: int) -> list[Row]:
    """Each page's first visit after the server started (it builds that page's compiled path),
    from the sidebar click to the page on screen; then back to the Draw page; then the server's memory."""
    links = tab.locator(NAV)
    # A link's text is its icon's ligature name, then the page's title, on separate lines.
    names = [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]
    visits = [(name, timed(tab, links.nth(i).click, "click", app)) for i, name in enumerate(names) if i]
    rerun(tab, links.first.click, "click")
    rows = [Row("first visit", f"{name}: sidebar click -> page on screen, first time after the server started",
                duration(v.rerun.repainted), comparison=f"finish message after {duration(v.rerun.finished)}; "
                f"{v.rerun.received / 1024:.0f} KiB received; the server's CPU {duration(v.cpu)}",
                target=f"p50 <= {VISIT_TARGET} s", met=v.rerun.repainted <= VISIT_TARGET, n=1,
                parts=shares([v])) for name, v in visits]
    every = _rss(app)
    return rows + [Row("memory", "server RSS after one session visited every page", megabytes(every),
                       comparison=f"{(every - loaded) / 2**20:+.0f} MB against the first row",
                       target="<= 1.5 GB", met=every <= MEMORY_LIMIT, n=1)]


def stroke_rows(browser, draw_tab, url: str, app, plan: Plan, logs: Path, servers: list) -> list[Row]:
    """Stroke to repaint on the two bare floors (each its own server), the Draw page and the CNN
    page, then answers while drawing on the bare pad and the Draw page."""
    tabs, owners = {}, {}
    for name, script in BARE_PAGES.items():
        bare_port = drive.free_port()
        servers.append(owners.setdefault(name, drive.start_app(bare_port, logs / f"bare-{name}.log", script=script)))
        tabs[name] = open_tab(browser, f"http://127.0.0.1:{bare_port}/")
    tabs["draw"], owners["draw"] = draw_tab, app
    tabs["cnn"], owners["cnn"] = open_tab(browser, f"{url}/?lang=en"), app
    rows = repaint_rows(tabs, owners, plan.strokes, plan.warmups)
    rows += live_rows({"pad": tabs["pad"], "draw": draw_tab}, plan.strokes)
    for name in ("canvas", "pad", "cnn"):
        tabs[name].context.close()
    return rows


def sessions_rows(browser, url: str, app, sessions: int, loaded: int) -> list[Row]:
    """The server's memory after `sessions` more sessions each drew a digit (all kept open until then)."""
    contexts = []
    for _ in range(sessions):
        tab = open_tab(browser, f"{url}/?lang=en")
        stroke(tab, drive.SEVEN)
        contexts.append(tab.context)
    after = _rss(app)
    for context in contexts:
        context.close()
    return [Row("memory", f"server RSS after {sessions} more sessions each drew a digit", megabytes(after),
                comparison=f"{(after - loaded) / 2**20:+.0f} MB against the first row",
                target="<= 1.5 GB", met=after <= MEMORY_LIMIT, n=1)]


def repaint_rows(tabs: dict, owners: dict, strokes: int, warmups: int = 1) -> list[Row]:
    """`strokes` timed strokes per tab after `warmups` untimed ones, taken in turn so that a busy machine slows
    every tab alike. Bare pages and the Draw page: clear, draw a 1 or a 7 (alternating, so every
    answer is new), time from the mouse-up to the answer on screen. CNN tab (its page has no pad:
    it explains the digit drawn on the Draw page): draw there, time the sidebar click to the CNN
    page on screen, go back. `owners` maps each tab to its server process (for its CPU time)."""
    times: dict[str, list[Timed]] = {name: [] for name in tabs}
    charts: dict[str, dict] = {"draw": {}, "cnn": {}}
    for i in range(warmups + strokes):
        digit = (drive.SEVEN, drive.ONE)[i % 2]
        for name, tab in tabs.items():
            if name == "cnn":
                stroke(tab, digit)
                run = timed(tab, tab.locator(CNN_LINK).first.click, "click", owners[name])
                charts[name] = chart_count(tab)
                rerun(tab, tab.locator(NAV).first.click, "click")  # back to the Draw page: a fresh, blank pad
            else:
                if i:
                    clear_canvas(tab)
                run = timed(tab, lambda tab=tab, digit=digit: drive.draw(tab, digit), "mouseup", owners[name])
                if name == "draw":
                    charts[name] = chart_count(tab)
            if i >= warmups:
                times[name].append(run)

    part = {name: shares(times[name]) for name in tabs}
    stat = {name: Stat.of([r.rerun.repainted for r in times[name]]) for name in tabs}
    canvas, pad = stat["canvas"].p50, stat["pad"].p50
    return [Row("stroke to repaint", "bare drawable-canvas page (the floor the issue set: Streamlit and "
                "streamlit-drawable-canvas only)", *_p(stat["canvas"]), comparison=described(part["canvas"]),
                n=stat["canvas"].n, parts=part["canvas"]),
            Row("stroke to repaint", "bare digit-pad page (Streamlit and the Draw page's own pad only)",
                *_p(stat["pad"]), comparison=f"{pad / canvas:.2f}x the drawable-canvas floor; {described(part['pad'])}",
                n=stat["pad"].n, parts=part["pad"]),
            Row("stroke to repaint", "Draw page: mouse-up -> prediction, preprocessing and every model's "
                "probabilities on screen", *_p(stat["draw"]),
                comparison=(f"**{stat['draw'].p50 / canvas:.2f}x the drawable-canvas floor**, "
                            f"{stat['draw'].p50 / pad:.2f}x the bare pad; {described(part['draw'])}"),
                target="p50 <= 1.0x drawable-canvas floor", met=stat["draw"].p50 <= canvas, n=stat["draw"].n,
                parts={**part["draw"], **charts["draw"]}),
            Row("stroke to repaint", "CNN page: sidebar click after a new drawing -> every CNN chart on screen",
                *_p(stat["cnn"]), comparison=(f"**{stat['cnn'].p50 / canvas:.2f}x the drawable-canvas floor**; "
                                              f"{described(part['cnn'])}"),
                target="p50 <= 1.5x drawable-canvas floor", met=stat["cnn"].p50 <= 1.5 * canvas, n=stat["cnn"].n,
                parts={**part["cnn"], **charts["cnn"]})]


def live_rows(tabs: dict, strokes: int) -> list[Row]:
    """`strokes` 7s drawn at a hand's pace on each tab, in turn: when the first answer came after
    the pen's press, and how far apart the answers came while the pen moved."""
    lives: dict[str, list[Live]] = {name: [] for name in tabs}
    for _ in range(strokes):
        for name, tab in tabs.items():
            clear_canvas(tab)
            lives[name].append(live_stroke(tab))
    rows = []
    for name, what in (("pad", "bare digit-pad page"), ("draw", "Draw page")):
        firsts = [live.first for live in lives[name] if live.first is not None]
        gaps = [gap for live in lives[name] for gap in live.gaps]
        pen = float(np.median([live.drawing for live in lives[name]]))
        missing = len(lives[name]) - len(firsts)
        note = f"; {missing} strokes had no answer before the pen lifted" if missing else ""
        if firsts:
            first = Stat.of(firsts)
            rows.append(Row("while drawing", f"{what}: pen down -> first answer on screen, the pen still moving",
                            *_p(first), comparison=f"strokes lasting p50 {duration(pen)}{note}",
                            target=f"p50 <= {LIVE_FIRST * 1e3:.0f} ms" if name == "draw" else "",
                            met=first.p50 <= LIVE_FIRST if name == "draw" else None, n=first.n,
                            parts={"p50": first.p50, "p95": first.p95}))
        if gaps:
            gap = Stat.of(gaps)
            rows.append(Row("while drawing", f"{what}: time between answers while the pen moves", *_p(gap),
                            comparison=f"{len(gaps) / len(lives[name]) + 1:.1f} answers per stroke",
                            target=f"p95 <= {LIVE_GAP * 1e3:.0f} ms" if name == "draw" else "",
                            met=gap.p95 <= LIVE_GAP if name == "draw" else None, n=gap.n,
                            parts={"p50": gap.p50, "p95": gap.p95}))
        if not firsts:
            rows.append(Row("while drawing", f"{what}: pen down -> first answer on screen", FAILED,
                            comparison=f"no answer came while the pen moved, in {len(lives[name])} strokes", met=False))
    return rows


# Plotly's own class on every graph it draws, whoever mounts it (Streamlit's element or ours), and
# Streamlit's Plotly element, which 1.67 remounts whenever its figure changes (see FINDINGS).
PLOTLY_GRAPH, STREAMLIT_PLOTLY = ".js-plotly-plot", "[data-testid='stPlotlyChart']"


def chart_count(tab) -> dict:
    """How many Plotly graphs the tab shows (`charts`), and how many of them are Streamlit's own
    Plotly element (`remounted`: drawn anew on every change); the rest update in place."""
    return {"charts": tab.locator(PLOTLY_GRAPH).count(), "remounted": tab.locator(STREAMLIT_PLOTLY).count()}


# The control a teacher moves most on each page: (its sidebar link's path, the slider's English label).
CONTROLS = {
    "CNN": ("cnn", "Row"),                             # the convolution arithmetic's window position, its row
    "Recurrent": ("recurrent", "Timestep t = image row"),  # the step whose gates and equations are shown
    "Attention": ("attention", "Query row"),           # the row whose attention is shown
}
SHOTS: Path | None = None  # where a tab's screenshot goes when its page lost its slider (--shots)
CONTROL_TARGET = 1.5  # at most this many times the bare page holding the same slider
BARE_CONTROL = "benchmarks/bare_control.py"


def slider(tab, label: str):
    """The range input of the slider labelled `label`: the app's scrub slider (`widgets/scrub.py`) or
    Streamlit's (react-aria's)."""
    return tab.locator(f".netlens-scrub input[type='range'][aria-label='{label}'], "
                       f"[data-testid='stSlider'] input[type='range'][aria-label='{label}']").first


def slider_kind(thumb) -> str:
    """"scrub" for the app's scrub slider, "streamlit" for st.slider: the bare page holds the same kind."""
    return "scrub" if thumb.evaluate("e => !!e.closest('.netlens-scrub')") else "streamlit"


# Installed just before a key press on a scrub slider: from the keydown to the frame after every chart
# that follows that slider (`widgets/chart.py` Scrub: its data-scrub-group is the slider's data-group)
# has drawn the value the press gave the slider (data-scrubbed, set once plotly.js has drawn it),
# before any rerun; a chart far from sight (data-offscreen) draws only when it comes near, and is not waited
# for. Times in ms.
FOLLOW = """() => {
  const state = {start: null, value: null, group: null, done: null};
  window.__follow = state;
  window.addEventListener("keydown", () => { state.start = performance.now(); }, {capture: true, once: true});
  window.addEventListener("input", e => {
    state.value = String(e.target.value);
    state.group = e.target.closest(".netlens-scrub").dataset.group;
  }, {capture: true, once: true});
  const tick = () => {
    const charts = [...document.querySelectorAll(".netlens-chart[data-scrub-group]")]
      .filter(c => c.dataset.scrubGroup === state.group && !c.dataset.offscreen);
    if (state.value !== null && charts.every(c => c.dataset.scrubbed === state.value && !c.dataset.drawing)) {
      requestAnimationFrame(() => { state.done = performance.now(); });
    } else {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
}"""


def slider_state(thumb, timeout: float = 15_000) -> tuple[int, int, int]:
    """(min, max, value) of a slider's range input."""
    return tuple(thumb.evaluate("e => [Number(e.min), Number(e.max), Number(e.value)]", timeout=timeout))


def open_page(tab, path: str) -> None:
    """Send `tab` to the app's page at `path` by its sidebar link, as a student gets there, once the
    page it shows is idle: a rerun its widgets asked for just before the click (the digit pad sends
    its state when it mounts) carries that page's id and would run it again after the switch."""
    drive.settle(tab)
    rerun(tab, tab.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").first.click, "click")


def showing(tab) -> str:
    """What a tab shows: its URL and its page's title."""
    try:
        title = tab.locator("h1").first.inner_text(timeout=2_000)
    except Exception:  # no title at all is an answer too
        title = "no title"
    return f"{tab.url} ({title!r})"


def walk(low: int, high: int, value: int, n: int) -> list[str]:
    """The keys that move a slider at `value` in low..high one step `n` times, turning at either end,
    so that moves in a row never show a value twice before the slider has crossed its range."""
    keys, step = [], 1 if value < high else -1
    for _ in range(n):
        if not low <= value + step <= high:
            step = -step
        value += step
        keys.append("ArrowRight" if step > 0 else "ArrowLeft")
    return keys


@dataclass(frozen=True)
class Moved:
    """One timed step of a slider: its rerun (`timed`), and the seconds from the keydown to every chart
    that follows the slider in the tab drawn on its new value (None on a page without such charts)."""

    timed: Timed
    follow: float | None

    @property
    def rerun(self) -> Rerun:
        return self.timed.rerun

    @property
    def cpu(self) -> float:
        return self.timed.cpu


def move(tab, thumb, key: str, server) -> Moved:
    """One step of the slider by the keyboard, timed from the keydown to every element of the rerun
    it sends on screen, and to the charts that follow it in the tab; raises if the value did not change."""
    low, high, value = slider_state(thumb)
    tab.evaluate(FOLLOW)
    result = timed(tab, lambda: thumb.press(key), "keydown", server)
    if slider_state(thumb)[2] == value:
        raise RuntimeError(f"pressing {key} left the slider at {value} (range {low}..{high})")
    follows = thumb.evaluate("e => document.querySelector(`.netlens-chart[data-scrub-group='${"
                             "e.closest('.netlens-scrub')?.dataset.group}']`) !== null")
    if not follows:
        return Moved(result, None)
    tab.wait_for_function("() => window.__follow.done !== null", polling="raf", timeout=30_000)
    follow = tab.evaluate("() => window.__follow")
    return Moved(result, (follow["done"] - follow["start"]) / 1e3)


def control_rows(browser, url: str, app, plan: Plan, logs: Path, servers: list) -> list[Row]:
    """Each page's slider in `CONTROLS` moved `plan.strokes` times (after `plan.warmups` untimed moves), in
    turn with a bare page holding the same slider (its label, range and value read from the page's; its own
    server), one step a move, so that every move shows a new value: from the keydown to the rerun
    on screen. Every page tab is its own session, opened on the Draw page and sent to the page by
    its sidebar link, as a student gets there."""
    bare_port = drive.free_port()
    bare = drive.start_app(bare_port, logs / "bare-control.log", script=BARE_CONTROL)
    servers.append(bare)
    from urllib.parse import urlencode
    pairs, keys, kinds = {}, {}, {}
    lost: list[str] = []  # moves whose page tab no longer showed its slider
    for page, (path, label) in CONTROLS.items():
        tab = open_tab(browser, f"{url}/?lang=en")
        open_page(tab, path)
        thumb = slider(tab, label)
        try:
            low, high, value = slider_state(thumb)
        except Exception:  # reported in the row, then the link clicked again
            lost.append(f"{page}: its first visit, the tab showing {showing(tab)}")
            if SHOTS:
                tab.screenshot(path=SHOTS / f"no-slider-{page}.png", full_page=True)
            open_page(tab, path)
            low, high, value = slider_state(thumb)
        floor = open_tab(browser, f"http://127.0.0.1:{bare_port}/?" + urlencode(
            {"label": label, "min": low, "max": high, "value": value, "kind": slider_kind(thumb)}))
        pairs[page] = ((floor, slider(floor, label), bare), (tab, thumb, app))
        kinds[page] = slider_kind(thumb)
        keys[page] = walk(low, high, value, plan.warmups + plan.strokes)
    times = {page: ([], []) for page in pairs}
    for i in range(plan.warmups + plan.strokes):
        for page, sides in pairs.items():
            for (tab, thumb, server), runs, side in zip(sides, times[page], ("its bare page", "the page")):
                try:
                    run = move(tab, thumb, keys[page][i], server)
                except Exception as exc:
                    if side != "the page" or thumb.count():
                        raise RuntimeError(f"{page} page's slider, move {i} on {side}: {exc}") from exc
                    # Reported in the row, then the page opened again by its link: the other moves still count.
                    lost.append(f"{page}: move {i}, the tab showing {showing(tab)}")
                    if SHOTS:
                        tab.screenshot(path=SHOTS / f"slider-gone-{page}-{i}.png", full_page=True)
                    open_page(tab, CONTROLS[page][0])
                    run = move(tab, thumb, keys[page][i], server)
                if i >= plan.warmups:
                    runs.append(run)
    rows = []
    for page, (bare_runs, page_runs) in times.items():
        charts = chart_count(pairs[page][1][0])
        for side, _, _ in pairs[page]:
            side.context.close()
        floor, own = shares(bare_runs), shares(page_runs)
        floor_stat, stat = (Stat.of([r.rerun.repainted for r in runs]) for runs in (bare_runs, page_runs))
        label, kind = CONTROLS[page][1], kinds[page]
        gone = "".join(f"; the slider was gone at {what.split(': ', 1)[1]}, the page opened again"
                       for what in lost if what.startswith(f"{page}:"))
        parts = {**own, **charts, **{f"bare_{key}": v for key, v in floor.items()}}
        what = "the server's rerun (text and formulas) on screen" if kind == "scrub" else "every chart updated"
        rerun_row = Row("a control moved", f"{page} page: its slider \"{label}\" moved one step -> {what}",
                        *_p(stat), comparison=f"**{stat.p50 / floor_stat.p50:.2f}x the bare page**; {described(own)}; "
                        f"Plotly charts: {charts['charts']}, {charts['remounted']} of them Streamlit's" + gone,
                        n=stat.n, parts=parts)
        held = "the app's scrub slider" if kind == "scrub" else "st.slider"
        rows.append(Row("a control moved", f"bare page holding the {page} page's slider (\"{label}\", {held}): "
                        "one step -> its value on screen (the server's rerun)", *_p(floor_stat),
                        comparison=described(floor), n=floor_stat.n, parts=floor))
        if kind == "scrub":
            follow = Stat.of([r.follow for r in page_runs])
            rows += [Row("a control moved", f"{page} page: its slider \"{label}\" moved one step -> every chart "
                         "updated (the charts follow the slider in the tab)", *_p(follow),
                         comparison=f"**{follow.p50 / floor_stat.p50:.2f}x the bare page's rerun**; "
                                    f"{charts['charts']} Plotly charts" + gone,
                         target=f"p50 <= {CONTROL_TARGET}x the bare page",
                         met=follow.p50 <= CONTROL_TARGET * floor_stat.p50, n=follow.n,
                         parts={**parts, "follow": follow.p50}), rerun_row]
        else:
            rows.append(replace(rerun_row, target=f"p50 <= {CONTROL_TARGET}x the bare page",
                                met=stat.p50 <= CONTROL_TARGET * floor_stat.p50))
    return rows


TRAINING_ROUNDS = 3  # runs of each kind, alternating
TRAINING_TARGET = 1.10


def epoch_ends(log: Path, finished: Callable[[], bool], timeout: float = 900) -> list[float]:
    """When each epoch's row appeared in a run's CSVLogger file (polled every 20 ms), until
    `finished()`: the one clock that reads a run the same way whoever started it."""
    ends: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = finished()
        rows = max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0
        ends += [time.perf_counter()] * (rows - len(ends))
        if done:
            return ends
        time.sleep(0.02)
    raise TimeoutError(f"the run writing {log} did not finish within {timeout:.0f} s")


def app_training_rows(browser, url: str, server, logs: Path) -> list[Row]:
    """The classroom demo started from the Training page (a tab of its own, the only one open, which
    redraws the curves every second while the run lasts) against the same run in the same kind of
    child process (`training_process.LiveRun`) with no tab open at all; `TRAINING_ROUNDS` of each,
    alternating. The CPU time each group of processes spent per epoch (`tools.cpu.ProcessWatch`: the
    app's server, the training child, the browser, everything else on the machine) tells what the
    page took from the training, and whether the machine was quiet."""
    from explain import runs, training, training_process
    from tools.cpu import ProcessWatch

    demo_runs: list[tuple[float, str]] = []   # (seconds from start to the end, status) of each run alone

    def without_page(i: int) -> list[float]:
        run_dir = logs / f"liverun-{i}"
        start = time.perf_counter()
        run = training_process.LiveRun(replace(training.CLASSROOM_DEMO, out_dir=str(run_dir)))
        ends = epoch_ends(run_dir / "log.csv", lambda: not run.active)
        demo_runs.append((time.perf_counter() - start, run.snapshot().status))
        return ends

    def from_page(_: int) -> list[float]:
        before = set(runs.RUNS_DIR.glob("*")) if runs.RUNS_DIR.exists() else set()
        tab = open_tab(browser, f"{url}/?lang=en")
        try:
            open_page(tab, "training")
            rerun(tab, tab.get_by_role("button", name="Classroom demo preset").click, "click")
            tab.get_by_role("button", name="Start", exact=True).click()
            deadline = time.monotonic() + 60
            while not (new := set(runs.RUNS_DIR.glob("*")) - before) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not new:
                raise RuntimeError(f"the Training page started no run in {runs.RUNS_DIR} within 60 s")
            run_dir = max(new)
            return epoch_ends(run_dir / "log.csv", lambda: (run_dir / "result.json").exists())
        finally:
            tab.context.close()

    per_epoch: dict[str, list[float]] = {"alone": [], "page": []}
    # Per run: the server's and the browser's CPU seconds per epoch, and the cores all other processes used.
    cpu: dict[str, list[dict]] = {"alone": [], "page": []}
    for i in range(TRAINING_ROUNDS):
        for name, run in (("alone", without_page), ("page", from_page)):
            watch, start = ProcessWatch(server.pid), time.perf_counter()
            try:
                ends = run(i)
            finally:
                spent, wall = watch.stop(), time.perf_counter() - start
            per_epoch[name] += list(np.diff(ends))
            epochs = max(1, len(ends))
            cpu[name].append({"server": spent["server"] / epochs, "browsers": spent["browsers"] / epochs,
                              "others_cores": spent["others"] / wall})
    alone, page = Stat.of(per_epoch["alone"]), Stat.of(per_epoch["page"])
    whole = Stat.of([seconds for seconds, _ in demo_runs])
    statuses = sorted({status for _, status in demo_runs})
    used = {name: {group: float(np.median([c[group] for c in cpu[name]])) for group in cpu[name][0]}
            for name in cpu}
    spent = (f"the server {used['page']['server'] * 1e3:.0f} ms ({used['alone']['server'] * 1e3:.0f}), the browser "
             f"{used['page']['browsers'] * 1e3:.0f} ms ({used['alone']['browsers'] * 1e3:.0f}); other processes "
             f"used {used['page']['others_cores']:.2f} cores ({used['alone']['others_cores']:.2f})")
    return [Row("training", "the classroom demo from start (a new process, TensorFlow's import) to its end, no page "
                "open, s", *_p(whole), comparison=f"ended by: {', '.join(statuses)}", target="max <= 60 s, early stop",
                met=max(s for s, _ in demo_runs) <= 60 and statuses == ["early_stop"], n=whole.n,
                parts={"max": max(s for s, _ in demo_runs), "statuses": ", ".join(statuses),
                       "others_cores": used["alone"]["others_cores"], "epoch": alone.p50}),
            Row("training", "classroom demo in the app's training child process (`training_process.LiveRun`), no page "
                "open, s/epoch", *_p(alone), n=alone.n),
            Row("training", "the same run started from the Training page, its curves redrawn every second, s/epoch",
                *_p(page), comparison=(f"{page.p50 / alone.p50:.3f}x without the page; CPU per epoch with the page "
                                       f"(without): {spent}"),
                target=f"p50 <= {TRAINING_TARGET:.2f}x", met=page.p50 <= TRAINING_TARGET * alone.p50, n=page.n,
                parts={"ratio": page.p50 / alone.p50, "epoch": page.p50, "alone_epoch": alone.p50,
                       **{f"{group}_cpu": used["page"][group] for group in ("server", "browsers")},
                       **{f"alone_{group}_cpu": used["alone"][group] for group in ("server", "browsers")},
                       "others_cores": used["page"]["others_cores"],
                       "alone_others_cores": used["alone"]["others_cores"]})]


# ---- 5. training overhead ---------------------------------------------------------------------

def training_rows(epochs: int, rounds: int, train_samples: int, out: Path) -> list[Row]:
    """Seconds per epoch of the classroom demo's LSTM through `training.train` with the live-curve
    recorder and the event stream the app's child process writes, against a bare `model.fit` with
    the same Keras callbacks; `rounds` runs of each, alternating. Early stopping is off so both run
    `epochs` epochs; an epoch is the time between two epoch ends (the first epoch, which traces the
    model, has no predecessor and is left out)."""

    import keras

    from explain import training, training_events

    config = replace(training.CLASSROOM_DEMO, epochs=epochs, early_stopping=False, train_samples=train_samples)

    class EpochEnds(keras.callbacks.Callback):
        def __init__(self, ends: list[float]):
            super().__init__()
            self.ends = ends

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    def bare(run_dir: Path) -> list[float]:
        (x_fit, y_fit), (x_val, y_val) = training.training_data(config.train_samples, config.validation_fraction,
                                                                config.seed)
        keras.utils.set_random_seed(config.seed)
        model = training.build_model(config)
        ends: list[float] = []
        callbacks = [*training.keras_callbacks(config, run_dir).values(), EpochEnds(ends)]
        model.fit(x_fit, y_fit, batch_size=config.batch_size, epochs=config.epochs,
                  validation_data=(x_val, y_val), callbacks=callbacks, verbose=0)
        return ends

    def recorded(run_dir: Path) -> list[float]:
        ends: list[float] = []
        with open(os.devnull, "w") as sink:
            def emit(event: dict) -> None:  # what the app's training child does with every event
                sink.write(training_events.encode(event))
                sink.flush()
                if event["kind"] == "epoch":
                    ends.append(time.perf_counter())
            training.train(replace(config, out_dir=str(run_dir)), on_event=emit)
        return ends

    from tools.cpu import ProcessWatch

    per_epoch: dict[str, list[float]] = {"bare": [], "recorded": []}
    watch, start = ProcessWatch(None), time.perf_counter()
    for i in range(rounds):
        for name, run in (("bare", bare), ("recorded", recorded)):
            run_dir = out / f"{name}-{i}"
            run_dir.mkdir()
            ends = run(run_dir)
            per_epoch[name] += list(np.diff(ends))
    others = watch.stop()["others"] / (time.perf_counter() - start)
    base, live = Stat.of(per_epoch["bare"]), Stat.of(per_epoch["recorded"])
    what = f"LSTM, {config.fit_samples} digits, batch {config.batch_size}"
    return [Row("training", f"bare `model.fit` with the course's callbacks ({what}), s/epoch", *_p(base), n=base.n),
            Row("training", "`training.train` with the live-curve recorder and event stream, s/epoch", *_p(live),
                comparison=f"{live.p50 / base.p50:.3f}x bare `fit`; other processes used {others:.2f} cores "
                           "meanwhile",
                target=f"p50 <= {TRAINING_TARGET:.2f}x", met=live.p50 <= TRAINING_TARGET * base.p50, n=live.n,
                parts={"p50": live.p50, "p95": live.p95, "bare": base.p50, "bare_p95": base.p95,
                       "others_cores": others})]


# ---- report ------------------------------------------------------------------------------------

def untimed(n: int, what: str) -> str:
    """"one untimed warm-up", "2 untimed moves", "no untimed move"."""
    return f"{'one' if n == 1 else n or 'no'} untimed {what}{'s' if n > 1 else ''}"


def how(plan: Plan) -> str:
    """How each number is measured, with this run's counts."""
    warm, moved = untimed(plan.warmups, "warm-up"), untimed(plan.warmups, "move")
    return f"""\
## How each number is measured

- **server**: each page's own `explain/` call, timed with `time.perf_counter` on each of {plan.digits} test-split
  digits (a seeded random choice), drawn as the Draw page's pad sends them (the digit scaled to
  {CANVAS_SIDE}x{CANVAS_SIDE}, white on a clear background), after two untimed calls. The naive way runs in the same
  process on the first {plan.naive_digits} of them. *First call* is the graph's build (tracing), paid once per server
  by the first session that opens the page. The heap is frozen (`gc.freeze()`) once the models are loaded,
  as `app.py` does.
- **stroke to repaint**: one headless Chromium (Playwright, Debian's chromium), tabs at 1280x720, each its own
  Streamlit session: the bare drawable-canvas page (`benchmarks/bare_canvas.py`) and the bare pad page
  (`benchmarks/bare_pad.py`), each served by its own `streamlit run` (the canvas or pad at the pad's size and
  brush, one metric, no TensorFlow), the app's Draw page, and a tab for the CNN page. {plan.strokes} strokes per
  tab, taken in turn, after {warm} each: clear (untimed), then a 1 or a 7, alternating so that
  every answer is new, drawn with the mouse. The clock runs in the page (`tools/clock.py`), from the release
  of the mouse to the first painted frame after the server's last `script_finished` message has arrived for a
  rerun requested after the release, the pad (where there is one) has seen its last drawing read, and no
  element is left stale. *Last finish message after* is the server's share (for the drawable canvas it
  includes the component's 200 ms wait before it sends); *to paint* is the browser's share. The CNN page has
  no pad: it explains the digit drawn on the Draw page; its tab draws there (untimed), then the clock runs
  from the click on "CNN internals" to the CNN page painted, then it goes back.
- **while drawing**: {plan.strokes} 7s per tab (bare pad page and Draw page), drawn with pauses of
  {LIVE_PAUSE_MS} ms between mouse moves; *first answer* is from the press to the first rerun finished while
  the pen is still down, and the gaps are between the reruns finished while it moves.
- **a control moved**: the slider a teacher moves most on the CNN page (the convolution arithmetic's window
  row, "Row"), the Recurrent page (the timestep, "Timestep t = image row") and the Attention page (the query
  row, "Query row"), each in its own session sent there from the Draw page by its sidebar link, and beside
  each a bare page holding the same slider (`benchmarks/bare_control.py`, its label, range and value read from
  the page's; its own `streamlit run`, no TensorFlow). {plan.strokes} moves per tab after {moved},
  taken in turn, one keyboard step each (turning at either end, so every move shows a new value), timed by the
  same in-page clock from the keydown to the rerun on screen; *the server's CPU* is its process's CPU time
  over the move (psutil). The Plotly charts counted are Plotly's graphs on the page and Streamlit's Plotly
  elements among them. Where the slider is the app's scrub slider (`widgets/scrub.py`: the bare page then
  holds the same one), the page's charts hold every value's picture and follow the thumb in the tab: the row
  *every chart updated* is then timed from the keydown to the frame after every such chart on screen or within
  300 px of it has drawn the new value (`FOLLOW`; the app's charts further away draw when they come near),
  against the bare page's rerun, and a second row times the server's rerun (the text and
  formulas that depend on the value) as before.
- **cold start**: from launching `python -m streamlit run app.py` (the browser already running) to the Draw
  page's first run painted (the same signal). **first visit**: each page's first visit after that start,
  from its sidebar click to the page painted.
- **memory**: the server process's resident set (psutil): after the cold start; after one session visited
  every page; after {plan.sessions} more sessions each opened the app and drew a digit (all kept open).
- **training**: the classroom demo (`training.CLASSROOM_DEMO`, the homework LSTM) on {plan.train_samples} digits
  with early stopping off, {plan.epochs} epochs a run, {plan.rounds} runs of each kind alternating: `training.train`
  (with the recorder, and an `on_event` that writes each event as the app's training child process does)
  against `model.fit` with the same Keras callbacks. An epoch is the time between two epoch ends. The
  Training page's row: the classroom demo as the app runs it (its training child process), {TRAINING_ROUNDS} runs
  started from the Training page (a new session, the only tab open) alternating with {TRAINING_ROUNDS} started
  with no tab open at all (`training_process.LiveRun`); an epoch is the time between two rows of the run's
  CSV log. The CPU time of the app's server, the browser and every other process on the machine during each run
  is sampled twice a second (`tools/cpu.py`), per epoch."""


FINDINGS = """\
## What the rows show, and why

- **Keras's conveniences**: `model.predict` builds (and often retraces) its predict function on every call;
  the pages use one compiled `tf.function` per page (`explain/inference.py`) or numpy on the weights
  (`explain/recurrent.py`). The server rows' ratios are that difference.
- **Streamlit's cleanup after every rerun**: `gc.collect(2)` (runner.postScriptGC) and
  `keras.backend.clear_session()` walk every tracked object; `app.py` freezes the heap (`gc.freeze()`) once
  the models are loaded, so they skip TensorFlow's and the models' objects (the cleanup row, with and without).
- **Every changed Plotly chart is drawn anew in the browser**: Streamlit 1.67 derives a Plotly chart's
  element id from a hash of its figure, so a chart whose data changed is unmounted and drawn from scratch.
  The app's charts are therefore elements of its own on components v2 (`widgets/chart.py`; `widgets/bars.py`:
  the probabilities), which keep their key and update in place: Plotly.react in the same plot when a trace
  changed, Plotly.relayout of the changed layout paths alone when only the layout did, Plotly.update
  when besides a trace's hover text alone changed (plotly.js 4.1 redraws the whole plot on any react, 50-70 ms
  for the Recurrent page's gate heatmaps; moving their outline by relayout takes 1-5 ms, which is why the
  Attention page draws what changes with the query row as shapes). A trace the tab already holds travels as
  null, and the element's code is loaded once per tab, not sent in every message. The rows of the Draw, CNN,
  Recurrent and Attention pages count, in this run, the page's Plotly graphs and how many of them are still
  Streamlit's element.
- **The drawable canvas waits**: streamlit-drawable-canvas 0.13 sends a stroke 200 ms after the mouse is
  released and never while it moves. The Draw page's own pad (`widgets/pad.py`) sends while the pen moves,
  one drawing in flight at a time, and at once on release: the two bare pages' rows measure the difference.
"""


# Why a target was missed, found by a piece of its row's measure (the first that fits): the words
# under the table, filled only with numbers this run measured: the row's own `parts` and its
# floors' (the rows in FLOORS, their parts prefixed with the floor's name: `pad_finished`).
# A row without a note here, or whose numbers are missing, gets `measured_note`.
FLOORS = {"pad": "bare digit-pad page", "canvas": "bare drawable-canvas page", "draw": "Draw page: mouse-up"}
SHARES = ("its server's share (last finish message) was {finished} against {%(floor)s_finished} on %(where)s, "
          "with the server's CPU {cpu} against {%(floor)s_cpu}; painting took {paint} against {%(floor)s_paint}, "
          "and the browser received {kib:.0f} KiB against {%(floor)s_kib:.0f} KiB")
CHARTS = ("Plotly charts on the page: {charts}, of which {remounted} are Streamlit's element (remounted whenever "
          "its figure changes)")
MISSES = {
    "Draw page: mouse-up": SHARES % {"floor": "pad", "where": "the bare pad page"} + "; " + CHARTS + ".",
    "the charts follow the slider in the tab": (
        "the charts drew the new value {follow} after the keydown in the tab (no server involved), against the "
        "bare page's rerun of {bare_p50}; those whose data change with the value are redrawn whole by plotly.js "
        "(Plotly.react), those whose shapes (and hover texts) alone move are relaid out (Plotly.relayout, "
        "Plotly.update)."),
    "page: its slider": SHARES % {"floor": "bare", "where": "the bare page holding the same slider"} + "; "
                        + CHARTS + ".",
    "CNN page: sidebar click": SHARES % {"floor": "canvas", "where": "the bare drawable-canvas page"} + "; "
                               + CHARTS + ".",
    "first time after the server started": (
        "the finish message came {finished} after the click, the server spending {cpu} of CPU on the page's "
        "first run; painting then took {paint} ({kib:.0f} KiB received)."),
    "`streamlit run app.py`": (
        "the server answered its health check {up} after the launch (Python, Streamlit and TensorFlow "
        "imported); the Draw page's first run was on screen {rest} later (models loaded, its first call)."),
    "Draw page: pen down": (
        "the first answer came {p50} after the press (p95 {p95}); an answer is a rerun of the Draw page's "
        "fragment: {draw_finished} to the finish message after a mouse-up, then {draw_paint} to paint."),
    "Draw page: time between": (
        "answers came {p50} apart (p95 {p95}); the pad sends its next drawing once the last one was read, so "
        "answers come one rerun apart: {draw_finished} to the finish message after a mouse-up, then "
        "{draw_paint} to paint."),
    "`training.train`": (
        "epochs took {p50} with the recorder (p95 {p95}) against {bare} bare (p95 {bare_p95}), while other "
        "processes on the machine used {others_cores:.2f} cores."),
    "the same run started from the Training page": (
        "epochs took {epoch} against {alone_epoch} ({ratio:.3f}x); per epoch the app's server spent {server_cpu} "
        "of CPU with the page open against {alone_server_cpu} with none, the browser {browsers_cpu} against "
        "{alone_browsers_cpu}; other processes on the machine used {others_cores:.2f} cores against "
        "{alone_others_cores:.2f}."),
    "the classroom demo from start": (
        "the slowest run took {max} and the runs ended by {statuses}; other processes on the machine used "
        "{others_cores:.2f} cores meanwhile (an epoch took {epoch})."),
}
RAW = ("kib", "ratio", "cores", "charts", "remounted", "statuses")  # parts that are not seconds


def _formatted(parts: dict, prefix: str = "") -> dict:
    return {f"{prefix}{key}": value if key.endswith(RAW) else duration(value) for key, value in parts.items()}


def measured_note(row: Row) -> str:
    """What a missed row measured, against its target."""
    return f"measured {row.p50} (p95 {row.p95 or 'n/a'}) against the target {row.target or 'none'}; " \
           f"{row.comparison or 'nothing else was measured'}."


def miss_note(row: Row, rows: Sequence[Row]) -> str:
    """Why `row` missed its target, in words filled with the run's numbers."""
    floors = {key: value for name, measure in FLOORS.items() for r in rows if r.measure.startswith(measure)
              for key, value in _formatted(r.parts, f"{name}_").items()}
    for piece, note in MISSES.items():
        if piece in row.measure:
            try:
                return note.format(**_formatted(row.parts), **floors)
            except KeyError:  # a floor's row failed, or the row has no such part
                break
    return measured_note(row)


def report(rows: Sequence[Row], machine: Machine, command: str, plan: Plan) -> str:
    """The whole BENCHMARKS.md: the table, how it was measured, what the rows show, and why each
    missed target was missed, in this run's numbers."""
    misses = [f"**{row.measure}**: {miss_note(row, rows)}" for row in rows if row.met is False]
    parts = ["# NetLens benchmarks", "",
             f"Written by `{command}`. {machine.describe()}", "",
             table(rows), ""]
    if misses:
        parts += ["## Targets missed, and why", "", *[f"- {note}" for note in misses], ""]
    parts += [how(plan), "", FINDINGS]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations of everything (for the tests)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the table")
    parser.add_argument("--strokes", type=int,
                        help="timed strokes and control moves per tab instead of the plan's (20; quick: 1)")
    parser.add_argument("--shots", type=Path, help="save a screenshot of every tab whose page lost its slider here")
    args = parser.parse_args(argv)
    global SHOTS
    SHOTS = args.shots
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; valid sections are: {', '.join(SECTIONS)}")
    plan = QUICK if args.quick else FULL
    if args.strokes:
        plan = replace(plan, strokes=args.strokes)
    machine = Machine.now()
    rows: list[Row] = []
    took: dict[str, float] = {}
    # The runs the Training page starts (in the app's server, a child of this) go to a folder of the run's.
    runs_dir = tempfile.TemporaryDirectory(prefix="netlens-bench-runs-")
    os.environ.setdefault("NETLENS_RUNS_DIR", runs_dir.name)
    from tools.cpu import ProcessWatch
    watch, began = ProcessWatch(None), time.perf_counter()
    if "server" in only:
        start = time.perf_counter()
        rows += server_rows(plan.digits, plan.naive_digits)
        took["server"] = time.perf_counter() - start
    if "browser" in only:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as logs:
            # The Training page's run is a training measurement: only with the training section.
            rows += browser_rows(plan, plan.app_training and "training" in only, Path(logs))
        took["browser"] = time.perf_counter() - start
    if "training" in only:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as out:
            try:
                rows += training_rows(plan.epochs, plan.rounds, plan.train_samples, Path(out))
            except Exception as exc:
                rows.append(failed("training", "seconds per epoch, recorder against bare fit", exc))
        took["training"] = time.perf_counter() - start
    machine.load_after = os.getloadavg()
    machine.took = took
    machine.others = watch.stop()["others"] / (time.perf_counter() - began)
    runs_dir.cleanup()
    command = ("python -m tools.bench" + (" --quick" if args.quick else "")
               + (f" --only {args.only}" if set(only) != set(SECTIONS) else "")
               + (f" --strokes {args.strokes}" if args.strokes else ""))
    text = report(rows, machine, command, plan)
    print(text)
    Path(args.out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return 1 if any(row.p50 == FAILED for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
