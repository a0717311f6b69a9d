"""The simulator's physics: gyro integrates to the true orientation, gravity at rest, feet plant."""

import numpy as np
import pytest
from gaitchain.signals import G_MPS2
from gaitchain.sim.body import Body
from gaitchain.sim.imu import kinematics, random_mount
from gaitchain.sim.params import Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from scipy.spatial.transform import Rotation


@pytest.fixture(scope="module")
def body() -> Body:
    walker = Walker().validate()
    plan = make_plan(60.0, walker.gait.speed_mps, walker.gait.stride_s)
    return Body(build_schedule(walker, plan))


def _strides(body: Body, side: str) -> list[tuple[float, float]]:
    feet = body.schedule.feet[side]
    walking = [(a, b) for a, b in zip(feet.ic_s[:-1], feet.ic_s[1:], strict=True) if a > 0]
    return walking[3:8]


@pytest.mark.parametrize("segment", ["left_foot", "right_shank", "pelvis", "left_thigh"])
def test_integrated_gyro_reproduces_orientation_over_a_stride(body: Body, segment: str) -> None:
    rng = np.random.default_rng(1)
    mount, _ = random_mount("foot", "left", 20.0, rng)
    rate_hz = 240.0
    for start, end in _strides(body, "left"):
        t = np.arange(start, end, 1.0 / rate_hz)
        rotation, _, gyr, _ = kinematics(body, segment, t, mount, np.zeros(3))
        estimate = Rotation.from_matrix(rotation[0])
        for k in range(t.shape[0] - 1):
            estimate = estimate * Rotation.from_rotvec((gyr[k] + gyr[k + 1]) / 2 / rate_hz)
        error_deg = np.degrees((estimate.inv() * Rotation.from_matrix(rotation[-1])).magnitude())
        assert error_deg < 0.1, f"{segment}: {error_deg:.3f} deg after one stride"


@pytest.mark.parametrize("segment", ["left_foot", "pelvis", "right_shank"])
def test_accelerometer_reads_gravity_at_rest(body: Body, segment: str) -> None:
    rng = np.random.default_rng(2)
    mount, offset = random_mount("shank", "left", 20.0, rng)
    t = np.linspace(0.5, body.schedule.plan.bouts[0].t_start_s - 0.6, 200)
    rotation, acc, gyr, _ = kinematics(body, segment, t, mount, offset)
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), G_MPS2, atol=1e-6)
    np.testing.assert_allclose(acc, np.einsum("nji,j->ni", rotation, [0.0, 0.0, G_MPS2]), atol=1e-6)
    np.testing.assert_allclose(gyr, 0.0, atol=1e-9)


def test_foot_is_planted_in_mid_stance(body: Body) -> None:
    rng = np.random.default_rng(3)
    mount, offset = random_mount("foot", "left", 20.0, rng)
    for side in ("left", "right"):
        feet = body.schedule.feet[side]
        steps = np.nonzero((feet.ic_s > 0) & (feet.to_s < 1e8))[0]
        ff, ho = feet.ff_s[steps], feet.ho_s[steps]
        t = np.concatenate(
            [np.linspace(a + 0.01, b - 0.01, 10) for a, b in zip(ff, ho, strict=True)]
        )
        _, _, gyr, position = kinematics(body, f"{side}_foot", t, mount, offset)
        _, _, _, later = kinematics(body, f"{side}_foot", t + 1e-3, mount, offset)
        speed_mps = np.linalg.norm(later - position, axis=1) / 1e-3
        # The heel does not move at all; the pod on the dorsum moves only with the rearfoot's
        # eversion (pronation), a few cm/s.
        _, heel = body.foot(side, t)
        _, heel_later = body.foot(side, t + 1e-3)
        assert np.abs(heel_later - heel).max() < 1e-12
        assert speed_mps.max() < 0.1
        assert np.linalg.norm(gyr, axis=1).max() < 1.0


def test_swinging_foot_moves_like_a_foot(body: Body) -> None:
    feet = body.schedule.feet["left"]
    j = int(np.nonzero(feet.ic_s > 15)[0][0])
    t = np.linspace(feet.to_s[j], feet.ic_s[j + 1], 100)
    _, heel = body.foot("left", t)
    step_m = np.linalg.norm(heel[-1, :2] - heel[0, :2])
    assert 1.0 < step_m < 2.0, "a stride moves the heel about a stride length"
    assert heel[:, 2].max() > 0.05, "the heel clears the floor in swing"
    speed = np.linalg.norm(np.diff(heel, axis=0), axis=1) / np.diff(t)[0]
    assert 3.0 < speed.max() < 7.0
