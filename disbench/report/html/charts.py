"""Vega-Lite specifications of the page's charts, each with its (aggregated) data inline.

The page draws them with vega-embed as SVG. Colours follow ``report --plot``: green the
best entry of a column, blue the others, grey the reference rows.
"""

from __future__ import annotations

from typing import Any

from disbench.report.html.content import BarPanel, CurvePanel, StudyPanels

BAR_COLOURS = {"best": "#2ca02c", "entry": "#1f77b4", "reference": "#bbbbbb"}
#: pixels per entry in a bar chart
BAR_STEP = 16
PANEL_WIDTH = 280
#: entry names longer than this (pixels) are cut in axis labels; the tooltip has the full name
LABEL_LIMIT = 260


def _entry_axis(order: list[str]) -> dict[str, Any]:
    return {"field": "entry", "type": "nominal", "sort": order, "title": None, "axis": {"labelLimit": LABEL_LIMIT}}


def bar_chart(panel: BarPanel) -> dict[str, Any]:
    """A bar per entry (its mean), a rule for ± one std, a dot per seed; hover tells seed, value and run."""
    order = [bar["entry"] for bar in panel.bars]
    y = _entry_axis(order)
    value_title = f"{panel.metric} {'↑' if panel.higher else '↓'}"
    return {
        "width": PANEL_WIDTH,
        "height": {"step": BAR_STEP},
        "layer": [
            {
                "data": {"values": panel.bars},
                "mark": {"type": "bar", "opacity": 0.85},
                "encoding": {
                    "y": y,
                    "x": {"field": "mean", "type": "quantitative", "title": value_title},
                    "color": {"field": "kind", "type": "nominal", "legend": None,
                              "scale": {"domain": list(BAR_COLOURS), "range": list(BAR_COLOURS.values())}},
                    "tooltip": [
                        {"field": "entry", "type": "nominal"},
                        {"field": "mean", "type": "quantitative", "format": ".4f"},
                        {"field": "std", "type": "quantitative", "format": ".4f"},
                        {"field": "n", "type": "quantitative", "title": "seeds"},
                    ],
                },
            },
            {
                "data": {"values": panel.bars},
                "mark": {"type": "rule", "color": "#333333"},
                "encoding": {"y": y, "x": {"field": "low", "type": "quantitative"}, "x2": {"field": "high"}},
            },
            {
                "data": {"values": panel.seeds},
                "mark": {"type": "point", "filled": True, "size": 22, "color": "#000000", "opacity": 0.7},
                "encoding": {
                    "y": y,
                    "x": {"field": "value", "type": "quantitative"},
                    "tooltip": [
                        {"field": "entry", "type": "nominal"},
                        {"field": "seed", "type": "nominal"},
                        {"field": "value", "type": "quantitative", "format": ".4f"},
                        {"field": "run", "type": "nominal"},
                    ],
                },
            },
        ],
    }


#: a log steps axis labels each scored checkpoint when there are at most this many
MAX_STEP_TICKS = 12


def curve_chart(panel: CurvePanel) -> dict[str, Any]:
    """Mean ± std over seeds against training steps, a line and band per entry."""
    steps = sorted({point["steps"] for point in panel.points})
    # on a log axis the scored steps themselves are the ticks (Vega's own log ticks crowd and overlap)
    axis = {"values": steps, "format": ",", "labelOverlap": "greedy"} if panel.log_steps and len(steps) <= MAX_STEP_TICKS else {"format": ","}
    x = {"field": "steps", "type": "quantitative", "title": "training steps", "axis": axis,
         "scale": {"type": "log"} if panel.log_steps else {"zero": False}}
    colour = {"field": "entry", "type": "nominal", "scale": {"scheme": "category20"},
              "legend": {"orient": "bottom", "columns": 1, "labelLimit": 400, "title": None}}
    return {
        "width": PANEL_WIDTH,
        "height": 200,
        "data": {"values": panel.points},
        "layer": [
            {"mark": {"type": "area", "opacity": 0.18},
             "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"}, "y2": {"field": "high"}, "color": colour}},
            {"mark": {"type": "line", "point": True},
             "encoding": {
                 "x": x,
                 "y": {"field": "mean", "type": "quantitative", "title": panel.metric, "scale": {"zero": False}},
                 "color": colour,
                 "tooltip": [
                     {"field": "entry", "type": "nominal"},
                     {"field": "steps", "type": "quantitative", "format": ","},
                     {"field": "mean", "type": "quantitative", "format": ".4f"},
                     {"field": "std", "type": "quantitative", "format": ".4f"},
                     {"field": "n", "type": "quantitative", "title": "seeds"},
                 ],
             }},
        ],
    }


#: a heatmap of more metrics than this leaves the values to the tooltip (written in, they would overlap)
WRITTEN_VALUES = 14


def correlation_chart(panel: StudyPanels) -> dict[str, Any]:
    """Spearman's rho of every metric pair as a heatmap (blue -1, red +1), values written in or in the tooltip."""
    metrics = panel.correlation_metrics
    cell = 26 if len(metrics) <= WRITTEN_VALUES else 20
    axis = {"type": "nominal", "sort": metrics, "title": None, "axis": {"labelLimit": 240}}
    return {
        "width": {"step": cell},
        "height": {"step": cell},
        "data": {"values": panel.correlations},
        "encoding": {"x": {"field": "metric_b", **axis, "axis": {"labelLimit": 240, "labelAngle": -45}}, "y": {"field": "metric_a", **axis}},
        "layer": [
            {"mark": "rect",
             "encoding": {
                 "color": {"field": "spearman", "type": "quantitative", "title": "Spearman",
                           "scale": {"scheme": "redblue", "reverse": True, "domain": [-1, 1]}},
                 "tooltip": [
                     {"field": "metric_a", "type": "nominal"}, {"field": "metric_b", "type": "nominal"},
                     {"field": "spearman", "type": "quantitative", "format": ".3f"}, {"field": "n_runs", "type": "quantitative", "title": "runs"},
                 ],
             }},
        ] + ([
            {"mark": {"type": "text", "fontSize": 9},
             "encoding": {
                 "text": {"field": "spearman", "type": "quantitative", "format": ".2f"},
                 "color": {"condition": {"test": "abs(datum.spearman) > 0.6", "value": "white"}, "value": "black"},
             }},
        ] if len(metrics) <= WRITTEN_VALUES else []),
    }


#: the variance parts in the order they are stacked, as :func:`disbench.report.study.variance_rows` names them
VARIANCE_PARTS = ("method", "hyperparameters", "seed")


def variance_chart(panel: StudyPanels) -> dict[str, Any]:
    """Each metric's variance split into method, hyperparameters and seed shares, one stacked bar per metric."""
    values = [
        {"metric": record["metric"], "part": part, "share": record[part], "order": i, "runs": record["n_runs"]}
        for record in panel.variance
        for i, part in enumerate(VARIANCE_PARTS)
        if record[part] is not None
    ]
    return {
        "width": PANEL_WIDTH,
        "height": {"step": BAR_STEP},
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "metric", "type": "nominal", "title": None, "sort": [r["metric"] for r in panel.variance], "axis": {"labelLimit": 240}},
            "x": {"field": "share", "type": "quantitative", "stack": "zero", "title": "share of the variance", "axis": {"format": "%"},
                  "scale": {"domain": [0, 1]}},
            "color": {"field": "part", "type": "nominal", "sort": list(VARIANCE_PARTS), "title": None,
                      "scale": {"domain": list(VARIANCE_PARTS), "range": ["#1f77b4", "#ff7f0e", "#9e9e9e"]}, "legend": {"orient": "bottom"}},
            "order": {"field": "order"},
            "tooltip": [
                {"field": "metric", "type": "nominal"}, {"field": "part", "type": "nominal"},
                {"field": "share", "type": "quantitative", "format": ".1%"}, {"field": "runs", "type": "quantitative"},
            ],
        },
    }
