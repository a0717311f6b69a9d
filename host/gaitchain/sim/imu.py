"""IMU synthesis: what a pod strapped to a segment measures, with a realistic error model.

A pod's sensor frame is its segment frame turned by a nominal strap orientation (per segment) and a
random mounting error of up to `ImuErrors.mounting_max_deg` about a random axis, and sits at a
nominal offset from the segment origin (plus up to 1 cm of random offset). The pod samples on its
own clock, `clock_ppm` fast or slow.

Measured, in the sensor frame: specific force f = R^T (a + g e_z) (m/s², gravity included, so a
pod at rest reads +9.81 on its up axis) and angular rate (rad/s); optionally the magnetic field
(µT).
Both come from the body kinematics by central differences over +-`DIFF_STEP_S`. Then, in this
order: heel-strike transients and soft-tissue wobble, scale and cross-axis errors, biases (the gyro
bias drifts as a random walk), white noise at the datasheet density over the Nyquist band, and
saturation at the full-scale range.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..protocol import SampleFlags, StreamConfig
from ..signals import G_MPS2
from ..stream import SampleChunk
from .body import Body, apply, rot_y
from .lsm6dsv16x import ACCEL_SENSITIVITY_MG, GYRO_SENSITIVITY_MDPS, accel_counts, gyro_counts
from .params import ImuErrors, ParameterError

FloatArray = NDArray[np.float64]

DIFF_STEP_S: Final = 1e-3
IMPACT_PULSE_S: Final = 0.015
IMPACT_SCALE: Final = {"foot": 1.0, "shank": 0.6, "thigh": 0.35, "pelvis": 0.25}
"""Heel-strike transient at each segment relative to the foot (attenuation up the chain)."""
WOBBLE_SCALE: Final = {"foot": 0.3, "shank": 1.0, "thigh": 1.2, "pelvis": 0.3}
EARTH_FIELD_UT: Final = np.array([0.0, 25.0, -43.3])
"""About 50 µT, inclination 60 deg, pointing north (+y) and down: a mid-latitude field in ENU."""
SEGMENT_KINDS: Final = ("pelvis", "thigh", "shank", "foot")
SIDE_NAMES: Final = ("left", "right", "center")


def _nominal_mount(segment: str, side: str) -> tuple[FloatArray, FloatArray]:
    """Nominal sensor axes (columns, in the segment frame) and offset (m) from the segment origin.

    Pelvis over the sacrum (z out of the back), thigh on its lateral side, shank on the flat
    anteromedial tibia, foot on the dorsum; sensor x along the segment's long axis (or forward on
    the foot).
    """
    sign = 1.0 if side == "left" else -1.0
    if segment == "pelvis":
        axes = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T
        return axes @ np.eye(3), np.array([-0.10, 0.0, 0.05])
    if segment == "thigh":
        out = np.array([0.0, sign, 0.0])
        up = np.array([0.0, 0.0, 1.0])
        axes = np.stack([up, np.cross(out, up), out], axis=1)
        return axes, np.array([0.0, sign * 0.08, -0.20])
    if segment == "shank":
        out = np.array([np.cos(np.radians(30)), -sign * np.sin(np.radians(30)), 0.0])
        up = np.array([0.0, 0.0, 1.0])
        axes = np.stack([up, np.cross(out, up), out], axis=1)
        return axes, np.array([0.04, -sign * 0.02, -0.15])
    if segment == "foot":
        axes = np.asarray(rot_y(np.array([np.radians(-20.0)]))[0])
        return axes, np.array([0.14, 0.0, 0.06])
    raise ParameterError(f"segment {segment!r} is not one of {', '.join(SEGMENT_KINDS)}")


@dataclass(frozen=True)
class PodSpec:
    segment: str
    side: str
    rate_hz: float = 120.0
    clock_ppm: float = 0.0

    @property
    def name(self) -> str:
        return self.segment if self.side == "center" else f"{self.side}_{self.segment}"

    @property
    def body_segment(self) -> str:
        return "pelvis" if self.segment == "pelvis" else f"{self.side}_{self.segment}"

    def validate(self) -> None:
        if self.segment not in SEGMENT_KINDS:
            raise ParameterError(
                f"segment {self.segment!r} is not one of {', '.join(SEGMENT_KINDS)}"
            )
        expected = ("center",) if self.segment == "pelvis" else ("left", "right")
        if self.side not in expected:
            raise ParameterError(
                f"a {self.segment} pod's side must be {' or '.join(expected)}, not {self.side!r}"
            )
        if not 10.0 <= self.rate_hz <= 2000.0:
            raise ParameterError(f"rate_hz = {self.rate_hz:g} is outside 10 to 2000 Hz")
        if not -200.0 <= self.clock_ppm <= 200.0:
            raise ParameterError(f"clock_ppm = {self.clock_ppm:g} is outside -200 to 200 ppm")


@dataclass
class PodSignals:
    """One pod's synthesized recording and the truth of its mounting."""

    spec: PodSpec
    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray | None
    mount_rotation: FloatArray
    """Sensor axes in the segment frame (3,3): segment-from-sensor rotation."""
    mount_offset_m: FloatArray
    gyr_bias_radps: FloatArray
    acc_bias_mps2: FloatArray
    acc_matrix: FloatArray
    """Scale and cross-axis error of the accelerometer: measured = acc_matrix @ true + bias."""


def random_mount(
    segment: str, side: str, max_deg: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    axes, offset = _nominal_mount(segment, side)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(0.0, max_deg))
    error = Rotation.from_rotvec(axis * angle).as_matrix()
    return axes @ error, offset + rng.uniform(-0.01, 0.01, size=3)


def sample_times(duration_s: float, spec: PodSpec, rng: np.random.Generator) -> FloatArray:
    """Sample instants on the common (true) time base of a pod whose clock runs `clock_ppm` off."""
    period_s = 1.0 / (spec.rate_hz * (1 + spec.clock_ppm * 1e-6))
    start_s = rng.uniform(0.0, period_s)
    count = int((duration_s - start_s) / period_s)
    return start_s + period_s * np.arange(count, dtype=np.float64)


def kinematics(
    body: Body, segment: str, t_s: FloatArray, mount: FloatArray, offset: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Sensor rotation (n,3,3), true specific force and angular rate in the sensor frame, and
    sensor position (n,3), by central differences."""
    n = t_s.shape[0]
    times = np.concatenate([t_s - DIFF_STEP_S, t_s, t_s + DIFF_STEP_S])
    poses = body.poses(times)
    segment_rotation = poses.rotation[segment]
    sensor_rotation = segment_rotation @ mount
    position = poses.origin_m[segment] + apply(
        segment_rotation, np.broadcast_to(offset, (3 * n, 3))
    )
    before, now, after = sensor_rotation[:n], sensor_rotation[n : 2 * n], sensor_rotation[2 * n :]
    delta = np.swapaxes(before, -1, -2) @ after
    gyr = Rotation.from_matrix(delta).as_rotvec() / (2 * DIFF_STEP_S)
    acc_world = (position[2 * n :] - 2 * position[n : 2 * n] + position[:n]) / DIFF_STEP_S**2
    acc_world[:, 2] += G_MPS2
    acc = np.einsum("nji,nj->ni", now, acc_world)
    return now, acc, gyr, position[n : 2 * n]


def impacts(
    t_s: FloatArray, contacts_s: FloatArray, segment: str, impact_g: float, errors: ImuErrors
) -> tuple[FloatArray, FloatArray]:
    """Heel-strike transient along the segment's vertical and soft-tissue wobble along its
    forward axis, in the segment frame (m/s²), summed over all `contacts_s`."""
    vertical = np.zeros_like(t_s)
    forward = np.zeros_like(t_s)
    index = np.searchsorted(contacts_s, t_s, side="right") - 1
    valid = index >= 0
    since = np.where(valid, t_s - contacts_s[np.maximum(index, 0)], np.inf)
    pulse = (since >= 0) & (since < IMPACT_PULSE_S)
    vertical[pulse] = (
        impact_g * IMPACT_SCALE[segment] * G_MPS2 * np.sin(np.pi * since[pulse] / IMPACT_PULSE_S)
    )
    ringing = (since >= 0) & (since < 8 * errors.wobble_decay_s)
    forward[ringing] = (
        errors.wobble_g
        * WOBBLE_SCALE[segment]
        * G_MPS2
        * np.exp(-since[ringing] / errors.wobble_decay_s)
        * np.sin(2 * np.pi * errors.wobble_hz * since[ringing])
    )
    return vertical, forward


def _field(position_m: FloatArray, disturbances: FloatArray, peak_ut: float) -> FloatArray:
    """Earth field plus indoor disturbances: smooth blobs of field around points on the floor."""
    field = np.broadcast_to(EARTH_FIELD_UT, position_m.shape).copy()
    for x, y, direction in disturbances:
        distance2 = (position_m[:, 0] - x) ** 2 + (position_m[:, 1] - y) ** 2
        strength = peak_ut * np.exp(-distance2 / (2 * 1.0**2))
        d = np.array([np.cos(direction), np.sin(direction), -0.5])
        field += strength[:, None] * d / np.linalg.norm(d)
    return field


class PodSensor:
    """One pod's sensor on the walker: mounting, biases, scale and cross-axis errors are drawn
    once; `measure` gives readings at any times, called once or chunk by chunk with increasing
    times (as the emulated IMU chip does), continuing the gyro-bias random walk across calls."""

    def __init__(
        self, body: Body, spec: PodSpec, errors: ImuErrors, rng: np.random.Generator
    ) -> None:
        spec.validate()
        errors.validate()
        self.body = body
        self.spec = spec
        self.errors = errors
        self._rng = rng
        self.mount, self.offset = random_mount(
            spec.segment, spec.side, errors.mounting_max_deg, rng
        )
        self.acc_matrix = self._imperfection()
        self.gyr_matrix = self._imperfection()
        self.acc_bias_mps2 = rng.normal(0.0, errors.acc_bias_mg * 1e-3 * G_MPS2, 3)
        self.gyr_bias_radps = rng.normal(0.0, np.radians(errors.gyr_bias_dps), 3)
        sides = ("left", "right") if spec.segment == "pelvis" else (spec.side,)
        contacts = np.sort(np.concatenate([body.schedule.feet[s].ic_s for s in sides]))
        self.contacts_s = contacts[contacts > 0]
        self._last_t_s: float | None = None
        self._mag: tuple[FloatArray, FloatArray, FloatArray] | None = None
        if errors.mag:
            path_length = body.schedule.plan.path.length_m
            count = max(1, int(path_length / 15))
            px, py, _ = body.schedule.plan.path.point(rng.uniform(0.0, path_length, count))
            disturbances = np.stack([px, py, rng.uniform(0, 2 * np.pi, count)], axis=1)
            soft = np.eye(3) + rng.normal(0.0, errors.soft_iron_pct / 100, (3, 3))
            self._mag = (disturbances, soft, rng.normal(0.0, errors.hard_iron_ut, 3))

    def _imperfection(self) -> FloatArray:
        rng, errors = self._rng, self.errors
        return (
            np.eye(3)
            + np.diag(rng.normal(0, errors.scale_error_pct / 100, 3))
            + rng.normal(0, errors.cross_axis_pct / 100, (3, 3)) * (1 - np.eye(3))
        )

    def measure(
        self, t_s: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray]:
        """Specific force (m/s²), angular rate (rad/s), magnetic field (µT or None) and the gyro
        bias (rad/s) in the sensor frame at increasing times `t_s`."""
        rng, errors, spec = self._rng, self.errors, self.spec
        rotation, acc, gyr, position = kinematics(
            self.body, spec.body_segment, t_s, self.mount, self.offset
        )
        vertical, forward = impacts(
            t_s, self.contacts_s, spec.segment, self.body.walker.gait.impact_g, errors
        )
        acc = acc + np.stack([forward, np.zeros_like(forward), vertical], axis=1) @ self.mount
        previous = t_s[0] - 1.0 / spec.rate_hz if self._last_t_s is None else self._last_t_s
        steps_s = np.diff(np.concatenate([[previous], t_s]))
        self._last_t_s = float(t_s[-1])
        walk_sd = np.radians(errors.gyr_bias_walk_dps_per_rts) * np.sqrt(np.maximum(steps_s, 0.0))
        bias = self.gyr_bias_radps + np.cumsum(
            rng.normal(0.0, 1.0, (t_s.shape[0], 3)) * walk_sd[:, None], axis=0
        )
        self.gyr_bias_radps = bias[-1].copy()
        bandwidth_hz = spec.rate_hz / 2
        acc_noise = errors.acc_noise_ug_per_rthz * 1e-6 * G_MPS2 * np.sqrt(bandwidth_hz)
        gyr_noise = np.radians(errors.gyr_noise_mdps_per_rthz * 1e-3) * np.sqrt(bandwidth_hz)
        acc = acc @ self.acc_matrix.T + self.acc_bias_mps2 + rng.normal(0.0, acc_noise, acc.shape)
        gyr = gyr @ self.gyr_matrix.T + bias + rng.normal(0.0, gyr_noise, gyr.shape)
        acc = np.clip(acc, -errors.acc_range_g * G_MPS2, errors.acc_range_g * G_MPS2)
        gyr = np.clip(gyr, -np.radians(errors.gyr_range_dps), np.radians(errors.gyr_range_dps))
        mag = None
        if self._mag is not None:
            disturbances, soft, hard = self._mag
            field = _field(position, disturbances, errors.disturbance_ut)
            clean: FloatArray = np.einsum("nji,nj->ni", rotation, field)
            mag = clean @ soft.T + hard + rng.normal(0.0, 0.3, clean.shape)
        return acc, gyr, mag, bias


def synthesize(
    body: Body, spec: PodSpec, errors: ImuErrors, rng: np.random.Generator
) -> PodSignals:
    """A whole recording of one pod, sampled on its own clock."""
    sensor = PodSensor(body, spec, errors, rng)
    t_s = sample_times(body.schedule.plan.duration_s, spec, rng)
    acc, gyr, mag, bias = sensor.measure(t_s)
    return PodSignals(
        spec,
        t_s,
        acc,
        gyr,
        mag,
        sensor.mount,
        sensor.offset,
        bias,
        np.broadcast_to(sensor.acc_bias_mps2, acc.shape),
        sensor.acc_matrix,
    )


POD_ACC_FS_CODE: Final = 3
"""FS_XL code of the pods' default full scale, +-16 g (`firmware/pod/config.py`)."""
POD_GYR_FS_CODE: Final = 4
"""FS_G code of the pods' default full scale, +-2000 dps."""


def stream_chunks(
    pod: PodSignals, *, pod_id: int = 1, samples_per_batch: int = 18
) -> list[SampleChunk]:
    """The pod's readings as the stream layer hands a pod's samples over (`SampleChunk`s of
    `samples_per_batch`, the chip's counts at the pods' default full scales, host time = sample
    time), for the live fusion without the link and the emulated chip."""
    acc_scale = ACCEL_SENSITIVITY_MG[POD_ACC_FS_CODE] * 1e-3 * G_MPS2
    gyr_scale = float(np.radians(GYRO_SENSITIVITY_MDPS[POD_GYR_FS_CODE] * 1e-3))
    rate_hz = round(pod.spec.rate_hz)
    config = StreamConfig(
        pod_id, 0, rate_hz, acc_scale, gyr_scale, 0.0, SampleFlags.NONE, samples_per_batch
    )
    acc = accel_counts(pod.acc_mps2, POD_ACC_FS_CODE)
    gyr = gyro_counts(pod.gyr_radps, POD_GYR_FS_CODE)
    chunks: list[SampleChunk] = []
    for seq, start in enumerate(range(0, acc.shape[0], samples_per_batch)):
        end = min(start + samples_per_batch, acc.shape[0])
        t_s = pod.t_s[start:end]
        counts = (acc[start:end], gyr[start:end], None, None, SampleFlags.NONE, config, 0)
        chunks.append(SampleChunk(pod_id, 0, seq, t_s * 1e6, t_s, *counts))
    return chunks
