"""Poses of pelvis, thighs, shanks and feet at any times, from a schedule and the walker's faults.

Frames: earth is ENU (x east, y north, z up). Every segment frame has x forward, y to the walker's
left and z up (for thigh and shank: along the bone towards the proximal joint) when standing in
neutral. Rotations map segment to earth; origins: pelvis at the midpoint of the hip joints, thigh at
the hip, shank at the knee, foot at the heel's floor contact point.

How the body is built:
- Feet are driven directly: flat on their footprints in mid-stance, rolling over the heel from
  initial contact to foot flat and over the forefoot from heel off to toe off, and swinging between
  footprints on a smooth (C1) path. A planted foot therefore has exactly zero velocity.
- The pelvis follows the path with vertical bounce, lateral sway and its rotations (rotation,
  obliquity, tilt in that order relative to the walking direction).
- Knees are placed by two-link inverse kinematics between hip and ankle, in the plane that the
  femur's prescribed rotation (and any valgus collapse) points to; thigh and shank take their axial
  rotation from the prescribed hip and tibial rotation.
- Faults act where the model says they act (see `params.SideFaults`); everything downstream of them
  (knee, tibia, ankle angles) follows from the geometry, and the truth is measured from the result.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import gaussian_filter1d

from ..gait.angles import SIDES, rot_z, side_sign
from .params import Walker
from .schedule import ANKLE_FORWARD_FOOT_FRACTION, Footprints, Schedule

FloatArray = NDArray[np.float64]

TOE_FOOT_FRACTION: Final = 0.75
"""The forefoot rocker (metatarsal heads) sits at this fraction of the foot length from the heel."""
SWING_CLEARANCE_M: Final = 0.04
_SENTINEL_S: Final = 2e9
DF_LIMIT_SMOOTHING_S: Final = 0.02
"""Standard deviation of the smoothing of a limited ankle's raised-heel pitch envelope."""
REACH_FRACTION: Final = 0.999
"""Hip-to-ankle distance never exceeds this fraction of the leg length (knee flexion >= ~5 deg)."""
SEGMENTS: Final = (
    "pelvis",
    "left_thigh",
    "right_thigh",
    "left_shank",
    "right_shank",
    "left_foot",
    "right_foot",
)


def rot_x(angle_rad: FloatArray) -> FloatArray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack(
        [np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1), np.stack([zero, s, c], -1)],
        -2,
    )


def rot_y(angle_rad: FloatArray) -> FloatArray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack(
        [np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1), np.stack([-s, zero, c], -1)],
        -2,
    )


def apply(rotation: FloatArray, vector: FloatArray) -> FloatArray:
    """Rotate vectors (n,3) by rotations (n,3,3)."""
    return np.einsum("nij,nj->ni", rotation, vector)


def _unit(v: FloatArray) -> FloatArray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _frame_from_z_and_forward(z_axis: FloatArray, forward: FloatArray) -> FloatArray:
    z = _unit(z_axis)
    x = _unit(forward - np.sum(forward * z, axis=-1, keepdims=True) * z)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def _stance_window(phase: FloatArray) -> FloatArray:
    """Smooth bump over single-limb stance of a leg (phase 0 = its initial contact)."""
    u = (np.mod(phase, 1.0) - 0.02) / 0.58
    return np.where((u > 0) & (u < 1), np.sin(np.pi * u) ** 2, 0.0)


def _soft_min(a: FloatArray, b: FloatArray | float, width: float) -> FloatArray:
    return b - width * np.logaddexp(0.0, (b - a) / width)


def _smoothstep(u: FloatArray) -> FloatArray:
    return u * u * (3 - 2 * u)


_KNEE_MIN_DEG: Final = 5.0
_STANCE_KNEE: Final = PchipInterpolator([0.0, 0.18, 0.45, 1.0], [0.0, 12.0, 0.0, 0.0])
"""Stance knee flexion above the minimum, by fraction of stance (Perry & Burnfield: a loading
response peak of 15-20 deg at 15 % of the stride, near extension in mid and terminal stance)."""


@dataclass
class Poses:
    """Segment rotations (n,3,3) and origins (n,3) at times `t_s`, plus the driving signals."""

    t_s: FloatArray
    rotation: dict[str, FloatArray]
    origin_m: dict[str, FloatArray]
    heading_rad: FloatArray
    """Walking direction of the path (the reference for pelvic angles)."""
    amplitude: FloatArray


class _FootCurves:
    """Pitch, eversion and heading of one foot as C1 interpolants over its keyframes."""

    def __init__(
        self, feet: Footprints, walker: Walker, extra_ev: FloatArray, delay_pct: float
    ) -> None:
        gait = walker.gait
        stance_s = gait.stance_fraction * gait.stride_s
        swing_s = gait.stride_s - stance_s
        hs, to_angle = np.radians(gait.heel_strike_angle_deg), np.radians(gait.toe_off_angle_deg)
        pitch: list[tuple[float, float]] = []
        normal_ev: list[tuple[float, float]] = []
        faulty_ev: list[tuple[float, float]] = []
        heading: list[tuple[float, float]] = []
        peak_pct = min(gait.peak_eversion_stance_pct + delay_pct, 90.0) / 100
        resup_pct = min(gait.resupination_stance_pct + delay_pct, 97.0) / 100
        for j in range(feet.count):
            ic, ff, ho, to = feet.ic_s[j], feet.ff_s[j], feet.ho_s[j], feet.to_s[j]
            a = feet.amplitude[j]
            standing_start = ic < -1e8
            standing_end = to > 1e8
            heading.append((max(ic, -1e8), feet.heading_rad[j]))
            if not standing_start:
                pitch += [(ic, a * hs), (ff, 0.0)]
                keys = (
                    (ic, gait.eversion_at_contact_deg),
                    (ic + peak_pct * stance_s, gait.peak_eversion_deg),
                    (ic + resup_pct * stance_s, 0.0),
                )
                for time, value in keys:
                    if time < to:
                        normal_ev.append((time, a * value))
                        faulty_ev.append((time, a * value + (extra_ev[j] if value > 0 else 0.0)))
            else:
                pitch.append((ff - 1.0, 0.0))
            if standing_end:
                continue
            a_next = feet.amplitude[j + 1]
            pitch += [
                (ho, 0.0),
                # push-off: the heel rises ever faster (no pause an accelerometer could take for
                # rest); the toes-down rotation peaks shortly before toe-off and is still at half
                # its peak at toe-off, as on the gaitmap recordings, so the foot's peak
                # plantarflexion comes just after toe-off
                (ho + 0.5 * (to - ho), -0.14 * a_next * to_angle),
                (ho + 0.85 * (to - ho), -0.6 * a_next * to_angle),
                (to, -a_next * to_angle),
                (to + 0.08 * swing_s, -1.1 * a_next * to_angle),
                (to + 0.35 * swing_s, -0.55 * a_next * to_angle),
                (to + 0.65 * swing_s, 0.05 * a_next * hs),
                (to + 0.85 * swing_s, 0.9 * a_next * hs),
            ]
            for key in ((to, -1.5 * a_next), (to + 0.5 * swing_s, -3.0 * a_next)):
                normal_ev.append(key)
                faulty_ev.append(key)
            heading.append((to, feet.heading_rad[j]))
        self.pitch: PchipInterpolator | _Lowered = _pchip(pitch)
        self.free_pitch: PchipInterpolator | _Lowered = self.pitch
        self.normal_eversion = _pchip([(t, np.radians(v)) for t, v in normal_ev])
        self.eversion = _pchip([(t, np.radians(v)) for t, v in faulty_ev])
        self.heading = _pchip(heading)


def _pchip(keys: list[tuple[float, float]]) -> PchipInterpolator:
    """C1 interpolant through keyframes, flat before the first and after the last."""
    keys = sorted(keys)
    keys = [(-_SENTINEL_S, keys[0][1]), *keys, (_SENTINEL_S, keys[-1][1])]
    times = np.array([k[0] for k in keys])
    values = np.array([k[1] for k in keys])
    keep = np.concatenate(([True], np.diff(times) > 1e-6))
    return PchipInterpolator(times[keep], values[keep], extrapolate=True)


class Body:
    """Evaluate segment poses at arbitrary times (vectorised)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.walker = schedule.walker
        body = self.walker.body
        lld = self.walker.pelvis.leg_length_difference_m
        self.leg_scale = {
            "left": 1 + lld / 2 / (body.thigh_m + body.shank_m),
            "right": 1 - lld / 2 / (body.thigh_m + body.shank_m),
        }
        self.curves: dict[str, _FootCurves] = {}
        self._build_curves()
        self._limit_dorsiflexion()

    # -- foot -----------------------------------------------------------------------------
    def _extra_eversion(self, side: str) -> FloatArray:
        """Fault eversion (deg) added at the peak of each footprint's stance."""
        faults = self.walker.side(side)
        feet = self.schedule.feet[side]
        steps = self.schedule.steps_before(feet.ic_s)
        weakness = np.minimum(
            1.0, faults.glute_med_weakness + faults.glute_med_fatigue_per_1000_steps * steps / 1000
        )
        pelvis = self.walker.pelvis
        loaded = -side_sign(side) * pelvis.rotation_offset_deg * pelvis.pronation_per_rotation_deg
        df_deficit = faults.ankle_df_deficit_deg
        return (
            faults.extra_eversion_deg
            + faults.pronation_per_deficit_deg * faults.hip_ir_deficit_deg
            + faults.glute_med_eversion_deg * weakness
            + faults.df_pronation_per_deg * df_deficit
            + max(loaded, 0.0)
            - max(-loaded, 0.0) * 0.5
        ) * np.ones(feet.count)

    def _build_curves(self) -> None:
        for side in SIDES:
            faults = self.walker.side(side)
            self.curves[side] = _FootCurves(
                self.schedule.feet[side],
                self.walker,
                self._extra_eversion(side),
                faults.eversion_delay_pct,
            )

    def foot(
        self, side: str, t_s: FloatArray, *, free: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """Rotation and heel position of one foot; `free`: as a free ankle would put it (the
        pitch not lowered by a dorsiflexion limit)."""
        feet = self.schedule.feet[side]
        curves = self.curves[side]
        foot_m = self.walker.body.foot_m
        toe_m = TOE_FOOT_FRACTION * foot_m
        pitch_curve = curves.free_pitch if free else curves.pitch
        pitch = pitch_curve(t_s)
        heading = curves.heading(t_s)
        eversion = curves.eversion(t_s)
        rotation = rot_z(heading) @ rot_y(-pitch) @ rot_x(side_sign(side) * eversion)
        j = np.clip(np.searchsorted(feet.ic_s, t_s, side="right") - 1, 0, feet.count - 1)
        heel_floor = np.concatenate([feet.heel_xy_m, np.zeros((feet.count, 1))], axis=1)
        heel = heel_floor[j].copy()
        ho, to = feet.ho_s[j], feet.to_s[j]

        def toe_rocker(time: FloatArray, index: NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
            theta = pitch_curve(time)
            rate = pitch_curve(time, 1)
            psi = feet.heading_rad[index]
            toe = heel_floor[index] + toe_m * np.stack([np.cos(psi), np.sin(psi), 0 * psi], -1)
            along = np.stack(
                [np.cos(psi) * np.cos(theta), np.sin(psi) * np.cos(theta), np.sin(theta)], -1
            )
            d_along = np.stack(
                [-np.cos(psi) * np.sin(theta), -np.sin(psi) * np.sin(theta), np.cos(theta)], -1
            )
            return toe - toe_m * along, -toe_m * d_along * rate[:, None]

        rolling = (t_s >= ho) & (t_s < to)
        if rolling.any():
            heel[rolling] = toe_rocker(t_s[rolling], j[rolling])[0]
        swinging = t_s >= to
        if swinging.any():
            k = j[swinging]
            t0, t1 = feet.to_s[k], feet.ic_s[np.minimum(k + 1, feet.count - 1)]
            p0, v0 = toe_rocker(t0, k)
            p1 = heel_floor[np.minimum(k + 1, feet.count - 1)]
            duration = (t1 - t0)[:, None]
            u = np.clip((t_s[swinging] - t0) / (t1 - t0), 0.0, 1.0)[:, None]
            h00 = 2 * u**3 - 3 * u**2 + 1
            h10 = u**3 - 2 * u**2 + u
            h01 = -2 * u**3 + 3 * u**2
            path = h00 * p0 + h10 * duration * v0 + h01 * p1
            path[:, 2] += (
                SWING_CLEARANCE_M
                * feet.amplitude[np.minimum(k + 1, feet.count - 1)]
                * np.sin(np.pi * u[:, 0]) ** 2
            )
            heel[swinging] = path
        return rotation, heel

    def ankle(self, rotation: FloatArray, heel: FloatArray) -> FloatArray:
        body = self.walker.body
        offset = np.array([ANKLE_FORWARD_FOOT_FRACTION * body.foot_m, 0.0, body.ankle_height_m])
        return heel + rotation @ offset

    # -- pelvis and legs --------------------------------------------------------------------
    def _weakness(self, side: str, t_s: FloatArray) -> FloatArray:
        faults = self.walker.side(side)
        if not faults.glute_med_weakness and not faults.glute_med_fatigue_per_1000_steps:
            return np.zeros_like(t_s)
        steps = self.schedule.steps_before(t_s)
        return np.minimum(
            1.0, faults.glute_med_weakness + faults.glute_med_fatigue_per_1000_steps * steps / 1000
        )

    def poses(self, t_s: FloatArray) -> Poses:
        t_s = np.asarray(t_s, dtype=np.float64)
        walker = self.walker
        gait, body, pelvis_faults = walker.gait, walker.body, walker.pelvis
        s, amplitude, phase_left = self.schedule.gait_state(t_s)
        x, y, path_heading = self.schedule.plan.path.point(s)
        two_pi = 2 * np.pi
        sway = gait.pelvis_sway_m * amplitude * np.sin(two_pi * phase_left)
        lateral = sway + pelvis_faults.lateral_shift_m
        surge = gait.pelvis_surge_m * amplitude * np.sin(2 * two_pi * phase_left)
        origin = np.stack(
            [
                x - np.sin(path_heading) * lateral + np.cos(path_heading) * surge,
                y + np.cos(path_heading) * lateral + np.sin(path_heading) * surge,
                np.zeros_like(t_s),
            ],
            axis=-1,
        )
        yaw = -np.radians(gait.pelvis_rotation_deg) * amplitude * np.cos(
            two_pi * phase_left
        ) + np.radians(pelvis_faults.rotation_offset_deg)
        obliquity = np.radians(gait.pelvis_obliquity_deg) * amplitude * np.sin(
            two_pi * (phase_left + 0.13)
        ) + np.arcsin(pelvis_faults.leg_length_difference_m / (2 * body.hip_width_m))
        phases = {"left": phase_left, "right": phase_left - 0.5}
        weakness = {side: self._weakness(side, t_s) for side in SIDES}
        for side in SIDES:
            drop = np.radians(walker.side(side).glute_med_drop_deg) * weakness[side]
            obliquity = (
                obliquity + side_sign(side) * drop * _stance_window(phases[side]) * amplitude
            )
        tilt = np.radians(
            gait.pelvis_tilt_mean_deg
            + gait.pelvis_tilt_range_deg / 2 * amplitude * np.cos(2 * two_pi * (phase_left - 0.1))
        )
        pelvis_yaw = path_heading + yaw
        pelvis_rotation = rot_z(pelvis_yaw) @ rot_x(obliquity) @ rot_y(tilt)
        feet = {side: self.foot(side, t_s) for side in SIDES}
        # a heel raised early by a dorsiflexion limit is taken up by the knee, not by the pelvis
        support = {
            side: self.foot(side, t_s, free=True)
            if self.curves[side].free_pitch is not self.curves[side].pitch
            else feet[side]
            for side in SIDES
        }
        origin[:, 2] = self._pelvis_height(t_s, origin, pelvis_rotation, feet, support)
        rotation = {"pelvis": pelvis_rotation}
        origins = {"pelvis": origin}
        for side in SIDES:
            self._leg(
                side,
                t_s,
                phases[side],
                amplitude,
                weakness[side],
                pelvis_yaw,
                pelvis_rotation,
                origin,
                feet[side],
                rotation,
                origins,
            )
        return Poses(t_s, rotation, origins, path_heading, amplitude)

    def _leg(
        self,
        side: str,
        t_s: FloatArray,
        phase: FloatArray,
        amplitude: FloatArray,
        weakness: FloatArray,
        pelvis_yaw: FloatArray,
        pelvis_rotation: FloatArray,
        pelvis_origin: FloatArray,
        foot: tuple[FloatArray, FloatArray],
        rotation: dict[str, FloatArray],
        origins: dict[str, FloatArray],
    ) -> None:
        walker = self.walker
        gait, body, faults = walker.gait, walker.body, walker.side(side)
        sign = side_sign(side)
        window = _stance_window(phase) * amplitude
        hip = pelvis_origin + apply(
            pelvis_rotation, np.tile([0.0, sign * body.hip_width_m, 0.0], (t_s.shape[0], 1))
        )
        foot_rotation, heel = foot
        ankle = self.ankle(foot_rotation, heel)

        frac = np.mod(phase, 1.0)
        hip_rot = gait.hip_rotation_mean_deg + amplitude * gait.hip_rotation_amplitude_deg * np.cos(
            2 * np.pi * (frac - 0.3)
        )
        missing = np.zeros_like(hip_rot)
        if faults.hip_ir_deficit_deg:
            cap = (
                gait.hip_rotation_mean_deg
                + gait.hip_rotation_amplitude_deg
                - faults.hip_ir_deficit_deg
            )
            capped = _soft_min(hip_rot, cap, 1.0)
            missing = hip_rot - capped
            hip_rot = capped
        hip_rot = hip_rot + faults.glute_med_rotation_deg * weakness * window
        curves = self.curves[side]
        extra_eversion = np.degrees(curves.eversion(t_s) - curves.normal_eversion(t_s))
        knee_rot = (
            amplitude * gait.knee_rotation_amplitude_deg * np.cos(2 * np.pi * (frac - 0.15))
            + faults.knee_compensation * missing
            + gait.tibia_eversion_coupling * extra_eversion
        )
        valgus = np.radians(faults.glute_med_valgus_deg) * weakness * window

        thigh_yaw = pelvis_yaw - sign * np.radians(hip_rot)
        shank_yaw = thigh_yaw - sign * np.radians(knee_rot)
        thigh_forward = np.stack([np.cos(thigh_yaw), np.sin(thigh_yaw), 0 * thigh_yaw], -1)
        shank_forward = np.stack([np.cos(shank_yaw), np.sin(shank_yaw), 0 * shank_yaw], -1)

        scale = self.leg_scale[side]
        thigh_m, shank_m = body.thigh_m * scale, body.shank_m * scale
        reach = ankle - hip
        distance = np.linalg.norm(reach, axis=-1)
        down = reach / distance[:, None]
        bend = _unit(thigh_forward - np.sum(thigh_forward * down, -1, keepdims=True) * down)
        bend = _rotate_about(bend, down, sign * valgus)
        cos_hip = np.clip((thigh_m**2 + distance**2 - shank_m**2) / (2 * thigh_m * distance), -1, 1)
        knee = hip + thigh_m * (cos_hip[:, None] * down + np.sqrt(1 - cos_hip**2)[:, None] * bend)
        rotation[f"{side}_thigh"] = _frame_from_z_and_forward(hip - knee, thigh_forward)
        rotation[f"{side}_shank"] = _frame_from_z_and_forward(knee - ankle, shank_forward)
        rotation[f"{side}_foot"] = foot_rotation
        origins[f"{side}_thigh"] = hip
        origins[f"{side}_shank"] = knee
        origins[f"{side}_foot"] = heel

    # -- calibration passes -----------------------------------------------------------------
    def _hip_offset(self, side: str, pelvis_rotation: FloatArray) -> FloatArray:
        lateral = np.array([0.0, side_sign(side) * self.walker.body.hip_width_m, 0.0])
        return pelvis_rotation @ lateral

    def _pelvis_height(
        self,
        t_s: FloatArray,
        origin: FloatArray,
        pelvis_rotation: FloatArray,
        feet: dict[str, tuple[FloatArray, FloatArray]],
        support: dict[str, tuple[FloatArray, FloatArray]],
    ) -> FloatArray:
        """Pelvis height from the supporting legs.

        Each leg in stance would hold the hip at the height that gives its prescribed stance knee
        flexion (about 5 deg at contact, a loading-response peak, about 5 deg again in mid and
        terminal stance). The pelvis height blends the supporting legs by smooth support weights
        and is capped, smoothly, so that no leg (stance or swing) must reach further than
        REACH_FRACTION of its length. Vertical bounce of the pelvis follows from this.
        """
        gait, body = self.walker.gait, self.walker.body
        stance_s = gait.stance_fraction * gait.stride_s
        blend_s = 0.1 * gait.stride_s
        weighted = np.zeros_like(t_s)
        weights = np.zeros_like(t_s)
        caps: list[FloatArray] = []
        for side in SIDES:
            footprints = self.schedule.feet[side]
            ankle = self.ankle(*feet[side])
            support_ankle = self.ankle(*support[side])
            hip_offset = self._hip_offset(side, pelvis_rotation)
            scale = self.leg_scale[side]
            thigh_m, shank_m = body.thigh_m * scale, body.shank_m * scale

            def height_for(
                knee_rad: FloatArray,
                ankle: FloatArray,
                hip_offset: FloatArray = hip_offset,
                thigh_m: float = thigh_m,
                shank_m: float = shank_m,
            ) -> FloatArray:
                horizontal = np.linalg.norm((origin + hip_offset - ankle)[:, :2], axis=-1)
                reach = np.sqrt(thigh_m**2 + shank_m**2 + 2 * thigh_m * shank_m * np.cos(knee_rad))
                return (
                    ankle[:, 2]
                    - hip_offset[:, 2]
                    + np.sqrt(np.maximum(reach**2 - horizontal**2, 1e-6))
                )

            j = np.clip(
                np.searchsorted(footprints.ic_s, t_s, side="right") - 1, 0, footprints.count - 1
            )
            ic, to = footprints.ic_s[j], footprints.to_s[j]
            in_stance = t_s < to
            progress = np.clip((t_s - ic) / stance_s, 0.0, 1.0)
            knee_deg = _STANCE_KNEE(progress) * footprints.amplitude[j] + _KNEE_MIN_DEG
            since_ic = np.clip((t_s - ic) / blend_s, 0.0, 1.0)
            until_to = np.clip((to - t_s) / blend_s, 0.0, 1.0)
            weight = np.where(in_stance, _smoothstep(since_ic) * _smoothstep(until_to), 0.0)
            weighted += weight * height_for(np.radians(knee_deg), support_ankle)
            weights += weight
            caps.append(height_for(np.full_like(t_s, np.radians(_KNEE_MIN_DEG * 0.8)), ankle))
        height = weighted / np.maximum(weights, 1e-9)
        for cap in caps:
            height = _soft_min(height, cap, 0.004)
        return height

    def _limit_dorsiflexion(self) -> None:
        """Hold the ankle at its limit where a side lacks dorsiflexion.

        A limited ankle cannot follow the shank as it rolls forward over the foot: once the
        ankle reaches the free ankle's stance peak minus the deficit, the heel rises so that the
        foot turns toes-down as much as the shank still advances. The foot's pitch is lowered by
        the excess (a few passes, as raising the heel moves the shank a little). Heel off moves
        earlier only where the heel has to rise before the nominal heel off; with the drivers'
        deficits (4-10 deg) the limit is reached later in stance (65-72 %), so heel off stays
        and the heel is pulled up faster after it (what `heel_rise_stance_pct` measures).

        A raised heel does not come down again before toe off: the foot's pitch is the running
        minimum (most toes-down) of the free pitch lowered by the excess, so where the free
        push-off catches up the foot goes on along it. That envelope is smoothed over
        `DF_LIMIT_SMOOTHING_S` (a kink in pitch is a step in angular rate, a jolt at the heel):
        the foot's angular rate stays continuous and its acceleration bounded.
        """
        samples = 120
        for side in SIDES:
            deficit = self.walker.side(side).ankle_df_deficit_deg
            if not deficit:
                continue
            feet = self.schedule.feet[side]
            walking = np.nonzero((feet.ic_s > -1e8) & (feet.to_s < 1e8))[0]
            fraction = np.linspace(0.0, 1.0, samples)
            t = feet.ff_s[walking, None] + fraction * (feet.to_s - feet.ff_s)[walking, None]
            dorsiflexion = self._dorsiflexion_deg(side, t.ravel()).reshape(t.shape)
            limit = dorsiflexion.max(axis=1, keepdims=True) - deficit
            curves = self.curves[side]
            base = curves.free_pitch
            free = base(t.ravel()).reshape(t.shape)
            spacing_s = float(np.median(t[:, 1] - t[:, 0]))
            sigma = DF_LIMIT_SMOOTHING_S / max(spacing_s, 1e-6)
            lowered = np.zeros_like(t)
            nominal_ho = feet.ho_s[walking].copy()
            for _ in range(4):
                lowered += np.radians(np.maximum(0.0, dorsiflexion - limit))
                envelope = np.minimum.accumulate(free - lowered, axis=1)
                correction = gaussian_filter1d(envelope - free, sigma, axis=1, mode="nearest")
                # the foot is back on its free pitch by the next contact (also before a stand)
                keys = list(zip(t.ravel(), correction.ravel(), strict=True))
                keys += [(float(time), 0.0) for time in feet.ic_s[walking + 1]]
                curves.pitch = _Lowered(base, _pchip(keys))
                rising = correction < -1e-6
                first = np.where(rising.any(axis=1), np.argmax(rising, axis=1), samples - 1)
                earliest = t[np.arange(walking.size), np.maximum(first - 1, 0)]
                feet.ho_s[walking] = np.minimum(nominal_ho, earliest)
                dorsiflexion = self._dorsiflexion_deg(side, t.ravel()).reshape(t.shape)

    def _dorsiflexion_deg(self, side: str, t_s: FloatArray) -> FloatArray:
        poses = self.poses(t_s)
        relative = (
            np.swapaxes(poses.rotation[f"{side}_shank"], -1, -2) @ poses.rotation[f"{side}_foot"]
        )
        return -np.degrees(np.arctan2(relative[:, 0, 2], relative[:, 2, 2]))


class _Lowered:
    """A pitch curve lowered by a correction curve (both callable as f(t) and f(t, 1))."""

    def __init__(self, base: "PchipInterpolator | _Lowered", correction: PchipInterpolator) -> None:
        self.base = base
        self.correction = correction

    def __call__(self, t_s: FloatArray | float, nu: int = 0) -> FloatArray:
        return np.asarray(self.base(t_s, nu) + self.correction(t_s, nu), dtype=np.float64)


def _rotate_about(v: FloatArray, axis: FloatArray, angle_rad: FloatArray) -> FloatArray:
    """Rodrigues rotation of vectors v about unit axes by angles (all per row)."""
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    return v * c + np.cross(axis, v) * s + axis * np.sum(axis * v, -1, keepdims=True) * (1 - c)
