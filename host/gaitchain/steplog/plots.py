"""The daily load report as a PNG (matplotlib's object API: no display, no global state)."""

from pathlib import Path

from matplotlib.figure import Figure

from .report import DailyLoad


def plot_report(report: DailyLoad, client: str, path: Path) -> None:
    days = [d.day.strftime("%a %d %b") for d in report.days_]
    x = list(range(len(days)))
    figure = Figure(figsize=(9, 8))
    steps_ax, load_ax, balance_ax = figure.subplots(3, 1, sharex=True)
    left = [d.steps_left for d in report.days_]
    right = [d.steps_right for d in report.days_]
    other = [d.steps_other for d in report.days_]
    steps_ax.bar(x, left, label="left", color="#4477aa")
    steps_ax.bar(x, right, bottom=left, label="right", color="#ee6677")
    steps_ax.bar(x, other, bottom=[a + b for a, b in zip(left, right, strict=True)], label="other")
    steps_ax.set_ylabel("steps")
    steps_ax.legend(loc="upper left")
    steps_ax.set_title(f"{client}: daily steps, load and balance")
    load_ax.bar(x, [d.load_g for d in report.days_], color="#228833")
    load_ax.set_ylabel("load (sum of impact peaks, g)")
    balance_ax.axhline(50, color="grey", linewidth=0.8)
    balance_ax.plot(x, [100 * d.left_share for d in report.days_], "o-", label="steps")
    balance_ax.plot(x, [100 * d.left_load_share for d in report.days_], "s--", label="load")
    balance_ax.set_ylabel("left share (%)")
    balance_ax.set_ylim(30, 70)
    balance_ax.legend(loc="upper left")
    balance_ax.set_xticks(x, days, rotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=110)  # pyright: ignore[reportUnknownMemberType]
