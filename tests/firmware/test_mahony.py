"""The Mahony filter (CPython and MicroPython); heap use per update is printed under MicroPython."""

import array
import math

from fwtest import IS_MICROPYTHON, raises
from pod.mahony import Mahony

_G = 9.81


def _up_in_sensor(f: Mahony) -> tuple:
    """The earth's "up" in the sensor frame as the filter sees it (third row of its rotation)."""
    return (
        2.0 * (f.q1 * f.q3 - f.q0 * f.q2),
        2.0 * (f.q0 * f.q1 + f.q2 * f.q3),
        f.q0 * f.q0 - f.q1 * f.q1 - f.q2 * f.q2 + f.q3 * f.q3,
    )


def _angle_deg(a: tuple, b: tuple) -> float:
    dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    norms = math.sqrt((a[0] ** 2 + a[1] ** 2 + a[2] ** 2) * (b[0] ** 2 + b[1] ** 2 + b[2] ** 2))
    return math.degrees(math.acos(max(-1.0, min(1.0, dot / norms))))


def _run(f: Mahony, seconds: float, rate_hz: int, gyr: tuple, acc: tuple) -> None:
    dt = 1.0 / rate_hz
    for _ in range(round(seconds * rate_hz)):
        f.update(gyr[0], gyr[1], gyr[2], acc[0], acc[1], acc[2], dt)


def _wrap_deg(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def test_at_rest_flat_stays_identity_in_any_accelerometer_unit():
    for acc in ((0.0, 0.0, _G), (0.0, 0.0, 1.0), (0, 0, 2048)):
        f = Mahony()
        _run(f, 10.0, 100, (0.0, 0.0, 0.0), acc)
        assert abs(f.q0 - 1.0) < 1e-9 and abs(f.q1) + abs(f.q2) + abs(f.q3) < 1e-9, acc


def test_starting_tilted_converges_to_gravity_within_seconds():
    roll = math.radians(60.0)
    acc = (0.0, _G * math.sin(roll), _G * math.cos(roll))  # sensor rolled 60 degrees about x
    f = Mahony(kp=1.0)
    _run(f, 1.0, 100, (0.0, 0.0, 0.0), acc)
    assert _angle_deg(_up_in_sensor(f), acc) > 10.0  # on its way, not there after 1 s
    _run(f, 4.0, 100, (0.0, 0.0, 0.0), acc)
    assert _angle_deg(_up_in_sensor(f), acc) < 1.0
    # a pure roll error is corrected about x only: q ~ (cos 30, sin 30, 0, 0)
    assert abs(f.q0 - math.cos(roll / 2)) < 0.01 and abs(f.q1 - math.sin(roll / 2)) < 0.01
    assert abs(f.q2) < 1e-9 and abs(f.q3) < 1e-9


def test_far_from_upright_still_converges():
    acc = (3.0, -3.0, -3.0)  # 125 degrees from the filter's starting "up"
    f = Mahony(kp=1.0)
    assert _angle_deg(_up_in_sensor(f), acc) > 120.0
    _run(f, 8.0, 120, (0.0, 0.0, 0.0), acc)
    assert _angle_deg(_up_in_sensor(f), acc) < 1.0


def test_constant_rotation_about_z_integrates_to_the_right_angle():
    for rate_dps, seconds, rate_hz in ((90.0, 2.0, 480), (-120.0, 2.5, 120), (400.0, 1.0, 60)):
        f = Mahony(kp=1.0)
        _run(f, seconds, rate_hz, (0.0, 0.0, math.radians(rate_dps)), (0.0, 0.0, _G))
        yaw = math.degrees(2.0 * math.atan2(f.q3, f.q0))
        assert abs(_wrap_deg(yaw - rate_dps * seconds)) < 1.0, (rate_dps, yaw)
        assert abs(f.q1) + abs(f.q2) < 1e-9


def test_integral_gain_learns_a_gyroscope_bias():
    bias = 0.05  # rad/s about x, sensor lying flat and still
    plain = Mahony(kp=1.0)
    _run(plain, 20.0, 100, (bias, 0.0, 0.0), (0.0, 0.0, _G))
    tilt = _angle_deg(_up_in_sensor(plain), (0.0, 0.0, 1.0))
    assert abs(tilt - math.degrees(bias)) < 0.1  # proportional only: steady error of bias / kp

    learning = Mahony(kp=1.0, ki=0.3)
    _run(learning, 30.0, 100, (bias, 0.0, 0.0), (0.0, 0.0, _G))
    assert _angle_deg(_up_in_sensor(learning), (0.0, 0.0, 1.0)) < 0.05
    assert abs(learning.integral_x + bias) < 0.001


def test_zero_acceleration_only_integrates_the_gyroscope():
    f = Mahony(kp=5.0)
    _run(f, 1.0, 100, (math.radians(30.0), 0.0, 0.0), (0.0, 0.0, 0.0))
    assert abs(math.degrees(2.0 * math.atan2(f.q1, f.q0)) - 30.0) < 0.1


def test_quaternion_q14_fills_a_preallocated_array():
    out = array.array("h", [7, 7, 7, 7, 7])
    f = Mahony()
    f.quaternion_q14(out)
    assert list(out) == [16384, 0, 0, 0, 7]
    f.reset(1.0, 0.0, 0.0, 1.0)  # 90 degrees about z
    f.quaternion_q14(out)
    assert list(out) == [11585, 0, 0, 11585, 7]
    f.reset(0.0, 0.0, -1.0, 0.0)
    f.quaternion_q14(out)
    assert list(out) == [0, 0, -16384, 0, 7]


def test_reset_normalises_and_refuses_zero():
    f = Mahony(ki=0.5)
    _run(f, 1.0, 100, (0.1, 0.0, 0.0), (0.0, 1.0, 1.0))
    f.reset(2.0, 0.0, 0.0, 0.0)
    assert (f.q0, f.q1, f.q2, f.q3) == (1.0, 0.0, 0.0, 0.0)
    assert (f.integral_x, f.integral_y, f.integral_z) == (0.0, 0.0, 0.0)
    raises(ValueError, f.reset, 0.0, 0.0, 0.0, 0.0)


def test_heap_bytes_per_update_are_measured():
    """Floats are boxed in MicroPython: print what one update allocates (WebAssembly port)."""
    if not IS_MICROPYTHON:
        return
    import gc

    f = Mahony(kp=1.0, ki=0.1)
    out = array.array("h", bytes(8))
    updates = 200
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(updates):
            f.update(0.01, -0.02, 0.5, 0.1, 0.2, 9.8, 0.002)
        middle = gc.mem_alloc()
        for _ in range(updates):
            f.quaternion_q14(out)
        after = gc.mem_alloc()
    finally:
        gc.enable()
    per_update = (middle - before) // updates
    per_q14 = (after - middle) // updates
    print("mahony: %d heap bytes per update, %d per quaternion_q14" % (per_update, per_q14))
    assert 0 < per_update < 4096
