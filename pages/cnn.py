"""The CNN page: LeNet-5 on the current digit. Every feature map before and after ReLU with its
kernels, each layer's size and parameter count, the arithmetic of any one convolution value, any
pooling window, and the softmax, all from one compiled trace of the digit."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explain import conv
from explain.activations import softmax
from explain.figures.cnn import (conv_locator_figure, conv_numbers_figure, feature_grid, kernel_grid, pool_figure,
                                 softmax_figure)
from pages.shared import current_digit, digit_description, lang, model_or_error, projector, show_chart, t

KINDS = {"Reshape": "reshape", "Conv2D": "conv", "Activation": "relu", "MaxPooling2D": "pool",
         "Flatten": "flatten", "Dense": "dense"}


def _num(x: float, digits: int = 4) -> str:
    """A signed number for a LaTeX sum: negative values in parentheses."""
    return f"({x:.{digits}f})" if x < 0 else f"{x:.{digits}f}"


def _sci(x: float) -> str:
    """A positive number in LaTeX, as 3.478 \\times 10^{6} when it is very large or small."""
    if 1e-3 <= x < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.4e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def shapes_ui(model) -> None:
    rows = []
    for info in conv.layer_table(model):
        formula = "" if info.w is None else \
            f"({info.w} − {info.f} + 2·{info.p}) / {info.s} + 1 = {info.size}"
        rows.append({t("cnn.shapes.layer"): info.name,
                     t("cnn.shapes.kind"): t(f"cnn.kind.{KINDS.get(info.kind, 'reshape')}"),
                     t("cnn.shapes.shape"): " × ".join(map(str, info.shape)),
                     t("cnn.shapes.formula"): formula,
                     t("cnn.shapes.params"): f"{info.params:,}",
                     t("cnn.shapes.param_formula"): info.param_formula or ""})
    st.table(rows)
    total = sum(info.params for info in conv.layer_table(model))
    st.markdown(t("cnn.shapes.total", total=f"{total:,}", keras=f"{model.count_params():,}"))


def feature_maps_ui(model, tr: conv.Trace) -> None:
    p = projector()
    tab1, tab2 = st.tabs([t("cnn.maps.tab", layer="conv1", relu="relu1", n=6, size=28),
                          t("cnn.maps.tab", layer="conv2", relu="relu2", n=16, size=10)])
    with tab1:
        kernels = model.get_layer("conv1").get_weights()[0]
        # Projector mode: the maps take the width, the kernels go below them in one row.
        if p:
            before, after = st.columns(2)
            below = st.container()
        else:
            below, before, after = st.columns([0.3, 0.35, 0.35])
        with below:
            show_chart(kernel_grid(kernels, 6 if p else 3, lang(), p, 200 if p else 250), "conv1-kernels")
        before_after_ui(tr, "conv1", "relu1", before, after, columns=3, height=250)
    with tab2:
        before, after = st.columns(2)
        before_after_ui(tr, "conv2", "relu2", before, after, columns=4, height=340)
        show_chart(kernel_grid(model.get_layer("conv2").get_weights()[0], 16, lang(), p, 300), "conv2-kernels")
    st.caption(t("cnn.maps.caption"))


def before_after_ui(tr: conv.Trace, layer: str, relu: str, before, after, columns: int, height: int) -> None:
    """A conv layer's maps before ReLU (diverging, centred on 0) and after it (sequential), side by side."""
    for column, name, signed, key in ((before, layer, True, "cnn.maps.before"), (after, relu, False, "cnn.maps.after")):
        with column:
            show_chart(feature_grid(tr.maps[name], t(key, layer=name), signed, columns, lang(), projector(), height),
                       f"{name}-maps")


def arithmetic_ui(model, tr: conv.Trace) -> None:
    layer = st.radio(t("cnn.arith.layer"), conv.CONVS, horizontal=True, key="cnn_arith_layer")
    h, w, channels = tr.maps[layer].shape
    c_in = tr.maps[conv.INPUT_OF[layer]].shape[-1]
    cols = st.columns(4 if c_in > 1 else 3)
    channel = cols[0].slider(t("cnn.arith.channel"), 0, channels - 1, 0, key=f"cnn_arith_ch_{layer}")
    # Start at the channel's strongest response, where the products are not all zero.
    best = np.unravel_index(int(np.argmax(np.abs(tr.maps[layer][:, :, channel]))), (h, w))
    row = cols[1].slider(t("cnn.arith.row"), 0, h - 1, int(best[0]), key=f"cnn_arith_row_{layer}")
    col = cols[2].slider(t("cnn.arith.col"), 0, w - 1, int(best[1]), key=f"cnn_arith_col_{layer}")
    shown = cols[3].slider(t("cnn.arith.in_channel"), 0, c_in - 1, 0, key="cnn_arith_in") if c_in > 1 else 0
    step = conv.conv_step(model, tr, layer, channel, row, col)
    input_map = tr.maps[conv.INPUT_OF[layer]][:, :, shown]
    # Side by side on a laptop; stacked in projector mode, where the printed numbers need the width.
    where, numbers = st.columns([0.3, 0.7]) if not projector() else (st.container(), st.container())
    with where:
        show_chart(conv_locator_figure(step, input_map, tr.maps[layer][:, :, channel], lang(), projector()),
                   f"{layer}-position")
    with numbers:
        show_chart(conv_numbers_figure(step, input_map, shown, lang(), projector()), f"{layer}-arithmetic")
    if c_in == 1:
        st.latex(rf"z = \sum_{{i=0}}^{{4}}\sum_{{j=0}}^{{4}} x_{{{step.top}+i,\;{step.left}+j}}\, w_{{ij}} + b"
                 rf" = {step.channel_sums[0]:.4f} + {_num(step.bias)} = {step.total:.4f}")
    else:
        st.markdown(t("cnn.arith.sum_channels", n=c_in, shown=shown))
        # One term per input channel, labelled, three to a line so the sum fits a projector's width.
        terms = [r"\underbrace{%s}_{k=%d}" % (_num(v), k) for k, v in enumerate(step.channel_sums)]
        body = r" \\ &\quad + ".join(" + ".join(terms[i:i + 3]) for i in range(0, len(terms), 3))
        st.latex(r"\begin{aligned} z &= \sum_{k=0}^{%d}\sum_{i,j} x^{(k)}_{%d+i,\;%d+j}\, w^{(k)}_{ij} + b \\"
                 r" &= %s \\ &\quad + \underbrace{%s}_{b} = %.4f \end{aligned}"
                 % (c_in - 1, step.top, step.left, body, _num(step.bias), step.total))
    st.latex(rf"\mathrm{{ReLU}}(z) = \max(0,\ {step.total:.4f}) = {step.relu:.4f}")
    st.success(t("cnn.arith.check", layer=layer, row=row, col=col, channel=channel, value=step.map_value,
                 diff=abs(step.total - step.map_value)))


def pooling_ui(model, tr: conv.Trace) -> None:
    layer = st.radio(t("cnn.pool.layer"), conv.POOLS, horizontal=True, key="cnn_pool_layer")
    h, w, channels = tr.maps[layer].shape
    cols = st.columns(3)
    channel = cols[0].slider(t("cnn.arith.channel"), 0, channels - 1, 0, key=f"cnn_pool_ch_{layer}")
    before = tr.maps[conv.INPUT_OF[layer]][:, :, channel]
    # Default to the window holding the channel's strongest response: the one worth looking at.
    best = np.unravel_index(int(np.argmax(tr.maps[layer][:, :, channel])), (h, w))
    row = cols[1].slider(t("cnn.pool.row"), 0, h - 1, int(best[0]), key=f"cnn_pool_row_{layer}")
    col = cols[2].slider(t("cnn.pool.col"), 0, w - 1, int(best[1]), key=f"cnn_pool_col_{layer}")
    window = conv.pool_window(model, tr, layer, channel, row, col)
    show_chart(pool_figure(before, tr.maps[layer][:, :, channel], window, lang(), projector()), f"{layer}-window")
    values = ", ".join(f"{v:.4f}" for v in window.window.ravel())
    st.latex(rf"\max({values}) = {window.value:.4f}")
    st.caption(t("cnn.pool.caption", source=conv.INPUT_OF[layer], layer=layer, row=row, col=col, channel=channel,
                 top=window.top, top_end=window.top + 1, left=window.left, left_end=window.left + 1))


def softmax_ui(tr: conv.Trace) -> None:
    chart, table = st.columns([0.58, 0.42])
    with chart:
        show_chart(softmax_figure(tr.logits, tr.probabilities, lang(), projector()), "softmax")
    best = int(np.argmax(tr.probabilities))
    exps = np.exp(tr.logits.astype(np.float64))
    with table:
        st.table([{t("cnn.softmax.digit"): str(m), "z": f"{z:.3f}", "e^z": f"{e:.4g}",
                   "g(z)": f"{g:.4%}" if g >= 1e-4 else f"{g:.2e}"}
                  for m, (z, e, g) in enumerate(zip(tr.logits, exps, tr.probabilities))])
    total = exps.sum()
    st.latex(rf"g(z_{{{best}}}) = \frac{{e^{{z_{{{best}}}}}}}{{\sum_{{k=0}}^{{9}} e^{{z_k}}}}"
             rf" = \frac{{e^{{{tr.logits[best]:.3f}}}}}{{{_sci(total)}}} = \frac{{{_sci(exps[best])}}}{{{_sci(total)}}}"
             rf" = {softmax(tr.logits.astype(np.float64))[best]:.6f}")
    st.caption(t("cnn.softmax.caption"))


def weights_concept_ui(model) -> None:
    table = {info.name: info for info in conv.layer_table(model)}
    with st.expander(t("cnn.concept.weights.title")):
        dense1, dense2 = conv.dense_equivalent(model, "conv1"), conv.dense_equivalent(model, "conv2")
        st.markdown(t("cnn.concept.weights.body", conv1=table["conv1"].params, dense1=f"{dense1:,}",
                      ratio1=f"{dense1 / table['conv1'].params:,.0f}", conv2=f"{table['conv2'].params:,}",
                      dense2=f"{dense2:,}", total=f"{model.count_params():,}", fc1=f"{table['fc1'].params:,}",
                      share=table["fc1"].params / model.count_params()))


def sharing_concept_ui() -> None:
    with st.expander(t("cnn.concept.sharing.title")):
        st.markdown(t("cnn.concept.sharing.body"))


def pooling_concept_ui(tr: conv.Trace) -> None:
    with st.expander(t("cnn.concept.pooling.title")):
        n1, n2 = tr.maps["relu1"].size, tr.maps["pool1"].size
        st.markdown(t("cnn.concept.pooling.body", before=f"{n1:,}", after=f"{n2:,}",
                      before2=f"{tr.maps['relu2'].size:,}", after2=f"{tr.maps['pool2'].size:,}"))


st.title(t("cnn.title"))
model = model_or_error("cnn")
if model is not None:
    digit = current_digit()
    tr = conv.trace(model, digit.x28)
    best = int(np.argmax(tr.probabilities))
    st.caption(t("cnn.showing", description=digit_description(digit), digit=best, p=float(tr.probabilities[best])))
    st.subheader(t("cnn.maps.header"))
    feature_maps_ui(model, tr)
    st.subheader(t("cnn.shapes.header"))
    shapes_ui(model)
    weights_concept_ui(model)
    st.subheader(t("cnn.arith.header"))
    arithmetic_ui(model, tr)
    sharing_concept_ui()
    st.subheader(t("cnn.pool.header"))
    pooling_ui(model, tr)
    pooling_concept_ui(tr)
    st.subheader(t("cnn.softmax.header"))
    softmax_ui(tr)
