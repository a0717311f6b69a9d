"""A pod whose flash was erased numbers its step-log blocks from 0 again: the host stores the new
blocks as a new log (by the log id of protocol 1.2, or, from a 1.1 pod, by its numbering going
backwards) instead of dropping them as duplicates, and keeps every block it held."""

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.link.emulated_ble import EmulatedBleTransport
from gaitchain.protocol import LogInfo, decode
from gaitchain.protocol.spec import MessageType
from gaitchain.sim.body import Body
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig
from gaitchain.steplog.store import StepStore
from gaitchain.steplog.sync import LogSync, SyncResult, run_sync

POD = 0x0A0B
T0_UNIX_S = 1_795_000_000.0


@pytest.fixture(scope="module")
def body() -> Body:
    walker = Walker().validate()
    return Body(
        build_schedule(walker, make_plan(20.0, walker.gait.speed_mps, walker.gait.stride_s))
    )


def _pod(body: Body) -> VirtualPod:
    config = VirtualPodConfig(
        POD, "foot", "left", boot_s=0.5, step_s=0.015, errors=ImuErrors(), log_sectors=16
    )
    return VirtualPod(body, config, np.random.default_rng(3))


def _log(pod: VirtualPod, blocks: int, impact_g16: int) -> None:
    """`blocks` blocks of 10 steps, every step with this impact (so each log is recognisable)."""
    log: Any = pod.pod.steplog
    for block in range(blocks):
        for i in range(10):
            log.add(block * 61_000 + i * 900, 150, impact_g16, i, 0)
        log.close()


class _Release11:
    """The pod as firmware of protocol 1.1 answers: LOG_INFO without its log id."""

    def __init__(self, inner: EmulatedBleTransport) -> None:
        self.inner = inner

    def send(self, message: bytes) -> None:
        self.inner.send(message)

    def receive(self, timeout_s: float) -> list[bytes]:
        return [
            bytes([0x11]) + data[1:-4] if data[1] == MessageType.LOG_INFO else data
            for data in self.inner.receive(timeout_s)
        ]

    def close(self) -> None:
        self.inner.close()


def _sync(pod: VirtualPod, store: StepStore, *, release_11: bool = False) -> SyncResult:
    transport: Any = EmulatedBleTransport(pod)
    if release_11:
        transport = _Release11(transport)
    result = run_sync(
        transport, LogSync(store, lambda: T0_UNIX_S + pod.now_s), clock=lambda: pod.now_s
    )
    transport.close()
    pod.advance_to(pod.now_s + 0.1)
    return result


def _impacts_by_block(store: StepStore) -> list[tuple[int, float, int]]:
    rows = store.db.execute(
        "SELECT seq, MIN(impact_g), COUNT(*) FROM steps WHERE pod_id = ? GROUP BY seq ORDER BY seq",
        (POD,),
    )
    return [(int(s), float(i), int(n)) for s, i, n in rows]


@pytest.mark.parametrize(
    ("before", "after", "release_11"),
    [
        (6, 3, False),  # the new log is shorter than what the host holds
        (3, 9, False),  # ... or already longer: only the log id tells
        (6, 3, True),  # a 1.1 pod (no log id): its numbering went backwards
    ],
)
def test_an_erased_pods_new_blocks_are_stored_as_a_new_log(
    body: Body, tmp_path: Path, before: int, after: int, release_11: bool
) -> None:
    pod = _pod(body)
    pod.advance_to(1.0)
    store = StepStore(tmp_path / "steps.sqlite")
    _log(pod, before, 16)
    first = _sync(pod, store, release_11=release_11)
    assert first.blocks_stored == before and not first.new_log
    old_id = pod.pod.steplog.log_id

    pod.wipe_flash()  # reflashed with the partition erased: the log starts again at block 0
    pod.advance_to(pod.now_s + 0.5)
    assert pod.pod.steplog.next_seq == 0 and pod.pod.steplog.log_id != old_id
    _log(pod, after, 32)
    second = _sync(pod, store, release_11=release_11)

    assert second.new_log and second.seq_base == before
    assert second.blocks_stored == after and second.blocks_duplicate == 0
    assert second.confirmed_seq == after and pod.pod.steplog.confirmed_seq == after
    expected = [(s, 1.0, 10) for s in range(before)] + [(before + s, 2.0, 10) for s in range(after)]
    assert _impacts_by_block(store) == expected  # the old log untouched, the new one after it

    third = _sync(pod, store, release_11=release_11)  # the same log again: nothing new
    assert not third.new_log and third.blocks_stored == 0 and third.seq_base == before
    _log(pod, 2, 48)
    fourth = _sync(pod, store, release_11=release_11)
    assert fourth.blocks_stored == 2 and _impacts_by_block(store)[-1] == (
        before + after + 1,
        3.0,
        10,
    )


def test_a_store_from_before_log_ids_adopts_the_pods_log(body: Body, tmp_path: Path) -> None:
    """A store written by a host before 1.2 has blocks but no log table: the pod's log id is
    taken on, nothing is stored twice."""
    pod = _pod(body)
    pod.advance_to(1.0)
    store = StepStore(tmp_path / "steps.sqlite")
    _log(pod, 4, 16)
    _sync(pod, store)
    store.db.execute("DELETE FROM pod_logs")
    store.db.commit()
    _log(pod, 2, 32)
    result = _sync(pod, store)
    assert not result.new_log and result.blocks_stored == 2 and result.first_seq == 4
    row = store.db.execute("SELECT log_id, seq_base FROM pod_logs").fetchone()
    assert tuple(row) == (pod.pod.steplog.log_id, 0)


def test_log_info_of_a_1_1_pod_reads_as_no_log_id() -> None:
    body = struct.pack("<IIIIIIIIIBBBB", 1, 2, 1, 0, 4096, 0, 0, 7, 0, 0, 0, 1, 6)
    info = decode(struct.pack("<BBHI", 0x11, MessageType.LOG_INFO, POD, 3) + body)
    assert isinstance(info, LogInfo) and info.log_id == 0 and info.next_seq == 2
