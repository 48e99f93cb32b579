"""How every chart looks, in the normal and the projector style. Colour scales are perceptually
uniform and colour-blind-safe (viridis / cividis for magnitudes, a blue-red diverging scale centred
on 0 for signed values); the projector style thickens lines and enlarges text for a lecture hall."""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

SEQUENTIAL = "Viridis"
SEQUENTIAL_PROJECTOR = "Cividis"
DIVERGING = "RdBu_r"            # negative blue, zero white, positive red
DIGIT = "gray"                  # the digit itself: black background, white ink
# Okabe-Ito: eight colours distinguishable under the common colour-vision deficiencies.
CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TEN_CLASSES = CATEGORICAL + ["#999999", "#882255"]

# Assigning `template=` on each figure re-validates the whole template (about 10 ms a figure, on
# every rerun); as the default it gives the same figure JSON for a fraction of that.
pio.templates.default = "plotly_white"


def sequential(projector: bool) -> str:
    return SEQUENTIAL_PROJECTOR if projector else SEQUENTIAL


def style(fig: go.Figure, projector: bool = False, height: int | None = None) -> go.Figure:
    """Apply the app's look; in projector mode text is at least 20 px and lines are thick."""
    base = 20 if projector else 13
    fig.update_layout(
        font=dict(size=base, family="Noto Sans CJK SC, Noto Sans, PingFang SC, Microsoft YaHei, sans-serif"),
        title_font=dict(size=base + 4),
        margin=dict(l=10, r=10, t=50 if fig.layout.title.text else 20, b=10),
        colorway=CATEGORICAL,
    )
    if height:
        fig.update_layout(height=int(height * (1.25 if projector else 1)))
    if projector:
        fig.update_traces(line=dict(width=4), selector=dict(type="scatter"))
        fig.update_traces(marker=dict(size=12), selector=dict(mode="markers"))
        fig.update_annotations(font=dict(size=base))
        fig.update_xaxes(tickfont=dict(size=base), title_font=dict(size=base))
        fig.update_yaxes(tickfont=dict(size=base), title_font=dict(size=base))
    return fig
