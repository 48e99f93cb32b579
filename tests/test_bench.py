"""The benchmark keeps working: its statistics and table are right, and its quick mode runs every
section end to end (its numbers are not judged here: speed targets live in BENCHMARKS.md)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tools import bench
from tools.browser import CHROMIUM, NO_CHROMIUM

ROOT = Path(__file__).resolve().parent.parent


def test_stat_is_the_median_and_95th_percentile_of_the_samples():
    # Sorted 1, 2, 3, 4, 10: the median is the middle one; the 95th percentile lies 0.95 * 4 = 3.8
    # places along, between 4 and 10: 4 + 0.8 * 6 = 8.8.
    stat = bench.Stat.of([4.0, 1.0, 10.0, 3.0, 2.0])
    assert (stat.p50, stat.n) == (3.0, 5)
    assert stat.p95 == pytest.approx(8.8)
    # An even count: the median is halfway between the two middle samples.
    assert bench.Stat.of([0.2, 0.1, 0.4, 0.3]).p50 == pytest.approx(0.25)
    with pytest.raises(ValueError, match="at least one sample"):
        bench.Stat.of([])


def test_time_each_times_every_input_once_after_the_warm_up_calls():
    calls = []
    stat = bench.time_each(calls.append, [1, 2, 3], warmup=2)
    assert calls == [1, 1, 1, 2, 3]
    assert stat.n == 3 and 0 <= stat.p50 <= stat.p95


def test_durations_read_in_their_best_unit():
    assert bench.duration(0.00042) == "0.42 ms"
    assert bench.duration(0.038) == "38 ms"
    assert bench.duration(1.2345) == "1.23 s"


def test_a_canvas_like_digit_is_what_the_draw_page_pad_sends():
    x28 = np.zeros((28, 28), np.uint8)
    x28[5:23, 13:15] = 255
    rgba = bench.canvas_like(x28)
    assert rgba.shape == (260, 260, 4) and rgba.dtype == np.uint8  # the pad's size
    assert (rgba[..., :3] == 255).all() and rgba[..., 3].max() == 255 and rgba[0, 0, 3] == 0  # white ink, clear paper
    np.testing.assert_array_equal(bench.decode_data_url(bench.png_data_url(rgba)), rgba)


def test_the_table_marks_missed_targets_and_failures():
    rows = [bench.Row("server", "fast", "1.00 ms", "2.00 ms", "9x", "p50 <= 10 ms", True, 200),
            bench.Row("server", "slow", "20 ms", "30 ms", "", "p50 <= 10 ms", False, 200),
            bench.failed("browser", "cold start", TimeoutError("no canvas"))]
    lines = bench.table(rows).splitlines()
    assert lines[2].endswith("| p50 <= 10 ms | met |")
    assert "**MISSED**" in lines[3]
    assert "FAILED" in lines[4] and "TimeoutError: no canvas" in lines[4]


def test_the_report_explains_a_missed_target_with_the_numbers_this_run_measured():
    def rows(draw_s: float, pad_s: float) -> list:
        pad = bench.Row("stroke to repaint", "bare digit-pad page (...)", "x",
                        parts={"p50": pad_s, "finished": pad_s / 2, "paint": pad_s / 4, "kib": 7.0, "cpu": 0.03})
        draw = bench.Row("stroke to repaint", "Draw page: mouse-up -> answer", "x", met=False,
                         parts={"p50": draw_s, "finished": draw_s / 2, "paint": draw_s / 4, "kib": 42.0,
                                "cpu": draw_s / 8, "charts": 3, "remounted": 1})
        return [pad, draw]

    machine = bench.Machine(2, "cpu", "2026-12-01 10:00 UTC", "3.11", "versions", (1.0, 1.0, 1.0))
    text = bench.report(rows(0.4, 0.2), machine, "python -m tools.bench", bench.QUICK)
    note = next(line for line in text.splitlines() if line.startswith("- **Draw page: mouse-up"))
    # The Draw page's server share (0.4 / 2) against the bare pad's (0.2 / 2), its paint share, its KiB.
    assert "200 ms against 100 ms" in note and "100 ms against 50 ms" in note and "42 KiB" in note
    assert "CPU 50 ms against 30 ms" in note and "on the page: 3, of which 1 are Streamlit's" in note
    other = bench.report(rows(0.6, 0.2), machine, "python -m tools.bench", bench.QUICK)
    assert "300 ms against 100 ms" in other and "200 ms against 100 ms" not in other
    # A missed row with no note of its own, or missing a number its note needs, says what it measured.
    slow = bench.Row("memory", "server RSS", "2000 MB", target="<= 1.5 GB", met=False, comparison="+900 MB")
    bare = bench.Row("stroke to repaint", "Draw page: mouse-up -> answer", "300 ms", "400 ms", met=False,
                     target="p50 <= 1.0x", parts={"p50": 0.3})
    assert bench.miss_note(slow, [slow]) == "measured 2000 MB (p95 n/a) against the target <= 1.5 GB; +900 MB."
    assert bench.miss_note(bare, [bare]).startswith("measured 300 ms (p95 400 ms) against the target p50 <= 1.0x")
    # The method's counts are the plan's, not constants.
    assert f"on each of {bench.QUICK.digits} test-split" in text
    assert f"on each of {bench.FULL.digits} test-split" in bench.report([], machine, "c", bench.FULL)


def test_a_slider_walks_one_step_a_move_and_turns_at_either_end():
    # From 2 in 0..3: up to 3, then down to 0, then up again; from the top it starts down.
    assert bench.walk(0, 3, 2, 5) == ["ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowRight"]
    assert bench.walk(1, 28, 28, 2) == ["ArrowLeft", "ArrowLeft"]


def test_the_training_page_miss_says_whose_cpu_time_the_epochs_lost():
    parts = {"ratio": 1.25, "epoch": 2.5, "alone_epoch": 2.0, "server_cpu": 0.4, "alone_server_cpu": 0.01,
             "browsers_cpu": 0.2, "alone_browsers_cpu": 0.0, "others_cores": 0.05, "alone_others_cores": 0.5}
    row = bench.Row("training", "the same run started from the Training page, its curves redrawn every second, "
                    "s/epoch", "2.50 s", met=False, parts=parts)
    note = bench.miss_note(row, [row])
    assert note.startswith("epochs took 2.50 s against 2.00 s (1.250x)")
    assert "server spent 400 ms of CPU with the page open against 10 ms with none" in note
    assert "the browser 200 ms against 0.00 ms" in note and "machine used 0.05 cores against 0.50" in note


def quick_report(tmp_path, sections: list[str]) -> list[str]:
    """`python -m tools.bench --quick --only SECTIONS`: its table rows, after checking it succeeded."""
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "--only", ",".join(sections),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    text = out.read_text() if out.exists() else ""
    assert proc.returncode == 0, text + proc.stderr[-3000:]
    assert re.search(r"\d+ cores, .+Run on \d{4}-\d\d-\d\d", text)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| section")]
    for row in rows:
        p50 = row.split(" | ")[3]
        assert re.fullmatch(r"\d+(\.\d+)? (ms|s|MB)", p50), row
    return rows


def sections_of(rows: list[str]) -> set[str]:
    return {row.split(" | ")[0][2:] for row in rows}


def test_quick_mode_runs_the_server_and_training_sections_and_writes_the_report(tmp_path):
    assert sections_of(quick_report(tmp_path, ["server", "training"])) == {"server", "training"}


def test_quick_mode_runs_the_browser_section(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("NETLENS_REQUIRE_BROWSER"):
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
    assert sections_of(quick_report(tmp_path, ["browser"])) == {"cold start", "first visit", "memory",
                                                                 "stroke to repaint", "while drawing",
                                                                 "a control moved"}


@pytest.mark.parametrize("kwargs", [
    dict(rows=1, cols=5, shared_yaxes=True, horizontal_spacing=0.025, subplot_titles=["a", "b", "c", "d", "e"]),
    dict(rows=1, cols=2, column_widths=[28, 22.4], horizontal_spacing=0.08, subplot_titles=["before", ""]),
    dict(rows=1, cols=2, subplot_titles=["", ""]),
    dict(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.34, 0.28, 0.38]),
    dict(rows=3, cols=5, row_heights=[0.07, 0.84, 0.09], vertical_spacing=0.045),
    dict(rows=1, cols=1, subplot_titles=["只有一个"]),
])
def test_the_cached_subplot_grid_builds_the_figure_make_subplots_builds(kwargs):
    """The per-rerun speed-up of `theme.subplots` must not change a single property of any chart."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from explain.figures.theme import subplots

    figures = [make_subplots(**kwargs), subplots(**kwargs), subplots(**kwargs)]
    for fig in figures:
        fig.add_trace(go.Bar(x=["0", "1"], y=[0.25, 0.75]), 1, kwargs["cols"])
        fig.add_shape(type="rect", x0=0, x1=1, y0=0, y1=1, row=1, col=1)
        fig.update_yaxes(visible=False, row=1, col=1)
        fig.update_annotations(font=dict(size=13))
    want = figures[0].to_dict()
    assert figures[1].to_dict() == want
    assert figures[2].to_dict() == want  # the cached grid was not changed by the first figure's edits
