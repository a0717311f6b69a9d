"""Gait events from the pelvis pod, the last fallback for a side with neither foot nor shank pod.

The pelvis's vertical acceleration (world frame, gravity removed) is integrated and then
differentiated with a Gaussian kernel (McCamley et al. 2012): initial contacts are the minima of
that signal, final contacts the maxima of its derivative, each searched between two contacts.
Which foot landed comes from the pelvic rotation at contact: the side whose hip is forward, i.e.
the pelvis turned away from it (rotation negative at a left contact). Foot flat and heel off
cannot be seen from the pelvis and are NaN.
"""

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks
from scipy.spatial.transform import Rotation

from ..signals import G_MPS2
from .kinematics import PodKinematics
from .strides import SideEvents

FloatArray = NDArray[np.float64]
SMOOTHING_S = 0.05


def pelvis_contacts(pelvis: PodKinematics) -> tuple[FloatArray, FloatArray]:
    """Times (s) of every initial contact and of every final contact, both sides together."""
    pod = pelvis.pod
    rate_hz = pod.rate_hz
    world = Rotation.from_quat(pelvis.quat_wxyz, scalar_first=True).apply(pod.acc_mps2)
    vertical = world[:, 2] - G_MPS2
    vertical -= gaussian_filter1d(vertical, 1.0 * rate_hz)
    integrated = np.cumsum(vertical) / rate_hz
    integrated -= gaussian_filter1d(integrated, 1.0 * rate_hz)
    sigma = SMOOTHING_S * rate_hz
    first = gaussian_filter1d(integrated, sigma, order=1)
    second = gaussian_filter1d(first, sigma, order=1)
    spacing = max(1, round(0.35 * rate_hz))
    prominence = 0.3 * float(np.std(first))
    contacts, _ = find_peaks(-first, distance=spacing, prominence=prominence)
    offs, _ = find_peaks(second, distance=spacing, prominence=0.3 * float(np.std(second)))
    return pod.t_s[contacts], pod.t_s[offs]


def pelvis_events(
    pelvis: PodKinematics, t_s: FloatArray, pelvic_rotation_deg: FloatArray
) -> dict[str, SideEvents]:
    """Events of both sides from the pelvis; `pelvic_rotation_deg` on the grid `t_s`."""
    contacts, offs = pelvis_contacts(pelvis)
    rotation = np.interp(contacts, t_s, pelvic_rotation_deg)
    out: dict[str, SideEvents] = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        mine = contacts[sign * rotation > 0]
        # final contact of this foot: the first toe-off after the other foot's next contact
        others = contacts[sign * rotation <= 0]
        fc: list[float] = []
        for start in mine:
            after = others[others > start]
            later = offs[offs > after[0]] if after.size else np.zeros(0)
            fc.append(float(later[0]) if later.size else np.nan)
        nan = np.full(mine.shape, np.nan)
        out[side] = SideEvents(mine, nan, nan, np.asarray(fc), pelvis.pod.name)
    return out
