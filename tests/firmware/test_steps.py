"""The on-pod step detector on synthetic strides (CPython and MicroPython)."""

from fwtest import G_COUNTS, IC_AT, STRIDE_SAMPLES, TOE_OFF_AT, stride_z
from pod.steps import FLAG_IMPACT_CLIPPED, FLAG_STANCE_OPEN, StepDetector


def _run(strides: int, tail_samples: int = 0, clip: bool = False) -> list:
    steps = []
    detector = StepDetector(G_COUNTS, 240, lambda *s: steps.append(s))
    for _stride in range(strides):
        for k in range(STRIDE_SAMPLES):
            z = stride_z(k)
            if clip and k == IC_AT + 1:
                z = 32767
            detector.feed(3, -5, z)
    for _ in range(tail_samples):  # standing still at the end
        detector.feed(0, 0, G_COUNTS)
    return steps


def test_one_step_per_stride_with_contact_stance_and_impact() -> None:
    steps = _run(6, tail_samples=240)
    assert len(steps) == 6
    for n, (ic, stance, impact_g16, loading, flags) in enumerate(steps):
        assert ic == n * STRIDE_SAMPLES + IC_AT + 1  # the 5 g peak
        assert stance == TOE_OFF_AT - (IC_AT + 1)  # toe-off: the first push-off sample
        assert impact_g16 == 80  # 5 g in 1/16 g
        assert loading > 0 and flags == 0


def test_standing_after_the_last_step_closes_it_open_and_rest_adds_no_steps() -> None:
    steps = []
    detector = StepDetector(G_COUNTS, 240, lambda *s: steps.append(s))
    for k in range(STRIDE_SAMPLES):
        detector.feed(0, 0, stride_z(k) if k <= IC_AT + 20 else G_COUNTS)
    for _ in range(240 * 10):
        detector.feed(0, 0, G_COUNTS)
    assert len(steps) == 1
    ic, stance, _impact, _loading, flags = steps[0]
    assert ic == IC_AT + 1 and stance == -1 and flags & FLAG_STANCE_OPEN


def test_saturated_impact_is_flagged() -> None:
    steps = _run(2, clip=True)
    assert steps and all(s[4] & FLAG_IMPACT_CLIPPED for s in steps)
    assert steps[0][2] == 255 or steps[0][2] >= 250  # 16 g: the peak is a lower bound


def test_gap_flags_the_next_step_and_skips_the_index() -> None:
    steps = []
    detector = StepDetector(G_COUNTS, 240, lambda *s: steps.append(s))
    for k in range(STRIDE_SAMPLES):
        detector.feed(0, 0, stride_z(k))
    detector.mark_gap(1000)
    for k in range(STRIDE_SAMPLES + 120):
        detector.feed(0, 0, stride_z(k) if k < STRIDE_SAMPLES else G_COUNTS)
    assert [s[4] & 4 for s in steps] == [0, 4]
    assert steps[1][0] == STRIDE_SAMPLES + 1000 + IC_AT + 1
