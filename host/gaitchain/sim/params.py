"""Parameters of a simulated walker: body, gait, kinetic-chain faults per side, and sensors.

Every number has a unit in its name and a valid range; `validate()` refuses anything outside it with
a `ParameterError` naming the parameter and the range. Defaults reproduce normal adult walking.

Sources of the default values and ranges:
- Segment lengths as fractions of body height: Winter, *Biomechanics and Motor Control of Human
  Movement*, 4th ed. (2009), table 4.1 (thigh 0.245 H, shank 0.246 H, foot 0.152 H, ankle height
  0.039 H); hip joint centres about 0.1 H apart (Harrington et al., J Biomech 40:595, 2007).
- Cadence, speed and stance fraction of comfortable walking in adults (cadence 100-125 steps/min,
  speed 1.2-1.5 m/s, stance about 60 % of the stride): Perry & Burnfield, *Gait Analysis: Normal
  and Pathological Function*, 2nd ed. (2010), ch. 1-2; Hollman et al., Gait Posture 2011.
- Pelvic obliquity about +-4 deg, rotation about +-4 deg, tilt range about 3 deg; hip transverse
  rotation range about 8-10 deg: Kadaba et al., J Orthop Res 8:383 (1990); Perry & Burnfield ch. 9.
- Rearfoot eversion: inverted 2-4 deg at initial contact, peak eversion 4-8 deg at 30-45 % of
  stance, re-supinating before heel off: Cornwall & McPoil, J Am Podiatr Med Assoc 89:56 (1999);
  Chang et al., J Biomech 41:2539 (2008).
- Peak stance dorsiflexion about 10 deg; heel-strike foot angle 15-25 deg, toe-off foot angle
  50-70 deg: Perry & Burnfield ch. 4; Mariani et al., IEEE TBME 60:155 (2013).
- Tibial internal rotation in loading response 5-10 deg, coupled to rearfoot eversion (about 1:1):
  Reischl et al., Foot Ankle Int 20:513 (1999); Nigg et al., J Biomech 26:909 (1993).
- Prone hip internal rotation range 35-45 deg (below 30 deg a red flag) is the clinical norm the
  project's assessment battery uses; the gait fault models are the hypotheses gaitchain measures,
  not established facts.
- IMU errors: LSM6DSV16X datasheet (DS13510): gyro noise density 2.8 mdps/sqrt(Hz), accelerometer
  about 60 ug/sqrt(Hz), gyro zero-rate level +-1 dps, accelerometer zero-g level +-12 mg.
"""

from dataclasses import dataclass, field, fields


class ParameterError(ValueError):
    """A simulation parameter outside its valid range; the message names it and the range."""


def _check(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise ParameterError(
            f"{name} = {value:g}{suffix} is outside the valid range {low:g} to {high:g}{suffix}"
        )


@dataclass(frozen=True)
class Body:
    """Anthropometry; segment lengths scale with height (Winter 2009)."""

    height_m: float = 1.75

    def validate(self) -> None:
        _check("height_m", self.height_m, 1.2, 2.2, "m")

    @property
    def thigh_m(self) -> float:
        return 0.245 * self.height_m

    @property
    def shank_m(self) -> float:
        return 0.246 * self.height_m

    @property
    def foot_m(self) -> float:
        return 0.152 * self.height_m

    @property
    def ankle_height_m(self) -> float:
        return 0.039 * self.height_m

    @property
    def hip_width_m(self) -> float:
        """Half the distance between the hip joint centres (about 0.18 m apart at 1.75 m)."""
        return 0.05 * self.height_m


@dataclass(frozen=True)
class Gait:
    """Comfortable adult walking (Perry & Burnfield 2010)."""

    cadence_spm: float = 112.0
    speed_mps: float = 1.35
    stance_fraction: float = 0.61
    step_width_m: float = 0.10
    toe_out_deg: float = 7.0
    heel_strike_angle_deg: float = 20.0
    toe_off_angle_deg: float = 60.0
    heel_off_fraction: float = 0.55
    """Heel off as a fraction of stance (about 33 % of the stride)."""
    pelvis_obliquity_deg: float = 4.0
    pelvis_rotation_deg: float = 4.0
    pelvis_tilt_mean_deg: float = 10.0
    pelvis_tilt_range_deg: float = 3.0
    pelvis_sway_m: float = 0.02
    pelvis_surge_m: float = 0.009
    """Forward-backward oscillation of the pelvis about steady progression at twice the stride
    frequency: the body is fastest in double support and slowest in mid-stance (about +-0.1 m/s)."""
    hip_rotation_mean_deg: float = 2.0
    hip_rotation_amplitude_deg: float = 5.0
    knee_rotation_amplitude_deg: float = 4.0
    eversion_at_contact_deg: float = -3.0
    peak_eversion_deg: float = 5.0
    peak_eversion_stance_pct: float = 35.0
    resupination_stance_pct: float = 75.0
    """Stance percentage at which the foot is back to neutral (later = late resupination)."""
    tibia_eversion_coupling: float = 1.0
    """Tibial internal rotation per degree of eversion in stance (Nigg 1993: about 1)."""
    impact_g: float = 3.0
    """Peak of the heel-strike transient at the foot pod, in g above the kinematic acceleration."""

    @property
    def stride_s(self) -> float:
        return 120.0 / self.cadence_spm

    @property
    def stride_length_m(self) -> float:
        return self.speed_mps * self.stride_s

    def validate(self) -> None:
        _check("cadence_spm", self.cadence_spm, 60.0, 160.0, "steps/min")
        _check("speed_mps", self.speed_mps, 0.4, 2.2, "m/s")
        stride_m = self.stride_length_m
        if not 0.5 <= stride_m <= 2.0:
            raise ParameterError(
                f"speed_mps {self.speed_mps:g} at cadence_spm {self.cadence_spm:g} gives a stride "
                f"of "
                f"{stride_m:.2f} m; walking strides are 0.5 to 2.0 m, so change one of them"
            )
        _check("stance_fraction", self.stance_fraction, 0.55, 0.70)
        _check("step_width_m", self.step_width_m, 0.0, 0.3, "m")
        _check("toe_out_deg", self.toe_out_deg, -15.0, 30.0, "deg")
        _check("heel_strike_angle_deg", self.heel_strike_angle_deg, 0.0, 35.0, "deg")
        _check("toe_off_angle_deg", self.toe_off_angle_deg, 30.0, 80.0, "deg")
        _check("heel_off_fraction", self.heel_off_fraction, 0.3, 0.8)
        _check("pelvis_obliquity_deg", self.pelvis_obliquity_deg, 0.0, 12.0, "deg")
        _check("pelvis_rotation_deg", self.pelvis_rotation_deg, 0.0, 15.0, "deg")
        _check("pelvis_tilt_mean_deg", self.pelvis_tilt_mean_deg, -10.0, 30.0, "deg")
        _check("pelvis_tilt_range_deg", self.pelvis_tilt_range_deg, 0.0, 10.0, "deg")
        _check("pelvis_sway_m", self.pelvis_sway_m, 0.0, 0.06, "m")
        _check("pelvis_surge_m", self.pelvis_surge_m, 0.0, 0.03, "m")
        _check("hip_rotation_mean_deg", self.hip_rotation_mean_deg, -20.0, 20.0, "deg")
        _check("hip_rotation_amplitude_deg", self.hip_rotation_amplitude_deg, 0.0, 15.0, "deg")
        _check("knee_rotation_amplitude_deg", self.knee_rotation_amplitude_deg, 0.0, 12.0, "deg")
        _check("eversion_at_contact_deg", self.eversion_at_contact_deg, -10.0, 5.0, "deg")
        _check("peak_eversion_deg", self.peak_eversion_deg, -5.0, 20.0, "deg")
        _check("peak_eversion_stance_pct", self.peak_eversion_stance_pct, 10.0, 70.0, "%")
        _check("resupination_stance_pct", self.resupination_stance_pct, 50.0, 98.0, "%")
        if self.resupination_stance_pct <= self.peak_eversion_stance_pct + 5:
            raise ParameterError(
                "resupination_stance_pct must come at least 5 % of stance after "
                "peak_eversion_stance_pct"
            )
        _check("tibia_eversion_coupling", self.tibia_eversion_coupling, 0.0, 2.0)
        _check("impact_g", self.impact_g, 0.0, 15.0, "g")


@dataclass(frozen=True)
class SideFaults:
    """Kinetic-chain faults of one side; all zero is a healthy side.

    - `hip_ir_deficit_deg`: internal rotation range the hip lacks (normal prone range 35-45 deg);
      in gait it caps hip internal rotation in stance, and the missing rotation is taken up below:
      extra tibial internal rotation relative to the femur (`knee_compensation`) and extra eversion
      (`pronation_per_deficit_deg`).
    - `glute_med_weakness`: 0 (none) to 1 (severe) loss of gluteus medius control: excess femoral
      internal rotation and medial collapse of the knee (valgus: the knee swings about the
      hip-ankle line) in stance, contralateral pelvic drop in single-limb stance,
      more eversion; grows by `glute_med_fatigue_per_1000_steps` as the walk goes on.
    - `ankle_df_deficit_deg`: how much less dorsiflexion the ankle reaches in stance than a free
      ankle would; the heel rises early (as soon as the limit is reached) and the midfoot
      pronates to compensate (`df_pronation_per_deg`).
    - `extra_eversion_deg`, `eversion_delay_pct`: foot-level faults (more pronation, late
      resupination) independent of the chain above.

    Eversion faults set the rearfoot's roll on the floor. The truth reports subtalar eversion as
    the foot relative to the shank, which also contains the shank's own frontal-plane motion, so
    amounts and timings there agree with the settings to within about a third.
    """

    hip_ir_deficit_deg: float = 0.0
    glute_med_weakness: float = 0.0
    glute_med_fatigue_per_1000_steps: float = 0.0
    ankle_df_deficit_deg: float = 0.0
    extra_eversion_deg: float = 0.0
    eversion_delay_pct: float = 0.0
    hip_ir_rom_deg: float = 40.0
    """Passive prone hip internal rotation range, for the assessment battery."""
    knee_compensation: float = 0.8
    pronation_per_deficit_deg: float = 0.5
    glute_med_valgus_deg: float = 8.0
    glute_med_rotation_deg: float = 8.0
    glute_med_drop_deg: float = 5.0
    glute_med_eversion_deg: float = 4.0
    df_pronation_per_deg: float = 0.4

    def validate(self, side: str) -> None:
        p = f"{side}."
        _check(p + "hip_ir_deficit_deg", self.hip_ir_deficit_deg, 0.0, 30.0, "deg")
        _check(p + "glute_med_weakness", self.glute_med_weakness, 0.0, 1.0)
        _check(
            p + "glute_med_fatigue_per_1000_steps", self.glute_med_fatigue_per_1000_steps, 0.0, 0.5
        )
        _check(p + "ankle_df_deficit_deg", self.ankle_df_deficit_deg, 0.0, 15.0, "deg")
        _check(p + "extra_eversion_deg", self.extra_eversion_deg, -5.0, 15.0, "deg")
        _check(p + "eversion_delay_pct", self.eversion_delay_pct, 0.0, 20.0, "%")
        _check(p + "hip_ir_rom_deg", self.hip_ir_rom_deg, 0.0, 70.0, "deg")
        _check(p + "knee_compensation", self.knee_compensation, 0.0, 2.0)
        _check(p + "pronation_per_deficit_deg", self.pronation_per_deficit_deg, 0.0, 2.0)
        for f in (
            "glute_med_valgus_deg",
            "glute_med_rotation_deg",
            "glute_med_drop_deg",
            "glute_med_eversion_deg",
        ):
            _check(p + f, float(getattr(self, f)), 0.0, 20.0, "deg")
        _check(p + "df_pronation_per_deg", self.df_pronation_per_deg, 0.0, 2.0)


@dataclass(frozen=True)
class Pelvis:
    """Static pelvic asymmetry. Rotation positive = pelvis turned to the left (counter-clockwise
    seen from above); shift positive = to the left; leg-length difference positive = left leg
    longer (right side of the pelvis lower)."""

    rotation_offset_deg: float = 0.0
    lateral_shift_m: float = 0.0
    leg_length_difference_m: float = 0.0
    pronation_per_rotation_deg: float = 0.5
    """Eversion added on the side the rotation loads (the article's hypothesis: pelvis turned right
    loads the left foot into pronation), per degree of rotation offset."""

    def validate(self) -> None:
        _check("pelvis.rotation_offset_deg", self.rotation_offset_deg, -15.0, 15.0, "deg")
        _check("pelvis.lateral_shift_m", self.lateral_shift_m, -0.05, 0.05, "m")
        _check("pelvis.leg_length_difference_m", self.leg_length_difference_m, -0.04, 0.04, "m")
        _check("pelvis.pronation_per_rotation_deg", self.pronation_per_rotation_deg, 0.0, 2.0)


@dataclass(frozen=True)
class Walker:
    body: Body = field(default_factory=Body)
    gait: Gait = field(default_factory=Gait)
    left: SideFaults = field(default_factory=SideFaults)
    right: SideFaults = field(default_factory=SideFaults)
    pelvis: Pelvis = field(default_factory=Pelvis)

    def validate(self) -> "Walker":
        self.body.validate()
        self.gait.validate()
        self.left.validate("left")
        self.right.validate("right")
        self.pelvis.validate()
        return self

    def side(self, name: str) -> SideFaults:
        return self.left if name == "left" else self.right


@dataclass(frozen=True)
class ImuErrors:
    """Sensor error model of one pod (defaults: LSM6DSV16X datasheet, typical values)."""

    acc_noise_ug_per_rthz: float = 60.0
    gyr_noise_mdps_per_rthz: float = 2.8
    acc_bias_mg: float = 12.0
    """Standard deviation of the per-axis accelerometer bias drawn for each pod."""
    gyr_bias_dps: float = 0.5
    gyr_bias_walk_dps_per_rts: float = 0.002
    """Gyro bias random walk (bias drift)."""
    scale_error_pct: float = 0.5
    cross_axis_pct: float = 0.5
    acc_range_g: float = 16.0
    gyr_range_dps: float = 2000.0
    wobble_g: float = 0.3
    """Soft-tissue wobble after each impact at the shank; scaled per segment."""
    wobble_hz: float = 18.0
    wobble_decay_s: float = 0.05
    mounting_max_deg: float = 20.0
    mag: bool = False
    hard_iron_ut: float = 15.0
    soft_iron_pct: float = 5.0
    disturbance_ut: float = 20.0
    """Peak of indoor magnetic disturbances met along the walk (0: none)."""

    @classmethod
    def exact(cls, **keep: float | bool) -> "ImuErrors":
        """No noise, bias, drift, scale, cross-axis or wobble (mounting and impacts stay), with
        any field given in `keep` set as given: for tests that need the ideal sensor."""
        values: dict[str, float | bool] = {
            "acc_noise_ug_per_rthz": 0.0,
            "gyr_noise_mdps_per_rthz": 0.0,
            "acc_bias_mg": 0.0,
            "gyr_bias_dps": 0.0,
            "gyr_bias_walk_dps_per_rts": 0.0,
            "scale_error_pct": 0.0,
            "cross_axis_pct": 0.0,
            "wobble_g": 0.0,
        }
        values.update(keep)
        return cls(**values)  # type: ignore[arg-type]

    def validate(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            _check(f"imu.{f.name}", float(value), 0.0, 1e4)
        _check("imu.mounting_max_deg", self.mounting_max_deg, 0.0, 180.0, "deg")
        _check("imu.acc_range_g", self.acc_range_g, 2.0, 32.0, "g")
        _check("imu.gyr_range_dps", self.gyr_range_dps, 125.0, 4000.0, "dps")
