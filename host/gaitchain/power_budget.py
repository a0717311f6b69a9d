"""The pod's power budget, computed from `hardware/power-budget.json`.

Each mode is a sum of component currents times the fraction of time each draws it. Fractions are
numbers, or derived from the BLE and wake-up parameters of the table: `ble_stream` (radio on for
every connection event plus one notification per batch), `ble_advertising` (one advertising event
per interval), `wake` (awake for every FIFO read), `asleep` (the rest of the time). The tables in
`hardware/power-budget.md` are this module's output (a test keeps them equal), so documents and
figures cannot drift apart.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

POWER_TABLE: Final = Path(__file__).resolve().parents[2] / "hardware" / "power-budget.json"
_HOURS_PER_DAY: Final = 24.0


@dataclass(frozen=True)
class Term:
    component: str
    current_ma: float
    duty: float
    source: str

    @property
    def average_ma(self) -> float:
        return self.current_ma * self.duty


@dataclass(frozen=True)
class ModeBudget:
    name: str
    terms: list[Term]
    usable_mah: float

    @property
    def average_ma(self) -> float:
        return sum(t.average_ma for t in self.terms)

    @property
    def life_h(self) -> float:
        return self.usable_mah / self.average_ma


def load_table(path: Path = POWER_TABLE) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("format") != "gaitchain-power-budget":  # pyright: ignore[reportUnknownMemberType]
        raise ValueError(f"{path} is not a gaitchain power-budget table")
    return cast(dict[str, Any], data)


def _awake_fraction(table: dict[str, Any], mode: dict[str, Any]) -> float:
    """Fraction of time the CPU is awake: the table's `wake`, with the mode's own `wake`
    entries (e.g. a longer read period while the IMU is inactive) replacing them."""
    wake = dict(cast(dict[str, float], table["wake"]))
    wake.update(cast(dict[str, float], mode.get("wake", {})))
    return wake["awake_ms_per_read"] / 1000.0 / wake["fifo_read_period_s"]


def radio_duty(
    table: dict[str, Any], kind: str, rate_hz: float, overrides: dict[str, float] | None = None
) -> float:
    """Fraction of time the radio is on: streaming at `rate_hz`, or advertising. `overrides`
    replaces BLE parameters of the table for one mode (e.g. its advertising interval)."""
    ble = dict(cast(dict[str, float], table["ble"]))
    ble.update(overrides or {})
    if kind == "ble_stream":
        events_per_s = 1000.0 / ble["connection_interval_ms"]
        batches_per_s = rate_hz / ble["samples_per_batch"]
        on_ms = events_per_s * ble["empty_event_ms"] + batches_per_s * ble["notification_event_ms"]
    else:
        on_ms = 1000.0 / ble["advertising_interval_ms"] * ble["advertising_event_ms"]
    return on_ms / 1000.0


def _duty(table: dict[str, Any], value: object, mode: dict[str, Any]) -> float:
    if isinstance(value, int | float):
        return float(value)
    if value in ("ble_stream", "ble_advertising"):
        rate = float(mode.get("rate_hz", 0.0))
        return radio_duty(table, str(value), rate, cast(dict[str, float], mode.get("ble", {})))
    if value == "wake":
        return _awake_fraction(table, mode)
    if value == "asleep":
        return 1.0 - _awake_fraction(table, mode)
    raise ValueError(f"unknown duty {value!r} in the power table")


def budgets(table: dict[str, Any], capacity_mah: float | None = None) -> list[ModeBudget]:
    """Every mode's terms and battery life; `capacity_mah` overrides the table's battery."""
    battery = cast(dict[str, float], table["battery"])
    usable = (capacity_mah or battery["capacity_mah"]) * battery["usable_fraction"]
    components = cast(dict[str, dict[str, Any]], table["components"])
    result: list[ModeBudget] = []
    for name, mode in cast(dict[str, dict[str, Any]], table["modes"]).items():
        terms = [
            Term(
                key,
                float(components[key]["current_ma"]),
                _duty(table, duty, mode),
                str(components[key]["source"]),
            )
            for key, duty in cast(dict[str, object], mode["terms"]).items()
        ]
        result.append(ModeBudget(name, terms, usable))
    return result


@dataclass(frozen=True)
class DayBudget:
    """A day made of hours in several modes (e.g. the IMU active 16 h, inactive 8 h)."""

    name: str
    hours: dict[str, float]
    average_ma: float
    usable_mah: float

    @property
    def life_h(self) -> float:
        return self.usable_mah / self.average_ma


def day_budgets(table: dict[str, Any], capacity_mah: float | None = None) -> list[DayBudget]:
    """The table's `days`: each mode's average current weighted by its hours of the day."""
    modes = {mode.name: mode for mode in budgets(table, capacity_mah)}
    result: list[DayBudget] = []
    for name, day in cast(dict[str, dict[str, Any]], table.get("days", {})).items():
        hours = cast(dict[str, float], day["hours"])
        unknown = sorted(set(hours) - set(modes))
        if unknown or abs(sum(hours.values()) - _HOURS_PER_DAY) > 1e-9:
            raise ValueError(
                f"day {name!r} in the power table must give 24 h of known modes "
                f"(unknown: {unknown}, total {sum(hours.values()):g} h)"
            )
        average = sum(modes[m].average_ma * h for m, h in hours.items()) / _HOURS_PER_DAY
        usable = next(iter(modes.values())).usable_mah
        result.append(DayBudget(name, hours, average, usable))
    return result


def _life(life_h: float) -> str:
    if life_h < 2 * _HOURS_PER_DAY:
        return f"{life_h:.1f} h"
    return f"{life_h / _HOURS_PER_DAY:.1f} days ({life_h:.0f} h)"


def markdown(table: dict[str, Any]) -> str:
    """The summary and per-mode tables of power-budget.md."""
    battery = cast(dict[str, Any], table["battery"])
    modes = budgets(table)
    lines = [
        f"Battery: {battery['part']}; {battery['usable_fraction']:.0%} of "
        f"{battery['capacity_mah']} mAh counted as usable.",
        "",
        "| mode | average current | battery life |",
        "|---|---|---|",
    ]
    for mode in modes:
        lines.append(f"| {mode.name} | {mode.average_ma:.2f} mA | {_life(mode.life_h)} |")
    days = day_budgets(table)
    if days:
        lines += ["", "| logging day | hours per mode | average current | battery life |"]
        lines.append("|---|---|---|---|")
        for day in days:
            split = "; ".join(f"{h:g} h {m}" for m, h in day.hours.items())
            lines.append(
                f"| {day.name} | {split} | {day.average_ma:.2f} mA | {_life(day.life_h)} |"
            )
    for mode in modes:
        lines += [
            "",
            f"**{mode.name}**",
            "",
            "| component | current | time drawn | average |",
            "|---|---|---|---|",
        ]
        for term in mode.terms:
            lines.append(
                f"| {term.component} | {term.current_ma:g} mA | {term.duty:.2%} | "
                f"{term.average_ma:.3f} mA |"
            )
    return "\n".join(lines) + "\n"
