"""The live pipeline: link -> stream (journal when recording) -> fusion -> angles -> chain
analysis on a rolling window (strides, chain metrics, verdict; `live.chain`) and the assessment
battery (`live.assessment`) -> hub. One `step()` does one pass at the injected clock's time;
`LiveRunner` calls it on a background thread at `interval_s` (a test calls `step()` itself, as
fast as it likes).

The pipeline owns the one stream assembler (gaps, resends, clock model per pod): the link only
carries packets (it connects, asks each pod's info and starts it on every connect, see
`live/link.py`). Everything the stream layer asks for (pings, resend requests) is written back
through the link. `record(True)` opens a journal in `record_dir` (every packet from then on, before
anything else reads it; `gaitchain.stream.journal_to_recording` converts it), `record(False)`
closes it. The journal keeps the pods' raw counts; pods with a calibration record in
`calibrations` (by pod id) are corrected by it before fusion, and their row says so.
"""

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration_records import ImuCalibrationRecord
from ..stream import ClockModel, JournalWriter, PodStream, SampleChunk, StreamAssembler
from .angles import SegmentAngles, TraceHistory
from .assessment import LiveBattery, Replay
from .chain import TABLE_COLUMNS, LiveChain
from .hub import LiveHub
from .link import LinkChange, Packet, PodLink, Sent
from .metrics import (
    Asymmetry,
    FatigueTrend,
    StrideMetricsProvider,
    TimingMetrics,
    TraceMetrics,
    combine,
)
from .pod_fusion import FUSED_SEGMENTS, PodFusion
from .strides import LiveStrides
from .verdict import VerdictSource, verdict_panel


@dataclass
class _Pod:
    pod_id: int
    connected: bool = False
    segment: str = "unassigned"
    side: str = "center"
    fusion: PodFusion | None = None
    strides: LiveStrides | None = None
    rate_window: deque[tuple[float, int]] = field(default_factory=deque[tuple[float, int]])
    samples: int = 0
    newest_sample_s: float = math.nan


class LivePipeline:
    """See the module docstring. `chain` is the live chain analysis (True: a default
    `LiveChain`); with `chain=False` strides come from `LiveStrides` and are measured by
    `metrics` (default: timing plus trace metrics). `verdicts` is the chain-driver verdict source
    (default: the chain analysis's classifier). `battery_replay` is the demo's stand-in for the
    battery's tests (`live.assessment`). `calibrations` holds the pods' calibration records by
    pod id."""

    def __init__(
        self,
        link: PodLink,
        hub: LiveHub,
        *,
        now_s: Callable[[], float] = time.monotonic,
        metrics: StrideMetricsProvider | None = None,
        verdicts: VerdictSource | None = None,
        chain: LiveChain | bool = True,
        battery: LiveBattery | None = None,
        battery_replay: Replay | None = None,
        record_dir: Path | str = "recordings",
        snapshot_every_s: float = 0.5,
        calibrations: Mapping[int, ImuCalibrationRecord] | None = None,
    ) -> None:
        self.link = link
        self.calibrations = dict(calibrations or {})
        self.hub = hub
        self.now_s = now_s
        self.history = TraceHistory()
        self.metrics = metrics or combine(TimingMetrics(), TraceMetrics(self.history))
        self.chain = LiveChain() if chain is True else chain or None
        self.verdicts = verdicts if verdicts is not None else self.chain
        self.record_dir = Path(record_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.battery = battery or LiveBattery(
            save_to=self.record_dir / f"battery-{stamp}.json", replay=battery_replay
        )
        self.snapshot_every_s = snapshot_every_s
        self._step_s = math.nan
        # The stream layer reads the time of the step being run, so everything one step sends and
        # receives is stamped alike (a ping's send time is never after its echo's arrival).
        self.assembler = StreamAssembler(now_s=lambda: self._step_s, stream_factory=_live_stream)
        self.angles = SegmentAngles()
        self.asymmetry = Asymmetry()
        self.fatigue = FatigueTrend()
        self.pods: dict[int, _Pod] = {}
        self.journal: JournalWriter | None = None
        self.journal_path: Path | None = None
        self.record_error: str | None = None
        self.started_s = math.nan
        self.strides_total = 0
        self._next_snapshot_s = -math.inf
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    # -- control (any thread) ------------------------------------------------------------------
    def request(self, command: str, value: Any = None) -> None:
        """Queue a command for the pipeline thread: ("record", True/False), or ("battery",
        {"action": ...}) for the assessment battery (`LiveBattery.command`)."""
        self._commands.put((command, value))

    # -- the pipeline thread ---------------------------------------------------------------------
    def start(self) -> None:
        self.started_s = self._step_s = self.now_s()
        self.link.start(self.started_s)

    def step(self) -> None:
        now = self._step_s = self.now_s()
        while not self._commands.empty():
            command, value = self._commands.get()
            if command == "record":
                self._record(bool(value), now)
            elif command == "battery":
                self.battery.command(value, now)
        for event in self.link.poll(now):
            if isinstance(event, Packet):
                self.assembler.receive(event.data, event.host_receive_s, link_pod_id=event.pod_id)
            elif isinstance(event, Sent):
                self.assembler.sent(event.pod_id, event.data, event.host_send_s)
            else:
                self._link_change(event)
        self._step_s = self.now_s()  # pings are stamped as late as they can be
        for pod_id, data in self.assembler.poll():
            self.link.send(pod_id, data)
        self._step_s = now
        for chunk in self.assembler.take_samples():
            self._chunk(chunk, now)
        if self.chain is not None:
            self._chain_rows(self.chain.step(now))
        self.battery.poll(now)
        if now >= self._next_snapshot_s:
            self._next_snapshot_s = now + self.snapshot_every_s
            self._snapshots(now)

    def close(self) -> None:
        if self.journal is not None:
            self._record(False, self.now_s())
        if self.chain is not None:
            self.chain.close()
        self.battery.close()
        self.link.close()

    # -- internals ------------------------------------------------------------------------------
    def _pod(self, pod_id: int) -> _Pod:
        if pod_id not in self.pods:
            self.pods[pod_id] = _Pod(pod_id)
        return self.pods[pod_id]

    def _link_change(self, event: LinkChange) -> None:
        pod = self._pod(event.pod_id)
        pod.connected = event.up
        if event.up:
            self.assembler.link_up(event.pod_id, event.host_s)
        else:
            self.assembler.link_down(event.pod_id, event.host_s)

    def _chunk(self, chunk: SampleChunk, now: float) -> None:
        pod = self._pod(chunk.pod_id)
        pod.samples += chunk.count
        pod.newest_sample_s = float(chunk.t_host_s[-1])
        pod.rate_window.append((float(chunk.t_host_s[-1]), pod.samples))
        while pod.rate_window and pod.rate_window[0][0] < pod.newest_sample_s - 5.0:
            pod.rate_window.popleft()
        if pod.fusion is None:
            info = self.assembler.stream(chunk.pod_id).epoch.info
            if info is None:
                return
            pod.segment, pod.side = info.segment.name.lower(), info.side.name.lower()
            if pod.segment not in FUSED_SEGMENTS:
                return
            pod.fusion = PodFusion(pod.segment, calibration=self.calibrations.get(chunk.pod_id))
            if pod.segment == "foot" and self.chain is None:
                pod.strides = LiveStrides(pod.side)
        fused = pod.fusion.add(chunk)
        if fused is None:
            return
        name = pod.segment if pod.side == "center" else f"{pod.side}_{pod.segment}"
        rows = pod.fusion.sensor_to_segment
        self.battery.add(name, fused.t_s, fused.acc_mps2, fused.gyr_radps, fused.quat_wxyz, rows)
        if fused.segment_to_earth is None:
            return
        for trace in self.angles.update(pod.segment, pod.side, fused.t_s, fused.segment_to_earth):
            self.history.add(trace)
            self.hub.publish_trace(trace.channel, trace.t_s, trace.value_deg)
        if self.chain is not None and rows is not None:
            self.chain.add(
                name,
                pod.segment,
                pod.side,
                rows,
                pod.fusion.alignment_quality,
                (fused.t_s, fused.acc_mps2, fused.gyr_radps, fused.quat_wxyz),
            )
        if pod.strides is not None and pod.fusion.rate_hz is not None:
            strides = pod.strides.add(
                fused.t_s, fused.acc_mps2, fused.gyr_radps, pod.fusion.rate_hz
            )
            if strides:
                rows = self.metrics(strides)
                published: list[dict[str, Any]] = []
                for stride, row in zip(strides, rows, strict=True):
                    self.asymmetry.add(stride.side, row)
                    self.fatigue.add(stride.side, stride.start_s - self.started_s, row)
                    published.append(
                        {"side": stride.side, "index": stride.index, "t_s": stride.end_s}
                        | {k: _finite(v) for k, v in row.items()}
                    )
                self.strides_total += len(strides)
                self.hub.publish_strides(published)

    def _chain_rows(self, rows: list[dict[str, float | str | bool]]) -> None:
        """Publish the chain analysis's new strides; straight ones feed asymmetry and fatigue."""
        if not rows:
            return
        published: list[dict[str, Any]] = []
        for row in rows:
            side, start = str(row["side"]), float(row["initial_contact_s"])
            values = {k: float(v) for k, v in row.items() if k in TABLE_COLUMNS}
            if row["straight"] is True:
                self.asymmetry.add(side, values)
                self.fatigue.add(side, start - self.started_s, values)
            published.append(
                {
                    "side": side,
                    "index": int(row["index"]),
                    "t_s": start + float(row["stride_time_s"]),
                    "straight": bool(row["straight"]),
                }
                # every column, None where this window could not measure it (the pelvis aligns
                # a few seconds after the shanks and feet, for instance)
                | {k: _finite(values[k]) if k in values else None for k in TABLE_COLUMNS}
            )
        self.strides_total += len(rows)
        self.hub.publish_strides(published)

    def _record(self, on: bool, now: float) -> None:
        if on and self.journal is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            try:
                self.record_dir.mkdir(parents=True, exist_ok=True)
                path = self.record_dir / f"live-{stamp}.journal"
                self.journal = JournalWriter(path, now_s=self.now_s)
            except OSError as error:
                self.record_error = f"cannot record: {error}"
                return
            self.journal_path, self.record_error = path, None
            self.assembler.journal = self.journal
            for pod in self.pods.values():
                self.journal.link(pod.pod_id, now, pod.connected)
        elif not on and self.journal is not None:
            self.assembler.journal = None
            self.journal.close()
            self.journal = None

    def pod_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for pod_id, pod in sorted(self.pods.items()):
            stream = self.assembler.stream(pod_id)
            c, clock, status = stream.counters, stream.clock, stream.status
            rate = math.nan
            if len(pod.rate_window) >= 2:
                (t0, n0), (t1, n1) = pod.rate_window[0], pod.rate_window[-1]
                rate = (n1 - n0) / (t1 - t0) if t1 > t0 else math.nan
            record = self.calibrations.get(pod_id)
            rows.append(
                {
                    "pod": f"{pod_id:04x}",
                    "segment": pod.segment,
                    "side": pod.side,
                    "connected": pod.connected,
                    "battery_pct": status.battery_pct if status is not None else None,
                    "rate_hz": _finite(rate),
                    "samples": pod.samples,
                    "gaps": c.gaps,
                    "resend_requests": c.resend_requests,
                    "recovered_batches": c.recovered_batches,
                    "lost_samples": c.lost_samples,
                    "drift_ppm": _finite(clock.drift_ppm_),
                    "clock_uncertainty_us": _finite(clock.uncertainty_us_),
                    "alignment": pod.fusion.alignment_note if pod.fusion else "waiting for info",
                    "calibration": record.created_utc[:10] if record is not None else "none",
                }
            )
        return rows

    def _snapshots(self, now: float) -> None:
        self.hub.publish_snapshot(
            "pods",
            {
                "rows": self.pod_rows(),
                "session_s": now - self.started_s,
                "recording": self.journal is not None,
                "journal": str(self.journal_path) if self.journal_path else None,
                "record_error": self.record_error,
            },
        )
        left, right = self.asymmetry.medians("left"), self.asymmetry.medians("right")
        shown = self.asymmetry.shown()
        self.hub.publish_snapshot(
            "summary",
            {
                "strides": self.strides_total,
                "asymmetry": {
                    k: e | {"value": _finite(float(e["value"]))} for k, e in shown.items()
                },
                "left": {k: _finite(v) for k, v in left.items()},
                "right": {k: _finite(v) for k, v in right.items()},
                "fatigue": self.fatigue.series(),
                "verdict": verdict_panel(self.verdicts),
            },
        )
        self.hub.publish_snapshot("battery", self.battery.snapshot(now))


LIVE_CLOCK_READY_US = 5000.0
"""The live view releases a pod's samples once its clock model is good to 5 ms (a sample is
8.3 ms at 120 Hz), not the 0.5 ms a recording waits for: on a busy host the quick ping exchanges
that tighten the model can take tens of seconds, and the view would stand still meanwhile. The
model keeps improving after; recordings (`gaitchain record`, the journal) are not affected."""


LIVE_KEEP_EXCHANGES = 256
"""The live view keeps the newest 256 ping/echo exchanges per pod (the clock model holds its own
window; recordings convert from the journal), not one per second for the whole session."""


def _live_stream(pod_id: int, now_s: Callable[[], float]) -> PodStream:
    return PodStream(
        pod_id,
        now_s=now_s,
        clock_wait_s=10.0,
        clock_factory=lambda: ClockModel(ready_uncertainty_us=LIVE_CLOCK_READY_US),
        keep_exchanges=LIVE_KEEP_EXCHANGES,
    )


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return float(value) if np.isfinite(value) else None


class LiveRunner:
    """Runs `pipeline.step()` every `interval_s` on a daemon thread until `stop()`."""

    def __init__(
        self,
        pipeline: LivePipeline,
        *,
        interval_s: float = 0.01,
    ) -> None:
        self.pipeline = pipeline
        self.interval_s = interval_s
        self.error: BaseException | None = None
        self.step_timing: deque[tuple[float, float]] = deque(maxlen=10000)
        """(how late each step started, how long it took), seconds, newest last."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gaitchain-live", daemon=True)

    def start(self) -> None:
        self.pipeline.start()
        self._thread.start()

    def _run(self) -> None:
        try:
            due = time.monotonic()
            while not self._stop.is_set():
                began = time.monotonic()
                self.pipeline.step()
                ended = time.monotonic()
                self.step_timing.append((began - due, ended - began))
                due = max(due + self.interval_s, ended)
                self._stop.wait(max(0.0, due - ended))
        except BaseException as error:  # reported by the server and on stop
            self.error = error
            raise

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self.pipeline.close()
