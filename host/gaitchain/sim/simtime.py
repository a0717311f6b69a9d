"""An asyncio event loop on simulated time, for virtual pods, the emulated BLE stack and the host
transport in tests and benchmarks.

`SimulatedTimeLoop.time()` is a simulated clock in seconds (from 0). When nothing is ready to run,
the loop does not wait: it jumps the clock to the next scheduled timer. Every `asyncio.sleep`,
`wait_for` timeout and `call_later` therefore takes no wall time, and a run is deterministic for a
given program (no thread, no real I/O). Real file descriptors still work (polled without waiting).
If nothing is scheduled at all while something still waits, the loop waits for real I/O in short
slices, as an ordinary loop would.

    with asyncio.Runner(loop_factory=SimulatedTimeLoop) as runner:
        runner.run(main())

or `run_simulated(main())`.
"""

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_FileObject = Any  # int | HasFileno (typeshed's private alias)
_REAL_WAIT_S = 0.01


class _SimulatedSelector(selectors.BaseSelector):
    """A real selector that never blocks: a wait for `timeout` advances the simulated clock."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.now_s = 0.0

    def register(
        self, fileobj: _FileObject, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: _FileObject) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(
        self, fileobj: _FileObject, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            return self._real.select(_REAL_WAIT_S)
        if timeout > 0:
            self.now_s += timeout
        return []

    def get_map(self) -> Mapping[_FileObject, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class SimulatedTimeLoop(asyncio.SelectorEventLoop):
    """See the module docstring."""

    def __init__(self) -> None:
        self._simulated = _SimulatedSelector()
        super().__init__(self._simulated)

    def time(self) -> float:
        return self._simulated.now_s


def run_simulated(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh `SimulatedTimeLoop`."""
    with asyncio.Runner(loop_factory=SimulatedTimeLoop) as runner:
        return runner.run(main)
