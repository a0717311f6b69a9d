# pyright: strict
"""A calibration bench on the simulator: one pod with the simulator's sensor error model
(`gaitchain.sim.imu.PodSensor`: biases, gyro bias random walk, scale and cross-axis errors, noise,
hard and soft iron) measuring a scripted motion instead of a walk.

`Bench` is a `Body` whose pelvis follows a `Script` of orientations (sensor to ENU) at a fixed
point; the pod sits on the pelvis with identity mounting, so the script is the pod's orientation
and `PodSensor` differentiates it into angular rate and specific force as it does for a walk. The
truth (acc offset and matrix, gyro bias, hard and soft iron) is read from the sensor.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gaitchain.io.recording import BASE_COLUMNS, MAG_COLUMNS
from gaitchain.sim.body import Body, Poses
from gaitchain.sim.imu import EARTH_FIELD_UT, PodSensor, PodSpec
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

FloatArray = NDArray[np.float64]

FACE_UP = {
    "+x up": Rotation.from_euler("y", -90, degrees=True),
    "-x up": Rotation.from_euler("y", 90, degrees=True),
    "+y up": Rotation.from_euler("x", 90, degrees=True),
    "-y up": Rotation.from_euler("x", -90, degrees=True),
    "+z up": Rotation.identity(),
    "-z up": Rotation.from_euler("x", 180, degrees=True),
}
"""Sensor-to-ENU rotations that put each sensor axis up (checked in the tests)."""
FIELD_UT = float(np.linalg.norm(EARTH_FIELD_UT))


def _ease(u: FloatArray) -> FloatArray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10 - 15 * u + 6 * u * u)


def _ramped_time(t: FloatArray, duration_s: float, ramp_s: float) -> FloatArray:
    """Time that starts and ends at rest: its rate rises from 0 to 1 over `ramp_s` (a raised
    cosine) and falls back to 0 over the last `ramp_s`."""

    def rising(x: FloatArray) -> FloatArray:
        x = np.clip(x, 0.0, ramp_s)
        return x / 2 - ramp_s / (2 * np.pi) * np.sin(np.pi * x / ramp_s)

    t = np.clip(t, 0.0, duration_s)
    middle = np.clip(t - ramp_s, 0.0, duration_s - 2 * ramp_s)
    return rising(t) + middle + ramp_s / 2 - rising(duration_s - t)


@dataclass
class _Piece:
    t_start_s: float
    t_stop_s: float
    kind: str
    start: Rotation
    stop: Rotation
    rates_dps: tuple[float, float, float] = (0.0, 0.0, 0.0)


class Script:
    """Orientations over time: holds, smooth moves between them, and tumbles."""

    def __init__(self, start: Rotation | None = None) -> None:
        self.pieces: list[_Piece] = []
        self.now_s = 0.0
        self.current = start if start is not None else Rotation.identity()
        self.marks: dict[str, tuple[float, float]] = {}

    def hold(self, duration_s: float) -> "Script":
        self._add(duration_s, "hold", self.current, (0.0, 0.0, 0.0))
        return self

    def move(self, to: Rotation, duration_s: float = 1.5) -> "Script":
        self._add(duration_s, "move", to, (0.0, 0.0, 0.0))
        return self

    def tumble(self, duration_s: float, rates_dps: tuple[float, float, float]) -> "Script":
        """Turn about the sensor's z, then x, then z axes at `rates_dps` (Euler ZXZ angles growing
        at those rates), starting and stopping smoothly."""
        start = self.current
        self._add(duration_s, "tumble", start, rates_dps)
        self.current = self._tumble(self.pieces[-1], np.array([self.now_s]))[0]
        self.pieces[-1].stop = self.current
        return self

    def mark(self, name: str, start_s: float) -> None:
        self.marks[name] = (start_s, self.now_s)

    def _add(
        self, duration_s: float, kind: str, to: Rotation, rates_dps: tuple[float, float, float]
    ) -> None:
        piece = _Piece(self.now_s, self.now_s + duration_s, kind, self.current, to, rates_dps)
        self.pieces.append(piece)
        self.now_s = piece.t_stop_s
        self.current = to

    def _tumble(self, piece: _Piece, t: FloatArray) -> Rotation:
        duration = piece.t_stop_s - piece.t_start_s
        tau = _ramped_time(t - piece.t_start_s, duration, min(1.0, duration / 4))
        angles = np.radians(np.outer(tau, piece.rates_dps))
        return piece.start * Rotation.from_euler("ZXZ", angles)

    def rotation(self, t_s: FloatArray) -> FloatArray:
        """Sensor-to-ENU rotation matrices (n,3,3) at `t_s` (held before and after the script)."""
        out = np.empty((t_s.shape[0], 3, 3))
        first = self.pieces[0]
        out[t_s < first.t_start_s] = first.start.as_matrix()
        out[t_s >= self.now_s] = self.current.as_matrix()
        for piece in self.pieces:
            inside = (t_s >= piece.t_start_s) & (t_s < piece.t_stop_s)
            if not inside.any():
                continue
            t = t_s[inside]
            if piece.kind == "hold":
                out[inside] = piece.start.as_matrix()
            elif piece.kind == "move":
                u = _ease((t - piece.t_start_s) / (piece.t_stop_s - piece.t_start_s))
                pair = Rotation.concatenate([piece.start, piece.stop])
                out[inside] = Slerp([0.0, 1.0], pair)(u).as_matrix()
            else:
                out[inside] = self._tumble(piece, t).as_matrix()
        return out


class Bench(Body):
    """A body whose pelvis follows `script` at a fixed point (the walker stands for 10 minutes
    first, so no heel strike reaches the pod during a script)."""

    def __init__(self, script: Script) -> None:
        walker = Walker().validate()
        plan = make_plan(1300.0, walker.gait.speed_mps, walker.gait.stride_s, stand_s=600.0)
        super().__init__(build_schedule(walker, plan))
        self.script = script

    def poses(self, t_s: FloatArray) -> Poses:
        t_s = np.asarray(t_s, dtype=np.float64)
        origin = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (t_s.shape[0], 3)).copy()
        return Poses(
            t_s,
            {"pelvis": self.script.rotation(t_s)},
            {"pelvis": origin},
            np.zeros_like(t_s),
            np.zeros_like(t_s),
        )


@dataclass
class Capture:
    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray | None
    gyr_bias_radps: FloatArray
    """True gyroscope bias at each sample (it drifts)."""

    def write_csv(self, path: Path, *, mag: bool = True) -> Path:
        columns = [self.t_s[:, None], self.acc_mps2, self.gyr_radps]
        header = [*BASE_COLUMNS]
        formats = ["%.6f"] + ["%.5f"] * 3 + ["%.6f"] * 3
        if mag and self.mag_ut is not None:
            columns.append(self.mag_ut)
            header += MAG_COLUMNS
            formats += ["%.3f"] * 3
        np.savetxt(
            path,
            np.hstack(columns),
            fmt=formats,
            delimiter=",",
            header=",".join(header),
            comments="",
        )
        return path


@dataclass
class Truth:
    acc_offset_mps2: FloatArray
    acc_matrix: FloatArray
    """Calibration matrix: the inverse of the sensor's scale and cross-axis matrix."""
    hard_iron_ut: FloatArray
    soft_iron_inverse: FloatArray
    """Maps hard-iron-free readings back to the true field (|field| = `FIELD_UT`)."""


class Pod:
    """One simulated pod on the bench: `capture(script)` measures a whole script."""

    def __init__(self, seed: int, errors: ImuErrors | None = None, rate_hz: float = 100.0) -> None:
        self.seed = seed
        self.errors = errors or ImuErrors(mag=True, disturbance_ut=0.0)
        self.rate_hz = rate_hz
        self._sensor: PodSensor | None = None

    def capture(self, script: Script) -> Capture:
        bench = Bench(script)
        rng = np.random.default_rng(self.seed)
        sensor = PodSensor(bench, PodSpec("pelvis", "center", self.rate_hz), self.errors, rng)
        sensor.mount, sensor.offset = np.eye(3), np.zeros(3)
        self._sensor = sensor
        t_s = np.arange(0.0, script.now_s, 1.0 / self.rate_hz)
        acc, gyr, mag, bias = sensor.measure(t_s)
        return Capture(t_s, acc, gyr, mag, bias)

    @property
    def truth(self) -> Truth:
        """The sensor's errors (the same for every capture with the same seed)."""
        if self._sensor is None:
            self.capture(Script().hold(1.0))
        sensor = self._sensor
        assert sensor is not None
        iron = sensor._mag  # pyright: ignore[reportPrivateUsage]
        assert iron is not None
        _, soft, hard = iron
        inverse = np.linalg.inv
        return Truth(
            sensor.acc_bias_mps2,
            np.asarray(inverse(sensor.acc_matrix), dtype=np.float64),
            hard,
            np.asarray(inverse(soft), dtype=np.float64),
        )


def slice_capture(capture: Capture, start_s: float, stop_s: float) -> Capture:
    keep = (capture.t_s >= start_s) & (capture.t_s < stop_s)
    return Capture(
        capture.t_s[keep],
        capture.acc_mps2[keep],
        capture.gyr_radps[keep],
        None if capture.mag_ut is None else capture.mag_ut[keep],
        capture.gyr_bias_radps[keep],
    )


def faces_script(
    hold_s: float = 5.0,
    faces: tuple[str, ...] = tuple(FACE_UP),
    tilts_deg: tuple[float, ...] | None = None,
    seed: int = 0,
) -> Script:
    """The pod set on `faces` in turn (each tilted by `tilts_deg` about a random horizontal
    axis: a table that is not level), still for `hold_s` on each."""
    rng = np.random.default_rng(seed)
    script = Script(FACE_UP[faces[0]]).hold(1.0)
    for i, face in enumerate(faces):
        rotation = FACE_UP[face]
        if tilts_deg is not None:
            axis = np.array([*rng.normal(size=2), 0.0])
            axis /= np.linalg.norm(axis)
            rotation = Rotation.from_rotvec(np.radians(tilts_deg[i]) * axis) * rotation
        script.move(rotation).hold(hold_s)
    return script.move(FACE_UP[faces[-1]]).hold(1.0)


def random_poses_script(count: int, hold_s: float = 4.0, seed: int = 0) -> Script:
    """The pod still in `count` random orientations (uniform over all orientations)."""
    rotations = Rotation.random(count, rng=np.random.default_rng(seed))
    script = Script(rotations[0]).hold(hold_s)
    for k in range(1, count):
        script.move(rotations[k], 2.0).hold(hold_s)
    return script
