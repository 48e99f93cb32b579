"""How fast NetLens answers a stroke, measured: `python -m explain.bench [--quick]`.

Prints one table and writes it, with the machine's cores, CPU and the date, to BENCHMARKS.md.
Every figure is a median (p50) and a 95th percentile (p95) over many runs, and every comparison is
a ratio of two things measured in the same run, so a busy machine slows both sides alike:

1. server-side work per stroke over test-split digits, against the naive Keras way (`predict`);
2. stroke to repaint in headless Chromium on the Draw and CNN pages, against a bare canvas page;
3. cold start, from `streamlit run app.py` to the Draw page rendered;
4. the server's resident memory, with the models loaded and after ten sessions drew a digit;
5. seconds per epoch of the homework LSTM with the live-curve recorder, against a bare `fit`.

`--quick` runs a few iterations of everything (the test suite runs it so the benchmark cannot rot);
its numbers are not worth reading. The browser parts need playwright and Debian's chromium.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("server", "browser", "training")
CANVAS_SIDE = 280  # the Draw page's canvas, in pixels


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
    """A test digit (28, 28) uint8 as the canvas sends it: (280, 280, 4) uint8 RGBA, a black stroke
    whose opacity is the ink, on a transparent background."""
    alpha = np.asarray(Image.fromarray(x28).resize((CANVAS_SIDE, CANVAS_SIDE), Image.BILINEAR))
    rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


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
    import keras

    from explain import attention, conv, inference, recurrent
    from explain.data import load_mnist
    from explain.models import MODEL_NAMES, load_model
    from explain.preprocess import to_mnist

    models = {name: load_model(name) for name in MODEL_NAMES}
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

    def compare(measure: str, fast: Callable, naive: Callable, naive_name: str, target: float) -> Row:
        start = time.perf_counter()
        try:
            fast(digits[0])  # the first call builds and compiles, once per server
        except Exception as exc:  # a broken page function is reported in its row; the rest still runs
            return failed("server", measure, exc)
        first = time.perf_counter() - start
        ours, theirs = time_each(fast, digits), time_each(naive, few, warmup=1)
        return Row("server", measure, *_p(ours),
                   comparison=(f"{theirs.p50 / ours.p50:.0f}x faster than {naive_name} "
                               f"(p50 {duration(theirs.p50)}, n={theirs.n}); first call {duration(first)}"),
                   target=f"p50 <= {target * 1e3:.0f} ms", met=ours.p50 <= target)

    rows.append(compare("Draw: all five models' probabilities (`inference.probabilities`)",
                        lambda x: inference.probabilities(models, x),
                        lambda x: [_predict(m, x) for m in models.values()],
                        "`model.predict` per model", 0.015))

    cnn = models["cnn"]
    cnn_layers = [keras.Model(cnn.input, cnn.get_layer(name).output) for name in conv.LAYERS + ("output",)]
    rows.append(compare("CNN: every feature map, pooled map and logit (`conv.trace`)",
                        lambda x: conv.trace(cnn, x),
                        lambda x: [_predict(m, x) for m in cnn_layers],
                        f"a `predict` per layer sub-model ({len(cnn_layers)})", 0.010))

    recurrent_models = [models["lstm"], models["gru"]]
    recurrent_layers = [keras.Model(m.input, m.get_layer(name).output)
                        for m, names in zip(recurrent_models, (("lstm1", "lstm2"), ("gru1", "gru2")))
                        for name in names]
    rows.append(compare("Recurrent: every gate of both LSTM and GRU layers (`recurrent.gate_trace` x2)",
                        lambda x: [recurrent.gate_trace(m, x) for m in recurrent_models],
                        lambda x: [_predict(m, x) for m in recurrent_layers],
                        f"a `predict` per recurrent layer sub-model ({len(recurrent_layers)}, hidden states only)",
                        0.010))

    att = models["attention"]
    att_tokens = keras.Model(att.input, att.get_layer("posenc").output)
    mha = att.get_layer("mha")

    def naive_attention(x):
        tokens = _predict(att_tokens, x)
        mha(tokens, tokens, return_attention_scores=True)  # Keras exposes the scores only by calling the layer
        return _predict(att, x)

    rows.append(compare("Attention: every head's scores, tokens and output (`attention.trace`)",
                        lambda x: attention.trace(att, x), naive_attention,
                        "`predict` of the tokens, an eager `mha` call and `model.predict`", 0.010))
    for row in rows:
        row.n = n
    return rows


def _p(stat: Stat) -> tuple[str, str]:
    return duration(stat.p50), duration(stat.p95)


# ---- report ------------------------------------------------------------------------------------

HOW = """\
## How each number is measured

- **server**: each page's own `explain/` call, timed with `time.perf_counter` once per test-split digit
  (a random, seeded choice), after two untimed warm-up calls; the naive way runs in the same process
  on a subset of the same digits. Drawn digits are simulated as the canvas sends them: the digit scaled to
  280x280 as the opacity of a black stroke.
"""


def report(rows: Sequence[Row], machine: Machine, command: str, notes: Sequence[str]) -> str:
    """The whole BENCHMARKS.md."""
    parts = ["# NetLens benchmarks", "",
             f"Written by `{command}`. {machine.describe()}", "",
             table(rows), "", HOW]
    if notes:
        parts += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations of everything (for the tests)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the table")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; valid sections are: {', '.join(SECTIONS)}")
    machine = Machine.now()
    rows: list[Row] = []
    notes: list[str] = []
    if "server" in only:
        rows += server_rows(n=10 if args.quick else 200, n_naive=3 if args.quick else 30)
    machine.load_after = os.getloadavg()
    command = "python -m explain.bench" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if set(only) != set(SECTIONS) else "")
    text = report(rows, machine, command, notes)
    print(text)
    Path(args.out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
