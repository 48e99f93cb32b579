"""Figures of the recurrent page. Time runs left to right: timestep t is image row t (1..28, top to
bottom), and every chart starts with the digit turned a quarter turn to the left, so that image row t
stands right above timestep t. All charts share the same fixed side margins, so stacked full-width
they line up column for column."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explain.figures.theme import CATEGORICAL, DIGIT, DIVERGING, TEN_CLASSES, sequential, style
from explain.i18n import t
from explain.recurrent import GRU_GATES, LSTM_GATES, MEMORY, LayerGates, ParameterCount

ACCENT = CATEGORICAL[3]        # vermillion: the chosen timestep and unit, wherever they appear
STRIP_PX, GATE_PX, GAP_PX = 120, 105, 36
SIGNED = {"candidate", "cell", "hidden"}    # values in (-1, 1) or unbounded: diverging scale around 0


def _margins(projector: bool) -> dict:
    """Fixed, not automatic, so that every chart's plotting area spans the same pixels."""
    return dict(l=70, r=150, t=110, b=80) if projector else dict(l=50, r=120, t=80, b=60)


def _time_figure(x28: np.ndarray, panels: list[tuple[str, int]], lang: str, title: str) -> go.Figure:
    """The digit strip on top, then one panel per (title, height in px), all on one time axis."""
    heights = [STRIP_PX] + [px for _, px in panels]
    total = sum(heights) + GAP_PX * len(panels)
    fig = make_subplots(rows=len(heights), cols=1, shared_xaxes=True, row_heights=heights,
                        vertical_spacing=GAP_PX / total,
                        subplot_titles=[t("recurrent.fig.digit", lang)] + [name for name, _ in panels])
    steps = x28.shape[0]
    rows = np.arange(1, steps + 1)
    # z[j, t] = pixel (row t, column j) with the y axis pointing up: the image turned a quarter left.
    fig.add_trace(go.Heatmap(z=x28.T, x=rows, y=np.arange(x28.shape[1]), colorscale=DIGIT, zmin=0, zmax=1,
                             showscale=False, hovertemplate=t("recurrent.fig.hover_digit", lang) + "<extra></extra>"),
                  row=1, col=1)
    fig.update_yaxes(visible=False, row=1, col=1)
    fig.update_xaxes(range=[0.5, steps + 0.5])
    fig.update_xaxes(title_text=t("recurrent.fig.rows", lang), row=len(heights), col=1)
    fig.update_annotations(x=0, xanchor="left")    # subplot titles flush left, above their panel
    fig.update_layout(title=title, height=total + 140)
    return fig


def _finish(fig: go.Figure, projector: bool, step: int | None) -> go.Figure:
    """Theme, the fixed margins that keep every chart's columns aligned, and the chosen row marked."""
    height = fig.layout.height
    style(fig, projector, height=height)
    fig.update_layout(margin=dict(**_margins(projector), autoexpand=False))
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=3 if projector else 1)
    if step is not None:
        fig.add_shape(type="rect", x0=step - 0.5, x1=step + 0.5, y0=0, y1=1, xref="x", yref="paper",
                      line=dict(color=ACCENT, width=3 if projector else 2), fillcolor="rgba(0,0,0,0)")
    return fig


def _colorbar(fig: go.Figure, row: int, projector: bool) -> dict:
    """A colour bar beside subplot `row`, as tall as that subplot."""
    domain = fig.layout[f"yaxis{row if row > 1 else ''}"].domain
    return dict(colorbar=dict(x=1.01, xanchor="left", y=sum(domain) / 2, len=domain[1] - domain[0],
                              thickness=14 if projector else 10, outlinewidth=0))


def gate_name(cell: str, gate: str, lang: str) -> str:
    """The gate's name in `lang` with its symbol, e.g. "forget gate f<sub>t</sub>"."""
    return t(f"recurrent.gate.{cell}.{gate}", lang)


def gate_heatmaps(gates: LayerGates, x28: np.ndarray, lang: str, projector: bool = False,
                  step: int | None = None, unit: int | None = None) -> go.Figure:
    """One heatmap per gate, units (y) by timesteps (x), under the turned digit.

    Gates that are fractions (sigmoid, 0 = closed, 1 = open) share a sequential 0..1 scale; candidate
    and hidden state share a diverging -1..1 scale; the cell state, unbounded, gets its own symmetric
    scale. `step` (1-based) and `unit` outline the chosen cell in every panel.
    """
    names = LSTM_GATES if gates.cell == "lstm" else GRU_GATES
    fig = _time_figure(x28, [(gate_name(gates.cell, g, lang), GATE_PX) for g in names], lang,
                       t("recurrent.fig.gates_title", lang, layer=gates.layer_name))
    steps = gates.gates["hidden"].shape[0]
    cell_max = float(np.abs(gates.gates["cell"]).max()) if "cell" in gates.gates else 1.0
    scales = {"gate": dict(colorscale=sequential(projector), cmin=0, cmax=1),
              "signed": dict(colorscale=DIVERGING, cmin=-1, cmax=1),
              "cell": dict(colorscale=DIVERGING, cmin=-cell_max, cmax=cell_max)}
    axis_of = {"cell": "coloraxis3"} | {g: "coloraxis2" for g in SIGNED - {"cell"}}
    placed = set()
    for row, gate in enumerate(names, start=2):
        axis = axis_of.get(gate, "coloraxis")
        fig.add_trace(go.Heatmap(z=gates.gates[gate].T, x=np.arange(1, steps + 1), coloraxis=axis,
                                 hovertemplate=t("recurrent.fig.hover_gate", lang) + "<extra></extra>"),
                      row=row, col=1)
        fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=[0, gates.units - 1], row=row, col=1)
        if axis not in placed:
            placed.add(axis)
            kind = {"coloraxis": "gate", "coloraxis2": "signed", "coloraxis3": "cell"}[axis]
            fig.update_layout({axis: scales[kind] | _colorbar(fig, row, projector)})
        if step is not None and unit is not None:
            fig.add_shape(type="rect", x0=step - 0.5, x1=step + 0.5, y0=unit - 0.5, y1=unit + 0.5,
                          xref=f"x{row}", yref=f"y{row}", line=dict(color=ACCENT, width=2))
    return _finish(fig, projector, step)


def answer_over_time(probs: np.ndarray, x28: np.ndarray, model: str, lang: str, projector: bool = False,
                     step: int | None = None) -> go.Figure:
    """Ten probability curves over the rows, `probs` (timesteps, 10); only the last row is the
    model's real answer, the earlier ones are what it would answer if the digit ended there."""
    steps = probs.shape[0]
    rows = np.arange(1, steps + 1)
    fig = _time_figure(x28, [(t("recurrent.fig.answer_panel", lang), 300)], lang,
                       t("recurrent.fig.answer_title", lang, model=model))
    fig.add_shape(type="rect", x0=steps - 0.5, x1=steps + 0.5, y0=0, y1=1, xref="x2", yref="y2 domain",
                  fillcolor=CATEGORICAL[2], opacity=0.25, line_width=0, layer="below")
    answer = int(probs[-1].argmax())
    for digit in range(probs.shape[1]):
        relevant = probs[:, digit].max() >= 0.2
        fig.add_trace(go.Scatter(x=rows, y=probs[:, digit], name=str(digit), mode="lines",
                                 line=dict(color=TEN_CLASSES[digit], width=3 if digit == answer else 2),
                                 opacity=1.0 if relevant else 0.3,
                                 hovertemplate=t("recurrent.fig.hover_answer", lang) + "<extra></extra>"),
                      row=2, col=1)
    fig.add_trace(go.Scatter(x=[steps], y=[probs[-1, answer]], mode="markers", showlegend=False,
                             marker=dict(color=TEN_CLASSES[answer], size=12, symbol="star"), hoverinfo="skip"),
                  row=2, col=1)
    fig.add_annotation(x=steps, y=probs[-1, answer], xref="x2", yref="y2", ax=-40, ay=30 if probs[-1, answer] > 0.5 else -30,
                       xanchor="right", text=t("recurrent.fig.exact", lang, digit=answer, p=100 * probs[-1, answer]),
                       bgcolor="rgba(255,255,255,0.9)", arrowcolor="#444444")
    fig.update_yaxes(range=[-0.02, 1.05], tickformat=".0%", tickvals=[0, 0.5, 1], row=2, col=1)
    fig.update_layout(legend=dict(x=1.01, xanchor="left", y=0, yanchor="bottom",
                                  title=dict(text=t("recurrent.fig.legend_digit", lang))))
    return _finish(fig, projector, step)


def memory_changes(trace: list[LayerGates], x28: np.ndarray, changes: list[np.ndarray], lang: str,
                   projector: bool = False, step: int | None = None) -> go.Figure:
    """Bars per row of how much each layer's memory moved, `changes` one (timesteps,) array per layer
    (see `explain.recurrent.memory_change`)."""
    cell = trace[0].cell
    fig = _time_figure(x28, [(t(f"recurrent.fig.memory_panel.{MEMORY[cell]}", lang), 220)], lang,
                       t("recurrent.fig.memory_title", lang))
    for k, (gates, change) in enumerate(zip(trace, changes)):
        fig.add_trace(go.Bar(x=np.arange(1, len(change) + 1), y=change, name=gates.layer_name,
                             marker_color=CATEGORICAL[k],
                             hovertemplate=t("recurrent.fig.hover_memory", lang) + "<extra></extra>"),
                      row=2, col=1)
    fig.update_layout(barmode="group", bargap=0.2,
                      legend=dict(x=1.01, xanchor="left", y=0, yanchor="bottom"))
    return _finish(fig, projector, step)


def digit_rows(x28: np.ndarray, step: int, lang: str, projector: bool = False) -> go.Figure:
    """The digit upright with its rows numbered 1..28 and row `step` outlined: the row being read."""
    fig = go.Figure(go.Heatmap(z=x28, x=np.arange(x28.shape[1]), y=np.arange(1, x28.shape[0] + 1),
                               colorscale=DIGIT, zmin=0, zmax=1, showscale=False,
                               hovertemplate=t("recurrent.fig.hover_upright", lang) + "<extra></extra>"))
    fig.add_shape(type="rect", x0=-0.5, x1=x28.shape[1] - 0.5, y0=step - 0.5, y1=step + 0.5,
                  line=dict(color=ACCENT, width=3))
    steps = x28.shape[0]
    fig.update_yaxes(autorange="reversed", tickmode="array", title_text=t("recurrent.fig.row", lang),
                     tickvals=[1, step, steps] if projector else [1, 7, 14, 21, step, steps])
    fig.update_xaxes(visible=False, scaleanchor="y", constrain="domain")
    return style(fig, projector, height=280)


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
                           rf"{_num(g['forget'])} \times {_num(c_prev)} + {_num(g['input'])} \times {_num(g['candidate'])}",
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
