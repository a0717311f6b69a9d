"""Load and progression per stride from a foot pod.

- `impact_peak_g`: the largest magnitude of specific force within 80 ms after initial contact,
  in units of standard gravity (raw, gravity included, as a foot pod reports it).
- `loading_rate_g_per_s`: the rise of that magnitude from initial contact to the peak, per second.
- `stride_length_m`, `speed_mps`: from zero-velocity updates: the foot's acceleration in the world
  frame, gravity removed, integrated from mid-stance to the next mid-stance (the foot is still at
  both), the velocity's linear drift removed so it is zero at both ends, and integrated again; the
  horizontal distance travelled is the stride length (Foxlin 2005; Skog et al. 2010).
"""

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..signals import G_MPS2
from .kinematics import PodKinematics
from .strides import SideEvents, Stride

FloatArray = NDArray[np.float64]
IMPACT_WINDOW_S = 0.08


class FootLoad:
    """Per-stride load and progression of one foot pod."""

    def __init__(self, foot: PodKinematics) -> None:
        pod = foot.pod
        self.t_s = pod.t_s
        self.magnitude_g = np.linalg.norm(pod.acc_mps2, axis=1) / G_MPS2
        world = Rotation.from_quat(foot.quat_wxyz, scalar_first=True).apply(pod.acc_mps2)
        self.free_acc_mps2 = world - np.array([0.0, 0.0, G_MPS2])

    def _index(self, t_s: float) -> int:
        return int(np.searchsorted(self.t_s, t_s))

    def impact(self, stride: Stride) -> dict[str, float]:
        lo = self._index(stride.initial_contact_s)
        hi = self._index(stride.initial_contact_s + IMPACT_WINDOW_S)
        if hi - lo < 2:
            return {"impact_peak_g": float("nan"), "loading_rate_g_per_s": float("nan")}
        peak = lo + int(np.argmax(self.magnitude_g[lo:hi]))
        rise_s = max(float(self.t_s[peak] - stride.initial_contact_s), 1e-3)
        return {
            "impact_peak_g": float(self.magnitude_g[peak]),
            "loading_rate_g_per_s": float(self.magnitude_g[peak] - self.magnitude_g[lo]) / rise_s,
        }

    def progression(self, stride: Stride, events: SideEvents) -> dict[str, float]:
        nan = {"stride_length_m": float("nan"), "speed_mps": float("nan")}
        k = stride.stance
        if k + 1 >= events.foot_flat_s.shape[0]:
            return nan
        start_s = 0.5 * (events.foot_flat_s[k] + events.heel_off_s[k])
        end_s = 0.5 * (events.foot_flat_s[k + 1] + events.heel_off_s[k + 1])
        if not (np.isfinite(start_s) and np.isfinite(end_s)):
            return nan
        lo, hi = self._index(float(start_s)), self._index(float(end_s))
        if hi - lo < 3:
            return nan
        dt_s = np.diff(self.t_s[lo : hi + 1])[:, None]
        velocity = np.vstack([np.zeros((1, 3)), np.cumsum(self.free_acc_mps2[lo:hi] * dt_s, 0)])
        ramp = (self.t_s[lo : hi + 1] - self.t_s[lo]) / (self.t_s[hi] - self.t_s[lo])
        velocity -= ramp[:, None] * velocity[-1]
        position = np.sum(0.5 * (velocity[1:] + velocity[:-1]) * dt_s, axis=0)
        length_m = float(np.hypot(position[0], position[1]))
        return {"stride_length_m": length_m, "speed_mps": length_m / stride.stride_time_s}
