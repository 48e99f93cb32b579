"""A row of side-by-side panels as a plain layout dict, for figures rebuilt on every stroke.

Plotly's `make_subplots` and `update_*` calls validate every property one by one (10-40 ms a
figure); a figure built by one `go.Figure(data=[...], layout={...})` call from dicts costs 1-3 ms.
Panel k (1-based) uses the axes "x{k}"/"y{k}" ("x"/"y" for the first), as in `trace(xaxis=...)`.
"""
from __future__ import annotations


def axes(k: int) -> tuple[str, str]:
    """The trace-side axis names of panel k: ("x", "y"), ("x2", "y2"), ..."""
    return ("x", "y") if k == 1 else (f"x{k}", f"y{k}")


def refs(k: int) -> dict:
    """`xref`/`yref` for shapes and annotations drawn in panel k's data coordinates."""
    x, y = axes(k)
    return dict(xref=x, yref=y)


def row(widths: list[float], titles: list[str], spacing: float = 0.04, image: bool = False) -> dict:
    """Layout entries for panels side by side, `widths` relative, `spacing` a fraction of the width
    between them; each panel's title is an annotation above it. `image=True` makes every panel an
    image: square cells, row 0 at the top, no axes drawn."""
    free = 1.0 - spacing * (len(widths) - 1)
    total = sum(widths)
    layout: dict = {"annotations": []}
    left = 0.0
    for k, (width, title) in enumerate(zip(widths, titles), start=1):
        right = min(1.0, left + free * width / total)
        x, y = axes(k)
        xaxis, yaxis = dict(domain=[left, right], anchor=y), dict(anchor=x)
        if image:
            xaxis.update(visible=False, constrain="domain")
            yaxis.update(visible=False, constrain="domain", autorange="reversed", scaleanchor=x)
        layout["xaxis" if k == 1 else f"xaxis{k}"] = xaxis
        layout["yaxis" if k == 1 else f"yaxis{k}"] = yaxis
        if title:
            layout["annotations"].append(dict(text=title, x=(left + right) / 2, y=1.0, xref="paper", yref="paper",
                                              xanchor="center", yanchor="bottom", showarrow=False, yshift=4))
        left = right + spacing
    return layout
