"""The common heading keeps relative headings consistent far better than filters on their own."""

from gaitchain.sim.frame_truth import relative_heading_errors
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import WalkConfig, simulate_walk


def test_common_heading_beats_independent_filters() -> None:
    """Over ten minutes each filter's heading drifts by many degrees; the common heading holds."""
    walk = simulate_walk(WalkConfig(minutes=10, seed=101, errors=ImuErrors(acc_bias_mg=0)))
    ours, alone = relative_heading_errors(walk)
    assert max(ours.values()) < 6.0, ours
    mean_ours = sum(ours.values()) / len(ours)
    mean_alone = sum(alone.values()) / len(alone)
    assert mean_ours < 0.7 * mean_alone, (ours, alone)


def test_relative_heading_holds_on_the_side_of_a_hip_rotation_deficit() -> None:
    """There the shank swings in a plane turned out, which biased the old acceleration-axis
    estimate of its walking direction by several degrees (5.5 deg RMS pelvis-to-shank)."""
    walk = simulate_walk(
        WalkConfig(minutes=3, seed=22, driver="left-hip-ir-deficit", errors=ImuErrors())
    )
    ours, _ = relative_heading_errors(walk)
    assert max(ours.values()) <= 2.0, ours  # the bar
