"""The pod's encoder and request decoder against the golden vectors (CPython and MicroPython)."""

from fwtest import IS_MICROPYTHON, golden, raises, tohex, unhex
from pod import protocol as p

_COMMANDS_WITH_ARGS = ("command_set_rate", "command_set_assignment", "command_identify")


def _encode_pod_to_host(vector: dict) -> memoryview:
    f = vector["fields"]
    kind = vector["type"]
    if kind == "SampleBatch":
        flags = f["flags"]
        acc = f["acc_counts"]
        encoder = p.SampleEncoder(f["pod_id"], 18, flags)
        for i in range(len(acc)):
            a = acc[i]
            g = f["gyr_counts"][i]
            encoder.put(i, a[0], a[1], a[2], g[0], g[1], g[2])
            if flags & p.FLAG_MAG:
                m = f["mag_counts"][i]
                encoder.put_mag(i, m[0], m[1], m[2])
            if flags & p.FLAG_QUAT:
                q = f["quat_q14"][i]
                encoder.put_quat(i, q[0], q[1], q[2], q[3])
        t_hi, t_lo = p.split_us(f["t_first_us"])
        return encoder.finish(f["seq"], t_hi, t_lo, f["period_ns"], len(acc), flags)
    e = p.MessageEncoder(f["pod_id"])
    seq = f["seq"]
    if kind == "PodInfo":
        return e.pod_info(
            seq,
            f["capabilities"],
            f["boot_id"],
            f["fw_major"],
            f["fw_minor"],
            f["fw_patch"],
            f["segment"],
            f["side"],
            f["imu_chip"],
        )
    if kind == "StreamConfig":
        return e.stream_config(
            seq,
            f["rate_hz"],
            f["acc_scale_mps2_per_lsb"],
            f["gyr_scale_radps_per_lsb"],
            f["mag_scale_ut_per_lsb"],
            f["content"],
            f["samples_per_batch"],
        )
    if kind == "Status":
        return e.status(
            seq,
            f["battery_pct"],
            f["battery_mv"],
            f["flags"],
            f["fifo_overruns"],
            f["samples_lost"],
            f["backlog_packets"],
            f["backlog_oldest_seq"],
            f["uptime_s"],
        )
    if kind == "Echo":
        t_hi, t_lo = p.split_us(f["t_device_us"])
        return e.echo(seq, t_hi, t_lo)
    if kind == "ResendUnavailable":
        return e.resend_unavailable(seq, f["first_seq"], f["last_seq"])
    if kind == "Reply":
        return e.reply(seq, f["code"], f["result"])
    if kind == "LogBlock":
        return e.log_block(
            seq,
            f["block_index"],
            f["record_size"],
            f["record_format"],
            unhex(f["records"]),
            f["boot_id"],
            f["t_start_s"],
            f["t_start_ms_flags"],
            f["first_record"],
            f["block_records"],
        )
    if kind == "LogInfo":
        return e.log_info(
            seq,
            f["oldest_seq"],
            f["next_seq"],
            f["confirmed_seq"],
            f["used_bytes"],
            f["capacity_bytes"],
            f["records_dropped"],
            f["records_overwritten"],
            f["boot_id"],
            f["clock_ms"],
            f["policy"],
            f["flags"],
            f["record_format"],
            f["record_size"],
            f["log_id"],
        )
    if kind == "ErrorReport":
        return e.error(seq, f["code"], f["text"])
    raise AssertionError("no pod encoder for " + kind)


def test_pod_encodes_every_pod_to_host_vector():
    checked = 0
    for vector in golden()["valid"]:
        if vector["direction"] != "pod_to_host" or vector.get("decode_only"):
            continue
        assert tohex(_encode_pod_to_host(vector)) == vector["hex"], vector["name"]
        checked += 1
    assert checked >= 10


def test_pod_decodes_every_host_to_pod_vector():
    checked = 0
    for vector in golden()["valid"]:
        if vector["direction"] != "host_to_pod":
            continue
        f = vector["fields"]
        kind, pod_id, seq, a, b, c = p.decode_request(unhex(vector["hex"]))
        assert (pod_id, seq) == (f["pod_id"], f["seq"]), vector["name"]
        if vector["type"] == "Ping":
            assert (kind, a, b, c) == (p.T_PING, 0, 0, 0)
        elif vector["type"] == "ResendRequest":
            assert (kind, a, b) == (p.T_RESEND_REQUEST, f["first_seq"], f["last_seq"])
        else:
            args = f["args"] + [0, 0]
            assert (kind, a, b, c) == (p.T_COMMAND, f["code"], args[0], args[1]), vector["name"]
        checked += 1
    assert checked >= 6


def test_pod_rejects_bad_requests_with_the_named_kind():
    checked = 0
    for vector in golden()["invalid"]:
        if not vector["checked_by_pod"]:
            continue
        error = raises(p.ProtocolError, p.decode_request, unhex(vector["hex"]))
        assert str(error).startswith(vector["kind"] + ":"), vector["name"]
        checked += 1
    assert checked >= 6


def test_unknown_command_decodes_so_the_pod_can_answer_unsupported():
    request = unhex("100901000500000063")
    assert p.decode_request(request) == (p.T_COMMAND, 1, 5, 0x63, 0, 0)


def test_encoder_reuses_one_buffer_for_every_batch():
    encoder = p.SampleEncoder(1, 18)
    encoder.put(0, 1, 2, 3, 4, 5, 6)
    first = encoder.finish(1, 0, 0, 1000, 1)
    encoder.put(0, 9, 9, 9, 9, 9, 9)
    second = encoder.finish(2, 0, 0, 1000, 1)
    assert first is second
    assert len(second) == p.SAMPLES_PREFIX_BYTES + 12


def test_split_us_covers_64_bit_clocks():
    for t_us in (0, 1, (1 << 24) - 1, 1 << 24, (1 << 32) + 5, (1 << 63) + 12345):
        t_hi, t_lo = p.split_us(t_us)
        assert (t_hi << 24) + t_lo == t_us
        assert 0 <= t_lo < (1 << 24)


def test_sample_encoding_allocates_nothing():
    """The per-batch path must not touch the heap; only measurable under MicroPython."""
    if not IS_MICROPYTHON:
        return
    import gc

    import micropython

    encoder = p.SampleEncoder(7, 18)
    t_hi, t_lo = p.split_us((1 << 40) + 99)
    gc.collect()
    micropython.heap_lock()
    try:
        for seq in range(50):
            for i in range(18):
                encoder.put(i, i, -i, 2048, 3, -3, seq)
            encoder.finish(0x3FFFFFFF - seq, t_hi, t_lo, 8_333_333, 18)
    finally:
        micropython.heap_unlock()
