"""Sensor fusion: orientation per pod (sensor -> earth ENU quaternions, w, x, y, z).

`VqfOrientation` estimates the orientation of one pod from its accelerometer, gyroscope and
optional magnetometer, online (causal) or offline (whole recording); `quaternion` holds the
quaternion helpers and the BROAD orientation-error metrics.
"""

from .orientation import (
    LatencyWindows,
    Mode,
    VqfOrientation,
    VqfOutput,
    compensate_mag_latency,
    estimate_mag_latency_s,
    heading_lag_correction_rad,
    mag_latency_windows,
    run_vqf,
    running_mag_latency_s,
)
from .quaternion import (
    OrientationErrorDeg,
    OrientationRmseDeg,
    heading_offset_rad,
    heading_rotation,
    orientation_error_deg,
    orientation_rmse_deg,
    quaternion_conjugate,
    quaternion_from_axis_angle,
    quaternion_multiply,
    quaternion_normalize,
    quaternion_rotate,
    rotate_heading,
)

__all__ = [
    "LatencyWindows",
    "Mode",
    "OrientationErrorDeg",
    "OrientationRmseDeg",
    "VqfOrientation",
    "VqfOutput",
    "compensate_mag_latency",
    "estimate_mag_latency_s",
    "heading_lag_correction_rad",
    "heading_offset_rad",
    "heading_rotation",
    "mag_latency_windows",
    "orientation_error_deg",
    "orientation_rmse_deg",
    "quaternion_conjugate",
    "quaternion_from_axis_angle",
    "quaternion_multiply",
    "quaternion_normalize",
    "quaternion_rotate",
    "rotate_heading",
    "run_vqf",
    "running_mag_latency_s",
]
