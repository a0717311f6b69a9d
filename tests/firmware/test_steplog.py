"""The step log on emulated NOR flash: blocks, reboots, full policies and power cuts anywhere."""

import nor_flash  # pyright: ignore[reportMissingImports]
from fwtest import IS_MICROPYTHON
from pod import steplog
from pod.steplog import POLICY_OVERWRITE, POLICY_STOP, StepLog

SECTOR = 4096


def _record(i: int) -> tuple:
    return (i * 7 % 250, 16 + i % 100, i % 200, i & 3)


def _read_all(log: StepLog) -> dict:
    """seq -> bytes of the block's records, for every held step block."""
    out = bytearray(SECTOR)
    blocks = {}
    seq = 0
    while True:
        found, count = log.read(seq, out)
        if found < 0:
            return blocks
        blocks[found] = bytes(out[steplog.HEADER_BYTES : steplog.HEADER_BYTES + 6 * count])
        seq = found + 1


def _records_bytes(log: StepLog) -> bytes:
    return bytes(log._block[steplog.HEADER_BYTES : steplog.HEADER_BYTES + 6 * log.count])


def test_blocks_survive_a_reboot_and_seq_continues() -> None:
    flash = nor_flash.Partition(block_count=4)
    log = StepLog(flash, boot_id=7)
    written = {}
    t = 0
    for block in range(5):
        for i in range(10 + block):
            log.add(t, *_record(i))
            t += 900
        records = _records_bytes(log)
        assert log.close()
        written[block] = records
    rebooted = StepLog(flash, boot_id=8)
    assert rebooted.next_seq == 5
    assert _read_all(rebooted) == written
    rebooted.add(t, *_record(1))
    assert rebooted.close()
    assert max(_read_all(StepLog(flash, boot_id=9))) == 5


def test_block_closes_after_60_s_or_70_records() -> None:
    log = StepLog(nor_flash.Partition(block_count=2), boot_id=1)
    for i in range(71):
        log.add(i * 10, *_record(i))
    assert log.blocks_written == 1 and log.count == 1  # 70 records, then a new block
    log.add(59999, *_record(0))
    assert log.count == 2
    log.add(700 + 60000, *_record(0))  # 60 s after the open block's first step
    assert log.blocks_written == 2 and log.count == 1
    log.tick(700 + 60000 + 59999)
    assert log.blocks_written == 2
    log.tick(700 + 120000)
    assert log.blocks_written == 3 and log.count == 0


def test_header_dates_the_block_and_records_are_offsets() -> None:
    flash = nor_flash.Partition(block_count=2)
    log = StepLog(flash, boot_id=0x1234)
    log.add(5000, 150, 48, 20, 0)
    log.wall_offset_ms = 1_700_000_000_000 - 5000  # the host set the time
    log.add(5600, 160, 50, 21, 2)
    assert log.close()
    out = bytearray(SECTOR)
    assert log.read(0, out) == (0, 2)
    magic, fmt, size, seq, boot, t_s, t_ms, count = steplog.unpack_header(out)
    assert (magic, fmt, size, seq, boot, count) == (0x4753, 1, 6, 0, 0x1234, 2)
    assert (t_s, t_ms) == (1_700_000_000, steplog.TIME_WALL)
    assert steplog.unpack_record(out, 24) == (0, 150, 48, 20, 0)
    assert steplog.unpack_record(out, 30) == (600, 160, 50, 21, 2)


def test_stop_policy_refuses_when_full_until_the_host_confirms() -> None:
    log = StepLog(nor_flash.Partition(block_count=2), boot_id=1, policy=POLICY_STOP)
    t = 0
    while not log.full:
        for i in range(70):
            log.add(t, *_record(i))
            t += 10
        log.close()
    held = log.next_seq
    assert held == 18  # 9 blocks of 444 bytes per 4096-byte sector
    assert log.records_dropped == 70 and log.oldest_seq() == 0
    log.confirm(9)  # the first sector's blocks are stored on the host
    assert not log.full and log.oldest_seq() == 9
    for i in range(70):
        log.add(t, *_record(i))
    assert log.close()
    assert sorted(_read_all(log)) == list(range(9, 19))
    assert log.records_overwritten == 0


def test_overwrite_policy_drops_the_oldest_sector() -> None:
    log = StepLog(nor_flash.Partition(block_count=2), boot_id=1, policy=POLICY_OVERWRITE)
    t = 0
    for _block in range(19):
        for i in range(70):
            log.add(t, *_record(i))
            t += 10
        assert log.close()
    assert log.records_overwritten == 9 * 70
    assert sorted(_read_all(log)) == list(range(9, 19))


def test_confirmation_is_kept_across_a_reboot() -> None:
    flash = nor_flash.Partition(block_count=3)
    log = StepLog(flash, boot_id=1)
    for block in range(4):
        log.add(block * 1000, *_record(block))
        log.close()
    log.confirm(3)
    rebooted = StepLog(flash, boot_id=2)
    assert rebooted.confirmed_seq == 3 and rebooted.oldest_seq() == 3
    assert rebooted.next_seq == 4


def test_a_log_is_named_by_the_boot_that_began_it_and_an_erased_one_starts_anew() -> None:
    flash = nor_flash.Partition(block_count=3)
    log = StepLog(flash, boot_id=0x2345)
    assert log.log_id == 0x2345 and log.next_seq == 0
    t = 0
    for _block in range(40):  # about 4 sectors: the ring wraps, sector 0 is reused
        for i in range(60):
            log.add(t, *_record(i))
            t += 10
        log.close()
        log.confirm(log.next_seq)
    rebooted = StepLog(flash, boot_id=0x0777)
    assert rebooted.log_id == 0x2345 and rebooted.next_seq == 40
    for sector in range(3):  # erased (reflashed): the numbering restarts under a new id
        flash.ioctl(6, sector)
    erased = StepLog(flash, boot_id=0x0888)
    assert erased.log_id == 0x0888 and erased.next_seq == 0 and erased.confirmed_seq == 0
    assert StepLog(flash, boot_id=0x0999).log_id == 0x0888  # marked at once, before any step


def test_a_log_written_before_log_ids_keeps_its_numbering_and_gets_an_id() -> None:
    flash = nor_flash.Partition(block_count=3)
    new_log_id = StepLog._new_log_id
    StepLog._new_log_id = lambda self: None  # the firmware before log ids: no id, no mark
    try:
        legacy = StepLog(flash, boot_id=5)
        legacy.add(0, *_record(1))
        legacy.close()
        legacy.add(1000, *_record(2))
        legacy.close()
    finally:
        StepLog._new_log_id = new_log_id
    assert legacy.log_id == 0
    upgraded = StepLog(flash, boot_id=6)
    assert upgraded.log_id == 6 and upgraded.next_seq == 2 and len(_read_all(upgraded)) == 2
    assert StepLog(flash, boot_id=7).log_id == 6


def _workload(flash: object, policy: int, acked: dict, state: dict) -> None:
    """Boot, then log and confirm; `acked` gets every block close() reported written and
    `state['writing']` the block being written (seq, records)."""
    log = StepLog(flash, boot_id=state["boots"], policy=policy)
    state["boots"] += 1
    state.setdefault("log_id", log.log_id)
    t = state["t"]
    for block in range(state["blocks"]):
        for i in range(1 + (block * 37) % 70):
            log.add(t, *_record(i + block))
            t += 13
        state["t"] = t
        state["writing"] = (log.next_seq, _records_bytes(log))
        if log.close():
            acked[state["writing"][0]] = state["writing"][1]
        state["writing"] = None
        if block % 7 == 6:
            log.confirm(log.next_seq - 3)
            state["confirmed"] = max(state["confirmed"], log.next_seq - 3)


def _check_after_cut(flash: object, policy: int, acked: dict, state: dict) -> StepLog:
    log = StepLog(flash, boot_id=999, policy=policy)
    held = _read_all(log)
    # The log keeps the id of the first boot that began it (a boot cut before its mark was
    # written began nothing).
    assert log.log_id == state.setdefault("log_id", log.log_id), "the log's id changed"
    writing = state["writing"]
    for seq in held:  # nothing corrupted: every block held is what was written under its seq
        if seq in acked:
            assert held[seq] == acked[seq], "block %d changed" % seq
        else:
            assert writing is not None and seq == writing[0] and held[seq] == writing[1]
    lowest = min(held) if held else log.next_seq
    for seq in acked:  # nothing lost: every unconfirmed block written is still held
        if seq >= state["confirmed"] and (policy == POLICY_STOP or seq >= lowest):
            assert seq in held, "block %d lost" % seq
    return log


def _cut_run(policy: int, sectors: int, cut: int) -> None:
    flash = nor_flash.Partition(block_count=sectors, seed=cut + 1)
    acked = {}
    state = {"t": 0, "boots": 0, "writing": None, "confirmed": 0, "blocks": 60}
    flash.cut_power_after(cut)
    try:
        _workload(flash, policy, acked, state)
    except nor_flash.PowerCut:
        pass
    flash.power_on()
    log = _check_after_cut(flash, policy, acked, state)
    state["confirmed"] = min(state["confirmed"], log.confirmed_seq)
    state["writing"] = None
    state["blocks"] = 8  # the pod keeps logging after the reboot, and the log stays whole
    _workload(flash, policy, acked, state)
    _check_after_cut(flash, policy, acked, state)


def test_power_cut_at_random_points_loses_nothing_but_the_block_in_flight() -> None:
    for policy in (POLICY_STOP, POLICY_OVERWRITE):
        probe = nor_flash.Partition(block_count=3)
        _workload(
            probe, policy, {}, {"t": 0, "boots": 0, "writing": None, "confirmed": 0, "blocks": 60}
        )
        total = probe.units_done
        assert probe.erases > 3  # the workload wraps the ring
        cuts = 60 if IS_MICROPYTHON else 1000
        seed = 12345
        for _ in range(cuts):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            _cut_run(policy, 3, seed % total)
