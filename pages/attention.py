"""Attention: which rows of the current digit each row attends to, head by head; scaled dot-product
attention for one query row with the layer's real numbers; what the encoder block's residual
connections add and what its layer normalisation does; attention next to the LSTM's row-by-row
reading; the position table and why it is needed.

Each control reruns only the views it changes (`st.fragment`): the head and the query row the four
sections above the position table, the layer-norm picker its section, the row order its own. The
charts that show the query row follow its slider in the browser (`widgets.scrub`): each holds its
picture for all 28 rows, built once per model, digit, head, language and mode (`pages.rows`: the run
that first needs them shows its own row, the rest reach the tab 1-2 s later by a rerun of the
section's fragment), and the server's rerun brings the text and formulas after them."""
import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import functools
from collections.abc import Callable, Sequence

import keras
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explain import attention
from explain.activations import softmax
from explain.architectures import sinusoidal_table
from explain.figures import attention as figures
from pages.rows import RowCharts
from pages.shared import current_digit, digit_description, lang, model_or_error, projector, show_chart, t
from pages.style import secondary
from widgets.chart import Scrub
from widgets.scrub import scrub_slider

ROW = "attention_row"           # the query-row slider's key: the charts that follow it in the browser name it
PICTURES = "attention_pictures"  # session state: each row-following chart's pictures (`along_rows`)
PE_DIMS = (0, 1, 10, 30)        # columns of the position table drawn as curves, fast to slow
NORMS = ("norm1", "norm2")


def concept(name: str, **values) -> None:
    with st.expander(t(f"attention.concept.{name}.title")):
        st.markdown(t(f"attention.concept.{name}.body", **values))


def pair(ratio: list[int]) -> tuple:
    """Two columns; in projector mode two full-width blocks, one above the other, so large text
    and charts keep their room."""
    return (st.container(), st.container()) if projector() else st.columns(ratio)


def row_list(rows) -> str:
    return t("attention.list_sep").join(str(int(r)) for r in rows)


def controls_ui(heads: int) -> tuple[int, int]:
    head = st.radio(t("attention.head"), range(heads), horizontal=True, key="attention_head",
                    format_func=lambda h: str(h + 1))
    st.session_state.setdefault(ROW, 20)
    row = scrub_slider(t("attention.query_row"), 0, attention.ROWS - 1, key=ROW, help=t("attention.query_row_help"))
    return head, row


Picture = tuple[go.Figure, Sequence[dict]]
ROW_CHARTS = RowCharts(PICTURES)


def along_rows(kind: str, model, digit, depends: tuple, row: int,
               picture: Callable[[int, str, bool], Picture], click_traces: tuple[int, ...] | None = ()) -> Scrub:
    """The chart `kind`'s pictures (figure, shapes) = `picture(r, language, projector mode)` for every
    query row r, `row` the server's, that the chart holds to follow the row slider in the browser,
    kept while the model, the digit, `depends`, language and mode stay the same (`pages.rows`: the
    server's row at once, the others after the run). A click on one of `click_traces` (None: any;
    the default none) takes the slider to the point's row (its y)."""
    language, mode = lang(), projector()
    shown = (id(model), digit.x28.tobytes(), *depends, language, mode)
    pictures = ROW_CHARTS.along(kind, shown, range(attention.ROWS), row, lambda r: picture(r, language, mode))
    click = dict(click="y", click_traces=click_traces) if click_traces != () else {}
    return Scrub(ROW, row, pictures, **click)


def head_picker(heads: int) -> Callable[[dict], None]:
    """A click on the head grid (its query row moves the row slider in the browser) also picks the head
    whose tile it hit (`figures.head_tile`); the mean's tile leaves the head as it is."""
    def pick(point: dict) -> None:
        tile = figures.head_tile(point.get("x"))
        if tile is not None and tile < heads:
            st.session_state["attention_head"] = tile
    return pick


def focus_section(model, digit, tr: attention.AttentionTrace) -> tuple[int, int]:
    st.subheader(t("attention.focus.header"))
    left, right = st.columns([5, 3])
    with right:
        head, row = controls_ui(tr.scores.shape[0])
        weights = tr.scores[head, row]
        rows = attention.strongest_rows(weights)
        st.markdown(t("attention.focus.summary", head=head + 1, row=row, rows=row_list(rows),
                      share=100 * float(weights[rows].sum())))
        st.markdown(t("attention.prediction", digit=int(tr.probs.argmax()), prob=100 * float(tr.probs.max())))
        with secondary("attention_how"):
            st.caption(t("attention.focus.how", description=digit_description(digit)))
    with left:
        show_chart(along_rows("focus", model, digit, (head,), row, lambda r, language, mode: (
            figures.row_focus(digit.x28, tr.scores[head], r, head, language, mode), ()), click_traces=(0,)),
            "attention-row")   # a click on the digit's row queries from it
    # One grid figure for every row, under the row's outlines.
    grid = functools.cache(lambda language, mode: figures.head_grid(tr.scores, None, head, language, mode))
    show_chart(along_rows("heads", model, digit, (head,), row, lambda r, language, mode: (
        grid(language, mode), figures.grid_outlines(r, tr.scores.shape[0])), click_traces=None), "attention-heads",
        on_click=head_picker(tr.scores.shape[0]))
    top, share, distance = attention.head_profile(tr.scores)
    heads = "\n".join(t("attention.concept.multihead.head", n=h + 1, top=int(top[h]), share=float(share[h]),
                         distance=float(distance[h])) for h in range(len(top)))
    mha = model.get_layer("mha")
    concept("multihead", params=f"{mha.count_params():,}", heads=heads, depth=tr.tokens.shape[1],
            dk=mha.key_dim)
    return head, row


def worked_section(model, digit, tr: attention.AttentionTrace, head: int, row: int) -> None:
    ex = attention.worked_example(model, tr.tokens, head, row)
    st.subheader(t("attention.worked.header", head=head + 1, row=row))
    st.latex(r"\mathrm{Attention}(Q,K,V)=\mathrm{softmax}\!\left(\frac{QK^{\top}}{\sqrt{d_k}}\right)V,"
             rf"\quad d_k={ex.d_k},\ \sqrt{{d_k}}={np.sqrt(ex.d_k):g}")
    st.markdown(t("attention.worked.intro", head=head + 1, row=row, d=tr.tokens.shape[1], dk=ex.d_k))
    j = int(np.argmax(ex.weights))
    st.latex(rf"\begin{{gathered}}q\cdot k_{{{j}}}={ex.dots[j]:.3f},\quad "
             rf"s_{{{j}}}=\frac{{{ex.dots[j]:.3f}}}{{{np.sqrt(ex.d_k):g}}}={ex.scaled[j]:.3f}\\"
             rf"w_{{{j}}}=\frac{{e^{{s_{{{j}}}}}}}{{\sum_{{j'=0}}^{{27}} e^{{s_{{j'}}}}}}={ex.weights[j]:.4f}"
             r"\end{gathered}")
    # Every query row's example, in each row's picture (its scales, the hover's numbers): made once, by the first.
    examples = functools.cache(lambda: attention.worked_examples(model, tr.tokens, head))
    show_chart(along_rows("worked", model, digit, (head,), row, lambda r, language, mode: (
        figures.worked_figure(examples(), r, language, mode), ())), "attention-worked")
    st.markdown(t("attention.worked.check", total=float(ex.weights.sum()), head=head + 1, row=row,
                  diff=float(np.abs(ex.weights - tr.scores[head, row]).max())))
    with secondary("attention_numbers"), st.expander(t("attention.worked.table")):
        st.dataframe({t("attention.col.key_row"): np.arange(28), "q·k_j": ex.dots,
                      f"q·k_j / √{ex.d_k}": ex.scaled, "w_j": ex.weights},
                     hide_index=True, height=300,
                     column_config={"w_j": st.column_config.ProgressColumn("w_j", format="%.4f",
                                                                           min_value=0.0, max_value=1.0)})
        st.dataframe({"": ["q", "Σ w_j v_j"],
                      **{str(k): [ex.q[k], ex.output[k]] for k in range(ex.d_k)}},
                     hide_index=True, column_config={str(k): st.column_config.NumberColumn(format="%.3f")
                                                     for k in range(ex.d_k)})
    dots_std, scaled_std = float(ex.dots.std()), float(ex.scaled.std())
    concept("formula", dk=ex.d_k, d=tr.tokens.shape[1])
    concept("scaling", dk=ex.d_k, root=f"{np.sqrt(ex.d_k):g}", dots_std=dots_std, scaled_std=scaled_std,
            peak=float(ex.weights.max()), peak_unscaled=float(softmax(ex.dots).max()))


@st.fragment
def block_section(model, digit, row: int) -> None:
    st.subheader(t("attention.block.header"))
    block = attention.encoder_trace(model, digit.x28)
    depth = block.tokens.shape[1]
    block_formulas = [r"h=\mathrm{LayerNorm}\big(x+\mathrm{MHA}(x)\big),\qquad "
                      r"\mathrm{out}=\mathrm{LayerNorm}\big(h+\mathrm{FFN}(h)\big)",
                      r"\mathrm{FFN}(h)=\max(0,\,hW_1+b_1)\,W_2+b_2"]
    norm_formulas = [r"\mu=\frac{1}{d}\sum_{i=1}^{d}x_i,\quad \sigma^2=\frac{1}{d}\sum_{i=1}^{d}(x_i-\mu)^2",
                     rf"\mathrm{{LayerNorm}}(x)_i=\gamma_i\,\frac{{x_i-\mu}}{{\sqrt{{\sigma^2+\varepsilon}}}}+\beta_i,"
                     rf"\quad d={depth}"]
    # One formula a line: two on one line were cut off at 1280 px beside the sidebar.
    st.latex(r"\begin{gathered}" + r"\\".join(block_formulas + norm_formulas) + r"\end{gathered}")
    st.markdown(t("attention.block.intro", depth=depth))
    norms = attention.row_norms(block)
    show_chart(along_rows("residual", model, digit, (), row,
                          lambda r, language, mode: (figures.residual_figure(norms, r, language, mode), ())),
               "attention-residual")
    at = {name: float(values[row]) for name, values in norms.items()}
    st.markdown(t("attention.block.adds", row=row, x=at["tokens"], mha=at["attended"], r1=at["residual1"],
                  mha_share=100 * at["attended"] / at["tokens"], n1=at["norm1"], ffn=at["ffn"],
                  ffn_share=100 * at["ffn"] / at["norm1"], r2=at["residual2"], n2=at["norm2"]))
    layer = st.radio(t("attention.block.which"), NORMS, horizontal=True, key="attention_norm")
    entering = block.residual1 if layer == "norm1" else block.residual2
    step = attention.layer_norm_step(model, layer, entering[row])
    out = getattr(block, layer)[row]
    # Every row's step, in each row's picture (the panels' ranges, the hover's numbers): made once, by the first.
    steps = functools.cache(lambda: attention.layer_norm_steps(model, layer, entering))
    show_chart(along_rows("layernorm", model, digit, (layer,), row, lambda r, language, mode: (
        figures.layer_norm_figure(steps(), layer, r, language, mode), ())), "attention-layernorm")
    st.markdown(t("attention.block.ln", layer=layer, row=row, depth=depth, mean=step.mean, var=step.variance,
                  eps=step.eps, nmean=float(step.normalised.mean()), nvar=float(step.normalised.var()),
                  amean=float(out.mean()), avar=float(out.var()), diff=float(np.abs(step.after - out).max())))
    concept("block", depth=depth, params=2 * depth, hidden=model.get_layer("ffn1").units)
    ROW_CHARTS.hand_over()


@st.cache_data(show_spinner=False)
def position_figure(table: np.ndarray, language: str, projector_mode: bool):
    """The position table never changes: draw it once per language and mode."""
    return figures.positional_figure(table, PE_DIMS, language, projector_mode)


@st.fragment
def position_section(model, digit) -> None:
    st.subheader(t("attention.position.header"))
    table = attention.position_table(model) if model is not None else sinusoidal_table(28, 64)
    show_chart(position_figure(table, lang(), projector()), "attention-position")
    st.markdown(t("attention.position.intro", depth=table.shape[1]))
    if model is None:
        return
    labels = {k: t(f"attention.order.{k}") for k in ("shuffle", "flip")}
    with secondary("attention_order"):
        kind = st.radio(t("attention.order.kind"), tuple(labels), horizontal=True, key="attention_order",
                        format_func=labels.get)
    order = attention.shuffled_order() if kind == "shuffle" else np.arange(28)[::-1]
    test = attention.order_test(model, digit.x28, order)
    left, right = pair([1, 1])
    with left:
        show_chart(figures.order_figure(digit.x28, test, lang(), projector()), "attention-order")
    with right:
        guesses = test.probs.argmax(-1)
        header = [t(f"attention.col.{k}") for k in ("model", "original", "permuted", "gap")]
        lines = [f"| {' | '.join(header)} |", "|---|---:|---:|---:|"]
        for k, name in enumerate(("with", "without")):
            lines.append(f"| {t(f'attention.order.{name}')} | {guesses[k, 0]} | {guesses[k, 1]} | {test.gap[k]:.2g} |")
        st.markdown("\n".join(lines))
        st.markdown(t("attention.order.explain", with_gap=float(test.gap[0]), without_gap=float(test.gap[1])))
    periods = attention.periods(table, PE_DIMS[1:])
    concept("position", depth=table.shape[1], periods=t("attention.list_sep").join(
        t("attention.concept.position.period", dim=d, period=float(p)) for d, p in zip(PE_DIMS[1:], periods)))


def lstm_text() -> str | None:
    """The LSTM's row-by-row reading, its units and steps read from the LSTM model (None, after
    saying what is wrong with its file, when it did not load)."""
    lstm = model_or_error("lstm")
    if lstm is None:
        return None
    layers = [layer for layer in lstm.layers if isinstance(layer, keras.layers.LSTM)]
    steps = lstm.inputs[0].shape[1]
    return t("attention.recurrence.lstm", units=" / ".join(str(u) for u in sorted({x.units for x in layers})),
             layers=t("attention.list_sep").join(x.name for x in layers), steps=steps, last=steps - 1)


def recurrence_section(model, digit, tr: attention.AttentionTrace, head: int, row: int) -> None:
    st.subheader(t("attention.recurrence.header"))
    left, right = pair([3, 2])
    with left:
        show_chart(along_rows("recurrence", model, digit, (head,), row, lambda r, language, mode: (
            figures.recurrence_figure(tr.scores[head, r], r, language, mode), ())), "attention-vs-lstm")
    with right:
        text = lstm_text()
        if text is not None:
            st.markdown(text)
        st.markdown(t("attention.recurrence.attention", row=row, heads=tr.scores.shape[0],
                      scores=tr.scores.size))
    concept("recurrence", heads=tr.scores.shape[0])


@st.fragment
def explained_ui(model, digit) -> None:
    """The views the head and query-row controls change: a moved control reruns only these."""
    tr = attention.trace(model, digit.x28)
    head, row = focus_section(model, digit, tr)
    worked_section(model, digit, tr, head, row)
    block_section(model, digit, row)
    recurrence_section(model, digit, tr, head, row)
    ROW_CHARTS.hand_over()


st.title(t("attention.title"))
model = model_or_error("attention")
digit = current_digit()
if model is not None:
    st.caption(t("attention.intro", depth=model.get_layer("embed").units, heads=model.get_layer("mha").num_heads,
                 dk=model.get_layer("mha").key_dim))
    explained_ui(model, digit)
position_section(model, digit)
