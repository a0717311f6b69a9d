"""Simulated cohorts: subjects with individual variation, each with one known driver and side.

Individual variation (standard deviations at `variation` = 1) follows the spread of healthy adults
in the sources of `params`: height 0.09 m, cadence 6 steps/min, speed 0.12 m/s, stance fraction
0.015, pelvic and hip rotation amplitudes about 20 %, foot angles and eversion a few degrees. Fault
severities are drawn uniformly from 0.6 to 1.4 of the driver's default.
"""

import dataclasses
from dataclasses import dataclass
from typing import Final

import numpy as np

from .params import Body, Gait, Walker
from .walk import DRIVERS, WalkConfig, apply_driver, parse_driver

SEVERITY_RANGE: Final = (0.6, 1.4)


@dataclass(frozen=True)
class Subject:
    """A cohort member: `walker` is the individual without the fault; `faulted()` adds it."""

    subject_id: str
    walker: Walker
    driver: str
    side: str
    severity: float
    seed: int

    def faulted(self) -> Walker:
        driver, side = parse_driver(self.driver_name)
        return apply_driver(self.walker, driver, side, self.severity).validate()

    def walk_config(self, minutes: float) -> WalkConfig:
        return WalkConfig(
            minutes=minutes,
            driver=self.driver_name,
            seed=self.seed,
            walker=self.walker,
            severity=self.severity,
        )

    @property
    def driver_name(self) -> str:
        """The driver as `gaitchain sim walk --driver` takes it."""
        return "healthy" if self.driver == "healthy" else f"{self.side}-{self.driver}"


def _clipped(rng: np.random.Generator, mean: float, sd: float, low: float, high: float) -> float:
    return float(np.clip(rng.normal(mean, sd), low, high))


def individual(rng: np.random.Generator, variation: float = 1.0) -> Walker:
    """A healthy walker drawn around the defaults; `variation` scales every spread."""
    base = Gait()
    v = variation

    def around(mean: float, sd: float, low: float, high: float) -> float:
        return _clipped(rng, mean, sd * v, low, high)

    gait = dataclasses.replace(
        base,
        cadence_spm=around(base.cadence_spm, 6.0, 90.0, 135.0),
        speed_mps=around(base.speed_mps, 0.12, 0.9, 1.8),
        stance_fraction=around(base.stance_fraction, 0.015, 0.57, 0.66),
        step_width_m=around(base.step_width_m, 0.025, 0.02, 0.2),
        toe_out_deg=around(base.toe_out_deg, 4.0, -5.0, 20.0),
        heel_strike_angle_deg=around(base.heel_strike_angle_deg, 3.0, 8.0, 30.0),
        toe_off_angle_deg=around(base.toe_off_angle_deg, 5.0, 40.0, 75.0),
        pelvis_obliquity_deg=around(base.pelvis_obliquity_deg, 0.8, 1.0, 8.0),
        pelvis_rotation_deg=around(base.pelvis_rotation_deg, 1.0, 1.0, 10.0),
        pelvis_tilt_mean_deg=around(base.pelvis_tilt_mean_deg, 3.0, 0.0, 20.0),
        hip_rotation_mean_deg=around(base.hip_rotation_mean_deg, 2.0, -8.0, 10.0),
        hip_rotation_amplitude_deg=around(base.hip_rotation_amplitude_deg, 1.0, 2.0, 9.0),
        peak_eversion_deg=around(base.peak_eversion_deg, 1.5, 0.0, 10.0),
        peak_eversion_stance_pct=around(base.peak_eversion_stance_pct, 4.0, 20.0, 50.0),
        resupination_stance_pct=around(base.resupination_stance_pct, 4.0, 62.0, 88.0),
        impact_g=around(base.impact_g, 0.6, 1.0, 6.0),
    )
    body = Body(height_m=around(1.72, 0.09, 1.45, 2.0))
    # Keep the stride length physiological for the drawn height.
    stride_m = gait.speed_mps * gait.stride_s
    if not 0.6 * body.height_m <= stride_m <= 1.0 * body.height_m:
        speed = float(np.clip(stride_m, 0.6 * body.height_m, 1.0 * body.height_m)) / gait.stride_s
        gait = dataclasses.replace(gait, speed_mps=speed)
    return Walker(body=body, gait=gait).validate()


def make_cohort(
    n: int, seed: int, *, variation: float = 1.0, healthy_fraction: float = 0.2
) -> list[Subject]:
    """`n` subjects: about `healthy_fraction` healthy, the rest spread over drivers and sides."""
    if not 1 <= n <= 100_000:
        raise ValueError(f"n = {n} is outside 1 to 100000 subjects")
    if not 0.0 <= variation <= 5.0:
        raise ValueError(f"variation = {variation:g} is outside 0 to 5")
    if not 0.0 <= healthy_fraction <= 1.0:
        raise ValueError(f"healthy_fraction = {healthy_fraction:g} is outside 0 to 1")
    rng = np.random.default_rng(seed)
    subjects: list[Subject] = []
    for i in range(n):
        walker = individual(rng, variation)
        if rng.random() < healthy_fraction:
            driver, side, severity = "healthy", "none", 0.0
        else:
            driver = str(DRIVERS[int(rng.integers(len(DRIVERS)))])
            side = "left" if rng.random() < 0.5 else "right"
            severity = float(rng.uniform(*SEVERITY_RANGE))
        subject_seed = int(rng.random() * 2**31)
        subjects.append(
            Subject(f"subject_{i + 1:04d}", walker, driver, side, severity, subject_seed)
        )
    return subjects
