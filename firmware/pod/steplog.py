"""The step log on flash: one 6-byte record per step, in CRC-checked blocks, power-cut safe.

The log lives on a block device with the `esp32.Partition` protocol (`readblocks`,
`writeblocks` with an offset = program without erase, `ioctl` 4 count, 5 size, 6 erase), so tests
and virtual pods run it on an emulated flash (`mpshim/esp32.py`) that can lose power at any byte.

Layout: the partition's 4096-byte sectors form a ring. Blocks are appended inside a sector and
never span two; each is a 24-byte header then its records:

    <HBBIIIHH  magic 0x4753, record_format, record_size, seq, boot_id, t_s, t_ms_flags, count
    <I         CRC-32 (binascii.crc32) of the 20 bytes above and the records

`seq` numbers step blocks 0, 1, 2 ... for the life of the log (never reused). `t_s` and
`t_ms_flags` date the block's first step: with bit 15 (`TIME_WALL`) set, unix seconds and
milliseconds (bits 0-9); without it, seconds and milliseconds on the log clock of boot `boot_id`
(the pod had not been told the time). A record's time is an offset from the block's time.

Record format 1 (`<HBBBB`, 6 bytes): t_ms (offset from the block's time, ms), stance in 4 ms
units (255: 1020 ms or more), impact peak in 1/16 g (255: 15.9 g or more), loading rate in
16 g/s units (a foot-strike proxy), flags (`steps.FLAG_*`).

Record format 0 is a mark: no records; `seq` is the next step seq when written and `t_s` the seq
below which the host confirmed it stored everything. With bit 14 (`MARK_LOG_ID`) of `t_ms_flags`
set, the boot_id field holds the log id instead (firmware before protocol 1.2 wrote marks without
it). Marks spare re-sending after a reboot; losing one is harmless (the host drops duplicates).

The log id names this log's numbering: a boot that finds no block and no mark on the partition
(new or erased flash) starts a new log, from seq 0, with its boot id as the log id, and writes a
mark at once. Every sector the log moves into starts with a mark, so the id survives as long as
any sector does. `LOG_INFO` reports it; a host that sees it change (or, from older firmware, sees
`next_seq` fall below what it stored) knows the numbering restarted and stores the new blocks as
a new log instead of dropping them as duplicates.

Power cuts: a block is built in RAM and programmed with one write, header and all; NOR flash
programming only clears bits of the bytes written, so a cut damages at most that block (its CRC
then fails) and never an earlier one. A sector holding a damaged block is sealed: nothing more
is written into it. Sectors are erased only just before reuse, when all they hold is confirmed
(or, with the overwrite policy, is the oldest data); a cut during an erase leaves a sector whose
surviving blocks are old ones, which are harmless for the same reason. So a cut loses at most the
open block (in RAM, at most `MAX_BLOCK_MS` of steps) and the block being programmed.
"""

import struct
from binascii import crc32

from micropython import const

MAGIC = const(0x4753)
FORMAT_MARK = const(0)
FORMAT_STEP = const(1)
RECORD_BYTES = const(6)
HEADER_BYTES = const(24)
MAX_RECORDS = const(70)
MAX_BLOCK_MS = const(60000)
TIME_WALL = const(0x8000)
MARK_LOG_ID = const(0x4000)
POLICY_STOP = const(0)
POLICY_OVERWRITE = const(1)
_HEAD = "<HBBIIIHH"
_RECORD = "<HBBBB"
_ERASED = const(0xFF)
_IOCTL_COUNT = const(4)
_IOCTL_SIZE = const(5)
_IOCTL_ERASE = const(6)


class StepLog:
    """The log on `device`; scans it on construction (a boot) to find where writing resumes.

    Steps go into the open block (`add`); `close` writes it to flash. `policy` says what happens
    when every sector holds unconfirmed steps: `POLICY_STOP` refuses new blocks (`full`, and the
    steps are counted in `records_dropped`), `POLICY_OVERWRITE` erases the oldest sector (counted
    in `records_overwritten`).
    """

    def __init__(self, device: object, boot_id: int, policy: int = POLICY_STOP) -> None:
        self._dev = device
        self.boot_id = boot_id
        self.policy = policy
        self.sectors = device.ioctl(_IOCTL_COUNT, 0)  # type: ignore[attr-defined]
        self.sector_bytes = device.ioctl(_IOCTL_SIZE, 0)  # type: ignore[attr-defined]
        n = self.sectors
        self._first = [-1] * n  # lowest step seq in each sector, -1 when it holds none
        self._last = [-1] * n
        self._records = [0] * n
        self._used = [0] * n  # bytes of blocks in the sector (where the next block would go)
        self._sealed = [False] * n  # holds a damaged block or unerased bytes past its blocks
        self._sector = bytearray(self.sector_bytes)
        self._block = bytearray(HEADER_BYTES + MAX_RECORDS * RECORD_BYTES)
        self._blockview = memoryview(self._block)
        self._head = -1
        self.next_seq = 0
        self.confirmed_seq = 0
        self.count = 0  # records in the open block
        self.t0_ms = 0  # log-clock time of the open block's first step
        self.wall_offset_ms = None  # type: int | None  # unix ms minus log-clock ms, once set
        self.records_dropped = 0
        self.records_overwritten = 0
        self.blocks_written = 0
        self.full = False
        self.log_id = 0
        self._id_seq = -1
        self._scan()
        if not self.log_id:
            self._new_log_id()

    # -- boot ---------------------------------------------------------------------------
    def _scan(self) -> None:
        best = -1
        for s in range(self.sectors):
            self._scan_sector(s)
            if self._last[s] > best:
                best = self._last[s]
                self._head = s
        self.next_seq = max(best + 1, self.next_seq)
        if self._head >= 0:
            self._seal_if_dirty(self._head)

    def _scan_sector(self, s: int) -> None:
        buf = self._sector
        self._dev.readblocks(s, buf, 0)  # type: ignore[attr-defined]
        offset = 0
        size = self.sector_bytes
        while offset + HEADER_BYTES <= size:
            if buf[offset] == _ERASED and buf[offset + 1] == _ERASED:
                break
            length = self._valid_block(buf, offset)
            if length == 0:
                self._sealed[s] = True
                break
            fmt = buf[offset + 2]
            seq, _boot, t_s, _t_ms, count = struct.unpack_from("<IIIHH", buf, offset + 4)
            if fmt == FORMAT_STEP:
                if self._first[s] < 0 or seq < self._first[s]:
                    self._first[s] = seq
                self._last[s] = max(self._last[s], seq)
                self._records[s] += count
            elif fmt == FORMAT_MARK:
                self.confirmed_seq = max(self.confirmed_seq, t_s)
                self.next_seq = max(self.next_seq, seq)
                if _t_ms & MARK_LOG_ID and seq >= self._id_seq:
                    self.log_id = _boot
                    self._id_seq = seq
            offset += length
        self._used[s] = offset

    def _valid_block(self, buf: bytearray, offset: int) -> int:
        """Length of the intact block at `offset` of a sector buffer, or 0."""
        magic, fmt, rsize = struct.unpack_from("<HBB", buf, offset)
        count = struct.unpack_from("<H", buf, offset + 18)[0]
        if magic != MAGIC or count > MAX_RECORDS:
            return 0
        if fmt == FORMAT_STEP:
            if rsize != RECORD_BYTES or count == 0:
                return 0
        elif fmt != FORMAT_MARK or count:
            return 0
        end = offset + HEADER_BYTES + count * rsize
        if end > len(buf):
            return 0
        view = memoryview(buf)
        crc = crc32(view[offset + HEADER_BYTES : end], crc32(view[offset : offset + 20]))
        if crc != struct.unpack_from("<I", buf, offset + 20)[0]:
            return 0
        return end - offset

    def _new_log_id(self) -> None:
        """No mark names the log: a new log (nothing on flash) or one written by firmware before
        log ids. Name it after this boot and mark it on flash now (a new log takes a sector)."""
        self.log_id = self.boot_id or 1
        s = self._head
        if s < 0:
            self._room(HEADER_BYTES)  # moving into a sector writes the mark
        elif not self._sealed[s] and self._used[s] + HEADER_BYTES <= self.sector_bytes:
            self._mark()

    def _mark(self) -> None:
        self._write(FORMAT_MARK, self.next_seq, self.confirmed_seq, MARK_LOG_ID, 0, self.log_id)

    def _seal_if_dirty(self, s: int) -> None:
        """Seal sector `s` unless everything after its blocks is still erased."""
        if self._sealed[s]:
            return
        self._dev.readblocks(s, self._sector, 0)  # type: ignore[attr-defined]
        for i in range(self._used[s], self.sector_bytes):
            if self._sector[i] != _ERASED:
                self._sealed[s] = True
                return

    # -- writing ------------------------------------------------------------------------
    def add(self, t_ms: int, stance_4ms: int, impact_g16: int, loading: int, flags: int) -> None:
        """One step at log-clock time `t_ms`; closes the open block first when it is full or
        the step is `MAX_BLOCK_MS` or more after the block's first step."""
        if self.count and (self.count >= MAX_RECORDS or t_ms - self.t0_ms >= MAX_BLOCK_MS):
            self.close()
        if self.count == 0:
            self.t0_ms = t_ms
        struct.pack_into(
            _RECORD,
            self._block,
            HEADER_BYTES + self.count * RECORD_BYTES,
            t_ms - self.t0_ms,
            stance_4ms,
            impact_g16,
            loading,
            flags,
        )
        self.count += 1

    def tick(self, now_ms: int) -> None:
        """Close the open block once its first step is `MAX_BLOCK_MS` old."""
        if self.count and now_ms - self.t0_ms >= MAX_BLOCK_MS:
            self.close()

    def close(self) -> bool:
        """Write the open block to flash (nothing if it is empty). False when the log is full
        with the stop policy: the block's steps are dropped and counted."""
        count = self.count
        if not count:
            return True
        self.count = 0
        offset = self.wall_offset_ms
        if offset is None:
            t = self.t0_ms
            flags = 0
        else:
            t = self.t0_ms + offset
            flags = TIME_WALL
        size = HEADER_BYTES + count * RECORD_BYTES
        if not self._room(size):
            self.full = True
            self.records_dropped += count
            return False
        seq = self.next_seq
        self._write(FORMAT_STEP, seq, t // 1000, (t % 1000) | flags, count, self.boot_id)
        s = self._head
        if self._first[s] < 0:
            self._first[s] = seq
        self._last[s] = seq
        self._records[s] += count
        self.next_seq = seq + 1
        self.blocks_written += 1
        return True

    def _write(self, fmt: int, seq: int, t_s: int, t_ms: int, count: int, boot: int) -> None:
        block = self._block
        rsize = RECORD_BYTES if fmt == FORMAT_STEP else 0
        struct.pack_into(_HEAD, block, 0, MAGIC, fmt, rsize, seq, boot, t_s, t_ms, count)
        size = HEADER_BYTES + count * rsize
        view = self._blockview
        crc = crc32(view[HEADER_BYTES:size], crc32(view[:20]))
        struct.pack_into("<I", block, 20, crc)
        s = self._head
        at = self._used[s]
        self._used[s] = at + size  # before the write: a failed write must not be written over
        self._dev.writeblocks(s, view[:size], at)  # type: ignore[attr-defined]

    def _room(self, size: int) -> bool:
        """Make the head sector able to take `size` more bytes, moving on when it cannot."""
        s = self._head
        if s >= 0 and not self._sealed[s] and self._used[s] + size <= self.sector_bytes:
            return True
        following = 0 if s < 0 else (s + 1) % self.sectors
        last = self._last[following]
        if last >= self.confirmed_seq:  # holds steps the host has not confirmed
            if self.policy != POLICY_OVERWRITE:
                return False
            self.records_overwritten += self._records[following]
        self._dev.ioctl(_IOCTL_ERASE, following)  # type: ignore[attr-defined]
        self._first[following] = -1
        self._last[following] = -1
        self._records[following] = 0
        self._used[following] = 0
        self._sealed[following] = False
        self._head = following
        self.full = False
        if self.log_id:  # every sector starts with a mark naming the log
            self._mark()
        return True

    # -- sync ---------------------------------------------------------------------------
    def confirm(self, next_seq: int) -> None:
        """The host stored every block below `next_seq`: their sectors may be reused. The
        confirmation is marked on flash when it fits the head sector."""
        if next_seq <= self.confirmed_seq:
            return
        self.confirmed_seq = min(next_seq, self.next_seq)
        s = self._head
        if s >= 0 and not self._sealed[s] and self._used[s] + HEADER_BYTES <= self.sector_bytes:
            self._mark()
        if self.full and self.policy == POLICY_STOP:
            self.full = False

    def oldest_seq(self) -> int:
        """The lowest seq of an unconfirmed step block held, or `next_seq` when there is none."""
        oldest = self.next_seq
        for s in range(self.sectors):
            first = self._first[s]
            if first >= 0 and self._last[s] >= self.confirmed_seq:
                oldest = min(oldest, max(first, self.confirmed_seq))
        return oldest

    def used_bytes(self) -> int:
        """Bytes of sectors holding unconfirmed steps."""
        used = 0
        for s in range(self.sectors):
            if self._last[s] >= self.confirmed_seq:
                used += self._used[s]
        return used

    def capacity_bytes(self) -> int:
        return self.sectors * self.sector_bytes

    def read(self, seq: int, out: bytearray) -> tuple:
        """The held step block with the lowest seq >= `seq`, copied (header and records, CRC
        checked) into `out`, which must hold a sector: (seq, count) or (-1, 0) when none."""
        best = -1
        for s in range(self.sectors):
            if self._last[s] >= seq and (best < 0 or self._first[s] < self._first[best]):
                best = s
        if best < 0:
            return -1, 0
        self._dev.readblocks(best, out, 0)  # type: ignore[attr-defined]
        offset = 0
        found = -1
        found_at = 0
        while offset < self._used[best]:
            length = self._valid_block(out, offset)
            if length == 0:
                break
            block_seq = struct.unpack_from("<I", out, offset + 4)[0]
            if (
                out[offset + 2] == FORMAT_STEP
                and block_seq >= seq
                and (found < 0 or block_seq < found)
            ):
                found = block_seq
                found_at = offset
            offset += length
        if found < 0:
            return -1, 0
        count = struct.unpack_from("<H", out, found_at + 18)[0]
        size = HEADER_BYTES + count * RECORD_BYTES
        out[0:size] = out[found_at : found_at + size]
        return found, count


def unpack_record(buf: object, offset: int) -> tuple:
    """(t_ms, stance_4ms, impact_g16, loading, flags) of the record at `offset`."""
    return struct.unpack_from(_RECORD, buf, offset)  # type: ignore[arg-type]


def unpack_header(buf: object) -> tuple:
    """(magic, format, record_size, seq, boot_id, t_s, t_ms_flags, count) of a block."""
    return struct.unpack_from(_HEAD, buf, 0)  # type: ignore[arg-type]
