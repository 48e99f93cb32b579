"""A classroom on one server: `python -m tools.loadtest --sessions 20 --seconds 60 [--with-training]`.

Starts the app (or targets `--url`), then runs N real browser sessions at once (one headless
Chromium, one context each) for the given time. Each session alternates two things students do:
open a test digit by its link (`/?sample=K`, a fresh session each time) and draw a digit with the
mouse on that page's digit pad (`widgets/pad.py`, which answers while the pen moves). After each, it
reads the Prediction metric (digit and confidence) and compares it with what one session alone got
for the same digit beforehand. With `--with-training`, one more
session starts the Training page's classroom demo and starts it again whenever it ends, so a run is
in progress throughout.

In a classroom every student's laptop renders its own page; here N Chromium tabs share the server's
cores. So the N load sessions run at the lowest CPU priority (nice 19), and one more "probe" session,
in its own Chromium at normal priority, does the same as a student would: its response times (action
to result on screen) are what a student with their own laptop sees while N others use the server.
Meanwhile, twice a second, a new session's first run of a sample link is also timed at the server's
socket (Streamlit's WebSocket protocol, nothing rendered): the server's own share of a response.
Prints a markdown table: browser requests, errors and mismatches (all sessions and server runs), the
probe's p50/p95, the load sessions' p95, the server runs' p50/p95, the server's peak resident
memory, and who used the cores. `--readme` runs the README's three rows (no load, 20 sessions, 20
with a training run) and writes their table into README.md between its markers.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil

from tools import browser as drive
from tools.clock import HOOK, LOADED, WATCH
from tools.cpu import ProcessWatch

VALUE = "[data-testid='stMetric'] [data-testid='stMetricValue']"
DELTA = "[data-testid='stMetric'] [data-testid='stMetricDelta']"
EXCEPTION = "[data-testid='stException']"
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = (0, 1, 5, 7, 42, 26, 11, 2, 12, 3)  # test-split indices of the first 0, 1, ..., 9
P95_TARGET = 3.0  # seconds
POLL_MS = 50      # how often a tab checks for its result: every animation frame would cost 20 tabs a core
TIMEOUT_MS = 120_000  # a step slower than this counts as an error (the crowd's tabs get little CPU)
CROWD_NICE = 19   # the load sessions' priority: the lowest, below the probe's and the server's


@dataclass
class Tally:
    """What sessions saw: response times in seconds per kind ("sample": a link opened, "draw"), errors
    (with reasons), and mismatches against the single-session reference."""

    times: dict[str, list[float]] = field(default_factory=lambda: {"sample": [], "draw": []})
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    training_runs: int = 0
    training_seconds: float = 0.0  # how long a run was seen in progress

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.times.values()) + len(self.errors)

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = self.times[kind] if kind else [t for v in self.times.values() for t in v]
        return float(np.percentile(values, q)) if values else float("nan")


async def _prediction(page) -> tuple[str, str]:
    if await page.locator(EXCEPTION).count():
        raise RuntimeError("the page shows an exception")
    return (await page.locator(VALUE).first.inner_text(timeout=TIMEOUT_MS),
            await page.locator(DELTA).first.inner_text(timeout=TIMEOUT_MS))


async def open_sample(page, url: str, index: int) -> tuple[float, tuple[str, str]]:
    """Open `/?sample=index` (a new session) and wait for its first run on screen: (seconds, prediction)."""
    start = time.perf_counter()
    await page.goto(f"{url}/?lang=en&sample={index}", wait_until="commit", timeout=TIMEOUT_MS)
    await page.wait_for_function(LOADED, polling=POLL_MS, timeout=TIMEOUT_MS)
    await page.get_by_text(f"test-split sample #{index} ").first.wait_for(timeout=TIMEOUT_MS)
    return time.perf_counter() - start, await _prediction(page)


async def draw_digit(page, strokes) -> tuple[float, tuple[str, str]]:
    """Draw `strokes` (tools.browser's pad fractions) with the mouse on the Draw page's digit pad
    (`widgets/pad.py`), which sends drawings while the pen moves and at once when it lifts, and time
    the last mouse-up to the answer to the last drawing on screen: (seconds, prediction)."""
    pad = page.locator(drive.PAD_CANVAS).first
    await pad.wait_for(timeout=TIMEOUT_MS)  # the pad mounts with the page's first run
    box = await pad.bounding_box()
    if not box:
        raise RuntimeError("the Draw page's digit pad is not on screen")
    await page.evaluate(WATCH, "mouseup")
    for stroke in strokes:
        pts = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        await page.mouse.move(*pts[0])
        await page.mouse.down()
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            for k in range(1, 13):
                await page.mouse.move(x0 + (x1 - x0) * k / 12, y0 + (y1 - y0) * k / 12)
        await page.mouse.up()
    await page.wait_for_function("() => window.__bench.done !== null", polling=POLL_MS, timeout=TIMEOUT_MS)
    state = await page.evaluate("() => window.__bench")
    return (state["done"] - state["start"]) / 1e3, await _prediction(page)


async def new_tab(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    page = await context.new_page()
    await page.add_init_script(HOOK)
    return page


async def reference(page, url: str, samples: Sequence[int], digits: dict) -> dict:
    """What one session alone gets: (kind, key) -> (digit, confidence) for every sample and drawing."""
    out = {}
    for index in samples:
        out["sample", index] = (await open_sample(page, url, index))[1]
    for name, strokes in digits.items():
        await open_sample(page, url, samples[0])
        out["draw", name] = (await draw_digit(page, strokes))[1]
    return out


async def student(page, url: str, seed: int, deadline: float, samples: Sequence[int], digits: dict,
                  expected: dict, tally: Tally, shots: Path | None = None) -> None:
    """One session in `page` until `deadline`: open a sample by link, draw a digit on that page,
    again. With `shots`, the page of each error is saved there as a PNG."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        for kind, key in (("sample", rng.choice(samples)), ("draw", rng.choice(list(digits)))):
            try:
                if kind == "sample":
                    seconds, got = await open_sample(page, url, key)
                else:
                    seconds, got = await draw_digit(page, digits[key])
            except Exception as exc:  # a timeout, an exception box, a missing metric: counted, then go on
                tally.errors.append(f"{kind} {key}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
                if shots:
                    await page.screenshot(path=shots / f"error-{seed}-{len(tally.errors)}.png", full_page=True)
                break  # the next round starts with a fresh page load
            tally.times[kind].append(seconds)
            if got != expected[kind, key]:
                tally.mismatches.append(f"{kind} {key}: got {got}, one session alone got {expected[kind, key]}")
            if time.monotonic() >= deadline:
                break
    await page.context.close()


async def server_run(url: str, index: int) -> tuple[float, tuple[str, str]]:
    """One new session's first run of `/?sample=index`, spoken to the server the way the browser does
    (Streamlit's WebSocket protocol) but with nothing rendered: (seconds from the request to the
    run-finished message, the Prediction metric's (digit, confidence) as sent)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    request = BackMsg()
    request.rerun_script.query_string = f"lang=en&sample={index}"
    stream = url.replace("http", "ws", 1) + "/_stcore/stream"
    async with websockets.connect(stream, subprotocols=["streamlit"], origin=url, max_size=None) as socket:
        start = time.perf_counter()
        await socket.send(request.SerializeToString())
        metric = ("", "")
        while True:
            message = ForwardMsg.FromString(await asyncio.wait_for(socket.recv(), TIMEOUT_MS / 1e3))
            if message.WhichOneof("type") == "delta" and message.delta.new_element.WhichOneof("type") == "metric":
                metric = (message.delta.new_element.metric.body, message.delta.new_element.metric.delta)
            if message.HasField("script_finished") and message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return time.perf_counter() - start, metric


async def server_probe(url: str, deadline: float, samples: Sequence[int], expected: dict, tally: Tally) -> None:
    """Twice a second until `deadline`, a new session's run timed at the socket: how long the server
    itself takes while the browsers load it, apart from any page rendering."""
    for index in itertools.cycle(samples):
        if time.monotonic() >= deadline:
            return
        try:
            seconds, got = await server_run(url, index)
        except Exception as exc:
            tally.errors.append(f"server run {index}: {type(exc).__name__}: {exc}")
        else:
            tally.times["sample"].append(seconds)
            if got != (want := expected["sample", index]):
                tally.mismatches.append(f"server run {index}: got {got}, one session alone got {want}")
        await asyncio.sleep(0.5)


async def trainer(browser, url: str, deadline: float, tally: Tally) -> None:
    """Keep one classroom-demo training run in progress until `deadline`, through the Training page:
    press Start whenever it is enabled (the last run ended), Stop at the end."""
    page = await new_tab(browser)
    await page.goto(f"{url}/training?lang=en", wait_until="commit", timeout=TIMEOUT_MS)
    await page.wait_for_function(LOADED, polling=POLL_MS, timeout=TIMEOUT_MS)
    await page.get_by_role("button", name="Classroom demo preset").click()
    start = page.get_by_role("button", name="Start", exact=True)
    stop = page.get_by_role("button", name="Stop", exact=True)  # enabled while this session's run is on
    while time.monotonic() < deadline:
        if await start.is_enabled() and await _click(start):
            tally.training_runs += 1
        await page.wait_for_timeout(2000)
        if await stop.is_enabled():
            tally.training_seconds += 2
    await _click(stop)
    await page.wait_for_timeout(1000)
    await page.context.close()


async def _click(button) -> bool:
    """Click `button` unless it stays disabled for 5 s (a rerun can disable it between look and click)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    try:
        await button.click(timeout=5_000)
        return True
    except PlaywrightTimeout:
        return False


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}


async def _launch(pw) -> tuple[object, set[int]]:
    """A headless Chromium and the ids of the processes it started."""
    before = _descendants()
    browser = await pw.chromium.launch(executable_path=drive.CHROMIUM, args=drive.CHROMIUM_ARGS)
    return browser, _descendants() - before


async def _keep_nice(roots: set[int]) -> None:
    """Hold `roots` and every process they start (a tab each) at CROWD_NICE until
    cancelled: Chromium sets a new tab's priority itself, so this checks twice a second."""
    while True:
        for root in roots:
            try:
                for proc in (psutil.Process(root), *psutil.Process(root).children(recursive=True)):
                    if proc.nice() != CROWD_NICE:
                        proc.nice(CROWD_NICE)
                # Playwright starts Chromium in its own session, which Linux schedules as its own
                # group ("autogroup"): a process's nice only ranks it within that group, the
                # group's own nice ranks the group against the server.
                Path(f"/proc/{root}/autogroup").write_text(str(CROWD_NICE))
            except (psutil.Error, OSError):
                pass
        await asyncio.sleep(0.5)


async def _run(url: str, sessions: int, seconds: float, with_training: bool, samples: Sequence[int],
               digits: dict, shots: Path | None) -> tuple[Tally, Tally, Tally]:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        (crowd, crowd_pids), (own, _) = await _launch(pw), await _launch(pw)
        nice = asyncio.create_task(_keep_nice(crowd_pids))
        probe_tab = await new_tab(own)  # the reference warms its cache, as a student's second visit would be
        expected = await reference(probe_tab, url, samples, digits)
        tabs = [await new_tab(crowd) for _ in range(sessions)]
        load, probe, server = Tally(), Tally(), Tally()
        deadline = time.monotonic() + seconds
        tasks = [student(tab, url, k, deadline, samples, digits, expected, load, shots) for k, tab in enumerate(tabs)]
        tasks.append(student(probe_tab, url, sessions, deadline, samples, digits, expected, probe, shots))
        tasks.append(server_probe(url, deadline, samples, expected, server))
        if with_training:
            tasks.append(trainer(own, url, deadline, load))  # the teacher's laptop, at normal priority
        await asyncio.gather(*tasks)
        nice.cancel()
        await crowd.close()
        await own.close()
    return load, probe, server


@dataclass(frozen=True)
class Result:
    sessions: int
    seconds: float
    with_training: bool
    tally: Tally   # the N load sessions (and the training session's runs)
    probe: Tally   # the one session at normal priority
    server: Tally  # new sessions' first runs timed at the socket, with no browser
    rss_peak: int  # bytes; 0 when the server was not started here
    cpu: dict[str, float]  # CPU seconds during the run: "server", "training", "browsers"
    wall: float  # seconds the sessions ran, the single-session reference included

    @property
    def met(self) -> bool:
        sessions = (self.tally, self.probe, self.server)
        return (not any(t.errors or t.mismatches for t in sessions)) and self.probe.percentile(95) < P95_TARGET


def run(sessions: int, seconds: float, with_training: bool = False, url: str | None = None,
        samples: Sequence[int] = SAMPLES, digits: dict | None = None, shots: Path | None = None) -> Result:
    """The load test: against `url`, or against a server started (and stopped) here."""
    digits = digits or {"one": drive.ONE, "seven": drive.SEVEN, "zero": drive.ZERO}
    server = None
    if url is None:
        port = drive.free_port()
        server = drive.start_app(port, Path(tempfile.mkdtemp(prefix="netlens-load-")) / "server.log")
        url = f"http://127.0.0.1:{port}"
    watch = ProcessWatch(server.pid if server else None)
    start = time.monotonic()
    try:
        load, probe, server_runs = asyncio.run(_run(url, sessions, seconds, with_training, samples, digits, shots))
    finally:
        watch.stop()
        if server:
            server.terminate()
            server.wait(timeout=30)
    return Result(sessions, seconds, with_training, load, probe, server_runs, watch.peak, watch.cpu,
                  time.monotonic() - start)


HEADER = ("| load sessions | training run | requests (link / draw) | errors | mismatches | probe p50 | probe p95 "
          "| probe p95 link / draw | load sessions p95 | server run p50 / p95 | server RSS peak "
          "| CPU cores: server / training / browsers / others |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def _seconds(x: float) -> str:
    """A time for the table; "-" where nothing was timed (no load sessions)."""
    return "-" if np.isnan(x) else f"{x:.2f} s"


def row(result: Result) -> str:
    t, p, r = result.tally, result.probe, result.server
    training = (f"yes ({t.training_runs} started, one in progress {t.training_seconds:.0f} of "
                f"{result.seconds:.0f} s)" if result.with_training else "no")
    rss = f"{result.rss_peak / 2**20:.0f} MB" if result.rss_peak else "n/a"
    cores = " / ".join(f"{result.cpu[g] / result.wall:.2f}" for g in ("server", "training", "browsers", "others"))
    links, draws = len(t.times["sample"]) + len(p.times["sample"]), len(t.times["draw"]) + len(p.times["draw"])
    return (f"| {result.sessions} | {training} | {t.requests + p.requests} ({links} / {draws}) "
            f"| {len(t.errors) + len(p.errors) + len(r.errors)} "
            f"| {len(t.mismatches) + len(p.mismatches) + len(r.mismatches)} "
            f"| {p.percentile(50):.2f} s | {p.percentile(95):.2f} s "
            f"| {p.percentile(95, 'sample'):.2f} s / {p.percentile(95, 'draw'):.2f} s "
            f"| {_seconds(t.percentile(95))} | {r.percentile(50):.2f} s / {r.percentile(95):.2f} s | {rss} | {cores} |")


# The README's load-test table lives between these two lines; `--readme` rewrites what is between.
README = ROOT / "README.md"
BEGIN, END = "<!-- python -m tools.loadtest --readme: begin -->", "<!-- python -m tools.loadtest --readme: end -->"
README_RUNS = ((0, False), (20, False), (20, True))  # (load sessions, with a training run): one row each


def readme_block(results: Sequence[Result], date: str) -> str:
    """The README's measured paragraph: the table of `results` and each row's verdict."""
    seconds = "/".join(dict.fromkeys(f"{r.seconds:.0f}" for r in results))
    verdicts = "; ".join(
        f"{r.sessions} sessions{' with a training run' if r.with_training else ''}: "
        f"{'met' if r.met else 'MISSED'} (probe p95 {r.probe.percentile(95):.2f} s)" for r in results)
    peak = max(r.rss_peak for r in results)
    return "\n".join([
        BEGIN,
        f"Measured on this {os.cpu_count()}-core machine ({date}, `python -m tools.loadtest --readme`: one run of "
        f"`--sessions N --seconds {seconds} [--with-training]` per row; \"load sessions\" are the N low-priority "
        "sessions besides the probe; CPU cores are averages over the run, \"others\" everything else on the "
        "machine):", "", HEADER, *(row(r) for r in results), "",
        f"Targets: no errors, every prediction equal to the single-session one, probe p95 under "
        f"{P95_TARGET:.0f} s. {verdicts}."
        + (f" Server memory peaked at {peak / 2**20:.0f} MB." if peak else ""),
        END])


def rewrite_readme(text: str, block: str) -> str:
    """`text` (the README) with what lies between BEGIN and END, the markers included, replaced by `block`."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"the README needs one {BEGIN!r} line and, after it, one {END!r} line around the "
                         "load-test table; found them "
                         f"{text.count(BEGIN)} and {text.count(END)} times")
    head, rest = text.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20,
                        help="simultaneous load sessions besides the probe (default 20; 0: the probe alone)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they keep going (default 60)")
    parser.add_argument("--with-training", action="store_true", help="keep a training run going meanwhile")
    parser.add_argument("--url", help="test a running server instead of starting one (memory is then not measured)")
    parser.add_argument("--shots", type=Path, help="save a screenshot of each error's page in this folder")
    parser.add_argument("--quick", action="store_true", help="2 sessions for 5 s on two samples and a drawn 7, "
                                                             "to check that the script works")
    readme_rows = ", ".join(f"{n} sessions" + (" with a training run" if training else "")
                            for n, training in README_RUNS)
    parser.add_argument("--readme", action="store_true",
                        help=f"run the README's rows ({readme_rows}; --seconds each) and write their table "
                             "into README.md between its markers")
    args = parser.parse_args(argv)
    if args.sessions < 0 or args.seconds <= 0:
        parser.error(f"--sessions must be >= 0 and --seconds > 0; received {args.sessions} and {args.seconds}")
    if args.quick:  # two samples and one drawing as the reference, so the whole check takes ~20 s
        results = [run(2, 5, args.with_training, args.url, SAMPLES[:2], {"seven": drive.SEVEN}, args.shots)]
    elif args.readme:
        rewrite_readme(README.read_text(encoding="utf-8"), "")  # the markers are there, before minutes of runs
        results = [run(n, args.seconds, training, args.url, shots=args.shots) for n, training in README_RUNS]
    else:
        results = [run(args.sessions, args.seconds, args.with_training, args.url, shots=args.shots)]
    print(HEADER)
    for result in results:
        print(row(result))
    problems = [line for r in results for t in (r.tally, r.probe, r.server) for line in t.errors + t.mismatches]
    for line in problems[:10]:
        print(f"- {line}")
    met = all(r.met for r in results)
    print(f"\ntargets: no errors, no mismatches, probe p95 < {P95_TARGET:.0f} s: {'met' if met else 'MISSED'}")
    if args.readme:
        block = readme_block(results, datetime.now(UTC).strftime("%Y-%m-%d"))
        README.write_text(rewrite_readme(README.read_text(encoding="utf-8"), block), encoding="utf-8")
        print(f"wrote the table into {README}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
