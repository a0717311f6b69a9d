"""The pod's USB serial link against the host's pyserial transport over a pseudo-terminal pair:
commands, step-log sync and wired streaming, with the real firmware framing on the pod side."""

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gaitchain.cli import main
from gaitchain.link.pty import PtyPodPort
from gaitchain.link.serial_port import SerialTransport
from gaitchain.protocol import (
    Command,
    CommandCode,
    PodInfo,
    Reply,
    SampleBatch,
    StreamConfig,
    decode,
    encode,
)
from gaitchain.sim.body import Body
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig
from gaitchain.steplog.store import StepStore
from gaitchain.steplog.sync import LogSync, run_sync


class RunningPod:
    def __init__(self, pod: VirtualPod) -> None:
        self.pod = pod
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.pod.advance_to(self.pod.now_s + 0.005)
        except BaseException as error:  # reported by the test
            self.error = error


@pytest.fixture
def serial_pod() -> Iterator[tuple[RunningPod, SerialTransport]]:
    port = PtyPodPort()
    walker = Walker().validate()
    body = Body(
        build_schedule(walker, make_plan(20.0, walker.gait.speed_mps, walker.gait.stride_s))
    )
    config = VirtualPodConfig(
        0x0C0D,
        "foot",
        "right",
        errors=ImuErrors.exact(),
        log_sectors=16,
        serial_port=port,
    )
    running = RunningPod(VirtualPod(body, config, np.random.default_rng(1)))
    transport = SerialTransport(port.device)
    yield running, transport
    running.stop.set()
    if running.thread.is_alive():
        running.thread.join(timeout=10)
    transport.close()
    port.close()
    assert running.error is None, running.error


def _until(transport: SerialTransport, wanted: type, limit: int = 400) -> list[object]:
    seen: list[object] = []
    for _ in range(limit):
        for data in transport.receive(0.05):
            seen.append(decode(data))
        if any(isinstance(m, wanted) for m in seen):
            return seen
    raise AssertionError(f"no {wanted.__name__} over serial; got {seen}")


def test_commands_and_wired_streaming_over_a_pty(
    serial_pod: tuple[RunningPod, SerialTransport],
) -> None:
    running, transport = serial_pod
    running.thread.start()
    transport.send(encode(Command(0xFFFF, 1, CommandCode.GET_INFO)))
    seen = _until(transport, PodInfo)
    info = next(m for m in seen if isinstance(m, PodInfo))
    assert info.pod_id == 0x0C0D and info.capabilities & (1 << 5)  # SERIAL
    transport.send(encode(Command(0xFFFF, 2, CommandCode.START)))
    seen = _until(transport, SampleBatch)
    assert any(isinstance(m, Reply) and m.seq == 2 and m.result == 0 for m in seen)
    assert any(isinstance(m, StreamConfig) for m in seen)
    batches = [m for m in _until(transport, SampleBatch) if isinstance(m, SampleBatch)]
    assert batches and all(b.count >= 1 for b in batches)
    assert transport.decoder.bad_frames == 0 and running.pod.ble.notified == []


def test_log_sync_over_a_pty(
    serial_pod: tuple[RunningPod, SerialTransport], tmp_path: Path
) -> None:
    running, transport = serial_pod
    log = running.pod.pod.steplog
    for block in range(40):
        for i in range(1 + block % 70):
            log.add(block * 61_000 + i * 500, 160, 48 + i % 10, 20, 0)
        log.close()
    running.thread.start()
    store = StepStore(tmp_path / "s.sqlite")
    result = run_sync(transport, LogSync(store, lambda: 1_795_000_000.0, client="bo"))
    assert result.blocks_stored == 40 and result.confirmed_seq == 40
    total = sum(1 + b % 70 for b in range(40))
    assert store.counts(0x0C0D) == (40, total, total)
    assert store.pods_of("bo") == [(0x0C0D, "foot", "right")]


def test_sync_command_over_a_pty(
    serial_pod: tuple[RunningPod, SerialTransport],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    running, transport = serial_pod
    name = transport.port.port
    transport.close()  # the command opens the port itself
    log = running.pod.pod.steplog
    for block in range(3):
        log.add(block * 61_000, 160, 48, 20, 0)
        log.close()
    running.thread.start()
    db = tmp_path / "s.sqlite"
    assert main(["sync", "--port", str(name), "--client", "cy", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "pod 0c0d: 3 blocks, 3 steps stored from block 0; confirmed below 3" in out
    assert main(["sync", "--port", str(name), "--db", str(db)]) == 0
    assert "0 blocks, 0 steps stored from block 3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:
        main(["sync", "--db", str(db)])
    assert stopped.value.code == 2 and "--port" in capsys.readouterr().err
