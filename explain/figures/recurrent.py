"""Figures of the recurrent page. Time runs left to right: timestep t is image row t (1..28, top to
bottom), and every chart starts with the digit turned a quarter turn to the left, so that image row t
stands right above timestep t. All charts share the same fixed side margins, so stacked full-width
they line up column for column.

The stacked charts are written as plain trace and layout dicts and turned into a Figure once:
plotly's per-property updates (`make_subplots`, `update_yaxes(row=...)`, `add_shape`) cost about
a quarter of a second per page here, the single constructor a few milliseconds.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, TEN_CLASSES, figure, sequential
from explain.i18n import t
from explain.recurrent import GRU_GATES, LSTM_GATES, MEMORY, LayerGates, ParameterCount

ACCENT = CATEGORICAL[3]        # vermillion: the chosen timestep and unit, wherever they appear
STRIP_PX, GATE_PX, GAP_PX = 120, 105, 36
SIGNED = {"candidate", "cell", "hidden"}    # values in (-1, 1) or unbounded: diverging scale around 0
SYMBOLS = {"lstm": dict(input="i", forget="f", candidate="C̃", output="o", cell="c", hidden="h"),
           "gru": dict(update="z", reset="r", candidate="h̃", hidden="h")}


class _TimeFigure:
    """The digit strip on top, then one panel per (title, height in px), all on one time axis.

    Panel k (0 = the strip) draws on axes `x{k+1}` / `y{k+1}`; `domain(k)` is its vertical extent.
    """

    def __init__(self, x28: np.ndarray, panels: list[tuple[str, int]], lang: str, title: str, projector: bool):
        self.projector, self.steps = projector, x28.shape[0]
        scale = 1.25 if projector else 1.0
        heights = [STRIP_PX] + [px for _, px in panels]
        plot = sum(heights) + GAP_PX * len(panels)
        # Fixed, not automatic, margins: every chart's plotting area spans the same pixels.
        self.margin = dict(l=70, r=150, t=110, b=80) if projector else dict(l=50, r=120, t=80, b=60)
        self.domains, top = [], 1.0
        for px in heights:
            self.domains.append((max(top - px / plot, 0.0), top))
            top -= (px + GAP_PX) / plot
        self.data: list[dict] = []
        self.layout: dict = dict(title=dict(text=title), height=int(plot * scale) + self.margin["t"] + self.margin["b"],
                                 annotations=[], shapes=[])
        names = [t("recurrent.fig.digit", lang)] + [name for name, _ in panels]
        for k, (name, (low, high)) in enumerate(zip(names, self.domains)):
            last = k == len(heights) - 1
            self.layout[f"xaxis{k + 1}"] = dict(
                domain=[0, 1], anchor=f"y{k + 1}", range=[0.5, self.steps + 0.5], showticklabels=last,
                tickmode="linear", tick0=1, dtick=3 if projector else 1, **({"matches": "x"} if k else {}),
                **({"title": dict(text=t("recurrent.fig.rows", lang))} if last else {}))
            self.layout[f"yaxis{k + 1}"] = dict(domain=[low, high], anchor=f"x{k + 1}")
            self.layout["annotations"].append(dict(text=name, x=0, y=high, xref="paper", yref="paper",
                                                   xanchor="left", yanchor="bottom", showarrow=False))
        self.layout["yaxis1"]["visible"] = False
        # z[j, t] = pixel (row t, column j) with the y axis pointing up: the image turned a quarter left.
        self.add(0, dict(type="heatmap", z=x28.T, x=self.rows, y=np.arange(x28.shape[1]), colorscale=DIGIT,
                         zmin=0, zmax=1, showscale=False,
                         hovertemplate=t("recurrent.fig.hover_digit", lang) + "<extra></extra>"))

    @property
    def rows(self) -> np.ndarray:
        return np.arange(1, self.steps + 1)

    def add(self, panel: int, trace: dict) -> None:
        self.data.append(dict(trace, xaxis=f"x{panel + 1}", yaxis=f"y{panel + 1}"))

    def axis(self, panel: int, **settings) -> None:
        self.layout[f"yaxis{panel + 1}"].update(settings)

    def colorbar(self, panel: int) -> dict:
        """A colour bar beside `panel`, as tall as it."""
        low, high = self.domains[panel]
        return dict(x=1.01, xanchor="left", y=(low + high) / 2, len=high - low,
                    thickness=14 if self.projector else 10, outlinewidth=0)

    def figure(self, step: int | None) -> go.Figure:
        """The finished figure, the chosen row `step` (1-based) outlined through every panel."""
        self.layout["shapes"] += row_outline(step, self.projector)
        return figure(self.data, self.layout, self.projector, margin=dict(self.margin, autoexpand=False))


def row_outline(step: int | None, projector: bool) -> list[dict]:
    """The outline of row `step` (1-based) through every panel of a chart on the time axis (none
    without a step): the shapes a timestep move changes, which the page adds to a figure built once."""
    if step is None:
        return []
    return [dict(type="rect", x0=step - 0.5, x1=step + 0.5, y0=0, y1=1, xref="x", yref="paper",
                 line=dict(color=ACCENT, width=3 if projector else 2))]


def gate_outlines(gates: LayerGates, step: int | None, unit: int | None, projector: bool) -> list[dict]:
    """`gate_heatmaps`' shapes for `step` and `unit`: the chosen cell in every gate's panel, then the row."""
    cells = [] if step is None or unit is None else [
        dict(type="rect", x0=step - 0.5, x1=step + 0.5, y0=unit - 0.5, y1=unit + 0.5, xref=f"x{panel + 1}",
             yref=f"y{panel + 1}", line=dict(color=ACCENT, width=2))
        for panel in range(1, len(LSTM_GATES if gates.cell == "lstm" else GRU_GATES) + 1)]
    return cells + row_outline(step, projector)


def gate_name(cell: str, gate: str, lang: str) -> str:
    """The gate's name in `lang` with its symbol, e.g. "forget gate f"."""
    return t(f"recurrent.gate.{cell}.{gate}", lang)


def gate_heatmaps(gates: LayerGates, x28: np.ndarray, lang: str, projector: bool = False,
                  step: int | None = None, unit: int | None = None) -> go.Figure:
    """One heatmap per gate, units (y) by timesteps (x), under the turned digit.

    Gates that are fractions (sigmoid, 0 = closed, 1 = open) share a sequential 0..1 scale; candidate
    and hidden state share a diverging -1..1 scale; the cell state, unbounded, gets its own symmetric
    scale. `step` (1-based) and `unit` outline the chosen cell in every panel.
    """
    names = LSTM_GATES if gates.cell == "lstm" else GRU_GATES
    fig = _TimeFigure(x28, [(gate_name(gates.cell, g, lang), GATE_PX) for g in names], lang,
                      t("recurrent.fig.gates_title", lang, layer=gates.layer_name), projector)
    cell_max = float(np.abs(gates.gates["cell"]).max()) if "cell" in gates.gates else 1.0
    scales = {"coloraxis": dict(colorscale=sequential(projector), cmin=0, cmax=1),
              "coloraxis2": dict(colorscale=DIVERGING, cmin=-1, cmax=1),
              "coloraxis3": dict(colorscale=DIVERGING, cmin=-cell_max, cmax=cell_max)}
    hover = t("recurrent.fig.hover_gate", lang) + "<extra></extra>"
    for panel, gate in enumerate(names, start=1):
        axis = "coloraxis3" if gate == "cell" else "coloraxis2" if gate in SIGNED else "coloraxis"
        fig.add(panel, dict(type="heatmap", z=gates.gates[gate].T, x=fig.rows, coloraxis=axis, hovertemplate=hover))
        fig.axis(panel, autorange="reversed", tickmode="array", tickvals=[0, gates.units - 1])
        if axis not in fig.layout:      # the first panel on a scale carries its colour bar
            fig.layout[axis] = dict(scales[axis], colorbar=fig.colorbar(panel))
    fig.layout["shapes"] += gate_outlines(gates, step, unit, projector)
    return fig.figure(None)


def answer_over_time(probs: np.ndarray, x28: np.ndarray, model: str, lang: str, projector: bool = False,
                     step: int | None = None) -> go.Figure:
    """Ten probability curves over the rows, `probs` (timesteps, 10); only the last row is the
    model's real answer, the earlier ones are what it would answer if the digit ended there."""
    fig = _TimeFigure(x28, [(t("recurrent.fig.answer_panel", lang), 300)], lang,
                      t("recurrent.fig.answer_title", lang, model=model), projector)
    steps, answer = probs.shape[0], int(probs[-1].argmax())
    fig.layout["shapes"].append(dict(type="rect", x0=steps - 0.5, x1=steps + 0.5, y0=0, y1=1, xref="x2",
                                     yref="y2 domain", fillcolor=CATEGORICAL[2], opacity=0.25, line_width=0,
                                     layer="below"))
    hover = t("recurrent.fig.hover_answer", lang) + "<extra></extra>"
    for digit in range(probs.shape[1]):
        fig.add(1, dict(type="scatter", x=fig.rows, y=probs[:, digit], name=str(digit), mode="lines",
                        line=dict(color=TEN_CLASSES[digit], width=3 if digit == answer else 2),
                        opacity=1.0 if probs[:, digit].max() >= 0.2 else 0.3, hovertemplate=hover))
    final = float(probs[-1, answer])
    fig.add(1, dict(type="scatter", x=[steps], y=[final], mode="markers", showlegend=False, hoverinfo="skip",
                    marker=dict(color=TEN_CLASSES[answer], size=12, symbol="star")))
    fig.layout["annotations"].append(dict(
        # The label sits mid-height left of the last row, where a settled answer leaves the plot empty.
        x=steps, y=final, xref="x2", yref="y2", axref="x2", ayref="y2", ax=steps - 1.5,
        ay=0.55 if final > 0.7 else final + 0.3, xanchor="right",
        text=t("recurrent.fig.exact", lang, digit=answer, p=100 * final), bgcolor="rgba(255,255,255,0.9)",
        arrowcolor="#444444"))
    fig.axis(1, range=[-0.02, 1.05], tickformat=".0%", tickmode="array", tickvals=[0, 0.5, 1])
    fig.layout["legend"] = dict(x=1.01, xanchor="left", y=0, yanchor="bottom",
                                title=dict(text=t("recurrent.fig.legend_digit", lang)))
    return fig.figure(step)


def unit_over_time(gates: LayerGates, unit: int, x28: np.ndarray, lang: str, projector: bool = False,
                   step: int | None = None) -> go.Figure:
    """One unit's gates and states as lines over the rows: where its forget (or update) gate closes
    and its memory is rewritten. Gates are solid (0..1), candidate and states dashed (signed)."""
    fig = _TimeFigure(x28, [(t("recurrent.fig.unit_panel", lang), 280)], lang,
                      t("recurrent.fig.unit_title", lang, layer=gates.layer_name, unit=unit), projector)
    hover = t("recurrent.fig.hover_unit", lang) + "<extra></extra>"
    for k, gate in enumerate(LSTM_GATES if gates.cell == "lstm" else GRU_GATES):
        fig.add(1, dict(type="scatter", x=fig.rows, y=gates.gates[gate][:, unit], mode="lines",
                        name=SYMBOLS[gates.cell][gate], hovertemplate=hover,
                        line=dict(color=CATEGORICAL[k], width=2, dash="dash" if gate in SIGNED else "solid")))
    fig.axis(1, zeroline=True, zerolinecolor="#888888")
    fig.layout["legend"] = dict(x=1.01, xanchor="left", y=0, yanchor="bottom")
    return fig.figure(step)


def memory_changes(trace: list[LayerGates], x28: np.ndarray, changes: list[np.ndarray], lang: str,
                   projector: bool = False, step: int | None = None) -> go.Figure:
    """Bars per row of how much each layer's memory moved, `changes` one (timesteps,) array per layer
    (see `explain.recurrent.memory_change`)."""
    fig = _TimeFigure(x28, [(t(f"recurrent.fig.memory_panel.{MEMORY[trace[0].cell]}", lang), 220)], lang,
                      t("recurrent.fig.memory_title", lang), projector)
    hover = t("recurrent.fig.hover_memory", lang) + "<extra></extra>"
    for k, (gates, change) in enumerate(zip(trace, changes)):
        fig.add(1, dict(type="bar", x=fig.rows, y=change, name=gates.layer_name, marker_color=CATEGORICAL[k],
                        hovertemplate=hover))
    fig.layout.update(barmode="group", bargap=0.2, legend=dict(x=1.01, xanchor="left", y=0, yanchor="bottom"))
    return fig.figure(step)


def digit_rows(x28: np.ndarray, step: int, lang: str, projector: bool = False) -> go.Figure:
    """The digit upright with its rows numbered 1..28 and row `step` outlined: the row being read."""
    steps = x28.shape[0]
    data = [dict(type="heatmap", z=x28, x=np.arange(x28.shape[1]), y=np.arange(1, steps + 1), colorscale=DIGIT,
                 zmin=0, zmax=1, showscale=False,
                 hovertemplate=t("recurrent.fig.hover_upright", lang) + "<extra></extra>")]
    layout = dict(shapes=[dict(type="rect", x0=-0.5, x1=x28.shape[1] - 0.5, y0=step - 0.5, y1=step + 0.5,
                               line=dict(color=ACCENT, width=3))],
                  yaxis=dict(autorange="reversed", tickmode="array", title=dict(text=t("recurrent.fig.row", lang)),
                             tickvals=sorted({v for v in (1, steps // 2, steps) if abs(v - step) >= 3} | {step})),
                  xaxis=dict(visible=False, scaleanchor="y", constrain="domain"))
    return figure(data, layout, projector, 280)


# ---- the equations with one unit's numbers ------------------------------------------------------

def _num(v: float) -> str:
    """A factor in an equation: negative numbers in parentheses, so "0.5 \\times (-0.2)" reads right."""
    return f"({v:.3f})" if v < 0 else f"{v:.3f}"


def _fn(name: str) -> str:
    return {"sigmoid": r"\sigma", "tanh": r"\tanh"}.get(name, rf"\operatorname{{{name}}}")


def equations(gates: LayerGates, step: int, unit: int) -> list[str]:
    """The course's equations for row `step` (1-based) and unit `unit`, as LaTeX lines filled with
    the layer's real numbers, each ending in the value the trace holds (rounded to 3 places)."""
    k = step - 1
    g = {name: float(v[k, unit]) for name, v in gates.gates.items()}
    pre = {name: float(v[k, unit]) for name, v in gates.preactivations.items()}
    sig, act = _fn(gates.recurrent_activation), _fn(gates.activation)
    if gates.cell == "lstm":
        c_prev = float(gates.previous("cell")[k, unit])
        lines = [rf"{sym}_t = {f}(W_{s} x_t + U_{s} h_{{t-1}} + b_{s}) = {f}({pre[name]:.3f}) = {g[name]:.3f}"
                 for name, sym, s, f in (("forget", "f", "f", sig), ("input", "i", "i", sig),
                                         ("candidate", r"\tilde{C}", "C", act), ("output", "o", "o", sig))]
        lines += [_aligned(r"c_t = f_t \, c_{t-1} + i_t \, \tilde{C}_t",
                           rf"{_num(g['forget'])} \times {_num(c_prev)}"
                           rf" + {_num(g['input'])} \times {_num(g['candidate'])}",
                           rf"{_num(g['forget'] * c_prev)} + {_num(g['input'] * g['candidate'])} = {g['cell']:.3f}"),
                  rf"h_t = o_t \, {act}(c_t) = {_num(g['output'])} \times {act}({g['cell']:.3f}) = {g['hidden']:.3f}"]
        return lines
    h_prev = float(gates.previous("hidden")[k, unit])
    return [
        rf"z_t = {sig}(W_z x_t + U_z h_{{t-1}} + b_z) = {sig}({pre['update']:.3f}) = {g['update']:.3f}",
        rf"r_t = {sig}(W_r x_t + U_r h_{{t-1}} + b_r) = {sig}({pre['reset']:.3f}) = {g['reset']:.3f}",
        _aligned(rf"\tilde{{h}}_t = {act}\big(W_h x_t + b_h + r_t \, (U_h h_{{t-1}} + b'_h)\big)",
                 rf"{act}({pre['candidate_x']:.3f} + {_num(g['reset'])} \times {_num(pre['candidate_h'])})"
                 rf" = {g['candidate']:.3f}"),
        _aligned(r"h_t = z_t \, h_{t-1} + (1 - z_t) \, \tilde{h}_t",
                 rf"{_num(g['update'])} \times {_num(h_prev)} + {1 - g['update']:.3f} \times {_num(g['candidate'])}",
                 rf"{_num(g['update'] * h_prev)} + {_num((1 - g['update']) * g['candidate'])} = {g['hidden']:.3f}"),
    ]


def _aligned(symbols: str, *numbers: str) -> str:
    """An equation too wide for one line: the symbols, then each "= step" aligned under them."""
    left, right = symbols.split("=", 1)
    steps = "".join(rf" \\ &= {step}" for step in numbers)
    return rf"\begin{{aligned}} {left} &= {right}{steps} \end{{aligned}}"


def parameter_equation(count: ParameterCount) -> str:
    """The course's parameter formula with this layer's D and U, as LaTeX."""
    d, u = count.input_dim, count.units
    if count.cell == "lstm":
        return rf"4 \times \big({u} \times ({d} + {u}) + {u}\big) = {count.formula}"
    return rf"3 \times \big({u} \times ({d} + {u}) + 2 \times {u}\big) = {count.formula}"
