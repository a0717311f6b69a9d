"""The dashboard page: Bokeh figures (made here, drawn by BokehJS in the browser) and the HTML
around them. The browser streams into the figures' data sources by name (`src:<channel>`), so no
chart is drawn by hand; tables and panels are plain HTML filled from the same WebSocket frames.
"""

import html
import json
from pathlib import Path
from typing import Any, Final

from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, DataRange1d, Legend
from bokeh.plotting import figure

from .angles import CHANNELS

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
TRACE_WINDOW_S: Final = 6.0
COLOURS: Final = {"left": "#1f77b4", "right": "#d62728", "a": "#2ca02c", "b": "#9467bd"}
TRACE_FIGURES: Final = (
    ("pelvis", "Pelvis (deg)", (("pelvis_obliquity_deg", "obliquity", "a"),
                                 ("pelvis_rotation_deg", "rotation", "b"))),
    ("shank", "Shank rotation, internal + (deg)", (("left_shank_rotation_deg", "left", "left"),
                                                  ("right_shank_rotation_deg", "right", "right"))),
    ("foot", "Foot eversion rel. shank (deg)", (("left_foot_eversion_deg", "left", "left"),
                                               ("right_foot_eversion_deg", "right", "right"))),
)  # fmt: skip
FATIGUE_FIGURES: Final = (
    ("fatigue_stance", "Stance share (% of stride) by minute", "stance_pct"),
    ("fatigue_pronation", "Pronation excursion (deg) by minute", "pronation_excursion_deg"),
    ("fatigue_drop", "Pelvic drop (deg) by minute", "pelvic_drop_deg"),
)


def _trace_figure(title: str, lines: tuple[tuple[str, str, str], ...]) -> Any:
    x_range = DataRange1d(follow="end", follow_interval=TRACE_WINDOW_S, range_padding=0)
    fig = figure(
        title=title,
        height=190,
        sizing_mode="stretch_width",
        x_range=x_range,
        tools="",
        toolbar_location=None,
        x_axis_label="s",
    )
    items: list[tuple[str, list[Any]]] = []
    for channel, label, colour in lines:
        source = ColumnDataSource(data={"t": [], "v": []}, name=f"src:{channel}")
        renderer = fig.line("t", "v", source=source, line_width=1.6, color=COLOURS[colour])
        items.append((label, [renderer]))
    fig.add_layout(Legend(items=items, location="top_left", orientation="horizontal"), "above")
    return fig


def _fatigue_figure(title: str, column: str) -> Any:
    fig = figure(
        title=title,
        height=170,
        sizing_mode="stretch_width",
        tools="",
        toolbar_location=None,
        x_axis_label="min",
    )
    for side in ("left", "right"):
        source = ColumnDataSource(data={"t": [], "v": []}, name=f"src:{side}_{column}")
        fig.line("t", "v", source=source, color=COLOURS[side], line_width=2, legend_label=side)
        fig.scatter("t", "v", source=source, color=COLOURS[side], size=5)
    fig.legend.location = "bottom_left"
    return fig


def figure_items() -> dict[str, Any]:
    """Div id -> Bokeh JSON item for every figure on the page."""
    items: dict[str, Any] = {}
    for name, title, lines in TRACE_FIGURES:
        items[f"fig-{name}"] = json_item(_trace_figure(title, lines))
    for name, title, column in FATIGUE_FIGURES:
        items[f"fig-{name}"] = json_item(_fatigue_figure(title, column))
    return items


def render_page(*, title: str, items: dict[str, Any]) -> str:
    """The dashboard HTML with the figures' JSON embedded."""
    template = (STATIC_DIR / "dashboard.html").read_text()
    payload = json.dumps({"items": items, "channels": list(CHANNELS)}).replace("</", "<\\/")
    return template.replace("{{title}}", html.escape(title)).replace("{{payload}}", payload)
