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
from .steplog import HEADER_BYTES, POLICY_OVERWRITE, RECORD_BYTES, StepLog, unpack_header
from .steps import StepDetector

FW_MAJOR = const(0)
FW_MINOR = const(1)
FW_PATCH = const(0)

SEGMENTS = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDES = ("center", "left", "right")
RATES_HZ = (60, 120, 240, 480)

CAP_BATTERY = const(1 << 6)
CAP_QUAT = const(1 << 1)
CAP_CHIP_QUAT = const(1 << 2)
CAP_STEP_LOG = const(1 << 3)
CAP_SERIAL = const(1 << 5)

ST_STREAMING = const(1 << 0)
ST_LOGGING = const(1 << 1)
ST_CONFIG_DEFAULTED = const(1 << 2)
ST_LOW_BATTERY = const(1 << 3)
ST_LOG_FULL = const(1 << 5)
ST_BONDED = const(1 << 6)
ST_LOG_ASLEEP = const(1 << 7)
LOG_LOGGING = const(1)
LOG_FULL = const(2)
LOG_WALL_TIME = const(4)

R_OK = const(0)
R_BAD_ARGUMENT = const(1)
R_UNSUPPORTED = const(2)
R_NOT_BONDED = const(4)
R_FAILED = const(5)

E_MALFORMED = const(1)
E_UNKNOWN_TYPE = const(2)
E_VERSION = const(3)

BACKLOG_SECONDS = const(30)
# Logging mode: the accelerometer alone, low-power mode, read every LOG_FIFO_PERIOD_MS.
LOG_RATE_HZ = const(240)
LOG_ACC_RANGE_G = const(16)
LOG_FIFO_PERIOD_MS = const(500)
LOG_AFTER_DISCONNECT_MS = const(10000)
# While logging, the IMU's activity/inactivity function: after LOG_STILL_S without motion above
# LOG_WAKE_MG it drops to 15 Hz on its own and the pod stops reading the FIFO (bypass) and light
# sleeps until INT1 (the sleep change) or LOG_ASLEEP_CHECK_MS; motion brings 240 Hz back.
LOG_WAKE_MG = const(63)
LOG_STILL_S = const(10)
LOG_ASLEEP_CHECK_MS = const(60000)
_LOG_FIFO_WORDS = const(200)
_LOG_MESSAGES_PER_PASS = const(8)
_MAX_ANSWERS = const(8)
_TAG_ACC = const(0x02)

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
        steplog: "StepLog | None" = None,
        serial: object = None,
        sleep: object = None,
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
        # the record layout; SET_MAX_BATCH's longest batch in ms (0: as long as the MTU allows)
        self._layout = self.max_batch_ms = 0
        self.links = [link] if serial is None else [link, serial]
        self.out = link  # where replies go: the link the request came on
        self.stream_link = link  # where batches go: the link that sent START
        self.steplog = steplog
        if steplog is not None:
            steplog.policy = POLICY_OVERWRITE if config.get("log_full_policy") == "overwrite" else 0
        self.detector = None  # type: StepDetector | None
        # While logging: is the IMU inactive; did INT1 rise (set by its handler); time logging
        # with the IMU active / inactive since boot, counted up to `_state_ms`.
        self.log_asleep = self.imu_event = False
        self.log_awake_ms = self.log_asleep_ms = self._state_ms = 0
        self._sleep = sleep
        self._fifo = bytearray(7 * _LOG_FIFO_WORDS)
        self._log_start_ms = self._last_fifo_ms = 0
        self._anchor_ms = 0  # millisecond clock of sample `_anchor_index` (the newest read)
        self._anchor_index = 0
        self._disconnected_since_ms = self.started_ms
        self._xfer_req = -1  # seq of the LOG_READ being answered, -1 when none
        self._xfer_link = link
        self._xfer_seq = 0
        self._xfer_left = 0
        self._xfer_count = self._xfer_part = 0
        self._xfer_buf = bytearray(0)
        self._answers = []  # type: list  # (link, bytes) answers the link could not take yet
        self.link.set_info(self._pod_info(0))

    # -- streaming -----------------------------------------------------------------------
    def start(self) -> None:
        """Configure the IMU at the configured rate and stream, batches sized to the MTU and
        no longer than `max_batch_ms`."""
        rate_hz = self.config["rate_hz"]
        orientation = bool(self.config.get("stream_orientation", False))
        self._layout = p.FLAG_QUAT if orientation else 0
        record = p.record_bytes(self._layout)
        self.stream_link = self.out
        self._batch = self._batch_length(self.stream_link, record, rate_hz)
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
        self._stop_logging()
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
        self.stream_link.send(self._stream_config(0))

    def _batch_length(self, link, record: int, rate_hz: int) -> int:
        """Samples per batch: what one notification at `link`'s MTU holds (at most 18),
        capped to `max_batch_ms` at `rate_hz`; at least 1."""
        batch = min(18, (min(link.mtu, 247) - 3 - p.SAMPLES_PREFIX_BYTES) // record)
        if self.max_batch_ms:
            batch = min(batch, self.max_batch_ms * rate_hz // 1000)
        return max(1, batch)

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
        if self.unsent_seq == seq and self.stream_link.send(message):
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
            if not self.stream_link.send(view):
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
        now = self._now_ms()  # type: ignore[operator]
        if self.logging:
            self._log_service(now)
        elif self._should_log(now):
            self.start_logging()
        self._flush_answers()
        for source in self.links:
            self.out = source
            while True:
                data = source.take_write()
                if data is None:
                    break
                self.handle(data)
        self.out = link
        self._flush_answers()
        if self.stream_link.connected:
            self._catch_up()
        if self._xfer_req >= 0 and not self._answers:
            self._pump_log()
        if now - self._last_status_ms >= _STATUS_PERIOD_MS:
            self._last_status_ms = now
            status = self._status(self.status_seq)
            self.status_seq += 1
            link.set_status(status)
            for target in self.links:
                if target.connected:
                    target.send(self._status(self.status_seq))
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
            self._answer(self.messages.error(0, code, text))
            return
        if kind == p.T_PING:
            self.imu.read_timestamp(self._timestamp)
            ts = self._timestamp
            self.clock.advance(ts[0] | (ts[1] << 8), ts[2] | (ts[3] << 8))
            self.out.send(self.messages.echo(seq, self.clock.t_hi, self.clock.t_lo))
        elif kind == p.T_RESEND_REQUEST:
            self.backlog.answer(a, b, self._resend, self._unavailable(seq))
        else:
            self._answer(self.messages.reply(seq, a, self._command(a, b, c, seq)))
            # the status characteristic says at once whether the pod streams: a host that
            # connects right after another stopped it reads it to decide on START
            self.link.set_status(self._status(self.status_seq))
            self.status_seq += 1

    def _answer(self, message: memoryview) -> None:
        """Send an answer on the link the request came on; if the link is busy (ENOMEM), keep a
        copy and send it, in order, before anything else of that link's answers."""
        link = self.out
        if not self._answers and link.send(message):
            return
        if len(self._answers) < _MAX_ANSWERS:
            self._answers.append((link, bytes(message)))

    def _flush_answers(self) -> None:
        while self._answers:
            link, message = self._answers[0]
            if link.connected and not link.send(message):
                return
            self._answers.pop(0)

    def _resend(self, view: memoryview) -> None:
        mark_resent(view)
        self.out.send(view)

    def _unavailable(self, request_seq: int) -> object:
        def send(first: int, last: int) -> None:
            self._answer(self.messages.resend_unavailable(request_seq, first, last))

        return send

    def _command(self, code: int, a: int, b: int, seq: int) -> int:
        if not self.out.bonded:
            return R_NOT_BONDED
        if code == p.CMD_START:
            self.start()
        elif code == p.CMD_STOP:
            self.stop()
            self._stop_logging()
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
            self._answer(self._status(seq))
        elif code == p.CMD_GET_INFO:
            self._answer(self._pod_info(seq))
        elif code == p.CMD_GET_STREAM_CONFIG:
            self._answer(self._stream_config(seq))
        elif code == p.CMD_ENTER_LOGGING:
            if self.steplog is None:
                return R_UNSUPPORTED
            self.start_logging()
        elif code == p.CMD_SET_MAX_BATCH:
            changed = a != self.max_batch_ms
            self.max_batch_ms = a
            if changed and self.streaming:  # new batch length, watermark and backlog now
                self.stop()
                self.start()
        elif code >= p.CMD_LOG_INFO and code <= p.CMD_SET_LOG_POLICY:
            return self._log_command(code, a, b, seq)
        else:
            return R_UNSUPPORTED
        return R_OK

    # -- step logging --------------------------------------------------------------------
    def start_logging(self) -> None:
        """Stop streaming; sample the accelerometer alone at LOG_RATE_HZ (low-power mode) and
        log one record per step."""
        if self.steplog is None:
            return
        if self.streaming:
            self.stop()
        self._stop_logging()
        watermark = LOG_RATE_HZ * LOG_FIFO_PERIOD_MS // 1000
        self.imu.configure_logging(LOG_RATE_HZ, LOG_ACC_RANGE_G, watermark)
        self.imu.configure_inactivity(LOG_WAKE_MG, LOG_STILL_S)
        counts_per_g = 9.80665 / self.imu.acc_scale_mps2_per_lsb
        self.detector = StepDetector(counts_per_g, LOG_RATE_HZ, self._on_step)
        now = self._now_ms()  # type: ignore[operator]
        self._log_start_ms = now
        self._last_fifo_ms = now
        self._anchor_ms = now
        self._anchor_index = 0
        self._state_ms = now
        self.log_asleep = False
        self.logging = True

    def _stop_logging(self) -> None:
        if not self.logging:
            return
        if not self.log_asleep:
            self._read_log_fifo()
        self._count_state(self._now_ms())  # type: ignore[operator]
        self.log_asleep = False
        self.logging = False
        self.detector = None
        if self.steplog is not None:
            self.steplog.close()
        self.imu.stop()

    def _should_log(self, now: int) -> bool:
        """Logging by schedule: `log_when_disconnected` and no host for a while."""
        if self.steplog is None or self.streaming or not self.config.get("log_when_disconnected"):
            return False
        for link in self.links:
            if link.connected:
                self._disconnected_since_ms = now
                return False
        return now - self._disconnected_since_ms >= LOG_AFTER_DISCONNECT_MS

    def sleep_ms(self) -> int:
        """How long the main loop may sleep (light sleep on the chip): until the next FIFO read
        while logging with no host connected, else 0."""
        if not self.logging or self._xfer_req >= 0:
            return 0
        for link in self.links:
            if link.connected:
                return 0
        now = self._now_ms()  # type: ignore[operator]
        period = LOG_ASLEEP_CHECK_MS if self.log_asleep else LOG_FIFO_PERIOD_MS
        return max(0, self._last_fifo_ms + period - now)

    def rest(self) -> None:
        """Sleep (the injected `sleep(ms)`: light sleep on the chip, which INT1 ends early) for
        `sleep_ms`, if that is more than 0."""
        nap_ms = self.sleep_ms()
        if nap_ms > 0 and self._sleep is not None:
            self._sleep(nap_ms)  # type: ignore[operator]

    def _log_service(self, now: int) -> None:
        period = LOG_ASLEEP_CHECK_MS if self.log_asleep else LOG_FIFO_PERIOD_MS
        if self.imu_event or now - self._last_fifo_ms >= period:
            self.imu_event = False
            self._last_fifo_ms = now
            asleep = self.imu.asleep()
            if not self.log_asleep:
                self._read_log_fifo()
            if asleep != self.log_asleep:
                self._count_state(now)
                self.log_asleep = asleep
                if asleep:
                    self.imu.pause_fifo()  # still at 15 Hz: nothing to count, nothing to read
                else:
                    self._wake(now)
        self.steplog.tick(now)  # type: ignore[union-attr]

    def _wake(self, now: int) -> None:
        """The IMU is back at LOG_RATE_HZ: batch again and place the detector's sample count
        on the millisecond clock across the time asleep (no gap flag: nothing moved)."""
        self.imu.resume_fifo()
        detector = self.detector
        if detector is not None:
            expected = (now - self._log_start_ms) * LOG_RATE_HZ // 1000
            detector.mark_gap(max(0, expected - detector.index), 0)

    def _count_state(self, now: int) -> None:
        if self.log_asleep:
            self.log_asleep_ms += now - self._state_ms
        else:
            self.log_awake_ms += now - self._state_ms
        self._state_ms = now

    def _read_log_fifo(self) -> None:
        detector = self.detector
        if detector is None:
            return
        buf = self._fifo
        while True:
            n = self.imu.read_fifo(buf)
            if self.imu.overrun:
                # Words were lost: re-place the sample count on the millisecond clock.
                now = self._now_ms()  # type: ignore[operator]
                expected = (now - self._log_start_ms) * LOG_RATE_HZ // 1000
                detector.mark_gap(max(0, expected - detector.index - n))
            # Step times hang on this read's millisecond clock (the newest sample was taken
            # about half a period before the read), not on a sample count since logging began:
            # the IMU's rate may be off by a percent, the MCU's crystal is not.
            acc = 0
            for i in range(n):
                if buf[7 * i] >> 3 == _TAG_ACC:
                    acc += 1
            self._anchor_index = detector.index + acc
            self._anchor_ms = self._now_ms() - 500 // LOG_RATE_HZ  # type: ignore[operator]
            for i in range(n):
                at = 7 * i
                if buf[at] >> 3 == _TAG_ACC:
                    x = buf[at + 1] | (buf[at + 2] << 8)
                    y = buf[at + 3] | (buf[at + 4] << 8)
                    z = buf[at + 5] | (buf[at + 6] << 8)
                    detector.feed(
                        x - 65536 if x > 32767 else x,
                        y - 65536 if y > 32767 else y,
                        z - 65536 if z > 32767 else z,
                    )
            if n < _LOG_FIFO_WORDS:
                return

    def _on_step(self, ic: int, stance: int, impact_g16: int, loading: int, flags: int) -> None:
        t_ms = self._anchor_ms - (self._anchor_index - ic) * 1000 // LOG_RATE_HZ
        if stance < 0:
            stance_4ms = 255
        else:
            stance_4ms = min(255, (stance * 1000 // LOG_RATE_HZ + 2) // 4)
        self.steplog.add(t_ms, stance_4ms, impact_g16, loading, flags)  # type: ignore[union-attr]

    def _log_command(self, code: int, a: int, b: int, seq: int) -> int:
        log = self.steplog
        if log is None:
            return R_UNSUPPORTED
        if code == p.CMD_LOG_INFO:
            self._answer(self._log_info(seq))
        elif code == p.CMD_LOG_READ:
            self._xfer_req = seq
            self._xfer_link = self.out
            self._xfer_seq = a
            self._xfer_left = b if b else 0xFFFFFFFF
            self._xfer_count = 0
            if len(self._xfer_buf) < log.sector_bytes:
                self._xfer_buf = bytearray(log.sector_bytes)
        elif code == p.CMD_LOG_CONFIRM:
            if a > log.next_seq:
                return R_BAD_ARGUMENT
            log.confirm(a)
        elif code == p.CMD_SET_TIME:
            if b > 999:
                return R_BAD_ARGUMENT
            log.wall_offset_ms = a * 1000 + b - self._now_ms()  # type: ignore[operator]
        else:  # SET_LOG_POLICY
            if a > POLICY_OVERWRITE:
                return R_BAD_ARGUMENT
            log.policy = a
            return self._update(log_full_policy="overwrite" if a else "stop")
        return R_OK

    def _log_info(self, seq: int) -> memoryview:
        log = self.steplog
        flags = LOG_LOGGING if self.logging else 0
        if log.full:  # type: ignore[union-attr]
            flags |= LOG_FULL
        if log.wall_offset_ms is not None:  # type: ignore[union-attr]
            flags |= LOG_WALL_TIME
        return self.messages.log_info(
            seq,
            log.oldest_seq(),  # type: ignore[union-attr]
            log.next_seq,  # type: ignore[union-attr]
            log.confirmed_seq,  # type: ignore[union-attr]
            log.used_bytes(),  # type: ignore[union-attr]
            log.capacity_bytes(),  # type: ignore[union-attr]
            log.records_dropped,  # type: ignore[union-attr]
            log.records_overwritten,  # type: ignore[union-attr]
            self.boot_id,
            self._now_ms() & 0xFFFFFFFF,  # type: ignore[operator]
            log.policy,  # type: ignore[union-attr]
            flags,
            1,
            RECORD_BYTES,
            log.log_id,  # type: ignore[union-attr]
        )

    def _pump_log(self) -> None:
        """Send the next parts of a LOG_READ answer, as many as the link takes this pass."""
        link = self._xfer_link
        if not link.connected:
            self._xfer_req = -1  # the host resumes with a new LOG_READ
            return
        log = self.steplog
        buf = self._xfer_buf
        per_message = (min(link.mtu - 3, p.MAX_MESSAGE_BYTES) - 34) // RECORD_BYTES
        for _ in range(_LOG_MESSAGES_PER_PASS):
            if self._xfer_count == 0:
                seq = -1
                count = 0
                if self._xfer_left:
                    seq, count = log.read(self._xfer_seq, buf)  # type: ignore[union-attr]
                if seq < 0:  # all sent: LOG_INFO with the request's seq ends the answer
                    if link.send(self._log_info(self._xfer_req)):
                        self._xfer_req = -1
                    return
                self._xfer_seq = seq
                self._xfer_count = count
                self._xfer_part = 0
            head = unpack_header(buf)
            first = self._xfer_part
            n = min(per_message, self._xfer_count - first)
            start = HEADER_BYTES + first * RECORD_BYTES
            message = self.messages.log_block(
                self._xfer_seq & 0xFFFFFFFF,
                self._xfer_seq,
                RECORD_BYTES,
                head[1],
                memoryview(buf)[start : start + n * RECORD_BYTES],
                head[4],
                head[5],
                head[6],
                first,
                self._xfer_count,
            )
            if not link.send(message):
                return
            self._xfer_part = first + n
            if self._xfer_part >= self._xfer_count:
                self._xfer_count = 0
                self._xfer_seq += 1
                self._xfer_left -= 1

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
        caps = CAP_BATTERY | CAP_QUAT | CAP_CHIP_QUAT
        if self.steplog is not None:
            caps |= CAP_STEP_LOG
        if len(self.links) > 1:
            caps |= CAP_SERIAL
        return self.messages.pod_info(
            seq,
            caps,
            self.boot_id,
            FW_MAJOR,
            FW_MINOR,
            FW_PATCH,
            SEGMENTS.index(self.config["segment"]),
            SIDES.index(self.config["side"]),
            CHIP_LSM6DSV16X,
        )

    def _stream_config(self, seq: int) -> memoryview:
        """The stream in force while streaming; before `START` (or after `STOP`, or while
        logging) the stream `START` would begin now: the configured rate and ranges' scales,
        layout and batch length, so the reply is valid whenever the host asks."""
        config = self.config
        if self.streaming:
            imu = self.imu
            acc, gyr = imu.acc_scale_mps2_per_lsb, imu.gyr_scale_radps_per_lsb
            layout, batch = self._layout, self._batch
        else:
            acc, gyr = self.imu.scales(config["acc_range_g"], config["gyr_range_dps"])
            layout = p.FLAG_QUAT if config.get("stream_orientation", False) else 0
            batch = self._batch_length(self.out, p.record_bytes(layout), config["rate_hz"])
        return self.messages.stream_config(seq, config["rate_hz"], acc, gyr, 0.0, layout, batch)

    def _status(self, seq: int) -> memoryview:
        pct, mv = self.battery.read()
        flags = 0
        if self.streaming:
            flags |= ST_STREAMING
        if self.logging:
            flags |= ST_LOGGING
            if self.log_asleep:
                flags |= ST_LOG_ASLEEP
        if self.config_defaulted:
            flags |= ST_CONFIG_DEFAULTED
        if pct != 255 and pct < _LOW_BATTERY_PCT:
            flags |= ST_LOW_BATTERY
        if self.link.bonded:
            flags |= ST_BONDED
        if self.steplog is not None and self.steplog.full:
            flags |= ST_LOG_FULL
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
