"""The last SAMPLES messages the pod sent, kept so it can answer RESEND_REQUEST (docs/protocol.md).

Everything is allocated once, in the constructor: one bytearray of `capacity_packets` slots of
`packet_bytes` each, the length and sequence number of every slot in two `array.array`s, and one
memoryview per slot. `store` copies a message in and `find` hands one out without touching the heap.

Batch `seq` lives in slot `seq % capacity_packets`, so a lookup is one comparison. Sequence numbers
must be small integers (below 2^30: a year and a quarter of batches at 480 Hz) and increase with
every `store`.

RAM, measured with `gc.mem_alloc()` under MicroPython (tests/firmware/test_backlog.py prints it):
the default 216 slots of 244 bytes cost 59,904 bytes (58.5 KB): 52.7 KB of message bytes and
about 33 bytes of bookkeeping per slot. 480 Hz for 30 s would take 800 batches of 18 samples
(about 195 KB), two thirds of the ESP32-S3's usable heap, so the default holds what fits in 60 KB
instead: 216 batches of 18 samples, which is 8.1 s at 480 Hz, 16 s at 240 Hz, 32 s at 120 Hz and
65 s at 60 Hz. Construct it early at boot, while the heap is still in one piece. 244 bytes is the
longest notification value at the 247-byte MTU the pod asks for, so a batch of any layout fits a
slot.
"""

import array

from micropython import const

DEFAULT_CAPACITY_PACKETS = const(216)
DEFAULT_PACKET_BYTES = const(244)
_FLAGS_OFFSET = const(21)
_FLAG_RESENT = const(4)
_EMPTY = const(-1)


def mark_resent(view: memoryview) -> memoryview:
    """Set the RESENT flag (bit 2 of byte 21) of a SAMPLES message in place and return it.

    Marking a view that `Backlog.find` returned changes the stored copy too, which is harmless:
    every later send of that batch is a resend as well.
    """
    view[_FLAGS_OFFSET] |= _FLAG_RESENT
    return view


class Backlog:
    """A ring buffer of the last `capacity_packets` SAMPLES messages, each at most `packet_bytes`.

    `store` and `find` allocate nothing. A slot's memoryview is made at `packet_bytes` (or the
    length given to `set_message_bytes`); `find` hands it out as is when the stored message has
    that length, and otherwise makes a view of the right length once (one small allocation) and
    keeps it for the next lookup. Give `set_message_bytes` the length of a full batch when
    streaming starts and only a short last batch ever costs that allocation.
    """

    def __init__(
        self,
        capacity_packets: int = DEFAULT_CAPACITY_PACKETS,
        packet_bytes: int = DEFAULT_PACKET_BYTES,
    ) -> None:
        if capacity_packets < 1:
            raise ValueError("capacity_packets must be at least 1")
        if not 1 <= packet_bytes <= 512:
            raise ValueError("packet_bytes must be 1 to 512 (the longest message)")
        self.capacity_packets = capacity_packets
        self.packet_bytes = packet_bytes
        self._buf = bytearray(capacity_packets * packet_bytes)
        self._mv = memoryview(self._buf)
        self._lengths = array.array("H", bytes(2 * capacity_packets))
        self._seqs = array.array("i", bytes(4 * capacity_packets))
        self._views: list[memoryview] = [self._mv[0:0]] * capacity_packets
        self._newest = _EMPTY
        self._depth = 0
        self.set_message_bytes(packet_bytes)
        self.clear()

    def set_message_bytes(self, message_bytes: int) -> None:
        """Make every slot's view `message_bytes` long (a full batch); allocates: call at setup."""
        if not 1 <= message_bytes <= self.packet_bytes:
            raise ValueError("message_bytes must be 1 to packet_bytes")
        step = self.packet_bytes
        mv = self._mv
        for slot in range(self.capacity_packets):
            offset = slot * step
            self._views[slot] = mv[offset : offset + message_bytes]

    def clear(self) -> None:
        """Forget every stored message (for example when the sequence restarts)."""
        seqs = self._seqs
        for slot in range(self.capacity_packets):
            seqs[slot] = _EMPTY
        self._newest = _EMPTY
        self._depth = 0

    @property
    def depth(self) -> int:
        """How many messages the backlog holds (STATUS.backlog_packets)."""
        return self._depth

    @property
    def newest_seq(self) -> int:
        """The sequence number of the last message stored, -1 when empty."""
        return self._newest

    @property
    def oldest_seq(self) -> int:
        """The smallest sequence number held (STATUS.backlog_oldest_seq), -1 when empty."""
        if self._depth == 0:
            return _EMPTY
        capacity = self.capacity_packets
        seqs = self._seqs
        seq = max(self._newest - capacity + 1, 0)
        while seqs[seq % capacity] != seq:
            seq += 1
        return seq

    def store(self, seq: int, message: bytes | bytearray | memoryview) -> None:
        """Copy `message`, the SAMPLES batch numbered `seq`, into its slot; allocates nothing.

        `seq` must be larger than every sequence number stored before. Skipped numbers are held
        as missing, and the batch `capacity_packets` before `seq` is dropped.
        """
        size = len(message)
        if size > self.packet_bytes:
            raise ValueError("message longer than packet_bytes")
        newest = self._newest
        if seq <= newest:
            raise ValueError("seq must increase")
        capacity = self.capacity_packets
        seqs = self._seqs
        if newest >= 0 and seq - newest > 1:
            # Slots of skipped numbers would otherwise keep batches from a lap ago.
            skipped = newest + 1
            stop = seq if seq - newest <= capacity else newest + capacity + 1
            while skipped < stop:
                slot = skipped % capacity
                if seqs[slot] != _EMPTY:
                    seqs[slot] = _EMPTY
                    self._depth -= 1
                skipped += 1
        slot = seq % capacity
        if seqs[slot] == _EMPTY:
            self._depth += 1
        offset = slot * self.packet_bytes
        self._mv[offset : offset + size] = message
        self._lengths[slot] = size
        seqs[slot] = seq
        self._newest = seq

    def find(self, seq: int) -> memoryview | None:
        """The stored batch `seq`, or None when the backlog no longer (or never) held it.

        The view points into the backlog: send it before the batch `capacity_packets` later is
        stored.
        """
        if seq < 0 or seq > self._newest:
            return None
        slot = seq % self.capacity_packets
        if self._seqs[slot] != seq:
            return None
        view = self._views[slot]
        size = self._lengths[slot]
        if len(view) != size:
            offset = slot * self.packet_bytes
            view = self._mv[offset : offset + size]
            self._views[slot] = view
        return view

    def answer(
        self,
        first_seq: int,
        last_seq: int,
        send_samples: object,
        send_unavailable: object,
    ) -> int:
        """Answer RESEND_REQUEST(first_seq..last_seq, inclusive); return how many batches went out.

        Calls `send_samples(view)` for each held batch in order (the caller marks it with
        `mark_resent` before sending) and `send_unavailable(first, last)` once per run of batches
        the backlog does not hold, including numbers it has not sent yet. Works through at most
        `capacity_packets` slots whatever the range.
        """
        if first_seq > last_seq:
            return 0
        newest = self._newest
        lowest = newest - self.capacity_packets + 1
        run = _EMPTY  # first sequence number of the missing run under way
        start = first_seq
        if start < lowest:
            run = first_seq
            start = lowest
        stop = last_seq if last_seq < newest else newest
        sent = 0
        seq = start
        while seq <= stop:
            view = self.find(seq)
            if view is None:
                if run == _EMPTY:
                    run = seq
            else:
                if run != _EMPTY:
                    send_unavailable(run, seq - 1)  # type: ignore[operator]
                    run = _EMPTY
                send_samples(view)  # type: ignore[operator]
                sent += 1
            seq += 1
        if last_seq > newest and run == _EMPTY:
            run = first_seq if first_seq > newest else newest + 1
        if run != _EMPTY:
            send_unavailable(run, last_seq)  # type: ignore[operator]
        return sent
