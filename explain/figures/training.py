"""Figures of the live-training page: the curves with a marker at each epoch where a callback acted,
and the homework's last step (confusion matrix, most confident mistakes). x is always the 1-based
epoch, as Keras prints it."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explain.figures.theme import CATEGORICAL, DIGIT, sequential, style, subplots
from explain.i18n import t

TRAIN, VAL, LR, SAVE, STOP, BEST = (CATEGORICAL[0], CATEGORICAL[1], CATEGORICAL[2], CATEGORICAL[4],
                                    CATEGORICAL[3], CATEGORICAL[7])
REFERENCE = "#999999"       # the other run's curves: grey, dashed
ROW_OF_METRIC = {"loss": 1, "val_loss": 1, "accuracy": 2, "val_accuracy": 2}
DASH = {"reduce_lr": "dot", "stop": "dash", "best": "dashdot"}


def lr_text(rate: float) -> str:
    """A learning rate as people write it: 0.01, 0.005, 0.000625 (float32 noise rounded away)."""
    return f"{float(f'{rate:.4g}'):g}"


def _vline(fig: go.Figure, x: float, color: str, dash: str, width: float) -> None:
    """A vertical line at epoch `x` through all three panels."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper",
                  line=dict(color=color, dash=dash, width=width), layer="below")


def curves(history: dict[str, list[float]], events: list[dict], lang: str, projector: bool = False,
           epochs: int | None = None, lr_bounds: tuple[float, float] | None = None,
           restored_epoch: int | None = None, stopped: tuple[str, int] | None = None, height: int = 680,
           reference: tuple[str, dict[str, list[float]]] | None = None) -> go.Figure:
    """Loss (row 1), accuracy (row 2) and the learning rate used in each epoch on a log axis (row 3).

    `history` holds per-epoch lists (as `TrainResult.history`); `events` the recorder's markers, each
    drawn at its own epoch: every reduction (old -> new) on the rate panel, every checkpoint save on
    the monitored curve, the early stop as a dashed line; `restored_epoch` gets a dash-dot line and a
    ring on the monitored curve. `stopped` is ("user" | "nan", epoch) for a run that ended otherwise.
    The axes are fixed while a run grows: x up to `epochs`, the rate axis from min_lr to the initial
    rate (`lr_bounds`), so the curves do not jump at every redraw. `reference` is (model name, its
    history): another run with the same settings, whose validation curves are drawn thin and dashed.
    """
    fig = subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.34, 0.28, 0.38])
    n = len(history.get("loss", []))
    x = list(range(1, n + 1))
    width = 4 if projector else 2
    epoch = t("training.fig.epoch", lang)
    for key, color, row in (("loss", TRAIN, 1), ("val_loss", VAL, 1), ("accuracy", TRAIN, 2), ("val_accuracy", VAL, 2)):
        name = t(f"training.fig.{key}", lang)
        fig.add_trace(go.Scatter(x=x, y=history.get(key, []), name=name, mode="lines+markers",
                                 line=dict(color=color, width=width, dash="solid" if key.startswith("val") else "dot"),
                                 marker=dict(size=7), legendgroup=key,
                                 hovertemplate=f"{name}<br>{epoch} %{{x}}: %{{y:.4f}}<extra></extra>"),
                      row=row, col=1)
    if reference:
        label, other = reference
        for key, row in (("val_loss", 1), ("val_accuracy", 2)):
            name = t("training.fig.reference", lang, model=label, curve=t(f"training.fig.{key}", lang))
            values = other.get(key, [])
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, name=name, mode="lines",
                                     line=dict(color=REFERENCE, width=width, dash="dash"), legendgroup="reference",
                                     hovertemplate=f"{name}<br>{epoch} %{{x}}: %{{y:.4f}}<extra></extra>"),
                          row=row, col=1)
    rates = history.get("learning_rate", [])
    fig.add_trace(go.Scatter(x=x, y=rates, name=t("training.fig.lr_used", lang), mode="lines+markers",
                             line=dict(color=LR, width=width, shape="hv"), marker=dict(size=7),
                             customdata=[lr_text(r) for r in rates],
                             hovertemplate=f"{epoch} %{{x}}: %{{customdata}}<extra></extra>"),
                  row=3, col=1)

    cuts = [e for e in events if e["kind"] == "reduce_lr"]
    if cuts:
        fig.add_trace(go.Scatter(
            x=[e["epoch"] for e in cuts], y=[e["new_lr"] for e in cuts], mode="markers",
            name=t("training.fig.marker_lr", lang), marker=dict(symbol="triangle-down", size=14, color=STOP),
            customdata=[[lr_text(e["old_lr"]), lr_text(e["new_lr"])] for e in cuts],
            hovertemplate=t("training.fig.hover_lr", lang) + "<extra></extra>"), row=3, col=1)
        # Each label hangs below-left of its marker, where the staircase never is (the rate before
        # the cut is higher); one cut lowers the next label by log10(1/factor) on the log axis.
        for e in cuts:
            fig.add_annotation(x=e["epoch"], y=math.log10(e["new_lr"]), xref="x3", yref="y3", showarrow=False,
                               text=f"{lr_text(e['old_lr'])}→{lr_text(e['new_lr'])}", xanchor="right",
                               yanchor="top", xshift=-4, yshift=-2, font=dict(color=STOP),
                               bgcolor="rgba(255,255,255,0.85)")

    saves = [e for e in events if e["kind"] == "checkpoint"]
    if saves:
        row = ROW_OF_METRIC.get(saves[0]["monitor"], 1)
        monitor = t(f"training.metric.{saves[0]['monitor']}", lang)
        fig.add_trace(go.Scatter(
            x=[e["epoch"] for e in saves], y=[e["value"] for e in saves], mode="markers",
            name=t("training.fig.marker_save", lang, monitor=monitor),
            marker=dict(symbol="star", size=15, color=SAVE, line=dict(color="white", width=1)),
            customdata=[[monitor, e["value"]] for e in saves],
            hovertemplate=t("training.fig.hover_save", lang) + "<extra></extra>"), row=row, col=1)

    for e in events:
        if e["kind"] == "early_stop":
            _vline(fig, e["epoch"], STOP, DASH["stop"], width)
            fig.add_annotation(x=e["epoch"], y=1.0, xref="x", yref="paper", yanchor="bottom", xanchor="left",
                               showarrow=False, text=t("training.fig.early_stop", lang, epoch=e["epoch"]),
                               font=dict(color=STOP))
    if stopped:
        why, epoch = stopped
        _vline(fig, epoch, STOP, DASH["stop"], width)
        fig.add_annotation(x=epoch, y=1.0, xref="x", yref="paper", yanchor="bottom", xanchor="left", showarrow=False,
                           text=t(f"training.fig.stopped_{why}", lang, epoch=epoch), font=dict(color=STOP))
    if restored_epoch:
        _vline(fig, restored_epoch, BEST, DASH["best"], width)
        monitor = saves[0]["monitor"] if saves else "val_loss"
        values = history.get(monitor, [])
        if restored_epoch <= len(values):
            fig.add_trace(go.Scatter(
                x=[restored_epoch], y=[values[restored_epoch - 1]], mode="markers",
                name=t("training.fig.restored", lang, epoch=restored_epoch),
                marker=dict(symbol="circle-open", size=24, color=BEST, line=dict(width=3)),
                hovertemplate=t("training.fig.hover_restored", lang) + "<extra></extra>"),
                row=ROW_OF_METRIC.get(monitor, 1), col=1)
        fig.add_annotation(x=restored_epoch, y=1.0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                           xanchor="right", text=t("training.fig.best_epoch", lang, epoch=restored_epoch),
                           font=dict(color=BEST))

    last = max(epochs or 0, n, len(reference[1].get("val_loss", [])) if reference else 0, 1)
    fig.update_xaxes(range=[0.5, last + 0.5], dtick=1 if last <= 20 else 2)
    fig.update_xaxes(title_text=t("training.fig.epoch", lang), row=3, col=1)
    fig.update_yaxes(title_text=t("training.fig.panel_loss", lang), rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=t("training.fig.panel_accuracy", lang), tickformat=".0%", row=2, col=1)
    if not n:      # before the first epoch: sensible empty axes instead of plotly's default -1..4
        fig.update_yaxes(range=[0, 2.5], row=1, col=1)
        fig.update_yaxes(range=[0, 1], row=2, col=1)
    seen = [*rates, *(e["new_lr"] for e in cuts)]
    low, high = lr_bounds or (min(seen, default=1e-3), max(seen, default=1e-3))
    low, high = min([low, *seen]), max([high, *seen])
    fig.update_yaxes(title_text=t("training.fig.panel_lr", lang), type="log", exponentformat="power",
                     range=[math.log10(max(low, 1e-8)) - 0.15, math.log10(high) + 0.15], row=3, col=1)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, x=0), hovermode="closest",
                      uirevision="curves")
    style(fig, projector, height=height)
    fig.update_layout(margin=dict(t=30))
    return fig


def confusion(matrix: np.ndarray, lang: str, projector: bool = False) -> go.Figure:
    """(true 10, predicted 10) counts as a heatmap with the count in each cell; the diagonal is right.
    The colour saturates at twice the largest mistake count, so the few confusions stand out instead
    of vanishing next to the ~100 correct answers per class."""
    mistakes_only = matrix * (1 - np.eye(len(matrix), dtype=matrix.dtype))
    fig = go.Figure(go.Heatmap(
        z=matrix, x=list(range(10)), y=list(range(10)), colorscale=sequential(projector), showscale=False,
        zmin=0, zmax=max(2 * int(mistakes_only.max()), 1),
        text=matrix, texttemplate="%{text}", textfont=dict(size=20 if projector else 12),
        hovertemplate=t("training.fig.hover_confusion", lang) + "<extra></extra>"))
    fig.update_xaxes(title_text=t("training.fig.predicted", lang), dtick=1, side="top")
    fig.update_yaxes(title_text=t("training.fig.true", lang), dtick=1, autorange="reversed")
    return style(fig, projector, height=440)


def mistakes(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, confidence: np.ndarray, lang: str,
             projector: bool = False, columns: int = 6) -> go.Figure:
    """Misclassified digits in a grid, each titled "true -> predicted (confidence)". `images` is
    (k, 28, 28) in [0, 1]; one heatmap of the whole mosaic keeps the figure light."""
    k = len(images)
    rows = max(1, math.ceil(k / columns))
    gap = 9
    mosaic = np.full((rows * (28 + gap) - gap, columns * (28 + gap) - gap), np.nan, dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        mosaic[r * (28 + gap):r * (28 + gap) + 28, c * (28 + gap):c * (28 + gap) + 28] = img
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale=DIGIT, zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    for i in range(k):
        r, c = divmod(i, columns)
        fig.add_annotation(x=c * (28 + gap) + 13.5, y=r * (28 + gap) - 0.5, yanchor="bottom", showarrow=False,
                           text=t("training.fig.mistake", lang, true=int(y_true[i]), pred=int(y_pred[i]),
                                  conf=f"{confidence[i]:.0%}"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    style(fig, projector, height=40 + (150 if projector else 100) * rows)
    fig.update_layout(margin=dict(t=28, l=0, r=0, b=0))
    return fig
