"""A register-file LSM6DSV16X with a FIFO the test fills, for firmware tests (CPython, MicroPython).

Far smaller than the CPython emulator (gaitchain.sim.lsm6dsv16x): no sensors and no clock. The test
puts words in the FIFO (`push`, or `script` then `release`), sets `timestamp`, and checks the
registers the driver wrote (`regs`, `emb`, `writes`). What it does follow from ST DS13510:
WHO_AM_I, the CTRL3 default and software reset, the embedded-functions bank behind
FUNC_CFG_ACCESS, FIFO_STATUS1/2 (DIFF_FIFO, watermark, overrun latched until FIFO_STATUS2 is read),
a burst from FIFO_DATA_OUT_TAG wrapping 7Eh -> 78h and popping a word when 7Eh is read, bypass
emptying the FIFO, continuous mode overwriting the oldest word, and INT1 following the FIFO
threshold when INT1_CTRL routes it (driven onto `int1`, a `machine.Pin`, if set).

Reads (`readfrom_mem_into`) and `release` allocate nothing, for tests under heap_lock.
"""

import struct

FUNC_CFG_ACCESS = 0x01
FIFO_CTRL1 = 0x07
FIFO_CTRL2 = 0x08
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
INT1_CTRL = 0x0D
WHO_AM_I = 0x0F
CTRL1 = 0x10
CTRL2 = 0x11
CTRL3 = 0x12
CTRL6 = 0x15
CTRL8 = 0x17
FIFO_STATUS1 = 0x1B
FIFO_STATUS2 = 0x1C
TIMESTAMP0 = 0x40
TIMESTAMP3 = 0x43
FUNCTIONS_ENABLE = 0x50
FIFO_DATA_OUT_TAG = 0x78
FIFO_DATA_OUT_Z_H = 0x7E
EMB_FUNC_EN_A = 0x04
EMB_FUNC_FIFO_EN_A = 0x44
SFLP_ODR = 0x5E

EMB_FUNC_REG_ACCESS = 0x80
IF_INC = 0x04
SW_RESET = 0x01
INT1_FIFO_TH = 0x08
FIFO_WTM_IA = 0x80
FIFO_OVR_IA = 0x40
FIFO_OVR_LATCHED = 0x08
FIFO_MODE_MASK = 0x07

TAG_TIMESTAMP = 0x04
WORD_BYTES = 7


def word(tag: int, x: int = 0, y: int = 0, z: int = 0) -> bytes:
    """One FIFO word: tag byte (tag << 3) and X, Y, Z as little-endian int16."""
    return struct.pack("<Bhhh", tag << 3, x, y, z)


def timestamp_word(ticks: int) -> bytes:
    """A timestamp word (tag 04h): the 32-bit tick count little-endian in bytes 1-4."""
    return struct.pack("<BIH", TAG_TIMESTAMP << 3, ticks & 0xFFFFFFFF, 0)


class FakeLsm6dsv16x:
    def __init__(self, address=0x6A, who_am_i=0x70, capacity=256, int1=None) -> None:
        self.address = address
        self.who_am_i = who_am_i
        self.capacity = capacity
        self.int1 = int1
        self.regs = bytearray(256)
        self.emb = bytearray(256)
        self.timestamp = 0
        self.reads = 0  # bus read transactions
        self.writes = []  # (bank, register, value) in order; bank "main" or "emb"
        self._ring = bytearray(WORD_BYTES * capacity)
        self._head = 0
        self._count = 0
        self._script = b""
        self._script_pos = 0
        self._overrun_latched = False
        self._int1_level = 0
        self._power_on()

    def _power_on(self) -> None:
        for i in range(256):
            self.regs[i] = 0
        self.regs[CTRL3] = 0x44
        self.emb[SFLP_ODR] = 0x5B
        self._clear_fifo()

    # --------------------------------------------------------------------- the test's side

    @property
    def unread(self) -> int:
        return self._count

    def push(self, data) -> None:
        """Append whole words (bytes of a multiple of 7) to the FIFO."""
        for start in range(0, len(data), WORD_BYTES):
            self._push_from(data, start)
        self._update_int1()

    def script(self, data) -> None:
        """Words that `release` moves into the FIFO later, in order."""
        self._script = data
        self._script_pos = 0

    def release(self, count: int) -> None:
        """Move the next `count` scripted words into the FIFO, as if sampled (no allocation)."""
        for _ in range(count):
            self._push_from(self._script, self._script_pos)
            self._script_pos += WORD_BYTES
        self._update_int1()

    def _push_from(self, data, start: int) -> None:
        if self.regs[FIFO_CTRL4] & FIFO_MODE_MASK == 0:
            return  # bypass: nothing is batched
        if self._count == self.capacity:  # continuous: the oldest word is overwritten
            self._head = (self._head + 1) % self.capacity
            self._count -= 1
            self._overrun_latched = True
        slot = (self._head + self._count) % self.capacity * WORD_BYTES
        for k in range(WORD_BYTES):
            self._ring[slot + k] = data[start + k]
        self._count += 1

    def _clear_fifo(self) -> None:
        self._head = 0
        self._count = 0
        self._overrun_latched = False

    def _watermark_reached(self) -> bool:
        watermark = self.regs[FIFO_CTRL1]
        return watermark > 0 and self._count >= watermark

    def _update_int1(self) -> None:
        level = 1 if self.regs[INT1_CTRL] & INT1_FIFO_TH and self._watermark_reached() else 0
        if level != self._int1_level:
            self._int1_level = level
            if self.int1 is not None:
                self.int1.value(level)

    # ----------------------------------------------------------------------------- bus

    def _emb_selected(self) -> bool:
        return bool(self.regs[FUNC_CFG_ACCESS] & EMB_FUNC_REG_ACCESS)

    def _next(self, register: int) -> int:
        if register == FIFO_DATA_OUT_Z_H and not self._emb_selected():
            return FIFO_DATA_OUT_TAG
        return (register + 1) & 0xFF

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8) -> None:
        self.reads += 1
        register = memaddr
        increment = self.regs[CTRL3] & IF_INC
        for i in range(len(buf)):
            buf[i] = self._read(register)
            if increment:
                register = self._next(register)
        self._update_int1()

    def writeto_mem(self, addr, memaddr, buf, addrsize=8) -> None:
        register = memaddr
        increment = self.regs[CTRL3] & IF_INC
        for value in bytes(buf):
            self._write(register, value)
            if increment:
                register = self._next(register)
        self._update_int1()

    def _read(self, register: int) -> int:
        if register != FUNC_CFG_ACCESS and self._emb_selected():
            return self.emb[register]
        if register == WHO_AM_I:
            return self.who_am_i
        if register == FIFO_STATUS1:
            return self._count & 0xFF
        if register == FIFO_STATUS2:
            value = (self._count >> 8) & 1
            if self._watermark_reached():
                value |= FIFO_WTM_IA
            if self._overrun_latched:
                value |= FIFO_OVR_LATCHED
            self._overrun_latched = False
            return value
        if TIMESTAMP0 <= register <= TIMESTAMP3:
            return (self.timestamp >> (8 * (register - TIMESTAMP0))) & 0xFF
        if FIFO_DATA_OUT_TAG <= register <= FIFO_DATA_OUT_Z_H:
            if self._count == 0:
                return 0
            value = self._ring[self._head * WORD_BYTES + register - FIFO_DATA_OUT_TAG]
            if register == FIFO_DATA_OUT_Z_H:
                self._head = (self._head + 1) % self.capacity
                self._count -= 1
            return value
        return self.regs[register]

    def _write(self, register: int, value: int) -> None:
        if register != FUNC_CFG_ACCESS and self._emb_selected():
            self.writes.append(("emb", register, value))
            self.emb[register] = value
            return
        self.writes.append(("main", register, value))
        if register == CTRL3 and value & SW_RESET:
            regs = self.regs
            for i in range(0x04, 256):  # PIN_CTRL and IF_CFG survive (9.2, 9.3)
                regs[i] = 0
            regs[CTRL3] = 0x44  # SW_RESET clears itself at once here
            self._clear_fifo()
            return
        self.regs[register] = value
        if register == FIFO_CTRL4 and value & FIFO_MODE_MASK == 0:
            self._clear_fifo()
