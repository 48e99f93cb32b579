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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from tools import browser as drive
from tools.clock import Rerun, open_tab, rerun

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("server", "browser", "training")
CANVAS_SIDE = 280  # the Draw page's canvas, in pixels


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
QUICK = Plan(digits=5, naive_digits=2, strokes=1, sessions=1, visit_pages=False, epochs=2, rounds=1,
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
        return cls(os.cpu_count() or 1, _cpu_model(), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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
    """A test digit (28, 28) uint8 as the Draw page's canvas sends it: (280, 280, 4) uint8 RGBA,
    a white stroke on an opaque black background."""
    grey = np.asarray(Image.fromarray(x28).resize((CANVAS_SIDE, CANVAS_SIDE), Image.BILINEAR))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def png_data_url(rgba: np.ndarray) -> str:
    """What the canvas component sends the server: a PNG data URL (`canvas.toDataURL`)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_url(url: str) -> np.ndarray:
    """The server's decoding of each stroke, as `CanvasResult.image_data` does it (which decodes
    again on every access: read it once per rerun)."""
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
        Row("server", "canvas PNG -> RGBA array (`CanvasResult.image_data`)", *_p(time_each(decode_data_url, urls))),
        Row("server", "preprocessing: `to_mnist` on a 280x280 RGBA canvas", *_p(time_each(to_mnist, canvases))),
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
                        comparison=(f"{theirs.p50 / ours.p50:.0f}x faster than {naive_name} (p50 {duration(theirs.p50)}, "
                                    f"n={theirs.n}); first call {duration(first[measure])}"),
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
               comparison=f"{loose.p50 / frozen.p50:.0f}x faster than without `gc.freeze()` (p50 {duration(loose.p50)})",
               n=frozen.n)


def _p(stat: Stat) -> tuple[str, str]:
    return duration(stat.p50), duration(stat.p95)


# ---- 2-4. in the browser: stroke to repaint, cold start, memory --------------------------------

# The bare drawable-canvas page's toolbar reset, and the digit pad's Clear.
RESET = "button[title='Reset canvas & history'], button[data-action='clear']"
NAV = "[data-testid='stSidebarNav'] a, [data-testid='stSidebarNavLink']"  # the Draw page first
CNN_LINK = "[data-testid='stSidebarNav'] a[href$='/cnn']"


def stroke(tab, strokes) -> Rerun:
    """Draw `strokes` (`tools.browser`'s canvas fractions) and time the rerun their last mouse-up sends."""
    return rerun(tab, lambda: drive.draw(tab, strokes), "mouseup")


def clear_canvas(tab) -> Rerun:
    """The canvas toolbar's reset (only on a canvas holding a drawing: a blank one sends nothing)."""
    return rerun(tab, lambda: tab.locator(RESET).first.click(), "click")


def _rss(proc) -> int:
    import psutil
    return psutil.Process(proc.pid).memory_info().rss


def browser_rows(strokes: int, sessions: int, visit_pages: bool, app_training: bool, logs: Path) -> list[Row]:
    """Cold start, memory, and stroke-to-repaint against the bare canvas floor, in one Chromium."""
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
            # The root URL: Streamlit serves the default page there, and /draw is "page not found".
            draw_tab = open_tab(browser, f"{url}/?lang=en")
            cold = time.perf_counter() - start
            loaded = _rss(app)
            rows += [Row("cold start", "`streamlit run app.py` -> Draw page on screen in Chromium", duration(cold),
                         comparison=f"the server answered its health check after {duration(up)}",
                         target="<= 12 s", met=cold <= 12, n=1),
                     Row("memory", "server RSS, all models loaded (Draw page on screen)", megabytes(loaded),
                         target="<= 1.5 GB", met=loaded <= limit, n=1)]

            step = "stroke to repaint"
            bare_port = drive.free_port()
            servers.append(drive.start_app(bare_port, logs / "bare.log", script="benchmarks/bare_canvas.py"))
            bare_tab = open_tab(browser, f"http://127.0.0.1:{bare_port}/")
            cnn_tab = open_tab(browser, f"{url}/?lang=en")
            rows += repaint_rows({"bare": bare_tab, "draw": draw_tab, "cnn": cnn_tab}, strokes)

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
            if visit_pages:
                step = "memory: one session visiting every page"
                links = draw_tab.locator(NAV)
                for i in range(links.count()):
                    rerun(draw_tab, links.nth(i).click, "click")
                every = _rss(app)
                rows.append(Row("memory", f"... and one session visited all {links.count()} pages", megabytes(every),
                                comparison=f"{(every - loaded) / 2**20:+.0f} MB against the first row",
                                target="<= 1.5 GB", met=every <= limit, n=1))
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


def repaint_rows(tabs: dict, strokes: int) -> list[Row]:
    """`strokes` timed strokes per tab after one warm-up, taken in turn so that a busy machine slows
    every tab alike. Bare and Draw tabs: clear the canvas, draw a 1 or a 7 (alternating, so every
    answer is new), time the stroke. CNN tab (its page has no canvas: it explains the digit drawn
    on the Draw page): draw on the Draw page, time the sidebar click to the CNN page, go back."""
    times: dict[str, list[Rerun]] = {name: [] for name in tabs}
    for i in range(strokes + 1):
        digit = (drive.SEVEN, drive.ONE)[i % 2]
        for name, tab in tabs.items():
            if name == "cnn":
                stroke(tab, digit)
                timed = rerun(tab, tab.locator(CNN_LINK).first.click, "click")
                rerun(tab, tab.locator(NAV).first.click, "click")  # back to the Draw page: a fresh, blank canvas
            else:
                if i:
                    clear_canvas(tab)
                timed = stroke(tab, digit)
            if i:
                times[name].append(timed)

    def stats(name: str) -> tuple[Stat, Stat, Stat]:
        return (Stat.of([r.repainted for r in times[name]]), Stat.of([r.finished for r in times[name]]),
                Stat.of([r.repainted - r.finished for r in times[name]]))

    def split(finished: Stat, painting: Stat) -> str:
        return f"finish message after p50 {duration(finished.p50)}, then {duration(painting.p50)} to paint"

    def received(name: str) -> str:
        return f"{np.median([r.received for r in times[name]]) / 1024:.0f} KiB received"

    floor, floor_run, floor_paint = stats("bare")
    draw, draw_run, draw_paint = stats("draw")
    cnn, cnn_run, cnn_paint = stats("cnn")
    return [Row("stroke to repaint", "bare canvas page (the floor: Streamlit and the canvas only)", *_p(floor),
                comparison=f"{split(floor_run, floor_paint)}; {received('bare')}", n=floor.n),
            Row("stroke to repaint", "Draw page: mouse-up -> prediction, preprocessing and probabilities on screen",
                *_p(draw), comparison=(f"**{draw.p50 / floor.p50:.2f}x the floor**; {split(draw_run, draw_paint)}; "
                                       f"{received('draw')}"),
                target="p50 <= 1.2x floor", met=draw.p50 <= 1.2 * floor.p50, n=draw.n),
            Row("stroke to repaint", "CNN page: sidebar click after a stroke -> every CNN chart on screen",
                *_p(cnn), comparison=(f"**{cnn.p50 / floor.p50:.2f}x the floor**; {split(cnn_run, cnn_paint)}; "
                                     f"{received('cnn')}"),
                target="p50 <= 2x floor", met=cnn.p50 <= 2 * floor.p50, n=cnn.n)]


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
    from dataclasses import replace

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

    def without_page(i: int) -> list[float]:
        run_dir = logs / f"liverun-{i}"
        run = training_process.LiveRun(replace(training.CLASSROOM_DEMO, out_dir=str(run_dir)))
        return epoch_ends(run_dir / "log.csv", lambda: not run.active)

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
    return [Row("training", "classroom demo in the app's training child process (`training_process.LiveRun`), no page "
                "open, s/epoch", *_p(alone), n=alone.n),
            Row("training", "the same run started from the Training page, its curves redrawn every second, s/epoch",
                *_p(page), comparison=(
                    f"{page.p50 / alone.p50:.3f}x without the page; CPU per epoch meanwhile: the app's server "
                    f"{np.median(server_cpu['page']) * 1e3:.0f} ms, the browser {np.median(browser_cpu['page']) * 1e3:.0f}"
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
    from dataclasses import replace

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

HOW = """\
## How each number is measured

- **server**: each page's own `explain/` call, timed with `time.perf_counter` on every one of the test-split
  digits (a seeded random choice), drawn as the Draw page's canvas sends them (the digit scaled to 280x280,
  white on opaque black), after two untimed calls. The naive way runs in the same process on the first
  30 of them. *First call* is the graph's build (tracing), paid once per server by the first session that
  opens the page. The heap is frozen (`gc.freeze()`) once the models are loaded, as `app.py` does.
- **stroke to repaint**: one headless Chromium (Playwright, Debian's chromium), three tabs at 1280x720,
  each its own Streamlit session: the bare canvas page (`benchmarks/bare_canvas.py`, served by its own
  `streamlit run`: the Draw page's canvas with the same arguments and one metric, no TensorFlow), the
  app's Draw page, and a tab for the CNN page. Strokes are taken in turn on the three tabs, after one
  untimed warm-up each. A stroke: the canvas toolbar's reset (untimed), then a 1 or a 7, alternating so
  that every answer is new, drawn with the mouse. The clock runs in the page, from the mouse-up event to
  the first painted frame after Streamlit's `script_finished` message for that rerun has arrived and no
  element is left stale. The message is read off the WebSocket (ForwardMsg field 6): Streamlit's status
  widget only appears for runs longer than 0.5 s, so it cannot tell that a fast rerun is over.
  *Finish message after* is the server's share, including the canvas component's own 200 ms debounce
  before it sends a stroke (in the floor too); *to paint* is the browser's share.
  The CNN page has no canvas: it explains the digit drawn on the Draw page. Its tab draws on the Draw
  page (untimed), then the clock runs from the click on "CNN internals" in the sidebar to the CNN page
  painted with every chart; then it goes back to the Draw page.
- **cold start**: from launching `python -m streamlit run app.py` (the browser already running) to the
  Draw page's first run painted (the same signal). It includes importing TensorFlow, loading the five
  models and building the Draw page's five-model function.
- **memory**: the server process's resident set (psutil): right after the cold start; after more sessions
  each opened the app and drew a digit (all kept open); after one session visited every page (each page
  builds its compiled path once per server).
- **training**: the classroom demo (`training.CLASSROOM_DEMO`, the homework LSTM with batch 32) with early
  stopping off so that every run lasts the same number of epochs, alternating `training.train` (with the
  recorder, and an `on_event` that writes each event as the app's training child process does) and
  `model.fit` with the same Keras callbacks. An epoch is the time between two epoch ends.
  The Training page's chart updates run in the server process, not in the training child process: on a
  shared machine they cost the training CPU time. The last two rows measure that: the classroom demo as
  it is (early stopping on) started three times from the Training page, shown in a browser tab that redraws
  the curves every second, against the same run three times in the same kind of child process (`training_process.LiveRun`)
  with no page open, alternating; epochs are timed by when each row appears in the run's CSV log.
"""

FINDINGS = """\
## What costs what (found with py-spy and cProfile while writing this benchmark)

- **Keras's conveniences.** `model.predict` costs 30-50 ms a call here (it builds, and often retraces, its
  predict function). The pages use one compiled `tf.function` per page (`explain/inference.py`) or numpy
  on the weights (`explain/recurrent.py`): a few milliseconds at most for all a page computes (server rows).
- **Streamlit's cleanup after every rerun.** `gc.collect(2)` (runner.postScriptGC) and
  `keras.backend.clear_session()` (which collects again) walk every tracked object: with TensorFlow and
  five models in the heap, 300-500 ms per rerun of every session. `app.py` calls `gc.freeze()` once the
  models are loaded, which leaves about 2 ms (the cleanup row).
- **Plotly's object model** was the largest server-side cost of a stroke, far above the arithmetic:
  `make_subplots`, and `add_shape` / `add_annotation` / `update_xaxes` with `row=`/`col=`, validate one
  property at a time: 10-50 ms a figure, and 180 ms for the pooling figure's 30 grid lines. Before this
  benchmark the CNN page's ten figures cost about 470 ms per rerun on this (busy) machine and the Draw
  page's two about 110 ms. Fixed: the Draw and CNN figures are now built from dicts in one constructor
  call, shapes and labels included (`explain/figures/panels.py`; the pooling figure went from 180 to
  12-25 ms, the CNN page's ten figures to 30-80 ms, by load), and the Attention and Training figures use
  `explain.figures.theme.subplots`, which builds each grid shape once and copies it (5-10x cheaper than
  `make_subplots`, the same figure JSON, tested in `tests/test_bench.py`).
- **Bytes to the browser.** Plotly sends numpy arrays as base64 typed arrays; the CNN page's per-pixel
  hover indices were int32 and made up most of its figures' bytes; as int8 a CNN page visit went from
  888 to 403 KiB (the *received* figures in the stroke rows).
- **Every changed chart is drawn anew in the browser.** Streamlit 1.67 derives a Plotly chart's element
  id from a hash of its figure JSON (`compute_and_register_element_id(..., plotly_spec=...)`, even with a
  `key`), and its frontend uses that id as the React key: a chart whose data changed is unmounted and
  drawn from scratch (`Plotly.newPlot`), not updated in place (checked: the chart's DOM node is replaced
  after a stroke and kept after a rerun that changes nothing). Each stroke therefore pays for two full
  chart draws on the Draw page and ten on the CNN page (the *to paint* share), whatever the figures hold.
- **The canvas component** waits 200 ms after mouse-up before it sends a stroke (a debounce inside
  streamlit-drawable-canvas 0.13) and PNG-encodes the canvas for `return_image_data`: most of the floor,
  and not ours to remove.
- **Cold start.** Importing TensorFlow and Keras takes about 2 s here (file cache warm), loading the five
  models 0.2 s, and the first call of the Draw page's five-model function builds its graph (its *first
  call* in the server rows); the rest is Streamlit starting and the browser loading the app and the canvas.
  With XLA (`jit_compile=True`) that first call took about 2 s and each later call 0.5 ms; without it, as
  `explain/inference.py` now builds it, about 0.3 s and 2.5-3 ms a call: both fit the per-stroke target,
  and every page's first visit after a server start is seconds shorter. On a busy machine all of it
  stretches (one run here took 30 s at a load average of 27).
"""

# Why a target was missed, by the start of its row's measure: written under the table when it is.
MISSES = {
    "Draw page": (
        "Beyond the floor's one metric, every stroke repaints two Plotly charts (the preprocessing strip's "
        "three heatmaps with their boxes, and the five models' bar charts), which Streamlit remounts and "
        "Plotly draws from scratch (see below), plus the caption and the sidebar's thumbnail (a new PNG the "
        "browser fetches): that is the row's larger *to paint* share. The server's extra share is reading "
        "and preparing the drawing, the five models and building and serialising both figures (server "
        "rows). No cache can remove either, since every stroke changes every chart: the gap is the price of "
        "showing two live charts per stroke. Closing it would mean drawing them without Plotly (the strip "
        "as one `st.image`, for instance), each worth roughly half of the *to paint* difference."),
    "CNN page": (
        "The CNN page holds ten Plotly charts (each remounted and drawn from scratch by the browser, see "
        "below; the row's KiB received, most of it the feature maps' and kernels' per-pixel values and "
        "hover indices), two tables and several LaTeX formulas, all rebuilt on each visit (the server's "
        "share). "
        "Wrapping the sliders' sections in `st.fragment` would keep a slider move from rebuilding the rest."),
    "`training.train`": (
        "The recorder itself costs next to nothing per batch (it only counts batches and reads the loss); "
        "with other work on the machine the epochs of the two kinds of run vary by more than the "
        "difference (see the p95 column), so re-run `python -m tools.bench --only training` on an idle "
        "machine before reading a difference into this row."),
    "the same run started from the Training page": (
        "While a run lasts, the page's fragment rebuilds the curves every second: about 45 ms of the server's "
        "CPU and 240 ms of the browser's per epoch (measured with the row's CPU columns in a later run), "
        "because Streamlit remounts the changed chart and Plotly draws it from scratch each time (see "
        "below). On two cores shared with the training (and here with other work) that is up to a quarter "
        "of a core; runs of both kinds vary by more than the target on a busy machine (1.02x to 1.6x in "
        "runs an hour apart), so read this row with its p95 column."),
    "`streamlit run app.py`": (
        "Cold start is dominated by importing TensorFlow and building the first compiled function (see "
        "below); on a busy machine both stretch."),
}


def report(rows: Sequence[Row], machine: Machine, command: str) -> str:
    """The whole BENCHMARKS.md: the table, how it was measured, what was found, and why each missed
    target was missed."""
    misses = [f"**{row.measure}**: {note}" for row in rows if row.met is False
              for start, note in MISSES.items() if row.measure.startswith(start)]
    parts = ["# NetLens benchmarks", "",
             f"Written by `{command}`. {machine.describe()}", "",
             table(rows), ""]
    if misses:
        parts += ["## Targets missed, and why", "", *[f"- {note}" for note in misses], ""]
    parts += [HOW, FINDINGS]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations of everything (for the tests)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the table")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; valid sections are: {', '.join(SECTIONS)}")
    plan = QUICK if args.quick else FULL
    machine = Machine.now()
    rows: list[Row] = []
    if "server" in only:
        rows += server_rows(plan.digits, plan.naive_digits)
    if "browser" in only:
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as logs:
            rows += browser_rows(plan.strokes, plan.sessions, plan.visit_pages, plan.app_training, Path(logs))
    if "training" in only:
        with tempfile.TemporaryDirectory(prefix="netlens-bench-") as out:
            try:
                rows += training_rows(plan.epochs, plan.rounds, plan.train_samples, Path(out))
            except Exception as exc:
                rows.append(failed("training", "seconds per epoch, recorder against bare fit", exc))
    machine.load_after = os.getloadavg()
    command = "python -m tools.bench" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if set(only) != set(SECTIONS) else "")
    text = report(rows, machine, command)
    print(text)
    Path(args.out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return 1 if any(row.p50 == FAILED for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
