"""The app's charts as tests read them: in AppTest, each `widgets.chart` element's figure and config;
in a browser, the selector of a drawn chart."""
from __future__ import annotations

import json

import plotly.io as pio

from widgets.chart import NAME

CHART = ".netlens-chart .js-plotly-plot"  # a chart that plotly.js has drawn


def charts(at) -> list[dict]:
    """What every chart of the AppTest run was given, in page order: "figure" (its JSON), "config"
    (plotly.js's), "labels" (the fullscreen control's), "plotly" (where plotly.js is served)."""
    return [json.loads(element.proto.json) for element in at.get("bidi_component")
            if element.proto.component_name == NAME]


def figures(at) -> list:
    """The figures of every chart the AppTest run shows, in page order."""
    return [pio.from_json(chart["figure"]) for chart in charts(at)]
