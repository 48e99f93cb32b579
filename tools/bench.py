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
    strokes: int         # stroke to repaint: timed strokes per page, after one warm-up
    sessions: int        # memory: extra browser sessions that each draw a digit
    visit_pages: bool    # memory: one session also visits every page
    epochs: int          # training: epochs per run (early stopping off)
    rounds: int          # training: runs of each kind, alternating
    train_samples: int   # training: digits in the classroom demo's subset
    app_training: bool   # training: the classroom demo from the Training page, against the same run without it


FULL = Plan(digits=200, naive_digits=30, strokes=20, sessions=10, visit_pages=True, epochs=4, rounds=4,
            train_samples=5000, app_training=True)
QUICK = Plan(digits=5, naive_digits=2, strokes=1, sessions=1, visit_pages=True, epochs=2, rounds=1,
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
    """The row of a measurement that raised: the table says what broke instead of losing the run."""
    return Row(section, measure, FAILED, comparison=f"{type(exc).__name__}: {str(exc)[:160]}", met=False)


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
        return (f"{self.cores} cores, {self.cpu}, {platform.system()} {platform.release()}; Python {self.python}; "
                f"{self.versions}. Run on {self.date}; {load}.")


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


def browser_rows(strokes: int, sessions: int, visit_pages: bool, app_training: bool, logs: Path) -> list[Row]:
    """Cold start, first visits, memory, and stroke-to-repaint against the two bare floors, in one Chromium."""
    if not Path(drive.CHROMIUM).exists():
        raise RuntimeError(drive.NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    servers = []
    rows: list[Row] = []
    limit = 1.5 * 2**30
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
            # The root URL: Streamlit serves the default page there.
            draw_tab = open_tab(browser, f"{url}/?lang=en")
            cold = time.perf_counter() - start
            loaded = _rss(app)
            rows += [Row("cold start", "`streamlit run app.py` -> Draw page on screen in Chromium", duration(cold),
                         comparison=f"the server answered its health check after {duration(up)}",
                         target=f"<= {COLD_TARGET:.0f} s", met=cold <= COLD_TARGET, n=1),
                     Row("memory", "server RSS, all models loaded (Draw page on screen)", megabytes(loaded),
                         target="<= 1.5 GB", met=loaded <= limit, n=1)]
            if visit_pages:
                step = "first visit of each page"
                rows += first_visit_rows(draw_tab)
                every = _rss(app)
                rows.append(Row("memory", "server RSS after one session visited every page", megabytes(every),
                                comparison=f"{(every - loaded) / 2**20:+.0f} MB against the first row",
                                target="<= 1.5 GB", met=every <= limit, n=1))

            step = "stroke to repaint"
            tabs = {}
            for name, script in BARE_PAGES.items():
                bare_port = drive.free_port()
                servers.append(drive.start_app(bare_port, logs / f"bare-{name}.log", script=script))
                tabs[name] = open_tab(browser, f"http://127.0.0.1:{bare_port}/")
            tabs["draw"] = draw_tab
            tabs["cnn"] = open_tab(browser, f"{url}/?lang=en")
            rows += repaint_rows(tabs, strokes)
            step = "answers while drawing"
            rows += live_rows({"pad": tabs["pad"], "draw": draw_tab}, strokes)

            step = f"memory: {sessions} sessions drawing"
            contexts = []
            for _ in range(sessions):
                tab = open_tab(browser, f"{url}/?lang=en")
                stroke(tab, drive.SEVEN)
                contexts.append(tab.context)
            after = _rss(app)
            rows.append(Row("memory", f"server RSS after {sessions} more sessions each drew a digit", megabytes(after),
                            comparison=f"{(after - loaded) / 2**20:+.0f} MB against the first row",
                            target="<= 1.5 GB", met=after <= limit, n=1))
            for context in contexts:
                context.close()
            if app_training:
                step = "training from the Training page"
                rows += app_training_rows(draw_tab, app, logs)
            browser.close()
    except Exception as exc:
        rows.append(failed("browser", step, exc))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return rows


def first_visit_rows(tab) -> list[Row]:
    """Each page's first visit after the server started (it builds that page's compiled path),
    from the sidebar click to the page on screen; then back to the Draw page."""
    links = tab.locator(NAV)
    # A link's text is its icon's ligature name, then the page's title, on separate lines.
    names = [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]
    visits = [(name, rerun(tab, links.nth(i).click, "click")) for i, name in enumerate(names) if i]
    rerun(tab, links.first.click, "click")
    return [Row("first visit", f"{name}: sidebar click -> page on screen, first time after the server started",
                duration(r.repainted), comparison=f"finish message after {duration(r.finished)}; "
                f"{r.received / 1024:.0f} KiB received", target=f"p50 <= {VISIT_TARGET} s",
                met=r.repainted <= VISIT_TARGET, n=1, parts={"s": r.repainted}) for name, r in visits]


def repaint_rows(tabs: dict, strokes: int) -> list[Row]:
    """`strokes` timed strokes per tab after one warm-up, taken in turn so that a busy machine slows
    every tab alike. Bare pages and the Draw page: clear, draw a 1 or a 7 (alternating, so every
    answer is new), time from the mouse-up to the answer on screen. CNN tab (its page has no pad:
    it explains the digit drawn on the Draw page): draw there, time the sidebar click to the CNN
    page on screen, go back."""
    times: dict[str, list[Rerun]] = {name: [] for name in tabs}
    for i in range(strokes + 1):
        digit = (drive.SEVEN, drive.ONE)[i % 2]
        for name, tab in tabs.items():
            if name == "cnn":
                stroke(tab, digit)
                timed = rerun(tab, tab.locator(CNN_LINK).first.click, "click")
                rerun(tab, tab.locator(NAV).first.click, "click")  # back to the Draw page: a fresh, blank pad
            else:
                if i:
                    clear_canvas(tab)
                timed = stroke(tab, digit)
            if i:
                times[name].append(timed)

    def parts(name: str) -> dict:
        runs = times[name]
        return {"p50": Stat.of([r.repainted for r in runs]).p50, "finished": Stat.of([r.finished for r in runs]).p50,
                "paint": Stat.of([r.repainted - r.finished for r in runs]).p50,
                "kib": float(np.median([r.received for r in runs])) / 1024}

    def described(name: str) -> str:
        p = parts(name)
        return (f"last finish message after p50 {duration(p['finished'])}, then {duration(p['paint'])} to paint; "
                f"{p['kib']:.0f} KiB received during the stroke and its answer")

    stat = {name: Stat.of([r.repainted for r in times[name]]) for name in tabs}
    canvas, pad = stat["canvas"].p50, stat["pad"].p50
    return [Row("stroke to repaint", "bare drawable-canvas page (the floor the issue set: Streamlit and "
                "streamlit-drawable-canvas only)", *_p(stat["canvas"]), comparison=described("canvas"),
                n=stat["canvas"].n, parts=parts("canvas")),
            Row("stroke to repaint", "bare digit-pad page (Streamlit and the Draw page's own pad only)",
                *_p(stat["pad"]), comparison=f"{pad / canvas:.2f}x the drawable-canvas floor; {described('pad')}",
                n=stat["pad"].n, parts=parts("pad")),
            Row("stroke to repaint", "Draw page: mouse-up -> prediction, preprocessing and every model's "
                "probabilities on screen", *_p(stat["draw"]),
                comparison=(f"**{stat['draw'].p50 / canvas:.2f}x the drawable-canvas floor**, "
                            f"{stat['draw'].p50 / pad:.2f}x the bare pad; {described('draw')}"),
                target="p50 <= 1.0x drawable-canvas floor", met=stat["draw"].p50 <= canvas, n=stat["draw"].n,
                parts=parts("draw")),
            Row("stroke to repaint", "CNN page: sidebar click after a new drawing -> every CNN chart on screen",
                *_p(stat["cnn"]), comparison=(f"**{stat['cnn'].p50 / canvas:.2f}x the drawable-canvas floor**; "
                                              f"{described('cnn')}"),
                target="p50 <= 1.5x drawable-canvas floor", met=stat["cnn"].p50 <= 1.5 * canvas, n=stat["cnn"].n,
                parts=parts("cnn"))]


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
                            met=first.p50 <= LIVE_FIRST if name == "draw" else None, n=first.n))
        if gaps:
            gap = Stat.of(gaps)
            rows.append(Row("while drawing", f"{what}: time between answers while the pen moves", *_p(gap),
                            comparison=f"{len(gaps) / len(lives[name]) + 1:.1f} answers per stroke",
                            target=f"p95 <= {LIVE_GAP * 1e3:.0f} ms" if name == "draw" else "",
                            met=gap.p95 <= LIVE_GAP if name == "draw" else None, n=gap.n))
        if not firsts:
            rows.append(Row("while drawing", f"{what}: pen down -> first answer on screen", FAILED,
                            comparison=f"no answer came while the pen moved, in {len(lives[name])} strokes", met=False))
    return rows


TRAINING_LINK = "[data-testid='stSidebarNav'] a[href$='/training']"


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


def app_training_rows(tab, server, logs: Path) -> list[Row]:
    """The classroom demo started from the Training page in `tab`, which redraws its curves every
    second while the run lasts, against the same run in the same kind of child process
    (`training_process.LiveRun`) with no page open; three of each, alternating. The app `server`'s CPU time
    during each run tells what the page's redrawing took from the training."""

    import psutil

    def cpu(processes) -> float:
        total = 0.0
        for proc in processes:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def chromium() -> list:  # the browser's processes (renderer, GPU, ...), all descendants of this one
        return [c for c in psutil.Process().children(recursive=True) if "chrom" in c.name().lower()]

    from explain import runs, training, training_process

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
        if not tab.url.rstrip("/").split("?")[0].endswith("/training"):
            rerun(tab, tab.locator(TRAINING_LINK).first.click, "click")
        rerun(tab, tab.get_by_role("button", name="Classroom demo preset").click, "click")
        tab.get_by_role("button", name="Start", exact=True).click()
        deadline = time.monotonic() + 60
        while not (new := set(runs.RUNS_DIR.glob("*")) - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not new:
            raise RuntimeError(f"the Training page started no run in {runs.RUNS_DIR} within 60 s")
        run_dir = max(new)
        return epoch_ends(run_dir / "log.csv", lambda: (run_dir / "result.json").exists())

    per_epoch: dict[str, list[float]] = {"alone": [], "page": []}
    server_cpu: dict[str, list[float]] = {"alone": [], "page": []}  # seconds per epoch
    browser_cpu: dict[str, list[float]] = {"alone": [], "page": []}
    app = psutil.Process(server.pid)
    for i in range(3):
        for name, run in (("alone", without_page), ("page", from_page)):
            browser = chromium()
            before = cpu([app]), cpu(browser)
            ends = run(i)
            per_epoch[name] += list(np.diff(ends))
            server_cpu[name].append((cpu([app]) - before[0]) / max(1, len(ends)))
            browser_cpu[name].append((cpu(browser) - before[1]) / max(1, len(ends)))
    alone, page = Stat.of(per_epoch["alone"]), Stat.of(per_epoch["page"])
    whole = Stat.of([seconds for seconds, _ in demo_runs])
    statuses = sorted({status for _, status in demo_runs})
    return [Row("training", "the classroom demo from start (a new process, TensorFlow's import) to its end, no page "
                "open, s", *_p(whole), comparison=f"ended by: {', '.join(statuses)}", target="max <= 60 s, early stop",
                met=max(s for s, _ in demo_runs) <= 60 and statuses == ["early_stop"], n=whole.n),
            Row("training", "classroom demo in the app's training child process (`training_process.LiveRun`), no page "
                "open, s/epoch", *_p(alone), n=alone.n),
            Row("training", "the same run started from the Training page, its curves redrawn every second, s/epoch",
                *_p(page), comparison=(
                    f"{page.p50 / alone.p50:.3f}x without the page; CPU per epoch meanwhile: the app's server "
                    f"{np.median(server_cpu['page']) * 1e3:.0f} ms, the browser "
                    f"{np.median(browser_cpu['page']) * 1e3:.0f}"
                    f" ms (with no page open: {np.median(server_cpu['alone']) * 1e3:.0f} and "
                    f"{np.median(browser_cpu['alone']) * 1e3:.0f} ms)"),
                target="p50 <= 1.10x",
                met=page.p50 <= 1.10 * alone.p50, n=page.n)]


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

    per_epoch: dict[str, list[float]] = {"bare": [], "recorded": []}
    for i in range(rounds):
        for name, run in (("bare", bare), ("recorded", recorded)):
            run_dir = out / f"{name}-{i}"
            run_dir.mkdir()
            ends = run(run_dir)
            per_epoch[name] += list(np.diff(ends))
    base, live = Stat.of(per_epoch["bare"]), Stat.of(per_epoch["recorded"])
    what = f"LSTM, {config.fit_samples} digits, batch {config.batch_size}"
    return [Row("training", f"bare `model.fit` with the course's callbacks ({what}), s/epoch", *_p(base), n=base.n),
            Row("training", "`training.train` with the live-curve recorder and event stream, s/epoch", *_p(live),
                comparison=f"{live.p50 / base.p50:.3f}x bare `fit`", target="p50 <= 1.10x",
                met=live.p50 <= 1.10 * base.p50, n=live.n)]


# ---- report ------------------------------------------------------------------------------------

def how(plan: Plan) -> str:
    """How each number is measured, with this run's counts."""
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
  tab, taken in turn, after one untimed warm-up each: clear (untimed), then a 1 or a 7, alternating so that
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
- **cold start**: from launching `python -m streamlit run app.py` (the browser already running) to the Draw
  page's first run painted (the same signal). **first visit**: each page's first visit after that start,
  from its sidebar click to the page painted.
- **memory**: the server process's resident set (psutil): after the cold start; after one session visited
  every page; after {plan.sessions} more sessions each opened the app and drew a digit (all kept open).
- **training**: the classroom demo (`training.CLASSROOM_DEMO`, the homework LSTM) on {plan.train_samples} digits
  with early stopping off, {plan.epochs} epochs a run, {plan.rounds} runs of each kind alternating: `training.train`
  (with the recorder, and an `on_event` that writes each event as the app's training child process does)
  against `model.fit` with the same Keras callbacks. An epoch is the time between two epoch ends."""


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
  The Draw page's probabilities are therefore our own element (`widgets/bars.py`, components v2), which keeps
  its key and moves its bars; the preprocessing strip and the CNN page's charts are still Plotly.
- **The drawable canvas waits**: streamlit-drawable-canvas 0.13 sends a stroke 200 ms after the mouse is
  released and never while it moves. The Draw page's own pad (`widgets/pad.py`) sends while the pen moves,
  one drawing in flight at a time, and at once on release: the two bare pages' rows measure the difference.
"""


# Why a target was missed, by the start of its row's measure: the words under the table, filled
# with the row's own measured `parts` (seconds and KiB) and the floors' (`canvas`, `pad`).
MISSES = {
    "Draw page: mouse-up": (
        "the server's share (last finish message) was {finished} against {pad_finished} on the bare pad page, "
        "and painting took {paint} against {pad_paint}; beyond the pad, every drawing sent reruns the page's "
        "fragment (the five models, the preprocessing strip, which is a Plotly chart and so is remounted, the "
        "notes and the sidebar's digit panel), and the browser received {kib:.0f} KiB during the stroke and its "
        "answer."),
    "CNN page": (
        "the server's share was {finished} and painting {paint} ({kib:.0f} KiB received): the page holds ten "
        "Plotly charts, each remounted and drawn from scratch by the browser (see below), and rebuilds them "
        "all on a visit."),
    "`training.train`": (
        "the recorder only counts batches and reads the loss; with other work on the machine epochs of both "
        "kinds vary by more than the difference (see the p95 column): re-run `python -m tools.bench --only "
        "training` on an idle machine before reading a difference into this row."),
    "the same run started from the Training page": (
        "while a run lasts, the page's fragment rebuilds the curves every second in the server process, "
        "which on two shared cores takes CPU from the training (the row's CPU figures)."),
    "`streamlit run app.py`": (
        "cold start is mostly importing TensorFlow and building the Draw page's compiled function (its *first "
        "call* in the server rows); on a busy machine both stretch."),
    "Draw page: pen down": (
        "the first drawing is sent at the pen's first move; its answer needs a whole rerun of the page "
        "(the Draw page's stroke row)."),
    "Draw page: time between": (
        "the pad sends its next drawing only once the last one was read, so answers come one page rerun apart."),
}


def miss_note(row: Row, rows: Sequence[Row]) -> str | None:
    """Why `row` missed its target, in words filled with the run's numbers; None without a note."""
    floors = {f"{name}_{key}": duration(value) if key != "kib" else value
              for name, measure in (("pad", "bare digit-pad page"), ("canvas", "bare drawable-canvas page"))
              for r in rows if r.measure.startswith(measure) for key, value in r.parts.items()}
    own = {key: duration(value) if key != "kib" else value for key, value in row.parts.items()}
    for start, note in MISSES.items():
        if row.measure.startswith(start):
            try:
                return note.format(**own, **floors)
            except KeyError:  # a floor's row failed: say what is known
                return note.split(";")[-1].strip()
    return None


def report(rows: Sequence[Row], machine: Machine, command: str, plan: Plan) -> str:
    """The whole BENCHMARKS.md: the table, how it was measured, what the rows show, and why each
    missed target was missed, in this run's numbers."""
    misses = [f"**{row.measure}**: {note}" for row in rows if row.met is False
              if (note := miss_note(row, rows))]
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
    parser.add_argument("--strokes", type=int, help="timed strokes per tab instead of the plan's (20; quick: 1)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; valid sections are: {', '.join(SECTIONS)}")
    plan = QUICK if args.quick else FULL
    if args.strokes:
        plan = replace(plan, strokes=args.strokes)
    machine = Machine.now()
    rows: list[Row] = []
    if "server" in only:
        rows += server_rows(plan.digits, plan.naive_digits)
    if "browser" in only:
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as logs:
            # The Training page's run is a training measurement: only with the training section.
            rows += browser_rows(plan.strokes, plan.sessions, plan.visit_pages,
                                 plan.app_training and "training" in only, Path(logs))
    if "training" in only:
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as out:
            try:
                rows += training_rows(plan.epochs, plan.rounds, plan.train_samples, Path(out))
            except Exception as exc:
                rows.append(failed("training", "seconds per epoch, recorder against bare fit", exc))
    machine.load_after = os.getloadavg()
    command = ("python -m tools.bench" + (" --quick" if args.quick else "")
               + (f" --only {args.only}" if set(only) != set(SECTIONS) else "")
               + (f" --strokes {args.strokes}" if args.strokes else ""))
    text = report(rows, machine, command, plan)
    print(text)
    Path(args.out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return 1 if any(row.p50 == FAILED for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
