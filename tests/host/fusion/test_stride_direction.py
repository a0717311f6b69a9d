"""Walking direction from a pod's stride displacement: unbiased where the acceleration's principal
axis is not (a shank on the side of a hip internal-rotation deficit)."""

from functools import cache

import numpy as np
import pytest
from gaitchain.fusion.alignment import SegmentAlignment
from gaitchain.fusion.heading import wrap_rad
from gaitchain.fusion.stride_direction import (
    SHANK_ANCHOR_AFTER_SWING,
    SHANK_POD_FROM_ANKLE_M,
    stance_anchors,
    stride_directions,
)
from gaitchain.sim.imu import PodSignals
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import SimulatedWalk, WalkConfig, simulate_walk
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

FloatArray = NDArray[np.float64]


@cache
def _walk(driver: str, seed: int) -> SimulatedWalk:
    return simulate_walk(WalkConfig(minutes=2, seed=seed, driver=driver, errors=ImuErrors()))


def _pod(walk: SimulatedWalk, name: str) -> PodSignals:
    return next(p for p in walk.pods if p.spec.name == name)


def _true_quat(walk: SimulatedWalk, pod: PodSignals) -> FloatArray:
    rotation = walk.body.poses(pod.t_s).rotation[pod.spec.body_segment] @ pod.mount_rotation
    return np.asarray(Rotation.from_matrix(rotation).as_quat(scalar_first=True))


def _rows(pod: PodSignals) -> FloatArray:
    return (
        SegmentAlignment(pod.spec.segment)
        .estimate(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=pod.spec.rate_hz)
        .sensor_to_segment_
    )


def _straight_errors_deg(walk: SimulatedWalk, t_s: FloatArray, yaw: FloatArray) -> FloatArray:
    """Estimate minus the path's walking direction, on strides where the path runs straight."""
    path = np.unwrap(walk.body.poses(t_s).heading_rad)
    straight = np.abs(np.gradient(path, t_s)) < np.radians(2.0)
    return np.degrees(wrap_rad(yaw - path))[straight]


def _acceleration_axis(pod: PodSignals, quat: FloatArray, t_s: FloatArray) -> FloatArray:
    """The previous estimate: principal axis of the horizontal acceleration over 2.2 s."""
    acc = Rotation.from_quat(quat, scalar_first=True).apply(pod.acc_mps2)[:, :2]
    half = round(1.1 * pod.spec.rate_hz)
    out: list[float] = []
    for t in t_s:
        k = int(np.searchsorted(pod.t_s, t))
        window = acc[max(0, k - half) : k + half] - acc[max(0, k - half) : k + half].mean(axis=0)
        axis = np.linalg.eigh(window.T @ window)[1][:, -1]
        out.append(float(np.arctan2(axis[1], axis[0])))
    return np.asarray(out)


@pytest.mark.parametrize("name", ["left_shank", "right_shank", "left_foot", "right_foot"])
def test_stride_displacement_follows_the_walking_direction(name: str) -> None:
    walk = _walk("left-hip-ir-deficit", 41)
    pod = _pod(walk, name)
    lever = SHANK_POD_FROM_ANKLE_M if pod.spec.segment == "shank" else np.zeros(3)
    t_s, yaw = stride_directions(
        pod.t_s,
        _true_quat(walk, pod),
        pod.acc_mps2,
        pod.gyr_radps,
        _rows(pod),
        sampling_rate_hz=pod.spec.rate_hz,
        pod_from_still_m=lever,
    )
    errors = _straight_errors_deg(walk, t_s, yaw)
    assert errors.size > 60
    assert abs(float(np.median(errors))) < 1.0, np.median(errors)
    assert float(np.percentile(np.abs(errors), 90)) < 1.5


def test_the_faulty_shank_biases_its_acceleration_axis_but_not_its_displacement() -> None:
    # the cause of the old misses: on the deficit side the knee swings in a plane turned out, so
    # the principal axis of the shank's horizontal acceleration leaves the walking direction
    walk = _walk("left-hip-ir-deficit", 41)
    pod = _pod(walk, "left_shank")
    quat = _true_quat(walk, pod)
    t_s, yaw = stride_directions(
        pod.t_s,
        quat,
        pod.acc_mps2,
        pod.gyr_radps,
        _rows(pod),
        sampling_rate_hz=pod.spec.rate_hz,
        pod_from_still_m=SHANK_POD_FROM_ANKLE_M,
    )
    axis = _acceleration_axis(pod, quat, t_s)
    folded = np.degrees(np.angle(np.exp(2j * (axis - yaw)))) / 2  # the axis has no sign
    acceleration_bias = float(np.median(_straight_errors_deg(walk, t_s, yaw + np.radians(folded))))
    displacement_bias = float(np.median(_straight_errors_deg(walk, t_s, yaw)))
    assert abs(acceleration_bias) > 4.0, acceleration_bias
    assert abs(displacement_bias) < 0.8, displacement_bias


def test_shank_anchors_fall_while_the_foot_is_flat() -> None:
    walk = _walk("healthy", 42)
    pod = _pod(walk, "left_shank")
    anchors = stance_anchors(
        pod.gyr_radps,
        _rows(pod)[1],
        sampling_rate_hz=pod.spec.rate_hz,
        after_swing=SHANK_ANCHOR_AFTER_SWING,
    )
    times = pod.t_s[anchors]
    feet = walk.body.schedule.feet["left"]
    stance = np.searchsorted(feet.ff_s, times) - 1
    flat = (stance >= 0) & (times < feet.ho_s[np.maximum(stance, 0)])
    assert anchors.size > 80
    assert flat.mean() > 0.95, flat.mean()


def test_no_walking_gives_no_directions() -> None:
    walk = _walk("healthy", 42)
    pod = _pod(walk, "left_foot")
    still = pod.t_s < 4.0
    t_s, yaw = stride_directions(
        pod.t_s[still],
        _true_quat(walk, pod)[still],
        pod.acc_mps2[still],
        pod.gyr_radps[still],
        _rows(pod),
        sampling_rate_hz=pod.spec.rate_hz,
        pod_from_still_m=np.zeros(3),
    )
    assert t_s.size == 0
    assert yaw.size == 0
