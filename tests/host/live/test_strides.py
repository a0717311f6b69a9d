"""Live strides from a simulated foot pod fed in small chunks: each stride once, with its final
contact, whatever the phase of detection."""

import numpy as np
from gaitchain.gait.events import FootEvents
from gaitchain.live.strides import LiveStrides
from gaitchain.sim.walk import WalkConfig, simulate_walk


def test_strides_come_once_with_their_final_contact() -> None:
    walk = simulate_walk(WalkConfig(minutes=1.0, seed=4, pods=(("foot", "left"),)))
    pod = walk.pods[0]
    live = LiveStrides("left", detect_every_s=0.1)  # detect often: right after contacts too
    strides = []
    for start in range(0, pod.t_s.shape[0], 7):
        end = start + 7
        strides += live.add(
            pod.t_s[start:end], pod.acc_mps2[start:end], pod.gyr_radps[start:end], 120.0
        )
    offline = FootEvents().detect(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=120.0)
    contacts = offline.initial_contact_s_[np.isfinite(offline.initial_contact_s_)] + pod.t_s[0]
    assert len(strides) >= 20
    starts = np.array([s.start_s for s in strides])
    assert np.all(np.diff(starts) > 0.5), "each stride once"
    nearest = np.abs(starts[:, None] - contacts[None, :]).min(axis=1)
    assert np.percentile(nearest, 90) < 0.01, "the contacts the offline detector finds"
    with_foot_off = [s for s in strides if np.isfinite(s.foot_off_s)]
    assert len(with_foot_off) >= 0.9 * len(strides)
    stance = np.array([s.foot_off_s - s.start_s for s in with_foot_off])
    stride = np.array([s.end_s - s.start_s for s in with_foot_off])
    assert 0.55 < np.median(stance / stride) < 0.68
