# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Chart.js configurations for the ``prm_chart`` field widget.

Computed Json fields return these dicts; the widget draws them with the
Chart.js that Odoo ships (colours from Odoo's palette unless given)."""


def dataset(label, values, kind=None, **extra):
    """One series; ``kind`` ("line", "bar", "scatter") overrides the chart's."""
    out = {"label": label, "data": list(values)}
    if kind:
        out["type"] = kind
    out.update(extra)
    return out


def chart(kind, labels, datasets, x_title=None, y_title=None, **options):
    """A Chart.js configuration: ``kind`` of chart, x labels, datasets; axis
    titles and extra options (``stacked``, ``percent``, ``horizontal``,
    ``legend``, ``y_max``)."""
    stacked = options.pop("stacked", False)
    percent = options.pop("percent", False)
    horizontal = options.pop("horizontal", False)
    legend = options.pop("legend", len(datasets) > 1)
    y_max = options.pop("y_max", None)
    value_axis = {"beginAtZero": True, "stacked": stacked}
    if y_title:
        value_axis["title"] = {"display": True, "text": y_title}
    if y_max is not None:
        value_axis["max"] = y_max
    if percent:
        value_axis["ticks"] = {"format": {"style": "percent"}}
    label_axis = {"stacked": stacked}
    if x_title:
        label_axis["title"] = {"display": True, "text": x_title}
    scales = {"x": label_axis, "y": value_axis}
    if horizontal:
        scales = {"x": value_axis, "y": label_axis}
    config = {
        "type": kind,
        "data": {"labels": list(labels), "datasets": list(datasets)},
        "options": {
            "scales": scales,
            "plugins": {"legend": {"display": bool(legend), "position": "bottom"}},
        },
    }
    if horizontal:
        config["options"]["indexAxis"] = "y"
    config["options"].update(options)
    return config
