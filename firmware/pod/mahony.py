"""Mahony AHRS (accelerometer and gyroscope only), for IMU chips without an on-chip quaternion.

The orientation `q0..q3` (w, x, y, z) rotates vectors from the sensor frame into an earth frame
whose z axis points up, the convention of the `QUAT` field of SAMPLES (docs/protocol.md). Gyroscope
rates are integrated; the accelerometer, taken as the direction of "up" (specific force at rest),
pulls roll and pitch back through a proportional gain `kp` and, if `ki` > 0, an integral term that
learns a constant gyroscope bias. Heading is not observable without a magnetometer: it is the
integral of the gyroscope about the earth's vertical and drifts with its bias.

Reference: R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters on the special
orthogonal group", IEEE Trans. Automatic Control 53(5), 2008 (the explicit complementary filter).

The state is plain float attributes and `update` builds no list, tuple or array. MicroPython boxes
every float, on the ESP32-S3 (single precision) as under the WebAssembly port, so each arithmetic
result still takes a 16-byte heap block: under the WebAssembly port one update allocates 1,216
bytes (1,376 with `ki` > 0; tests/firmware/test_mahony.py prints it), about 0.6 MB/s at 480 Hz,
which makes the garbage collector run a few times a second on the pod. Keep `update` out of code
that runs under `micropython.heap_lock()`, and measure the collection pauses on the device.
"""

import array
import math


class Mahony:
    """The filter's gains and state. `kp` in rad/s per unit of error (1/kp is the time constant,
    in seconds, of the tilt correction), `ki` in rad/s² per unit of error (0 disables the bias
    estimate)."""

    def __init__(self, kp: float = 1.0, ki: float = 0.0) -> None:
        self.kp = kp
        self.ki = ki
        self.q0 = 1.0
        self.q1 = 0.0
        self.q2 = 0.0
        self.q3 = 0.0
        self.integral_x = 0.0
        self.integral_y = 0.0
        self.integral_z = 0.0
        self.reset()

    def reset(self, q0: float = 1.0, q1: float = 0.0, q2: float = 0.0, q3: float = 0.0) -> None:
        """Start again from orientation (q0, q1, q2, q3) (normalised here) with no bias learnt.

        `integral_x/y/z` (rad/s) are the integral feedback added to the gyroscope: minus the bias
        learnt so far.
        """
        norm = math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3)
        if norm == 0.0:
            raise ValueError("the quaternion must not be zero")
        self.q0 = q0 / norm
        self.q1 = q1 / norm
        self.q2 = q2 / norm
        self.q3 = q3 / norm
        self.integral_x = 0.0
        self.integral_y = 0.0
        self.integral_z = 0.0

    def update(
        self,
        gx: float,
        gy: float,
        gz: float,
        ax: float,
        ay: float,
        az: float,
        dt: float,
    ) -> None:
        """One sample: angular rate in rad/s, specific force in any unit, `dt` in seconds.

        An accelerometer reading of exactly zero (free fall, a dropped sample) skips the
        correction and only integrates the gyroscope.
        """
        q0 = self.q0
        q1 = self.q1
        q2 = self.q2
        q3 = self.q3
        norm2 = ax * ax + ay * ay + az * az
        if norm2 > 0.0:
            # Half the "up" direction the orientation predicts in the sensor frame (third row
            # of the rotation matrix / 2), crossed with the measured one; the factor 2 and the
            # accelerometer's normalisation go into `scale`.
            vx = q1 * q3 - q0 * q2
            vy = q0 * q1 + q2 * q3
            vz = q0 * q0 - 0.5 + q3 * q3
            scale = 2.0 / math.sqrt(norm2)
            ex = (ay * vz - az * vy) * scale
            ey = (az * vx - ax * vz) * scale
            ez = (ax * vy - ay * vx) * scale
            ki = self.ki
            if ki > 0.0:
                ki *= dt
                self.integral_x += ki * ex
                self.integral_y += ki * ey
                self.integral_z += ki * ez
                gx += self.integral_x
                gy += self.integral_y
                gz += self.integral_z
            kp = self.kp
            gx += kp * ex
            gy += kp * ey
            gz += kp * ez
        half = 0.5 * dt
        gx *= half
        gy *= half
        gz *= half
        # q <- q + q x (0, g) dt / 2, then back onto the unit sphere.
        w = q0 - q1 * gx - q2 * gy - q3 * gz
        x = q1 + q0 * gx + q2 * gz - q3 * gy
        y = q2 + q0 * gy - q1 * gz + q3 * gx
        z = q3 + q0 * gz + q1 * gy - q2 * gx
        inverse = 1.0 / math.sqrt(w * w + x * x + y * y + z * z)
        self.q0 = w * inverse
        self.q1 = x * inverse
        self.q2 = y * inverse
        self.q3 = z * inverse

    def quaternion_q14(self, out: array.array) -> None:
        """Write w, x, y, z in Q14 (16384 = 1.0) into `out[0:4]` (an `array("h")` of 4 or more)."""
        out[0] = round(self.q0 * 16384.0)
        out[1] = round(self.q1 * 16384.0)
        out[2] = round(self.q2 * 16384.0)
        out[3] = round(self.q3 * 16384.0)
