"""A simulated walk end to end: walker with a chain driver, pods, recording and ground truth.

Drivers name the kinetic-chain fault that loads a foot; a driver applies to one side
("left-hip-ir-deficit"). `healthy` has none. Default severities are clearly abnormal but within
what the sources in `params` report for symptomatic people.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..io.recording import PodRecording, Recording, write_recording
from .body import SEGMENTS, Body
from .imu import PodSignals, PodSpec, synthesize
from .params import ImuErrors, ParameterError, Pelvis, SideFaults, Walker
from .plan import make_plan
from .schedule import build_schedule
from .truth import ANGLE_COLUMNS, events, joint_angles

FloatArray = NDArray[np.float64]

DRIVERS: Final = (
    "hip-ir-deficit",
    "glute-med",
    "pelvic-asymmetry",
    "ankle-df-limit",
    "foot-level",
)
TRUTH_RATE_HZ: Final = 100.0
DEFAULT_PODS: Final = (
    ("pelvis", "center"),
    ("shank", "left"),
    ("shank", "right"),
    ("foot", "left"),
    ("foot", "right"),
)


def parse_driver(text: str) -> tuple[str, str]:
    """ "left-hip-ir-deficit" -> ("hip-ir-deficit", "left"); "healthy" -> ("healthy", "none")."""
    if text == "healthy":
        return "healthy", "none"
    side, _, driver = text.partition("-")
    if side not in ("left", "right") or driver not in DRIVERS:
        names = ", ".join(f"{s}-{d}" for s in ("left", "right") for d in DRIVERS)
        raise ParameterError(f"driver {text!r} is not healthy or one of: {names}")
    return driver, side


def apply_driver(walker: Walker, driver: str, side: str, severity: float = 1.0) -> Walker:
    """The walker with the driver's fault on `side`, scaled by `severity` (1 = default)."""
    if not 0.0 <= severity <= 2.0:
        raise ParameterError(f"severity = {severity:g} is outside 0 to 2")
    if driver == "healthy":
        return walker
    faults = walker.side(side)
    if driver == "hip-ir-deficit":
        deficit = 15.0 * severity
        faults = dataclasses.replace(
            faults,
            hip_ir_deficit_deg=deficit,
            hip_ir_rom_deg=max(0.0, faults.hip_ir_rom_deg - deficit),
        )
    elif driver == "glute-med":
        faults = dataclasses.replace(
            faults,
            glute_med_weakness=min(1.0, 0.5 * severity),
            glute_med_fatigue_per_1000_steps=0.1 * severity,
        )
    elif driver == "ankle-df-limit":
        faults = dataclasses.replace(faults, ankle_df_deficit_deg=7.0 * severity)
    elif driver == "foot-level":
        faults = dataclasses.replace(
            faults, extra_eversion_deg=5.0 * severity, eversion_delay_pct=10.0 * severity
        )
    elif driver == "pelvic-asymmetry":
        turn = -1.0 if side == "left" else 1.0
        pelvis = Pelvis(
            rotation_offset_deg=6.0 * severity * turn,
            leg_length_difference_m=-0.01 * severity * turn,
            lateral_shift_m=0.01 * severity * turn,
        )
        return dataclasses.replace(walker, pelvis=pelvis)
    else:
        raise ParameterError(f"unknown driver {driver!r}; one of healthy, {', '.join(DRIVERS)}")
    return dataclasses.replace(walker, **{side: faults})


@dataclass
class WalkConfig:
    minutes: float = 10.0
    driver: str = "healthy"
    seed: int = 0
    walker: Walker = field(default_factory=Walker)
    pods: tuple[tuple[str, str], ...] = DEFAULT_PODS
    rate_hz: float = 120.0
    max_clock_ppm: float = 50.0
    errors: ImuErrors = field(default_factory=ImuErrors)
    severity: float = 1.0


@dataclass
class SimulatedWalk:
    config: WalkConfig
    walker: Walker
    body: Body
    pods: list[PodSignals]

    def recording(self) -> Recording:
        pods = [
            PodRecording(
                f"{p.spec.name}.csv",
                p.spec.segment,
                p.spec.side,
                p.t_s,
                p.acc_mps2,
                p.gyr_radps,
                p.mag_ut,
            )
            for p in self.pods
        ]
        return Recording(
            pods,
            {
                "source": "gaitchain sim walk",
                "seed": self.config.seed,
                "driver": self.config.driver,
            },
        )

    def truth_poses_times(self) -> FloatArray:
        return np.arange(0.0, self.body.schedule.plan.duration_s, 1.0 / TRUTH_RATE_HZ)


def simulate_walk(config: WalkConfig) -> SimulatedWalk:
    """Simulate `config.minutes` of walking with the configured driver; deterministic per seed."""
    if not 0.2 <= config.minutes <= 24 * 60:
        raise ParameterError(f"minutes = {config.minutes:g} is outside 0.2 to 1440")
    driver, side = parse_driver(config.driver)
    walker = apply_driver(config.walker, driver, side, config.severity).validate()
    rng = np.random.default_rng(config.seed)
    plan = make_plan(
        config.minutes * 60.0,
        walker.gait.speed_mps,
        walker.gait.stride_s,
        lead_first="left" if rng.random() < 0.5 else "right",
    )
    body = Body(build_schedule(walker, plan))
    pods: list[PodSignals] = []
    for segment, pod_side in config.pods:
        ppm = float(rng.uniform(-config.max_clock_ppm, config.max_clock_ppm))
        spec = PodSpec(segment, pod_side, config.rate_hz, ppm)
        pods.append(synthesize(body, spec, config.errors, rng))
    return SimulatedWalk(config, walker, body, pods)


def _jsonable(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(cast(object, getattr(value, f.name)))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in cast(list[object], value)]
    if isinstance(value, np.ndarray):
        array = cast(NDArray[np.float64], value)
        return np.round(array, 9).tolist()
    if isinstance(value, float):
        return round(value, 9)
    return value


def write_walk(walk: SimulatedWalk, directory: Path | str) -> Path:
    """Write the recording (open format) and its truth (`truth/`) into `directory`."""
    directory = Path(directory)
    write_recording(directory, walk.recording())
    truth_dir = directory / "truth"
    truth_dir.mkdir(exist_ok=True)
    t = walk.truth_poses_times()
    poses = walk.body.poses(t)
    angles = joint_angles(poses)
    table = np.column_stack([t, *(angles[c] for c in ANGLE_COLUMNS)])
    np.savetxt(
        truth_dir / "angles.csv",
        table,
        fmt=["%.4f"] + ["%.4f"] * len(ANGLE_COLUMNS),
        delimiter=",",
        header=",".join(("t_s", *ANGLE_COLUMNS)),
        comments="",
    )
    quaternion_columns: list[FloatArray] = [t]
    header = ["t_s"]
    for segment in SEGMENTS:
        q = Rotation.from_matrix(poses.rotation[segment]).as_quat(scalar_first=True)
        q *= np.where(q[:, :1] < 0, -1.0, 1.0)
        quaternion_columns += [q[:, i] for i in range(4)]
        header += [f"{segment}_{c}" for c in ("qw", "qx", "qy", "qz")]
    np.savetxt(
        truth_dir / "segments.csv",
        np.column_stack(quaternion_columns),
        fmt="%.7f",
        delimiter=",",
        header=",".join(header),
        comments="",
    )
    with (truth_dir / "events.csv").open("w") as f:
        f.write("t_s,side,event\n")
        for time, side, name in events(walk.body.schedule):
            f.write(f"{time:.6f},{side},{name}\n")
    impact_g = walk.walker.gait.impact_g
    with (truth_dir / "steps.csv").open("w") as f:
        f.write("t_s,side,impact_peak_g\n")
        for time, side, name in events(walk.body.schedule):
            if name == "initial_contact":
                f.write(f"{time:.6f},{side},{impact_g:.3f}\n")
    summary = {
        "driver": walk.config.driver,
        "seed": walk.config.seed,
        "minutes": walk.config.minutes,
        "severity": walk.config.severity,
        "walker": _jsonable(walk.walker),
        "frames": "segment frames x forward, y left, z up; quaternions w,x,y,z segment to ENU",
        "impact_peak_g_at_foot": impact_g,
        "pods": [
            {
                "file": f"{p.spec.name}.csv",
                "segment": p.spec.segment,
                "side": p.spec.side,
                "rate_hz": p.spec.rate_hz,
                "clock_ppm": round(p.spec.clock_ppm, 6),
                "sensor_to_segment": _jsonable(p.mount_rotation),
                "offset_m": _jsonable(p.mount_offset_m),
                "gyr_bias_radps_start": _jsonable(p.gyr_bias_radps[0]),
                "acc_bias_mps2": _jsonable(p.acc_bias_mps2[0]),
            }
            for p in walk.pods
        ],
    }
    (truth_dir / "truth.json").write_text(json.dumps(summary, indent=1) + "\n")
    return directory


__all__ = [
    "DRIVERS",
    "SideFaults",
    "SimulatedWalk",
    "WalkConfig",
    "apply_driver",
    "parse_driver",
    "simulate_walk",
    "write_walk",
]
