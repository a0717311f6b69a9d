"""The pod's behaviour: streaming, the backlog, clock pings, commands and status.

`Pod` ties the parts together without knowing the hardware: the IMU driver, the BLE link, the
battery gauge, the LED and the reset function are passed in, and so is `now_ms` (a monotonic
millisecond clock), so the same code runs on the ESP32-S3 and on virtual pods and tests.

Every batch goes into the backlog before it is notified; if the link is busy (ENOMEM) or down,
`service` notifies the batches not yet sent, in order, once it can, and a host can still ask for
any batch the backlog holds. Commands are accepted only on a bonded link; pings and resend
requests, which change nothing, are answered on any connection.
"""

from micropython import const

from . import protocol as p
from .backlog import Backlog, mark_resent
from .board import Battery
from .clock import ChipClock
from .imu.lsm6dsv16x import Lsm6dsv16x
from .link import BleLink
from .protocol import MessageEncoder, SampleEncoder
from .sampler import ORIENTATION_CHIP, ORIENTATION_NONE, Sampler

FW_MAJOR = const(0)
FW_MINOR = const(1)
FW_PATCH = const(0)

SEGMENTS = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDES = ("center", "left", "right")
RATES_HZ = (60, 120, 240, 480)

CAP_BATTERY = const(1 << 6)
CAP_QUAT = const(1 << 1)
CAP_CHIP_QUAT = const(1 << 2)

ST_STREAMING = const(1 << 0)
ST_LOGGING = const(1 << 1)
ST_CONFIG_DEFAULTED = const(1 << 2)
ST_LOW_BATTERY = const(1 << 3)
ST_BONDED = const(1 << 6)

R_OK = const(0)
R_BAD_ARGUMENT = const(1)
R_UNSUPPORTED = const(2)
R_NOT_BONDED = const(4)
R_FAILED = const(5)

E_MALFORMED = const(1)
E_UNKNOWN_TYPE = const(2)
E_VERSION = const(3)

BACKLOG_SECONDS = const(30)

CHIP_LSM6DSV16X = const(1)
_STATUS_PERIOD_MS = const(1000)
_LOW_BATTERY_PCT = const(15)


class Pod:
    def __init__(
        self,
        config: dict,
        imu: Lsm6dsv16x,
        link: BleLink,
        battery: Battery,
        led: object,
        reset: object,
        now_ms: object,
        boot_id: int,
        config_defaulted: bool = False,
        config_saver: object = None,
    ) -> None:
        self.config = config
        self.imu = imu
        self.link = link
        self.battery = battery
        self.led = led
        self._reset = reset
        self._now_ms = now_ms
        self._save = config_saver
        self.boot_id = boot_id
        self.config_defaulted = config_defaulted
        pod_id = config["pod_id"]
        self.pod_id = pod_id
        self.encoder = SampleEncoder(pod_id, 18)
        self.messages = MessageEncoder(pod_id)
        self.clock = ChipClock()
        self.backlog = Backlog()
        self.sampler = None  # type: Sampler | None
        self.streaming = False
        self.logging = False
        self.unsent_seq = 0
        self.status_seq = 0
        self.started_ms = now_ms()  # type: ignore[operator]
        self._last_status_ms = self.started_ms
        self._identify_until_ms = 0
        self._timestamp = bytearray(4)
        self._batch = 18
        self._layout = 0
        self.link.set_info(self._pod_info(0))

    # -- streaming -----------------------------------------------------------------------
    def start(self) -> None:
        """Configure the IMU at the configured rate and stream, batches sized to the MTU."""
        rate_hz = self.config["rate_hz"]
        orientation = bool(self.config.get("stream_orientation", False))
        self._layout = p.FLAG_QUAT if orientation else 0
        record = p.record_bytes(self._layout)
        mtu_batch = (min(self.link.mtu, 247) - 3 - p.SAMPLES_PREFIX_BYTES) // record
        self._batch = max(1, min(18, mtu_batch))
        words_per_sample = 3 if orientation else 2
        self.imu.configure(
            rate_hz,
            self.config["acc_range_g"],
            self.config["gyr_range_dps"],
            watermark_words=self._batch * words_per_sample + self._batch // 8 + 1,
            quaternion=orientation,
        )
        if not self.clock.started:  # device time starts no later than the first sample
            self.imu.read_timestamp(self._timestamp)
            ts = self._timestamp
            self.clock.advance(ts[0] | (ts[1] << 8), ts[2] | (ts[3] << 8))
        self.encoder = SampleEncoder(self.pod_id, self._batch, self._layout)
        self._size_backlog(rate_hz)
        self.backlog.set_message_bytes(p.SAMPLES_PREFIX_BYTES + record * self._batch)
        self.logging = False
        sampler = self.sampler
        seq = sampler.seq if sampler is not None else 0
        self.sampler = Sampler(
            self.imu,
            self.encoder,
            self.clock,
            self.imu.ticks_per_sample,
            orientation=ORIENTATION_CHIP if orientation else ORIENTATION_NONE,
        )
        self.sampler.seq = seq
        self.streaming = True
        self.link.send(self._stream_config(0))

    def _size_backlog(self, rate_hz: int) -> None:
        """Hold the last BACKLOG_SECONDS of batches where RAM allows (240 and 480 Hz need a
        board with PSRAM); otherwise keep the default ring, which fits internal RAM."""
        wanted = (BACKLOG_SECONDS * rate_hz + self._batch - 1) // self._batch + 4
        if wanted <= self.backlog.capacity_packets:
            return
        held = self.backlog
        self.backlog = Backlog(1, 1)  # release the old ring before allocating the larger one
        del held
        try:
            self.backlog = Backlog(wanted)
        except MemoryError:
            self.backlog = Backlog()

    def seconds_held(self) -> float:
        """How many seconds of batches the backlog holds at the current rate."""
        return self.backlog.capacity_packets * self._batch / self.config["rate_hz"]

    def stop(self) -> None:
        if self.sampler is not None and self.streaming:
            self.sampler.poll(self._on_batch)
            self.sampler.flush(self._on_batch)
        self.imu.stop()
        self.streaming = False

    def _on_batch(self, message: memoryview, seq: int) -> None:
        self.backlog.store(seq, message)
        if self.unsent_seq == seq and self.link.send(message):
            self.unsent_seq = seq + 1

    def _catch_up(self) -> None:
        """Notify, in order, batches stored while the link was busy or down."""
        sampler = self.sampler
        if sampler is None:
            return
        while self.unsent_seq < sampler.seq:
            view = self.backlog.find(self.unsent_seq)
            if view is None:
                self.unsent_seq += 1  # gone from the backlog; the host will ask and be told
                continue
            if not self.link.send(view):
                return
            self.unsent_seq += 1

    # -- the main-loop body ----------------------------------------------------------------
    def service(self) -> None:
        """One pass of the main loop: IMU, host messages, catch-up, status, identify LED."""
        link = self.link
        if not link.connected and not link.advertising:
            self.advertise()
        link.request_mtu()
        if self.sampler is not None and self.streaming and self.sampler.pending:
            self.sampler.poll(self._on_batch)
        while True:
            data = link.take_write()
            if data is None:
                break
            self.handle(data)
        if link.connected:
            self._catch_up()
        now = self._now_ms()  # type: ignore[operator]
        if now - self._last_status_ms >= _STATUS_PERIOD_MS:
            self._last_status_ms = now
            status = self._status(self.status_seq)
            self.status_seq += 1
            link.set_status(status)
            if link.connected:
                link.send(self._status(self.status_seq))
        if self._identify_until_ms:
            on = now < self._identify_until_ms and (now // 250) % 2 == 0
            self.led.value(1 if on else 0)  # type: ignore[attr-defined]
            if now >= self._identify_until_ms:
                self._identify_until_ms = 0

    def handle(self, data: bytes) -> None:
        """Answer one host-to-pod message (docs/protocol.md)."""
        try:
            kind, _pod_id, seq, a, b, c = p.decode_request(data)
        except p.ProtocolError as error:
            text = str(error)
            code = (
                E_VERSION
                if text.startswith("version")
                else (E_UNKNOWN_TYPE if text.startswith("unknown_type") else E_MALFORMED)
            )
            self.link.send(self.messages.error(0, code, text))
            return
        if kind == p.T_PING:
            self.imu.read_timestamp(self._timestamp)
            ts = self._timestamp
            self.clock.advance(ts[0] | (ts[1] << 8), ts[2] | (ts[3] << 8))
            self.link.send(self.messages.echo(seq, self.clock.t_hi, self.clock.t_lo))
        elif kind == p.T_RESEND_REQUEST:
            self.backlog.answer(a, b, self._resend, self._unavailable(seq))
        else:
            self.link.send(self.messages.reply(seq, a, self._command(a, b, c, seq)))

    def _resend(self, view: memoryview) -> None:
        mark_resent(view)
        self.link.send(view)

    def _unavailable(self, request_seq: int) -> object:
        def send(first: int, last: int) -> None:
            self.link.send(self.messages.resend_unavailable(request_seq, first, last))

        return send

    def _command(self, code: int, a: int, b: int, seq: int) -> int:
        if not self.link.bonded:
            return R_NOT_BONDED
        if code == p.CMD_START:
            self.start()
        elif code == p.CMD_STOP:
            self.stop()
        elif code == p.CMD_SET_RATE:
            if a not in RATES_HZ:
                return R_BAD_ARGUMENT
            return self._update(rate_hz=a)
        elif code == p.CMD_SET_ASSIGNMENT:
            if not 0 <= a < len(SEGMENTS) or not 0 <= b < len(SIDES):
                return R_BAD_ARGUMENT
            return self._update(segment=SEGMENTS[a], side=SIDES[b])
        elif code == p.CMD_IDENTIFY:
            self._identify_until_ms = self._now_ms() + 1000 * max(1, a)  # type: ignore[operator]
        elif code == p.CMD_REBOOT:
            self.stop()
            self._reset()  # type: ignore[operator]
        elif code == p.CMD_GET_STATUS:
            self.link.send(self._status(seq))
        elif code == p.CMD_GET_INFO:
            self.link.send(self._pod_info(seq))
        elif code == p.CMD_GET_STREAM_CONFIG:
            self.link.send(self._stream_config(seq))
        elif code == p.CMD_ENTER_LOGGING:
            # Streaming stops and the pod reports logging; what it logs comes with step logging.
            if self.streaming:
                self.stop()
            self.logging = True
        else:
            return R_UNSUPPORTED
        return R_OK

    def advertise(self) -> None:
        pct, _mv = self.battery.read()
        self.link.advertise(
            SEGMENTS.index(self.config["segment"]),
            SIDES.index(self.config["side"]),
            pct if pct <= 100 else 255,
        )

    def _update(self, **changes: object) -> int:
        self.config.update(changes)
        if self._save is not None:
            try:
                self._save(self.config)  # type: ignore[operator]
            except (OSError, ValueError):
                return R_FAILED
        self.link.set_info(self._pod_info(0))
        if not self.link.connected:
            self.advertise()
        if "rate_hz" in changes and self.streaming:
            self.stop()
            self.start()
        return R_OK

    # -- messages ------------------------------------------------------------------------
    def _pod_info(self, seq: int) -> memoryview:
        return self.messages.pod_info(
            seq,
            CAP_BATTERY | CAP_QUAT | CAP_CHIP_QUAT,
            self.boot_id,
            FW_MAJOR,
            FW_MINOR,
            FW_PATCH,
            SEGMENTS.index(self.config["segment"]),
            SIDES.index(self.config["side"]),
            CHIP_LSM6DSV16X,
        )

    def _stream_config(self, seq: int) -> memoryview:
        imu = self.imu
        return self.messages.stream_config(
            seq,
            self.config["rate_hz"],
            imu.acc_scale_mps2_per_lsb,
            imu.gyr_scale_radps_per_lsb,
            0.0,
            self._layout,
            self._batch,
        )

    def _status(self, seq: int) -> memoryview:
        pct, mv = self.battery.read()
        flags = 0
        if self.streaming:
            flags |= ST_STREAMING
        if self.logging:
            flags |= ST_LOGGING
        if self.config_defaulted:
            flags |= ST_CONFIG_DEFAULTED
        if pct != 255 and pct < _LOW_BATTERY_PCT:
            flags |= ST_LOW_BATTERY
        if self.link.bonded:
            flags |= ST_BONDED
        sampler = self.sampler
        overruns = sampler.overruns if sampler is not None else 0
        lost = sampler.samples_lost if sampler is not None else 0
        uptime_s = (self._now_ms() - self.started_ms) // 1000  # type: ignore[operator]
        return self.messages.status(
            seq,
            pct,
            mv,
            flags,
            overruns,
            lost,
            self.backlog.depth,
            max(0, self.backlog.oldest_seq),
            uptime_s,
        )
