"""The CNN page: a convolutional network on the current digit, the course's LeNet-5 or the session's
own model. Every feature map before and after its activation with its kernels, each layer's size and
parameter count, the arithmetic of any one convolution value, any pooling window, and the softmax,
all from one compiled trace of the digit; every size and count in the text is read from the model."""
from __future__ import annotations

import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import functools
from collections.abc import Callable

import numpy as np
import streamlit as st

from explain import conv
from explain.activations import softmax
from explain.figures.cnn import (conv_locator_figure, conv_numbers_figure, conv_numbers_traces, feature_grid,
                                 kernel_grid, locator_boxes, pool_boxes, pool_figure, pool_traces, softmax_figure)
from pages.rows import RowCharts
from pages.shared import (UPLOADED, built_once, current_digit, digit_description, lang, model_label, model_or_error,
                          models_of, projector, show_chart, t, uploaded_model)
from widgets.chart import Scrub
from widgets.scrub import scrub_slider

KINDS = {"Reshape": "reshape", "Conv2D": "conv", "MaxPooling2D": "pool", "AveragePooling2D": "avgpool",
         "Flatten": "flatten", "Dense": "dense", "Dropout": "dropout", "BatchNormalization": "batchnorm",
         "GlobalAveragePooling2D": "global", "GlobalMaxPooling2D": "global"}
ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "custom": "f"}
ROW_CHARTS = RowCharts("cnn_pictures")  # the arithmetic's and the pooling's charts that follow their Row slider


def _num(x: float, digits: int = 4) -> str:
    """A signed number for a LaTeX sum: negative values in parentheses."""
    return f"({x:.{digits}f})" if x < 0 else f"{x:.{digits}f}"


def _sci(x: float) -> str:
    """A positive number in LaTeX, as 3.478 \\times 10^{6} when it is very large or small."""
    if 1e-3 <= x < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.4e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def _key(model) -> str:
    """Widget keys per model object: two models' layers may share a name but not their sizes."""
    return f"{model.name}{id(model)}"


def _activation(name: str) -> str:
    return ACTIVATION_NAMES.get(name, name)


def _kind(model, info: conv.LayerInfo) -> str:
    if info.kind in ("Activation", "ReLU"):
        return t("cnn.kind.activation", name=_activation(conv.activation_name(model.get_layer(info.name))))
    return t(f"cnn.kind.{KINDS[info.kind]}") if info.kind in KINDS else info.kind


def model_ui():
    """The network to explain: the course's CNN, or the session's own model when it has one that fits."""
    fitting = models_of(conv.fits)
    if uploaded_model() is not None and UPLOADED not in fitting:
        st.info(t("cnn.unfit", model=model_label(UPLOADED)))
    if len(fitting) <= 1:
        return model_or_error("cnn") if "cnn" not in fitting else fitting["cnn"], "cnn"
    # Labels made now, in this run: a format_func reading the session later (AppTest does) would not find it.
    labels = {name: model_label(name) for name in fitting}
    name = st.radio(t("cnn.model"), list(fitting), horizontal=True, key="cnn_model", format_func=labels.get)
    return fitting[name], name


def shapes_ui(model) -> None:
    rows = []
    table = conv.layer_table(model)
    for info in table:
        formula = "" if info.w is None else \
            f"({info.w} − {info.f} + 2·{info.p:g}) / {info.s} + 1 = {info.size}"
        rows.append({t("cnn.shapes.layer"): info.name,
                     t("cnn.shapes.kind"): _kind(model, info),
                     t("cnn.shapes.shape"): " × ".join(map(str, info.shape)),
                     t("cnn.shapes.formula"): formula,
                     t("cnn.shapes.params"): f"{info.params:,}",
                     t("cnn.shapes.param_formula"): info.param_formula or ""})
    st.table(rows)
    total = sum(info.params for info in table)
    st.markdown(t("cnn.shapes.total", total=f"{total:,}", keras=f"{model.count_params():,}"))


@st.fragment
def feature_maps_ui(model, tr: conv.Trace) -> None:
    """A tab for each convolution's maps; only the open tab's charts are built and sent (a third of the
    page's bytes were conv2's hidden charts), and a fragment: opening another tab reruns only this."""
    p = conv.plan(model)
    labels = []
    for layer in p.convs:
        h, w, n = tr.before[layer].shape
        after = p.activated.get(layer)
        labels.append(t("cnn.maps.tab", layer=layer, relu=after, n=n, h=h, w=w) if after not in (None, layer)
                      else t("cnn.maps.tab_plain", layer=layer, n=n, h=h, w=w))
    for layer, tab in zip(p.convs, st.tabs(labels, key=f"cnn_maps_{_key(model)}", on_change="rerun")):
        if tab.open:
            with tab:
                conv_maps_ui(model, tr, layer)
    st.caption(t("cnn.maps.caption"))


def conv_maps_ui(model, tr: conv.Trace, layer: str) -> None:
    """One convolution's maps before and after its activation, and its kernels. A layer reading one
    channel has one kernel per map, tiled like the maps (beside them; below them in projector mode);
    a layer reading several has a grid of input x output channels, below."""
    kernels = model.get_layer(layer).get_weights()[0]
    channels, c_in = kernels.shape[3], kernels.shape[2]
    cols = min(channels, 3 if channels <= 9 else 4)
    if c_in == 1:
        if projector():
            before, after = st.columns(2)
            below = st.container()
        else:
            below, before, after = st.columns([0.3, 0.35, 0.35])
        with below:
            show_chart(kernel_figure(kernels, min(channels, 6) if projector() else cols, lang(), projector(),
                                   200 if projector() else 250), f"{layer}-kernels")
        before_after_ui(model, tr, layer, before, after, cols, 250)
    else:
        before, after = st.columns(2)
        before_after_ui(model, tr, layer, before, after, cols, 340)
        show_chart(kernel_figure(kernels, channels, lang(), projector(), 300), f"{layer}-kernels")


@st.cache_resource(show_spinner=False, max_entries=64)
def kernel_figure(kernels: np.ndarray, cols: int, lang: str, projector: bool, height: int):
    """`kernel_grid`, built once per layer's kernels (f, f, c_in, c_out), layout and language: the
    kernels do not change with the digit (shared, read-only, by every session)."""
    return kernel_grid(kernels, cols, lang, projector, height)


def before_after_ui(model, tr: conv.Trace, layer: str, before, after, columns: int, height: int) -> None:
    """A conv layer's maps before its activation (diverging, centred on 0) and after it (sequential
    from 0 unless the activation gives negative values), side by side."""
    activation = conv.plan(model).activation[layer]
    activated = conv.activated_map(model, tr, layer)
    with before:
        title = t("cnn.maps.before", layer=layer, activation=_activation(activation)) if activated is not None \
            else t("cnn.maps.plain", layer=layer)
        show_chart(feature_grid(tr.before[layer], title, True, columns, lang(), projector(), height), f"{layer}-maps")
    if activated is not None:
        with after:
            name = conv.plan(model).activated[layer]
            title = t("cnn.maps.after", layer=name, activation=_activation(activation))
            show_chart(feature_grid(activated, title, bool((activated < 0).any()), columns, lang(), projector(),
                                    height), f"{layer}-{name}-maps")


def column_picker(key: str, trace: int) -> Callable[[dict], None]:
    """A click on the map (the chart's trace `trace`, its cells by row and column) sets the column
    slider `key` to the cell's column; the row slider follows the click in the browser (Scrub.click)."""
    def pick(point: dict) -> None:
        if point.get("curve") == trace and isinstance(point.get("x"), (int, float)):
            st.session_state[key] = int(round(point["x"]))
    return pick


def position_ui(cols, keys: str, best: tuple[int, int], shape: tuple[int, int], labels: tuple[str, str]
                ) -> tuple[int, int, str, str]:
    """The row and column sliders in `cols[1]` and `cols[2]` (keys: `keys` with "row" or "col" for its
    {}), first at `best`, over a (H, W) `shape`; returns the row, the column and the two sliders' keys
    (the row's is the group its charts follow)."""
    row_key, col_key = keys.format("row"), keys.format("col")
    st.session_state.setdefault(row_key, int(best[0]))
    st.session_state.setdefault(col_key, int(best[1]))
    with cols[1]:
        row = scrub_slider(t(labels[0]), 0, shape[0] - 1, key=row_key, help=t("cnn.pick_help"))
    with cols[2]:
        col = scrub_slider(t(labels[1]), 0, shape[1] - 1, key=col_key, help=t("cnn.pick_help"))
    return row, col, row_key, col_key


@st.fragment
def arithmetic_ui(model, tr: conv.Trace) -> None:
    """One convolution value's arithmetic; a fragment: moving its sliders reruns only this section."""
    p = conv.plan(model)
    layer = st.radio(t("cnn.arith.layer"), p.convs, horizontal=True, key=f"cnn_arith_layer_{_key(model)}")
    h, w, channels = tr.before[layer].shape
    c_in = tr.maps[p.source[layer]].shape[-1]
    cols = st.columns(4 if c_in > 1 else 3)
    key = f"{_key(model)}_{layer}"
    with cols[0]:
        channel = scrub_slider(t("cnn.arith.channel"), 0, channels - 1, key=f"cnn_arith_ch_{key}")
    # Start at the channel's strongest response, where the products are not all zero.
    best = np.unravel_index(int(np.argmax(np.abs(tr.before[layer][:, :, channel]))), (h, w))
    row, col, row_key, col_key = position_ui(cols, f"cnn_arith_{{}}_{key}", best, (h, w),
                                             ("cnn.arith.row", "cnn.arith.col"))
    shown = 0
    if c_in > 1:
        with cols[3]:
            shown = scrub_slider(t("cnn.arith.in_channel"), 0, c_in - 1, key=f"cnn_arith_in_{key}")
    input_map = tr.maps[p.source[layer]][:, :, shown]
    output_map = tr.before[layer][:, :, channel]
    # Every row of column `col` for the two charts that follow the Row slider in the browser: the server's
    # row now, the others after the run (`pages.rows`); the two maps and the numbers' grids drawn once.
    language, mode = lang(), projector()
    shown_key = (key, channel, col, shown, input_map.tobytes(), output_map.tobytes(), language, mode)
    step_at = functools.cache(lambda r: conv.conv_step(model, tr, layer, channel, r, col))
    step = step_at(row)
    locator, numbers_fig = built_once("cnn-arithmetic", shown_key, lambda: (
        conv_locator_figure(step, input_map, output_map, language, mode, boxes=False),
        conv_numbers_figure(step, input_map, shown, language, mode)))
    rows = range(h)
    boxes = ROW_CHARTS.along("position", shown_key, rows, row, lambda r: (locator, locator_boxes(step_at(r), mode)))
    traces = ROW_CHARTS.along("numbers", shown_key, rows, row, lambda r: conv_numbers_traces(
        step_at(r), input_map, shown, language, mode))
    # Side by side on a laptop; stacked in projector mode, where the printed numbers need the width.
    where, numbers = st.columns([0.3, 0.7]) if not projector() else (st.container(), st.container())
    with where:
        show_chart(Scrub(row_key, row, boxes, click="y", click_traces=(1,)), f"{layer}-position",
                   on_click=column_picker(col_key, 1))
    with numbers:
        show_chart(Scrub(row_key, row, {r: (numbers_fig, ()) for r in traces}, traces), f"{layer}-arithmetic")
    last = step.kernel.shape[0] - 1
    if c_in == 1:
        st.latex(rf"z = \sum_{{i=0}}^{{{last}}}\sum_{{j=0}}^{{{last}}} x_{{{step.top}+i,\;{step.left}+j}}\, w_{{ij}}"
                 rf" + b = {step.channel_sums[0]:.4f} + {_num(step.bias)} = {step.total:.4f}")
    else:
        st.markdown(t("cnn.arith.sum_channels", layer=layer, n=c_in, shown=shown, source=p.source[layer],
                      f=step.kernel.shape[0]))
        # One term per input channel, labelled, three to a line so the sum fits a projector's width.
        terms = [r"\underbrace{%s}_{k=%d}" % (_num(v), k) for k, v in enumerate(step.channel_sums)]
        body = r" \\ &\quad + ".join(" + ".join(terms[i:i + 3]) for i in range(0, len(terms), 3))
        st.latex(r"\begin{aligned} z &= \sum_{k=0}^{%d}\sum_{i,j} x^{(k)}_{%d+i,\;%d+j}\, w^{(k)}_{ij} + b \\"
                 r" &= %s \\ &\quad + \underbrace{%s}_{b} = %.4f \end{aligned}"
                 % (c_in - 1, step.top, step.left, body, _num(step.bias), step.total))
    if step.activation == "relu":
        st.latex(rf"\mathrm{{ReLU}}(z) = \max(0,\ {step.total:.4f}) = {step.activated:.4f}")
    elif step.activation not in ("linear", "custom"):
        st.latex(rf"\mathrm{{{step.activation}}}(z) = \mathrm{{{step.activation}}}({step.total:.4f})"
                 rf" = {step.activated:.4f}")
    st.success(t("cnn.arith.check", layer=layer, row=row, col=col, channel=channel, value=step.map_value,
                 diff=abs(step.total - step.map_value)))
    ROW_CHARTS.hand_over()


@st.fragment
def pooling_ui(model, tr: conv.Trace, label: str) -> None:
    """One pooling window; a fragment: moving its sliders reruns only this section."""
    p = conv.plan(model)
    if not p.pools:
        st.info(t("cnn.pool.none", model=label))
        return
    layer = st.radio(t("cnn.pool.layer"), p.pools, horizontal=True, key=f"cnn_pool_layer_{_key(model)}")
    h, w, channels = tr.maps[layer].shape
    cols = st.columns(3)
    key = f"{_key(model)}_{layer}"
    with cols[0]:
        channel = scrub_slider(t("cnn.arith.channel"), 0, channels - 1, key=f"cnn_pool_ch_{key}")
    before = tr.maps[p.source[layer]][:, :, channel]
    # Default to the window holding the channel's strongest response: the one worth looking at.
    best = np.unravel_index(int(np.argmax(tr.maps[layer][:, :, channel])), (h, w))
    row, col, row_key, col_key = position_ui(cols, f"cnn_pool_{{}}_{key}", best, (h, w),
                                             ("cnn.pool.row", "cnn.pool.col"))
    after = tr.maps[layer][:, :, channel]
    # Every row's window of column `col` for the chart that follows the Row slider (as the arithmetic's).
    language, mode, rows = lang(), projector(), range(h)
    shown_key = (key, channel, col, before.tobytes(), after.tobytes(), language, mode)
    window_at = functools.cache(lambda r: conv.pool_window(model, tr, layer, channel, r, col))
    window = window_at(row)
    grid = built_once("cnn-pooling", shown_key, lambda: pool_figure(before, after, window, language, mode,
                                                                     boxes=False))
    boxes = ROW_CHARTS.along("pool-boxes", shown_key, rows, row, lambda r: (grid, pool_boxes(window_at(r), mode)))
    traces = ROW_CHARTS.along("pool-traces", shown_key, rows, row, lambda r: pool_traces(before, after,
                                                                                          window_at(r), mode))
    show_chart(Scrub(row_key, row, boxes, traces, click="y", click_traces=(1,)), f"{layer}-window",
               on_click=column_picker(col_key, 1))
    values = ", ".join(f"{v:.4f}" for v in window.window.ravel())
    operation = r"\max" if window.kind == "max" else r"\mathrm{mean}"
    st.latex(rf"{operation}({values}) = {window.value:.4f}")
    size = window.window.shape[0]
    st.caption(t(f"cnn.pool.caption.{window.kind}", source=p.source[layer], layer=layer, row=row, col=col,
                 channel=channel, f=size, count=window.window.size, top=window.top, top_end=window.top + size - 1,
                 left=window.left, left_end=window.left + size - 1))
    ROW_CHARTS.hand_over()


def softmax_ui(model, tr: conv.Trace) -> None:
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
    st.caption(t("cnn.softmax.caption", layer=conv.plan(model).output))


def weights_concept_ui(model) -> None:
    """How much a convolution saves over a dense layer, with this network's own numbers."""
    p = conv.plan(model)
    table = {info.name: info for info in conv.layer_table(model)}
    first, *later = (conv.dense_equivalent(model, name) for name in p.convs)
    layer = model.get_layer(first.layer)
    h, w, c = (int(d) for d in layer.output.shape[1:])
    more = "".join(t("cnn.concept.weights.more", layer=e.layer, params=f"{e.params:,}", dense=f"{e.dense:,}")
                   for e in later)
    dense = [info for info in table.values() if info.kind == "Dense"]
    biggest = max(dense, key=lambda info: info.params) if dense else None
    total = model.count_params()
    with st.expander(t("cnn.concept.weights.title")):
        st.markdown(t("cnn.concept.weights.body", layer=first.layer, filters=layer.filters, f=layer.kernel_size[0],
                      c_in=int(layer.input.shape[-1]), formula=table[first.layer].param_formula,
                      biases=t("cnn.concept.weights.biases", filters=layer.filters) if layer.use_bias else "",
                      params=f"{first.params:,}", n_in=f"{first.inputs:,}", n_out=f"{first.outputs:,}", h=h, w=w,
                      c=c, dense=f"{first.dense:,}", ratio=f"{first.dense / max(first.params, 1):,.0f}", more=more,
                      biggest="" if biggest is None else t("cnn.concept.weights.biggest", total=f"{total:,}",
                                                            layer=biggest.name, params=f"{biggest.params:,}",
                                                            share=biggest.params / total)))


def sharing_concept_ui(model) -> None:
    """Receptive fields, read from the network: the first convolution's window, and how far deeper layers see."""
    p = conv.plan(model)
    table = {info.name: info for info in conv.layer_table(model)}
    first = model.get_layer(p.convs[0])
    f, c_in = first.kernel_size[0], int(first.input.shape[-1])
    h, w = (int(d) for d in first.output.shape[1:3])
    deeper = [name for name in p.chain[p.chain.index(first.name) + 1:] if name in p.convs + p.pools]
    items = ("，" if lang() == "zh" else "; ").join(
        t("cnn.concept.sharing.item", layer=name, r=table[name].receptive) for name in deeper)
    with st.expander(t("cnn.concept.sharing.title")):
        st.markdown(t("cnn.concept.sharing.body", layer=first.name, f=f, weights=f * f * c_in, h=h, w=w)
                    + (t("cnn.concept.sharing.deeper", items=items) if deeper else ""))


def pooling_concept_ui(model, tr: conv.Trace) -> None:
    p = conv.plan(model)
    if not p.pools:
        return
    sentences = []
    for name in p.pools:
        layer = model.get_layer(name)
        (h, w, c), (h2, w2, _) = tr.maps[p.source[name]].shape, tr.maps[name].shape
        sentences.append(t("cnn.concept.pooling.layer", layer=name, kind=t(f"cnn.kind.{KINDS[type(layer).__name__]}"),
                           f=layer.pool_size[0], s=layer.strides[0], h=h, w=w, c=c, h2=h2, w2=w2,
                           before=f"{h * w * c:,}", after=f"{h2 * w2 * c:,}"))
    with st.expander(t("cnn.concept.pooling.title")):
        st.markdown(t("cnn.concept.pooling.body", layers=("；" if lang() == "zh" else "; ").join(sentences)))


st.title(t("cnn.title"))
model, name = model_ui()
if model is not None:
    digit = current_digit()
    tr = conv.trace(model, digit.x28)
    best = int(np.argmax(tr.probabilities))
    st.caption(t("cnn.showing", description=digit_description(digit), model=model_label(name), digit=best,
                 p=float(tr.probabilities[best])))
    st.subheader(t("cnn.maps.header"))
    feature_maps_ui(model, tr)
    st.subheader(t("cnn.shapes.header"))
    shapes_ui(model)
    weights_concept_ui(model)
    st.subheader(t("cnn.arith.header"))
    arithmetic_ui(model, tr)
    sharing_concept_ui(model)
    st.subheader(t("cnn.pool.header"))
    pooling_ui(model, tr, model_label(name))
    pooling_concept_ui(model, tr)
    st.subheader(t("cnn.softmax.header"))
    softmax_ui(model, tr)
