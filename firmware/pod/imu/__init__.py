"""IMU drivers: one module per chip, all with the same small interface, so the sampler never
knows which chip a pod carries.

A chip module (today `lsm6dsv16x`; LSM6DSOX, ICM-42688-P and BMI270 to come) provides:

- Module constants `TAG_GYRO`, `TAG_ACC`, `TAG_TIMESTAMP` (and `TAG_GAME_ROTATION` if the chip
  fuses orientation), `WORD_BYTES` (7) and `tag_of(buf, i)`, the tag of word i of a FIFO read.
- One driver class, constructed as `Driver(i2c, address)` with the bus passed in (a
  `machine.I2C` or anything with its `readfrom_mem_into` / `writeto_mem` methods). The
  constructor checks the chip's identity register and raises OSError, naming what it found, when
  the chip is absent or another one.
- `configure(rate_hz, acc_range_g, gyr_range_dps, watermark_words, quaternion)`: ValueError for
  anything the chip cannot do, before touching a register. Afterwards the FIFO batches
  accelerometer and gyroscope at rate_hz with a chip-clock timestamp word every few samples, and
  INT1 rises when `watermark_words` words are unread. Sets `acc_scale_mps2_per_lsb`,
  `gyr_scale_radps_per_lsb` and `ticks_per_sample` (chip timestamp ticks per sample at the
  nominal `TICK_HZ`, a class attribute).
- `scales(acc_range_g, gyr_range_dps) -> (acc, gyr)`: the `acc_scale_mps2_per_lsb` and
  `gyr_scale_radps_per_lsb` that `configure` with those ranges sets, without touching the chip
  (ValueError for a range it cannot do), so a pod can describe its stream before it starts.
- `read_fifo(buf) -> n`: copies the n oldest unread words (as many as are unread and fit) into
  buf[0:7n] and sets `overrun` (True if the FIFO lost words since the previous call; `overruns`
  counts such calls). Without heap allocation once a buffer has been seen, so the sampler can
  call it from a tight loop.
- `read_timestamp(buf)`: the chip's tick counter now, little-endian 32-bit, into buf[0:4].
- `stop()`: sensors powered down, FIFO emptied and off.

Words are always 7 bytes: a tag byte (sensor tag in bits 7:3) and 6 payload bytes, X, Y, Z as
little-endian int16 for samples, a little-endian 32-bit tick count in bytes 1-4 for timestamp
words. That is the LSM6DS family's own FIFO format; a chip whose FIFO packs differently
(ICM-42688-P packets, BMI270 frames) converts to it inside `read_fifo`.
"""
