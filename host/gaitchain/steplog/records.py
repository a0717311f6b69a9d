"""Step records as the pod logs them (record format 1, docs/protocol.md "Step log")."""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ..protocol import LogBlock
from ..protocol.spec import LOG_TIME_MS_MASK, LOG_TIME_WALL, STEP_RECORD_BYTES, STEP_RECORD_FORMAT

STEP_DTYPE: Final = np.dtype(
    [
        ("t_ms", "<u2"),
        ("stance_4ms", "u1"),
        ("impact_g16", "u1"),
        ("loading", "u1"),
        ("flags", "u1"),
    ]
)
STANCE_UNIT_MS: Final = 4
IMPACT_UNIT_G: Final = 1 / 16
LOADING_UNIT_GPS: Final = 16
SATURATED: Final = 255

FLAG_STANCE_OPEN: Final = 1
FLAG_IMPACT_CLIPPED: Final = 2
FLAG_GAP: Final = 4


@dataclass(frozen=True)
class StepBlock:
    """One whole block of a pod's step log, reassembled from its LOG_BLOCK parts."""

    pod_id: int
    seq: int
    boot_id: int
    t_start_s: int
    t_start_ms_flags: int
    records: bytes

    @property
    def wall_time(self) -> bool:
        return bool(self.t_start_ms_flags & LOG_TIME_WALL)

    @property
    def start_ms(self) -> int:
        """The block's start: unix ms if `wall_time`, else ms on the pod's log clock."""
        return self.t_start_s * 1000 + (self.t_start_ms_flags & LOG_TIME_MS_MASK)

    def steps(self) -> NDArray[np.void]:
        return np.frombuffer(self.records, dtype=STEP_DTYPE)


class BlockAssembler:
    """LOG_BLOCK parts in, whole blocks out; a part out of order drops the partial block."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._current: LogBlock | None = None
        self.dropped_parts = 0

    def add(self, part: LogBlock) -> StepBlock | None:
        if part.record_format != STEP_RECORD_FORMAT or part.record_size != STEP_RECORD_BYTES:
            raise ValueError(
                f"LOG_BLOCK {part.block_index} has record format {part.record_format} of "
                f"{part.record_size} bytes; this host reads format 1 of 6 bytes: update gaitchain"
            )
        expected = 0 if self._current is None else self._current_next()
        same = self._current is not None and part.block_index == self._current.block_index
        if part.first_record == 0:
            if self._current is not None:
                self.dropped_parts += len(self._parts)
            self._current, self._parts = part, [part.records]
        elif same and part.first_record == expected:
            self._parts.append(part.records)
        else:
            self.dropped_parts += 1 + len(self._parts)
            self._current, self._parts = None, []
            return None
        current = self._current
        assert current is not None
        if self._current_next() < part.block_records:
            return None
        self._current, records, self._parts = None, b"".join(self._parts), []
        return StepBlock(
            current.pod_id,
            current.block_index,
            current.boot_id,
            current.t_start_s,
            current.t_start_ms_flags,
            records,
        )

    def _current_next(self) -> int:
        return sum(len(p) for p in self._parts) // STEP_RECORD_BYTES

    def reset(self) -> None:
        self._current, self._parts = None, []
