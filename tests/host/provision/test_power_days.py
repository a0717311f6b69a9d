"""Logging days in the power budget: hours per mode weighted into one average current."""

import copy

import pytest
from gaitchain.power_budget import budgets, day_budgets, load_table


def test_a_day_is_the_hour_weighted_average_of_its_modes() -> None:
    table = load_table()
    modes = {m.name: m for m in budgets(table)}
    days = {d.name: d for d in day_budgets(table)}
    day = days["16 h active (20,000 steps), 8 h inactive"]
    active = modes["logging, BLE off, IMU active"].average_ma
    inactive = modes["logging, BLE off, IMU inactive"].average_ma
    assert day.average_ma == pytest.approx((16 * active + 8 * inactive) / 24)
    assert inactive < active / 4  # the IMU's 15 Hz and a CPU check a minute
    # Sleeping the 8 inactive hours buys days over an IMU that never sleeps.
    assert day.life_h > days["IMU active all day (no sleep)"].life_h + 48


def test_a_day_that_is_not_24_hours_of_known_modes_is_refused() -> None:
    table = copy.deepcopy(load_table())
    table["days"]["bad"] = {"hours": {"logging, BLE off, IMU active": 20}}
    with pytest.raises(ValueError, match="24 h"):
        day_budgets(table)
    table["days"]["bad"] = {"hours": {"no such mode": 24}}
    with pytest.raises(ValueError, match="no such mode"):
        day_budgets(table)
