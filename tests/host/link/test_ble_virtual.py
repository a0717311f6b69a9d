"""The BLE transport end to end: bleak's public API, a Bumble backend, a virtual BLE link and
virtual pods running the firmware (on simulated time, so runs are deterministic and quick)."""

import asyncio
import logging
from pathlib import Path

import numpy as np
import pytest
from bleak import BleakClient
from gaitchain.io.recording import Recording
from gaitchain.link.ble import PodLinkError, PodTarget, Recorder, scan_pods
from gaitchain.link.virtual import AirFaults, VirtualPods
from gaitchain.protocol import (
    Command,
    CommandCode,
    CommandResult,
    Reply,
    Segment,
    Side,
    decode,
    encode,
)
from gaitchain.protocol.spec import CONTROL_CHAR_UUID, DATA_CHAR_UUID
from gaitchain.sim.simtime import run_simulated
from gaitchain.stream import SampleChunk, journal_to_recording

logging.getLogger("bumble").setLevel(logging.ERROR)


def _targets(pods: VirtualPods) -> list[PodTarget]:
    return [PodTarget(pods.address(s.pod_id), s.pod_id, f"pod-{s.pod_id:04x}") for s in pods.specs]


def test_scan_lists_pods_with_their_placement_and_battery() -> None:
    async def main() -> list[object]:
        async with VirtualPods.walking(3, minutes=0.5, seed=4) as pods:
            await asyncio.sleep(1.5)  # every pod has booted and advertises
            return list(await scan_pods(pods.backend, timeout_s=1.0))

    found = run_simulated(main())
    by_id = {p.pod_id: p for p in found}  # type: ignore[attr-defined]
    assert sorted(by_id) == [0x0101, 0x0102, 0x0103]
    assert by_id[0x0101].placement == "pelvis"  # type: ignore[attr-defined]
    assert (by_id[0x0102].segment, by_id[0x0102].side) == (Segment.SHANK, Side.LEFT)  # type: ignore[attr-defined]
    assert by_id[0x0103].address == "C0:DE:00:00:01:03"  # type: ignore[attr-defined]
    assert all(0 < p.battery_pct <= 100 for p in by_id.values())  # type: ignore[attr-defined]
    assert all(p.name.startswith("gc-01") for p in by_id.values())  # type: ignore[attr-defined]


def test_real_att_mtu_notifications_bonding_and_bonds_surviving_a_reboot(tmp_path: Path) -> None:
    async def main() -> dict[str, object]:
        out: dict[str, object] = {}
        async with VirtualPods.walking(1, minutes=0.5, bonds_dir=tmp_path) as pods:
            await asyncio.sleep(1.5)
            backend = pods.backend
            replies: list[Reply] = []
            sizes: list[int] = []

            def on_data(_c: object, data: bytearray) -> None:
                message = decode(bytes(data))
                sizes.append(len(data))
                if isinstance(message, Reply):
                    replies.append(message)

            async def command(client: BleakClient, seq: int, code: CommandCode) -> None:
                data = encode(Command(0x0101, seq, code))
                await client.write_gatt_char(CONTROL_CHAR_UUID, data, response=True)
                await asyncio.sleep(0.2)

            address = pods.address(0x0101)
            async with BleakClient(address, backend=backend.client) as client:
                out["mtu"] = client.mtu_size
                await command(client, 1, CommandCode.GET_INFO)
                assert not replies, "nothing arrives before the CCCD is written"
                await client.start_notify(DATA_CHAR_UUID, on_data)
                await command(client, 2, CommandCode.GET_INFO)
                out["unbonded"] = replies[-1].result
                await client.pair()
                await command(client, 3, CommandCode.START)
                out["after_pairing"] = replies[-1].result
                await asyncio.sleep(2.0)
                out["largest"] = max(sizes)
            out["bond_files"] = sorted(p.name for p in tmp_path.iterdir())
            pods.reboot(0x0101)
            await asyncio.sleep(1.5)
            async with BleakClient(address, backend=backend.client) as client:
                await client.start_notify(DATA_CHAR_UUID, on_data)
                await client.pair()  # encrypts with the stored keys on both sides
                await command(client, 4, CommandCode.GET_INFO)
                out["after_reboot"] = replies[-1].result
            out["boots"] = pods.pod(0x0101).boots
        return out

    out = run_simulated(main(), timeout_s=60.0)
    assert out["mtu"] == 247, "the pod's preferred MTU, negotiated over ATT"
    assert out["unbonded"] is CommandResult.NOT_BONDED
    assert out["after_pairing"] is CommandResult.OK
    assert out["largest"] == 8 + 14 + 18 * 12, "18-sample batches fill a 247-byte MTU"
    assert out["bond_files"] == ["bonds-0101.bin"]
    assert out["boots"] == 2
    assert out["after_reboot"] is CommandResult.OK, "the bond survived the reboot (on flash)"


def test_unpaired_pod_is_refused_without_pairing(tmp_path: Path) -> None:
    async def main() -> tuple[Recorder, PodLinkError | None]:
        async with VirtualPods.walking(1, minutes=0.5) as pods:
            recorder = Recorder(
                _targets(pods), tmp_path / "j.gcj", backend=pods.backend, pair=False
            )
            task = asyncio.get_running_loop().create_task(recorder.run())
            await asyncio.sleep(5.0)
            recorder.stop()
            await task
            return recorder, recorder.sessions[0x0101].fatal

    recorder, fatal = run_simulated(main(), timeout_s=60.0)
    assert fatal is not None and "pair it" in str(fatal)
    assert recorder.samples.get(0x0101, 0) == 0


def _record(
    tmp_path: Path, rate_hz: int, seconds: float, released: list[SampleChunk]
) -> tuple[Recorder, VirtualPods, dict[int, int], Recording]:
    async def main() -> tuple[Recorder, VirtualPods, dict[int, int]]:
        faults = AirFaults(notification_drop=0.05, delay_max_s=0.03)
        pods = VirtualPods.walking(
            5, minutes=seconds / 60 + 0.5, rate_hz=rate_hz, seed=3, faults=faults
        )
        async with pods:
            recorder = Recorder(
                _targets(pods), tmp_path / "j.gcj", backend=pods.backend, on_samples=released.extend
            )
            task = asyncio.get_running_loop().create_task(recorder.run())
            await asyncio.sleep(seconds * 0.3)
            pods.drop_link(0x0102, 3.0)
            await asyncio.sleep(seconds * 0.2)
            pods.reboot(0x0104)
            await asyncio.sleep(seconds * 0.2)
            pods.drop_link(0x0105, 3.0)
            await asyncio.sleep(seconds * 0.3)
            recorder.stop()
            await task
            produced = {
                pid: pods.pod(pid).produced_samples() - pods.pod(pid).never_sent
                for pid in pods.pods
            }
            return recorder, pods, produced

    recorder, pods, produced = run_simulated(main(), timeout_s=seconds + 60.0)
    return recorder, pods, produced, journal_to_recording(tmp_path / "j.gcj")


@pytest.mark.parametrize("rate_hz", [120, 240])
def test_five_pods_lose_nothing_through_drops_disconnects_and_a_reboot(
    tmp_path: Path, rate_hz: int
) -> None:
    """The bar's run, shortened for CI (60 simulated seconds; `benchmarks/link_bench.py` runs
    10 minutes): the firmware on five virtual pods, bleak and Bumble, the host's `Recorder`.

    Batches a pod made but had not sent when it rebooted die with its RAM and cannot be seen by
    the host; they are left out of what is expected (`never_sent`), everything else must be
    recorded exactly once or reported lost because of the reboot. The recording made from the
    journal holds the very samples released live, in order, on the true time base."""
    released: list[SampleChunk] = []
    recorder, pods, produced, recording = _record(
        tmp_path, rate_hz, 60.0 if rate_hz == 120 else 30.0, released
    )
    assert pods.air.notifications_dropped > 0.03 * pods.air.notifications
    files = {int(p.extra["pod_id"]): p for p in recording.pods}
    assert sorted(files) == sorted(produced)
    origin = float(recording.extra["host_time_origin_s"])
    for pod_id, pod in files.items():
        live = [c for c in released if c.pod_id == pod_id]
        assert pod.t_s.shape[0] == sum(c.count for c in live)
        scale = live[0].config.acc_scale_mps2_per_lsb  # type: ignore[union-attr]
        counts = np.rint(pod.acc_mps2 / np.float32(scale)).astype(np.int64)
        np.testing.assert_array_equal(counts, np.concatenate([c.acc_counts for c in live]))
        truth = np.concatenate(
            [pods.pod(pod_id).true_time_s(c.t_device_us, boot=c.epoch + 1) for c in live]
        )
        error_ms = (pod.t_s + origin - pods.t0_s - truth) * 1e3
        # within 1 ms even in the first seconds of a boot (30 s boots here; the hour is in
        # `link_bench.py --clock`)
        assert np.max(np.abs(error_ms)) < 1.0, f"pod {pod_id:04x}: times off by {error_ms}"
        stream = recorder.assembler.stream(pod_id)  # type: ignore[union-attr]
        for epoch in stream.epochs:  # each echo read the chip's counter between ping and echo
            if epoch.exchanges:
                sent, device, received = np.array(epoch.exchanges).T
                read = pods.t0_s + pods.pod(pod_id).true_time_s(device, boot=epoch.index + 1)
                assert np.all(read >= sent - 30e-6) and np.all(read <= received)
        lost = [r for r in stream.lost_runs if r.reason != "reboot"]
        assert lost == [], f"pod {pod_id:04x} lost {lost}"
        reboot_lost = sum(r.samples for r in stream.lost_runs)
        unseen = produced[pod_id] - reboot_lost - len(pod.t_s)
        if pod_id == 0x0104:  # sent after its last STATUS, lost, and then the pod rebooted
            assert 0 <= unseen <= 1.2 * rate_hz, f"pod {pod_id:04x}: {unseen} samples unseen"
        else:
            assert unseen == 0, f"pod {pod_id:04x}: {unseen} samples unseen"
        assert pod.extra["samples_lost"] == reboot_lost
        steps = np.diff(pod.t_s)
        assert np.all(steps > 0), "no duplicates, in order"
        big = int(np.sum(steps > 1.5 / rate_hz))
        if pod_id == 0x0104:  # the reboot, and a batch lost on the air whose resend it prevented
            at_reboot = sum(1 for r in stream.lost_runs if r.reason == "reboot")
            assert 1 <= big <= 1 + at_reboot, f"pod {pod_id:04x}: {big} gaps in time"
        else:
            assert big == 0, f"pod {pod_id:04x}: {big} gaps in time"
    assert recorder.assembler.stream(0x0104).counters.reboots == 1  # type: ignore[union-attr]
    assert files[0x0104].extra["boots"] == 2
    dropped = recorder.sessions[0x0102].state
    assert dropped.disconnects == 1 and dropped.connects == 2


def test_capped_batches_at_the_real_mtu_and_an_old_pod_that_cannot_cap() -> None:
    """At the 247-byte MTU a real central settles on, `max_batch_ms` 25 gets 3-sample batches
    (25 ms at 120 Hz) instead of 18; a pod whose firmware predates protocol 1.3 answers
    `SET_MAX_BATCH` UNSUPPORTED, as an unknown command, and still streams its MTU-sized batches,
    with a note in its status line."""
    released: list[SampleChunk] = []

    async def main() -> tuple[Recorder, list[str]]:
        async with VirtualPods.walking(2, minutes=0.5, seed=5) as pods:
            await asyncio.sleep(1.1)  # both pods booted
            old = pods.pod(0x0102).pod
            firmware_command = old._command

            def before_1_3(code: int, a: int, b: int, seq: int) -> int:
                return 2 if code == CommandCode.SET_MAX_BATCH else firmware_command(code, a, b, seq)

            old._command = before_1_3
            recorder = Recorder(
                _targets(pods),
                Path(pods.bonds_dir) / "j.gcj",
                backend=pods.backend,
                session_options={"max_batch_ms": 25},
                on_samples=released.extend,
            )
            task = asyncio.get_running_loop().create_task(recorder.run())
            await asyncio.sleep(8.0)
            lines = [line.text() for line in recorder.lines()]
            recorder.stop()
            await task
            return recorder, lines

    recorder, lines = run_simulated(main(), timeout_s=120.0)
    for session in recorder.sessions.values():
        assert session.state.mtu == 247
    capped = [c.t_device_us.size for c in released if c.pod_id == 0x0101]
    old = [c.t_device_us.size for c in released if c.pod_id == 0x0102]
    assert sum(capped) > 120 * 4 and sum(old) > 120 * 4, "both pods streamed"
    assert set(capped[:-1]) == {3}, "25 ms batches at 120 Hz"
    assert set(old[:-1]) == {18}, "MTU-sized batches from the old pod"
    assert released[-1].config is not None
    assert recorder.sessions[0x0101].state.batch_note == ""
    assert "MTU-sized" in recorder.sessions[0x0102].state.batch_note
    assert "MTU-sized" in lines[1] and "MTU-sized" not in lines[0]


def test_record_lifts_a_cap_a_live_session_left_on_the_pod() -> None:
    """A live session caps batches at 25 ms and the cap outlives it (the pod keeps it until it
    reboots); `Recorder`, as `gaitchain record` runs it, sends `SET_MAX_BATCH` 0 on connect, so
    the recording gets the pod's own MTU-sized batches again. The recorder connects right after
    the live session stopped the pod: the status it reads must already say "not streaming"."""
    live: list[SampleChunk] = []
    recorded: list[SampleChunk] = []

    async def main() -> int:
        async with VirtualPods.walking(1, minutes=0.5, seed=5) as pods:
            directory = Path(pods.bonds_dir)
            session = Recorder(
                _targets(pods),
                directory / "live.gcj",
                backend=pods.backend,
                session_options={"max_batch_ms": 25},
                on_samples=live.extend,
            )
            task = asyncio.get_running_loop().create_task(session.run())
            await asyncio.sleep(4.0)
            session.stop()
            await task
            left = pods.pod(0x0101).pod.max_batch_ms
            recorder = Recorder(
                _targets(pods),
                directory / "record.gcj",
                backend=pods.backend,
                on_samples=recorded.extend,
            )
            task = asyncio.get_running_loop().create_task(recorder.run())
            await asyncio.sleep(4.0)
            recorder.stop()
            await task
            assert pods.pod(0x0101).pod.max_batch_ms == 0
            return left

    left = run_simulated(main(), timeout_s=120.0)
    assert left == 25, "the live session's cap stayed on the pod"
    assert set(c.count for c in live[:-1]) == {3}
    sizes = [c.count for c in recorded]
    first = sizes.index(18)  # before it: the live session's batches, asked back from the backlog
    assert set(sizes[:first]) <= {1, 2, 3} and sizes[first - 1] < 3, "the last was cut by STOP"
    assert len(sizes) - first > 10 and set(sizes[first:-1]) == {18}
    assert recorded[-1].config is not None and recorded[-1].config.samples_per_batch == 18
