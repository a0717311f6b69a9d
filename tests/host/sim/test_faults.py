"""Each kinetic-chain fault moves the truth in its direction by its amount (left side faulted)."""

from functools import cache

import numpy as np
from gaitchain.sim.body import Body
from gaitchain.sim.imu import kinematics
from gaitchain.sim.params import Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.truth import joint_angles
from gaitchain.sim.walk import apply_driver

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]
T_S = np.arange(11.0, 24.0, 0.004)


@cache
def _walk(driver: str) -> tuple[Body, dict[str, FloatArray], BoolArray]:
    walker = apply_driver(Walker(), driver, "left").validate()
    plan = make_plan(60.0, walker.gait.speed_mps, walker.gait.stride_s, lead_first="left")
    body = Body(build_schedule(walker, plan))
    feet = body.schedule.feet["left"]
    stance = np.zeros_like(T_S, dtype=bool)
    for ic, to in zip(feet.ic_s, feet.to_s, strict=True):
        stance |= (ic <= T_S) & (to > T_S)
    return body, joint_angles(body.poses(T_S)), stance


def _peak(driver: str, name: str) -> float:
    _, angles, stance = _walk(driver)
    return float(angles[name][stance].max())


def test_hip_ir_deficit_caps_hip_rotation_and_loads_the_chain_below() -> None:
    deficit = apply_driver(Walker(), "hip-ir-deficit", "left").left.hip_ir_deficit_deg
    drop = _peak("healthy", "left_hip_internal_rotation_deg") - _peak(
        "hip-ir-deficit", "left_hip_internal_rotation_deg"
    )
    assert abs(drop - deficit) < 1.0
    for name in ("left_subtalar_eversion_deg", "left_tibial_internal_rotation_deg"):
        assert _peak("hip-ir-deficit", name) > _peak("healthy", name) + 3.0, name
    right = "right_hip_internal_rotation_deg"
    assert abs(_peak("hip-ir-deficit", right) - _peak("healthy", right)) < 0.5


def test_glute_med_weakness_drops_the_other_side_of_the_pelvis() -> None:
    walker = apply_driver(Walker(), "glute-med", "left")
    _, healthy, _ = _walk("healthy")
    body, weak, _ = _walk("glute-med")
    extra = weak["pelvis_obliquity_deg"] - healthy["pelvis_obliquity_deg"]
    steps = body.schedule.steps_before(T_S)
    weakness = (
        walker.left.glute_med_weakness + walker.left.glute_med_fatigue_per_1000_steps * steps / 1000
    )
    expected = walker.left.glute_med_drop_deg * weakness
    assert extra.min() > -0.05, "left weakness raises the left side (right side drops)"
    assert abs(extra.max() - expected.max()) < 0.3
    for name in (
        "left_hip_internal_rotation_deg",
        "left_hip_adduction_deg",
        "left_subtalar_eversion_deg",
    ):
        assert _peak("glute-med", name) > _peak("healthy", name) + 1.0, name


def test_glute_med_weakness_grows_with_fatigue() -> None:
    walker = apply_driver(Walker(), "glute-med", "left")
    body = Body(
        build_schedule(walker, make_plan(600.0, 1.35, walker.gait.stride_s, lead_first="left"))
    )
    early = np.arange(30.0, 60.0, 0.01)
    late = np.arange(560.0, 590.0, 0.01)
    early_drop = joint_angles(body.poses(early))["pelvis_obliquity_deg"].max()
    late_drop = joint_angles(body.poses(late))["pelvis_obliquity_deg"].max()
    assert late_drop > early_drop + 0.3


def test_pelvic_asymmetry_offsets_rotation_and_obliquity() -> None:
    walker = apply_driver(Walker(), "pelvic-asymmetry", "left")
    _, healthy, _ = _walk("healthy")
    _, asym, _ = _walk("pelvic-asymmetry")
    rotation_shift = np.mean(asym["pelvis_rotation_deg"] - healthy["pelvis_rotation_deg"])
    assert abs(rotation_shift - walker.pelvis.rotation_offset_deg) < 0.2
    expected_obliquity = np.degrees(
        np.arcsin(walker.pelvis.leg_length_difference_m / (2 * walker.body.hip_width_m))
    )
    obliquity_shift = np.mean(asym["pelvis_obliquity_deg"] - healthy["pelvis_obliquity_deg"])
    assert abs(obliquity_shift - expected_obliquity) < 0.3
    assert (
        _peak("pelvic-asymmetry", "left_subtalar_eversion_deg")
        > _peak("healthy", "left_subtalar_eversion_deg") + 1
    )


def test_ankle_dorsiflexion_deficit_lowers_peak_dorsiflexion() -> None:
    deficit = apply_driver(Walker(), "ankle-df-limit", "left").left.ankle_df_deficit_deg
    drop = _peak("healthy", "left_ankle_dorsiflexion_deg") - _peak(
        "ankle-df-limit", "left_ankle_dorsiflexion_deg"
    )
    assert abs(drop - deficit) < 1.5
    assert (
        _peak("ankle-df-limit", "left_subtalar_eversion_deg")
        > _peak("healthy", "left_subtalar_eversion_deg") + 1
    )


def test_foot_level_fault_adds_pronation_and_delays_it() -> None:
    faults = apply_driver(Walker(), "foot-level", "left").left
    gain = _peak("foot-level", "left_subtalar_eversion_deg") - _peak(
        "healthy", "left_subtalar_eversion_deg"
    )
    assert faults.extra_eversion_deg * 0.8 < gain < faults.extra_eversion_deg * 1.5

    def peak_time_pct(driver: str) -> float:
        body, angles, _ = _walk(driver)
        feet = body.schedule.feet["left"]
        pct: list[float] = []
        for ic, to in zip(feet.ic_s, feet.to_s, strict=True):
            inside = (ic <= T_S) & (to > T_S)
            if ic > T_S[0] and to < T_S[-1]:
                k = np.argmax(np.where(inside, angles["left_subtalar_eversion_deg"], -np.inf))
                pct.append(100 * (T_S[k] - ic) / (to - ic))
        return float(np.median(pct))

    delay = peak_time_pct("foot-level") - peak_time_pct("healthy")
    # The fault delays the foot's roll on the floor; the truth is the foot relative to the shank,
    # which also moves, so the measured delay is the configured one within 40 %.
    assert 0.6 * faults.eversion_delay_pct < delay < 1.4 * faults.eversion_delay_pct


def _peak_shank_motion(driver: str) -> dict[str, float]:
    """Peaks of both shanks' and feet's specific force, jerk, angular rate and angular
    acceleration as a pod sampling at 120 Hz would see them (no impacts, no noise)."""
    body, _, _ = _walk(driver)
    # up to 23.5 s: at 23.87 s the healthy pelvis itself drops onto a leg's reach cap (a 23 g
    # peak at the shank), which the limited side's higher stance makes 20 % sharper
    t_s = np.arange(11.0, 23.5, 1 / 120)
    out: dict[str, float] = {}
    for segment in ("left_shank", "right_shank", "left_foot", "right_foot"):
        _, acc, gyr, _ = kinematics(body, segment, t_s, np.eye(3), np.zeros(3))
        out[f"{segment} acc"] = float(np.linalg.norm(acc, axis=1).max())
        out[f"{segment} jerk"] = float(np.linalg.norm(np.diff(acc, axis=0), axis=1).max())
        out[f"{segment} gyr"] = float(np.linalg.norm(gyr, axis=1).max())
        out[f"{segment} dgyr"] = float(np.linalg.norm(np.diff(gyr, axis=0), axis=1).max())
    return out


def test_ankle_dorsiflexion_limit_keeps_kinematics_smooth() -> None:
    # the raised heel used to drop back when the free push-off caught up, and the pelvis vaulted
    # on the raised ankle into the other leg's reach cap: a jolt of about 20 g and 17 rad/s on
    # both shanks after every heel off
    healthy = _peak_shank_motion("healthy")
    limited = _peak_shank_motion("ankle-df-limit")
    for name, value in limited.items():
        assert value <= 1.15 * healthy[name], (name, value, healthy[name])
    body, _, _ = _walk("ankle-df-limit")
    feet = body.schedule.feet["left"]
    for ho, to in zip(feet.ho_s, feet.to_s, strict=True):
        if ho > 11.0 and to < 24.0:
            pitch = body.curves["left"].pitch(np.linspace(ho, to, 100))
            assert np.all(np.diff(pitch) < 1e-3), "the raised heel came down before toe off"
