"""The client report: one self-contained HTML page (figures embedded as PNG) and a PDF.

Figures (matplotlib, Agg): the kinetic chain with the leading driver highlighted and the links
it loads; driver probabilities; per-stride metrics against their normal bands with each side's
fatigue trend; left/right medians; gait-cycle curves (mean and SD per side); and, with earlier
sessions, the key measures over time. Tables: the battery against its norms, the evidence for
the leading driver, the phased plan with its targets, and the session comparison.
"""

# matplotlib's annotations leave **kwargs unknown, which strict mode reports on every call.
# pyright: reportUnknownMemberType=false

import base64
import html
import io
import textwrap
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..gait.angles import chain_angles
from .battery import SIDES, TESTS
from .classifier import CLINICAL_NORMS, INFO, NOT_ENOUGH
from .plan import compare_sessions
from .session import Session
from .store import load_models

WIDTH: Final = 95
"""Characters per line of the PDF's text page."""
COLORS: Final = {"left": "#1f77b4", "right": "#d95f02"}
STRIDE_METRICS: Final = (
    ("hip_internal_rotation_peak_stance_deg", "hip internal rotation, peak in stance (deg)"),
    ("tibial_rotation_loading_deg", "tibial rotation in loading (deg)"),
    ("pronation_excursion_deg", "pronation excursion (deg)"),
    ("pelvic_drop_deg", "pelvic drop (deg)"),
)
LR_METRICS: Final = (
    ("hip_internal_rotation_peak_stance_deg", "hip IR peak"),
    ("tibial_rotation_loading_deg", "tibial rotation"),
    ("pronation_excursion_deg", "pronation"),
    ("eversion_at_contact_deg", "eversion at contact"),
    ("peak_pronation_stance_pct", "peak pronation % stance"),
    ("ankle_dorsiflexion_peak_stance_deg", "dorsiflexion peak"),
    ("pelvic_drop_deg", "pelvic drop"),
    ("stance_pct", "stance %"),
    ("heel_off_stance_pct", "heel off % stance"),
    ("heel_rise_stance_pct", "heel rise % stance"),
)
CYCLE_ANGLES: Final = (
    ("tibial_internal_rotation_deg", "tibial internal rotation (deg)"),
    ("subtalar_eversion_deg", "subtalar eversion (deg)"),
    ("ankle_dorsiflexion_deg", "ankle dorsiflexion (deg)"),
)
CHAIN: Final = (
    ("pelvis", "Pelvis", ("pelvic-asymmetry",)),
    ("hip", "Hip", ("hip-ir-deficit", "glute-med")),
    ("knee", "Knee / tibia", ()),
    ("ankle", "Ankle", ("ankle-df-limit",)),
    ("foot", "Foot", ("foot-level",)),
)
AMPLIFIED: Final = {
    "pelvic-asymmetry": ("foot",),
    "hip-ir-deficit": ("knee", "foot"),
    "glute-med": ("pelvis", "knee", "foot"),
    "ankle-df-limit": ("foot",),
    "foot-level": (),
}


def walk_normal() -> dict[str, list[float]]:
    return load_models()["walking"][1]


def chain_figure(session: Session) -> Figure:
    driver, side, probability = session.leading
    fig = plt.figure(figsize=(8, 4.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.7, 6)
    ax.axis("off")
    for column, name in enumerate(SIDES):
        x = 2.5 + 5 * column
        ax.text(x, 5.6, f"{name} side", ha="center", fontsize=12, weight="bold")
        for row, (key, label, drivers) in enumerate(CHAIN):
            y = 4.7 - row * 1.05
            is_driver = name == side and driver in drivers
            amplified = name == side and key in AMPLIFIED.get(driver, ())
            face = "#e41a1c" if is_driver else "#fdb462" if amplified else "#eeeeee"
            ax.add_patch(
                FancyBboxPatch(
                    (x - 1.3, y - 0.35), 2.6, 0.7, boxstyle="round,pad=0.05", fc=face, ec="#333333"
                )
            )
            ax.text(x, y, label, ha="center", va="center", fontsize=11)
            if row < len(CHAIN) - 1:
                ax.add_patch(
                    FancyArrowPatch(
                        (x, y - 0.38),
                        (x, y - 0.67),
                        arrowstyle="-|>",
                        mutation_scale=12,
                        color="#e41a1c" if name == side and driver in INFO else "#999999",
                    )
                )
    title = (
        "not enough data for a verdict"
        if probability is None
        else "no upstream driver stands out"
        if driver == "healthy"
        else f"leading driver: {INFO[driver].label}, {side} ({probability:.0%})"
    )
    ax.text(5, -0.45, title, ha="center", fontsize=12)
    return fig


def probability_figure(session: Session) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 3.4))
    entries = session.classifier.drivers_[:6]
    labels = [
        "healthy" if e["driver"] == "healthy" else f"{e['driver']} ({e['side']})" for e in entries
    ]
    values = [float(e["probability"]) for e in entries]
    ax.barh(labels[::-1], values[::-1], color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_title(f"driver probabilities ({session.classifier.model_} model)")
    fig.tight_layout()
    return fig


def _label(ax: Axes, title: str, xlabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)


def _finish(fig: Figure, title: str) -> Figure:
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def stride_figure(session: Session, normal: dict[str, list[float]]) -> Figure:
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    for ax, (metric, label) in zip(axes.ravel(), STRIDE_METRICS, strict=True):
        band = normal.get(f"walk.{metric}.left")
        if band is not None:
            ax.axhspan(band[0], band[1], color="#2ca02c", alpha=0.15, label="normal (5-95 %)")
        for side in SIDES:
            rows = session.analysis.straight_rows(side)
            steps = np.array([float(r["step_count"]) for r in rows])
            values = np.array([float(r.get(metric, np.nan)) for r in rows])
            ok = np.isfinite(values)
            if not ok.any():
                continue
            ax.plot(steps[ok], values[ok], "o", ms=3, color=COLORS[side], label=side)
            if ok.sum() >= 3:
                slope, intercept = np.polyfit(steps[ok], values[ok], 1)
                ax.plot(
                    steps[ok],
                    intercept + slope * steps[ok],
                    "-",
                    color=COLORS[side],
                    lw=1.5,
                    label=f"{side} trend {1000 * slope:+.1f}/1000 steps",
                )
        _label(ax, label, "step")
    return _finish(fig, "per-stride metrics (straight strides), normal bands and fatigue trend")


def left_right_figure(session: Session, normal: dict[str, list[float]]) -> Figure:
    median = session.analysis_json["summary"]["median"]
    fig, axes = plt.subplots(2, 5, figsize=(13, 5))
    for ax, (metric, label) in zip(axes.ravel(), LR_METRICS, strict=True):
        values = [median.get(s, {}).get(metric) for s in SIDES]
        heights = [np.nan if v is None else float(v) for v in values]
        ax.bar(SIDES, heights, color=[COLORS[s] for s in SIDES])
        band = normal.get(f"walk.{metric}.left")
        if band is not None:
            ax.axhspan(band[0], band[1], color="#2ca02c", alpha=0.15)
        ax.set_title(label, fontsize=9)
    fig.suptitle("left / right medians (green: normal 5-95 %)")
    fig.tight_layout()
    return fig


def cycle_figure(session: Session) -> Figure:
    kin = session.analysis.kinematics
    angles = chain_angles(kin.rotation, kin.heading_rad)
    grid = np.linspace(0, 100, 101)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, (name, label) in zip(axes, CYCLE_ANGLES, strict=True):
        for side in SIDES:
            series = angles.get(f"{side}_{name}")
            if series is None:
                continue
            curves: list[np.ndarray] = []
            for stride, row in zip(
                session.analysis.sides[side].strides, session.analysis.sides[side].rows, strict=True
            ):
                if row["straight"] is not True:
                    continue
                t = np.linspace(stride.initial_contact_s, stride.next_initial_contact_s, 101)
                curves.append(np.interp(t, kin.t_s, series))
            if not curves:
                continue
            stack = np.array(curves)
            mean, sd = stack.mean(axis=0), stack.std(axis=0)
            ax.plot(grid, mean, color=COLORS[side], label=f"{side} ({len(curves)} strides)")
            ax.fill_between(grid, mean - sd, mean + sd, color=COLORS[side], alpha=0.2)
        _label(ax, label, "% of stride")
    return _finish(fig, "gait cycle: mean and SD per side")


def history_figure(
    history: list[tuple[str, dict[str, float | None]]], measures: list[str]
) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.8))
    names = [name for name, _ in history]
    for measure in measures:
        values = [
            np.nan if v.get(measure) is None else float(v[measure] or 0.0) for _, v in history
        ]
        ax.plot(names, values, "o-", label=measure)
    ax.set_title("key measures over sessions")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figures(
    session: Session, history: list[tuple[str, dict[str, float | None]]]
) -> list[tuple[str, Figure]]:
    normal = walk_normal()
    out = [("The kinetic chain", chain_figure(session))]
    if session.classifier.status_ == "ok":
        out.append(("Driver probabilities", probability_figure(session)))
    out += [
        ("Per-stride metrics and fatigue trend", stride_figure(session, normal)),
        ("Left and right", left_right_figure(session, normal)),
        ("Gait cycle", cycle_figure(session)),
    ]
    if len(history) > 1:
        out.append(("Sessions over time", history_figure(history, key_measures(session))))
    return out


def key_measures(session: Session) -> list[str]:
    driver, side, _ = session.leading
    if driver in INFO:
        return [f.format(side=side) for f in INFO[driver].key_features[:4]]
    return [f"hip_ir.hip_ir_deg.{s}" for s in SIDES]


def png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def battery_rows(session: Session) -> list[list[str]]:
    rows: list[list[str]] = []
    battery = session.battery
    if battery is None:
        return [["(no battery recorded)", "", "", "", ""]]
    for test in TESTS:
        for side in SIDES if test.per_side else ("both",):
            result = battery.results.get((test.key, side))
            if result is None:
                rows.append([html.escape(test.name), side, "not done", test.normal, ""])
                continue
            values = ", ".join(f"{k} {v:.1f}" for k, v in result.values.items() if k != "squats")
            status = "valid" if result.valid else "invalid: " + "; ".join(result.problems)
            rows.append(
                [
                    html.escape(test.name),
                    side,
                    html.escape(values),
                    html.escape(test.normal),
                    html.escape(status),
                ]
            )
    for side, foot in battery.foot.items():
        rows.append(
            [
                "Foot structure",
                side,
                f"arch height index {foot.arch_height_index:.3f}, first ray "
                f"{foot.first_ray_mobility}, toe grip {foot.toe_grip}",
                "arch height index 0.31-0.37, first ray and toe grip normal",
                "entered",
            ]
        )
    return rows


def evidence_rows(entry: dict[str, Any]) -> list[list[str]]:
    return [
        [
            html.escape(e["measure"]),
            _number(e["value"], 2),
            f"{_number(e['normal_low'], 2)} to {_number(e['normal_high'], 2)}"
            + (f" (clinical: {html.escape(e['clinical_norm'])})" if "clinical_norm" in e else ""),
            _number(e["out_of_range"], 2),
            _number(e["log_odds_vs_healthy"], 2),
        ]
        for e in entry["evidence"]
    ]


def render_html(session: Session, history: list[tuple[str, dict[str, float | None]]]) -> str:
    driver, side, probability = session.leading
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>gaitchain report: {html.escape(session.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "font-size:13px}th{background:#f0f0f0}img{max-width:100%}</style></head><body>",
        f"<h1>Gait and kinetic-chain report: {html.escape(session.name)}</h1>",
    ]
    if probability is None:
        parts.append(
            f"<p><b>{NOT_ENOUGH}</b>: "
            + html.escape("; ".join(session.classifier.missing_))
            + "</p>"
        )
    elif driver == "healthy":
        parts.append(f"<p><b>No upstream driver stands out</b> ({probability:.0%}).</p>")
    else:
        parts.append(
            f"<p><b>Leading driver: {html.escape(INFO[driver].label)}, {side} side</b> "
            f"(probability {probability:.0%}; {html.escape(session.classifier.model_)} model). "
            f"{html.escape(INFO[driver].downstream.capitalize())}.</p>"
        )
    for title, fig in figures(session, history):
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
            f"src='data:image/png;base64,{png(fig)}'>"
        )
        plt.close(fig)
    parts.append("<h2>Assessment battery</h2>")
    parts.append(table(["test", "side", "measured", "normal", "status"], battery_rows(session)))
    if session.classifier.status_ == "ok" and driver in INFO:
        top = session.classifier.drivers_[0]
        parts.append("<h2>Evidence for the leading driver</h2>")
        parts.append(
            table(
                [
                    "measure",
                    "value",
                    "normal (healthy 5-95 %)",
                    "beyond range",
                    "log-odds vs healthy",
                ],
                evidence_rows(top),
            )
        )
        parts.append("<p>Re-test: " + html.escape(", ".join(top["retest"])) + ".</p>")
    parts.append("<h2>Plan</h2>")
    for phase in session.plan:
        parts.append(
            f"<h3>{html.escape(phase.name)} ({phase.weeks})</h3><p>{html.escape(phase.focus)}</p>"
        )
        if phase.targets:
            parts.append(
                table(
                    ["target", "goal", "now", "met"],
                    [
                        [
                            html.escape(t.label),
                            t.goal,
                            _number(t.current),
                            {True: "yes", False: "no", None: "-"}[t.met],
                        ]
                        for t in phase.targets
                    ],
                )
            )
    if len(history) > 1:
        parts.append("<h2>Sessions compared</h2>")
        rows = compare_sessions(history, key_measures(session))
        parts.append(
            table(
                ["measure", *[name for name, _ in history], "change"],
                [
                    [
                        html.escape(r["measure"]),
                        *[_number(v) for v in r["values"]],
                        _number(r["change"]),
                    ]
                    for r in rows
                ],
            )
        )
    parts.append(f"<p style='font-size:11px;color:#666'>{CAVEAT}</p></body></html>")
    return "\n".join(parts)


CAVEAT: Final = (
    "The driver model is a multinomial logistic regression fitted on simulated clients; the "
    "fault models behind it are hypotheses, not established facts. Use it to decide what to "
    "examine and re-test, not as a diagnosis."
)


def text_page(lines: list[str]) -> Figure:
    fig = plt.figure(figsize=(8.27, 11.69))
    y = 0.96
    for line in lines:
        fig.text(0.06, y, line, fontsize=9, family="monospace", va="top")
        y -= 0.018
    return fig


def summary_lines(session: Session) -> list[str]:
    driver, side, probability = session.leading
    lines = [f"gaitchain report: {session.name}", ""]
    if probability is None:
        lines += [NOT_ENOUGH + ":", *[f"  {m}" for m in session.classifier.missing_]]
    else:
        label = "no driver" if driver == "healthy" else f"{INFO[driver].label}, {side}"
        lines.append(f"leading driver: {label} ({probability:.0%})")
        top = session.classifier.drivers_[0]
        for e in top["evidence"]:
            lines.append(
                f"  {e['measure'][:44]:<44} {e['value']:8.2f}   normal "
                f"{e['normal_low']:.2f} to {e['normal_high']:.2f}"
            )
    lines += ["", "plan:"]
    for phase in session.plan:
        lines += textwrap.wrap(
            f"{phase.name} ({phase.weeks}): {phase.focus}",
            WIDTH,
            initial_indent="  ",
            subsequent_indent="    ",
        )
        for t in phase.targets:
            now = "-" if t.current is None else f"{t.current:.1f}"
            lines.append(f"    {t.label[:56]:<56} {t.goal:>6}  now {now}")
    lines += ["", *textwrap.wrap(CAVEAT, WIDTH)]
    return lines


def write_pdf(
    session: Session, history: list[tuple[str, dict[str, float | None]]], path: Path | str
) -> None:
    with PdfPages(path) as pdf:
        page = text_page(summary_lines(session))
        pdf.savefig(page)
        plt.close(page)
        for _, fig in figures(session, history):
            pdf.savefig(fig)
            plt.close(fig)


__all__ = ["CLINICAL_NORMS", "render_html", "write_pdf"]
