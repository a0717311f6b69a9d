"""The resend backlog (CPython and MicroPython); allocation and RAM measured under MicroPython."""

from fwtest import IS_MICROPYTHON, raises
from pod import protocol as p
from pod.backlog import DEFAULT_CAPACITY_PACKETS, Backlog, mark_resent


def _batch(encoder: p.SampleEncoder, seq: int, count: int = 18) -> memoryview:
    for i in range(count):
        encoder.put(i, seq, i, 2048, -seq, -i, 0)
    return encoder.finish(seq, 0, 1000 + seq, 2_083_333, count)


def _filled(capacity: int, seqs: "list[int] | range") -> Backlog:
    backlog = Backlog(capacity, 238)
    encoder = p.SampleEncoder(3, 18)
    for seq in seqs:
        backlog.store(seq, _batch(encoder, seq))
    return backlog


def _seq_of(view: memoryview) -> int:
    return view[4] | (view[5] << 8) | (view[6] << 16) | (view[7] << 24)


class _Calls:
    """Records what `Backlog.answer` sent, as ("samples", seq) and ("unavailable", first, last)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def samples(self, view: memoryview) -> None:
        self.calls.append(("samples", _seq_of(view)))

    def unavailable(self, first: int, last: int) -> None:
        self.calls.append(("unavailable", first, last))


def _answer(backlog: Backlog, first: int, last: int) -> list:
    calls = _Calls()
    sent = backlog.answer(first, last, calls.samples, calls.unavailable)
    assert sent == len([c for c in calls.calls if c[0] == "samples"])
    return calls.calls


def test_find_returns_the_stored_message_byte_for_byte():
    backlog = Backlog(8, 238)
    encoder = p.SampleEncoder(3, 18)
    message = _batch(encoder, 5)
    expected = bytes(message)
    backlog.store(5, message)
    _batch(encoder, 6)  # the encoder reuses its buffer: the backlog must hold a copy
    found = backlog.find(5)
    assert found is not None
    assert bytes(found) == expected
    assert backlog.find(4) is None
    assert backlog.find(6) is None
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (1, 5, 5)


def test_empty_backlog_holds_nothing():
    backlog = Backlog(4, 64)
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (0, -1, -1)
    assert backlog.find(0) is None
    assert _answer(backlog, 0, 9) == [("unavailable", 0, 9)]


def test_ring_keeps_the_last_capacity_batches():
    backlog = _filled(8, range(20))
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (8, 12, 19)
    for seq in range(20):
        found = backlog.find(seq)
        if seq < 12:
            assert found is None, seq
        else:
            assert found is not None and _seq_of(found) == seq, seq


def test_messages_of_different_lengths_come_back_at_their_length():
    backlog = Backlog(4, 244)
    encoder = p.SampleEncoder(3, 18)
    for seq, count in ((0, 18), (1, 1), (2, 7), (3, 18), (4, 2)):
        backlog.store(seq, _batch(encoder, seq, count))
    for seq, count in ((1, 1), (2, 7), (3, 18), (4, 2)):
        found = backlog.find(seq)
        assert found is not None
        assert len(found) == p.SAMPLES_PREFIX_BYTES + 12 * count
        assert found[20] == count and _seq_of(found) == seq


def test_store_rejects_a_seq_that_does_not_increase_and_an_oversized_message():
    backlog = _filled(4, [3])
    raises(ValueError, backlog.store, 3, bytes(30))
    raises(ValueError, backlog.store, 2, bytes(30))
    raises(ValueError, backlog.store, 4, bytes(239))
    raises(ValueError, Backlog, 0, 100)
    raises(ValueError, Backlog, 4, 513)
    assert (backlog.depth, backlog.newest_seq) == (1, 3)


def test_skipped_numbers_are_held_as_missing():
    backlog = _filled(8, [1, 2, 5])
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (3, 1, 5)
    assert backlog.find(3) is None
    assert _answer(backlog, 1, 5) == [
        ("samples", 1),
        ("samples", 2),
        ("unavailable", 3, 4),
        ("samples", 5),
    ]


def test_a_jump_past_the_whole_ring_drops_every_older_batch():
    backlog = _filled(4, [0, 1, 2, 3, 100])
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (1, 100, 100)
    for seq in (0, 1, 2, 3):  # gone, although only one of their slots was written again
        assert backlog.find(seq) is None
    assert _answer(backlog, 96, 100) == [("unavailable", 96, 99), ("samples", 100)]


def test_answer_resends_held_batches_and_one_unavailable_per_run():
    backlog = _filled(8, range(20))  # holds 12..19
    assert _answer(backlog, 14, 16) == [("samples", 14), ("samples", 15), ("samples", 16)]
    assert _answer(backlog, 3, 13) == [("unavailable", 3, 11), ("samples", 12), ("samples", 13)]
    assert _answer(backlog, 18, 25) == [("samples", 18), ("samples", 19), ("unavailable", 20, 25)]
    assert _answer(backlog, 0, 5) == [("unavailable", 0, 5)]
    assert _answer(backlog, 30, 40) == [("unavailable", 30, 40)]
    assert _answer(backlog, 19, 19) == [("samples", 19)]
    assert _answer(backlog, 15, 14) == []  # decode_request refuses it; nothing to answer


def test_answer_to_the_widest_request_touches_only_the_ring():
    backlog = _filled(8, range(20))
    calls = _answer(backlog, 0, 0xFFFFFFFF)
    assert calls[0] == ("unavailable", 0, 11)
    assert calls[1:9] == [("samples", seq) for seq in range(12, 20)]
    assert calls[9:] == [("unavailable", 20, 0xFFFFFFFF)]


def test_mark_resent_sets_only_the_resent_flag():
    encoder = p.SampleEncoder(3, 18, p.FLAG_QUAT)
    message = encoder.finish(9, 0, 0, 1000, 1, p.FLAG_OVERRUN)
    before = bytes(message)
    assert mark_resent(message) is message
    assert message[21] == p.FLAG_QUAT | p.FLAG_OVERRUN | p.FLAG_RESENT
    assert bytes(message[:21]) == before[:21] and bytes(message[22:]) == before[22:]
    mark_resent(message)
    assert message[21] == p.FLAG_QUAT | p.FLAG_OVERRUN | p.FLAG_RESENT


def test_clear_forgets_everything():
    backlog = _filled(4, range(6))
    backlog.clear()
    assert (backlog.depth, backlog.oldest_seq, backlog.newest_seq) == (0, -1, -1)
    assert backlog.find(5) is None
    backlog.store(0, bytes(30))
    assert backlog.depth == 1


def _count_samples(view: memoryview) -> None:
    _COUNTS[0] += 1


def _count_unavailable(first: int, last: int) -> None:
    _COUNTS[1] += 1


_COUNTS = [0, 0]


def test_store_find_and_answer_allocate_nothing():
    """The streaming and resend paths must not touch the heap; only measurable under MicroPython."""
    if not IS_MICROPYTHON:
        return
    import gc

    import micropython

    backlog = Backlog(16, 244)
    backlog.set_message_bytes(238)
    encoder = p.SampleEncoder(3, 18)
    message = _batch(encoder, 0)
    found = 0
    _COUNTS[0] = _COUNTS[1] = 0
    gc.collect()
    micropython.heap_lock()
    try:
        for seq in range(40):
            backlog.store(seq, message)
            if backlog.find(seq) is not None:
                found += 1
            if backlog.find(seq - 10) is not None:
                found += 1
        backlog.answer(20, 45, _count_samples, _count_unavailable)
        depth = backlog.depth
        oldest = backlog.oldest_seq
    finally:
        micropython.heap_unlock()
    assert found == 70
    assert (depth, oldest) == (16, 24)
    assert _COUNTS == [16, 2]


def test_default_backlog_ram_fits_the_budget():
    """RAM of the default backlog, measured under MicroPython (printed for the report)."""
    if not IS_MICROPYTHON:
        return
    import gc

    gc.collect()
    before = gc.mem_alloc()
    backlog = Backlog()
    gc.collect()
    used = gc.mem_alloc() - before
    seconds_480 = backlog.capacity_packets * 18 / 480
    print(
        "backlog: %d slots x %d bytes = %d bytes of RAM, %.1f s at 480 Hz"
        % (backlog.capacity_packets, backlog.packet_bytes, used, seconds_480)
    )
    assert backlog.capacity_packets == DEFAULT_CAPACITY_PACKETS
    assert used < 60 * 1024
