"""Sensor-to-segment alignment from the data, for pods strapped on in any orientation.

The functional segment frame (x forward, y left, z up, as in the simulator and the truth) is found
without assuming how the pod sits:
- z: the vertical while the client stands quietly at the start of the recording (gravity in the
  sensor frame), which makes that standing posture the neutral one;
- shank, foot and thigh: y is the flexion axis, the principal axis of the gyroscope while walking
  (these segments turn mostly about it; a thigh whose swing is turned out later takes the knee's
  hinge axis instead, `knee_axis`; a foot's samples are weighted by their squared angular speed,
  so that its slow eversion in loading does not turn the axis), signed so that x = y cross z
  points where the segment went in the first steps after standing. A shank's sign comes from its
  swing instead, its strongest sustained rotation, which turns the ankle forward (about -y); a
  foot's from push-off after every still stance, toes down (about +y): neither needs a clean
  start;
- pelvis: x is the walking direction (not the pelvis's anatomical forward axis: a pelvis turned
  to one side then shows as pelvic rotation). The body sways over each stance foot in turn, once
  per stride, so the stride-frequency part of the horizontal linear acceleration (gravity removed
  with the pod's 6D orientation) points along y, and x is square to it. Not the step-frequency
  surge along x: where one side is weak (a gluteus-medius drop) the steps differ and part of the
  sideways motion comes at the step frequency too, in phase with the surge (2-3 deg off on
  simulated walks; the sway's axis 1 deg at most).
Which way is forward comes from the first steps after each quiet stand: starting from rest, the
gyroscope tracks the pod's orientation for a couple of seconds, gravity is removed, and the
acceleration integrated twice gives the way the segment moved, which is forward.
The axes are made orthonormal with z kept. `quality_` (0-1) says how well the data supported the
estimate: enough quiet standing, a dominant rotation axis, and an axis far from vertical.
"""

from dataclasses import dataclass
from typing import Final, Literal, Self

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import binary_erosion, uniform_filter1d
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from ..gait.events import still_stretches
from ..signals import G_MPS2, true_runs
from .orientation import run_vqf

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
SEGMENTS: Final = ("pelvis", "thigh", "shank", "foot")


class AlignmentError(ValueError):
    """The data cannot give an alignment; the message says what the recording lacks."""


def rest_mask(
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    *,
    sampling_rate_hz: float,
    max_gyr_radps: float = 0.2,
    max_acc_dev_mps2: float = 0.4,
    max_gravity_error_mps2: float = 1.5,
    min_duration_s: float = 1.0,
) -> BoolArray:
    """Samples inside still stretches of at least `min_duration_s`: the gyroscope quiet and the
    specific force steady. Steady means close to its own local mean, not to g: an accelerometer
    that is off by its bias (uncalibrated, 30-60 mg is not rare) still stands still; only a
    reading more than `max_gravity_error_mps2` from g (not a pod at rest on Earth) is refused."""
    window = max(1, round(0.25 * sampling_rate_hz))
    gyr_norm = uniform_filter1d(np.linalg.norm(gyr_radps, axis=1), window)
    acc_norm = np.linalg.norm(acc_mps2, axis=1)
    local_mps2 = uniform_filter1d(acc_norm, window)
    acc_dev = uniform_filter1d(np.abs(acc_norm - local_mps2), window)
    still = (
        (gyr_norm < max_gyr_radps)
        & (acc_dev < max_acc_dev_mps2)
        & (np.abs(local_mps2 - G_MPS2) < max_gravity_error_mps2)
    )
    out = np.zeros_like(still)
    for start, end in true_runs(still):
        if end - start >= min_duration_s * sampling_rate_hz:
            out[start:end] = True
    return out


def walking_mask(
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    *,
    sampling_rate_hz: float,
    min_gyr_radps: float = 0.5,
    min_acc_dev_mps2: float = 1.0,
) -> BoolArray:
    """Samples in movement: over one second, the angular speed or the deviation of the specific
    force from gravity is large (the pelvis turns little but bounces)."""
    window = max(1, round(1.0 * sampling_rate_hz))
    kernel = np.ones(window) / window
    speed = np.convolve(np.linalg.norm(gyr_radps, axis=1), kernel, "same")
    deviation = np.convolve(np.abs(np.linalg.norm(acc_mps2, axis=1) - G_MPS2), kernel, "same")
    return (speed > min_gyr_radps) | (deviation > min_acc_dev_mps2)


def first_stretch(mask: BoolArray, min_samples: int) -> BoolArray:
    """Only the first run of True in `mask` that is at least `min_samples` long."""
    out = np.zeros_like(mask)
    for start, end in true_runs(mask):
        if end - start >= min_samples:
            out[start:end] = True
            break
    return out


def principal_axis(
    vectors: FloatArray, weights: FloatArray | None = None
) -> tuple[FloatArray, float]:
    """Unit principal axis of vectors (n,3), each weighted by `weights` (n,) if given, and the
    share of energy along it (0-1)."""
    scatter = (vectors if weights is None else vectors * weights[:, None]).T @ vectors
    values, axes = np.linalg.eigh(scatter)
    return axes[:, -1], float(values[-1] / max(values.sum(), 1e-12))


def start_displacement(
    acc_mps2: FloatArray, gyr_radps: FloatArray, vertical: FloatArray, sampling_rate_hz: float
) -> FloatArray:
    """Horizontal displacement over a stretch that starts at rest, in the starting sensor frame:
    orientation from the gyroscope (starting as identity), gravity (`vertical` at rest) removed,
    acceleration integrated twice."""
    dt = 1.0 / sampling_rate_hz
    rotations = Rotation.from_rotvec(gyr_radps * dt)
    orientation = Rotation.identity()
    world = np.empty_like(acc_mps2)
    for k in range(acc_mps2.shape[0]):
        world[k] = orientation.apply(acc_mps2[k])
        orientation = orientation * rotations[k]
    world -= G_MPS2 * vertical
    velocity = np.cumsum(world, axis=0) * dt
    displacement: FloatArray = velocity.sum(axis=0) * dt
    return displacement - float(np.dot(displacement, vertical)) * vertical


def swing_rate_sign(gyr_radps: FloatArray, axis: FloatArray, sampling_rate_hz: float) -> float:
    """+1 or -1: the sign of the strongest sustained rotation about `axis` (smoothed over 0.15 s,
    so that a jolt at contact does not decide). For a shank that is its swing, a rotation about
    the segment's -y (the ankle goes forward): a sign that needs no start from rest."""
    rate = uniform_filter1d(gyr_radps @ axis, size=max(1, round(0.15 * sampling_rate_hz)))
    return 1.0 if np.quantile(rate, 0.99) >= np.quantile(-rate, 0.99) else -1.0


def push_off_rate(
    acc_mps2: FloatArray, gyr_radps: FloatArray, axis: FloatArray, sampling_rate_hz: float
) -> float:
    """Summed mean rate about `axis` over 0.15 s after every still stance of a foot: push-off,
    the heel rising, is a strong toes-down rotation, about the segment's +y (x turns down)."""
    rate = gyr_radps @ axis
    after = max(1, round(0.15 * sampling_rate_hz))
    stances = still_stretches(acc_mps2, gyr_radps, sampling_rate_hz=sampling_rate_hz)
    return sum(float(rate[b : b + after].mean()) for _, b in stances if b + after <= rate.size)


def step_frequency_hz(signal: FloatArray, *, sampling_rate_hz: float) -> float:
    """Dominant frequency of a signal in the range of human step rates (1.2-3 Hz)."""
    centred = signal - signal.mean()
    spectrum = np.abs(np.fft.rfft(centred * np.hanning(centred.shape[0])))
    frequencies = np.fft.rfftfreq(centred.shape[0], 1.0 / sampling_rate_hz)
    band = (frequencies >= 1.2) & (frequencies <= 3.0)
    if not band.any():
        raise AlignmentError("too little walking to find the step frequency; record a longer walk")
    return float(frequencies[band][np.argmax(spectrum[band])])


STEADY_MARGIN_S: Final = 3.0
"""Walking this close to a start or a stop is not steady: the first and last steps shift the
body onto one leg and speed it up or slow it down, at about the stride frequency."""


MIN_STEADY_WALKING_S: Final = 5.0
"""The pelvis's sway axis needs this much steady walking (a few strides past the first steps)."""


def steady_walking(walking: BoolArray, sampling_rate_hz: float) -> BoolArray:
    """`walking` without its first and last `STEADY_MARGIN_S` of every bout."""
    margin = round(STEADY_MARGIN_S * sampling_rate_hz)
    steady: BoolArray = binary_erosion(walking, np.ones(2 * margin + 1, dtype=bool))
    return steady


def orthonormal_frame(
    z_axis: FloatArray, axis: FloatArray, axis_is: Literal["x", "y"]
) -> FloatArray:
    """Segment axes as rows (x, y, z) in the sensor frame, keeping z exactly."""
    z = z_axis / np.linalg.norm(z_axis)
    other = axis - np.dot(axis, z) * z
    other /= np.linalg.norm(other)
    if axis_is == "y":
        y = other
        x = np.cross(y, z)
    else:
        x = other
        y = np.cross(z, x)
    rows: FloatArray = np.stack([x, y, z]).astype(np.float64)
    return rows


@dataclass(frozen=True)
class _Parts:
    vertical: FloatArray
    standing_s: float


class SegmentAlignment:
    """Rotation from a pod's sensor frame to its segment's functional frame.

    `estimate(acc_mps2, gyr_radps, sampling_rate_hz=...)` needs quiet standing and walking in one
    recording. Results: `sensor_to_segment_` (3x3, v_segment = R @ v_sensor), `quality_` (0-1),
    `standing_s_` and `walking_s_` (seconds of each used).
    """

    def __init__(
        self,
        segment: str,
        *,
        min_standing_s: float = 2.0,
        min_walking_s: float = 10.0,
        start_window_s: float = 2.0,
    ) -> None:
        if segment not in SEGMENTS:
            raise ValueError(f"segment {segment!r} is not one of {', '.join(SEGMENTS)}")
        self.segment = segment
        self.min_standing_s = min_standing_s
        self.min_walking_s = min_walking_s
        self.start_window_s = start_window_s

    def estimate(
        self, acc_mps2: FloatArray, gyr_radps: FloatArray, *, sampling_rate_hz: float
    ) -> Self:
        acc = np.asarray(acc_mps2, dtype=np.float64)
        gyr = np.asarray(gyr_radps, dtype=np.float64)
        if acc.shape != gyr.shape or acc.ndim != 2 or acc.shape[1] != 3:
            raise ValueError("acc_mps2 and gyr_radps must both be (n, 3) arrays")
        rest = rest_mask(acc, gyr, sampling_rate_hz=sampling_rate_hz)
        calibration = first_stretch(rest, round(self.min_standing_s * sampling_rate_hz))
        self.standing_s_ = float(calibration.sum() / sampling_rate_hz)
        if not calibration.any():
            raise AlignmentError(
                f"{self.segment}: no {self.min_standing_s:g} s of quiet standing; the recording "
                "must "
                f"begin with the client standing still for at least {self.min_standing_s:g} s"
            )
        vertical = acc[calibration].mean(axis=0)
        vertical /= np.linalg.norm(vertical)
        walking = walking_mask(acc, gyr, sampling_rate_hz=sampling_rate_hz) & ~rest
        self.walking_s_ = float(walking.sum() / sampling_rate_hz)
        if self.walking_s_ < self.min_walking_s:
            raise AlignmentError(
                f"{self.segment}: only {self.walking_s_:.1f} s of walking; the recording needs at "
                f"least {self.min_walking_s:g} s of walking to find the segment's axes"
            )
        if self.segment == "pelvis":
            forward, share = self._pelvis_forward(
                acc, gyr, vertical, rest, walking, sampling_rate_hz
            )
            rows = orthonormal_frame(vertical, forward, "x")
            angle_share = abs(float(np.dot(forward, vertical)))
        else:
            rates = gyr[walking]
            # a foot everts slowly while it pitches in loading and turns back in swing; weighted
            # by the squared angular speed, the fast pitch of push-off and swing decides the axis
            weights = np.sum(rates**2, axis=1) if self.segment == "foot" else None
            axis, share = principal_axis(rates, weights)
            forward = np.cross(axis, vertical)
            # a start from quiet standing is required for every pod (its posture is neutral)
            start = self._start_displacement(acc, gyr, vertical, rest, sampling_rate_hz)
            if self.segment == "shank":
                backward = swing_rate_sign(gyr[walking], axis, sampling_rate_hz) > 0
            elif self.segment == "foot":
                backward = push_off_rate(acc, gyr, axis, sampling_rate_hz) < 0
            else:
                backward = float(np.dot(start, forward)) < 0
            if backward:
                axis = -axis
            rows = orthonormal_frame(vertical, axis, "y")
            angle_share = abs(float(np.dot(axis, vertical)))
        self.sensor_to_segment_ = rows
        standing_score = min(1.0, self.standing_s_ / (2 * self.min_standing_s))
        self.quality_ = float(standing_score * share * (1.0 - angle_share))
        return self

    def _pelvis_forward(
        self,
        acc: FloatArray,
        gyr: FloatArray,
        vertical: FloatArray,
        rest: BoolArray,
        walking: BoolArray,
        rate_hz: float,
    ) -> tuple[FloatArray, float]:
        vertical_acc = acc[walking] @ vertical
        stride_hz = step_frequency_hz(vertical_acc, sampling_rate_hz=rate_hz) / 2
        sos = butter(
            2, [0.8 * stride_hz, 1.2 * stride_hz], btype="bandpass", fs=rate_hz, output="sos"
        )
        # gravity in the sensor frame from the 6D orientation: the pelvis tilts and lists by a few
        # degrees once per stride, which would put a sideways share of gravity into the sway
        orientation = run_vqf(gyr, acc, None, sampling_rate_hz=rate_hz, offline=True).quat_6d
        gravity = Rotation.from_quat(orientation, scalar_first=True).inv().apply([0, 0, G_MPS2])
        linear = acc - gravity
        horizontal = linear - np.outer(linear @ vertical, vertical)
        steady = steady_walking(walking, rate_hz)
        steady_s = steady.sum() / rate_hz
        if steady_s < MIN_STEADY_WALKING_S:
            raise AlignmentError(
                f"pelvis: only {steady_s:.1f} s of steady walking (the first and last "
                f"{STEADY_MARGIN_S:g} s of each walk do not count); the pelvis needs "
                f"{MIN_STEADY_WALKING_S:g} s to find the walking direction: walk on"
            )
        sway = sosfiltfilt(sos, horizontal, axis=0)[steady]
        sideways, share = principal_axis(sway)
        forward = np.cross(sideways, vertical)
        if float(np.dot(self._start_displacement(acc, gyr, vertical, rest, rate_hz), forward)) < 0:
            forward = -forward
        return forward, share

    def _start_displacement(
        self,
        acc: FloatArray,
        gyr: FloatArray,
        vertical: FloatArray,
        rest: BoolArray,
        rate_hz: float,
    ) -> FloatArray:
        """Horizontal displacement, in the sensor frame as it was while standing, over the first
        `start_window_s` after each quiet stand, summed over all starts."""
        window = round(self.start_window_s * rate_hz)
        total = np.zeros(3)
        for start in np.flatnonzero(rest[:-1] & ~rest[1:]):
            end = start + window
            if end > acc.shape[0]:
                continue
            total += start_displacement(acc[start:end], gyr[start:end], vertical, rate_hz)
        if not np.any(total):
            raise AlignmentError(
                f"{self.segment}: no start of walking from quiet standing found; record standing "
                "still, then walking"
            )
        return total
