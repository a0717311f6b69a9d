"""An asyncio event loop on simulated time, for virtual pods, the emulated BLE stack and the host
transport in tests and benchmarks.

`SimulatedTimeLoop.time()` is a simulated clock in seconds (from 0). When nothing is ready to run,
the loop does not wait: it jumps the clock to the next scheduled timer. Every `asyncio.sleep`,
`wait_for` timeout and `call_later` therefore takes no wall time, and a run is deterministic for a
given program (no thread, no real I/O). Real file descriptors still work (polled without waiting).
If nothing is scheduled at all while something still waits, the loop waits for real I/O in short
slices, as an ordinary loop would, and after 5 s of wall time with nothing at all raises
`SimulatedDeadlockError` instead of hanging.

    run_simulated(main())
"""

import asyncio
import selectors
import traceback
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_FileObject = Any  # int | HasFileno (typeshed's private alias)
_REAL_WAIT_S = 0.01
_DEADLOCK_S = 5.0


class SimulatedDeadlockError(RuntimeError):
    """Nothing can ever run again on the simulated loop (no timer, no I/O, no thread)."""


class _SimulatedSelector(selectors.BaseSelector):
    """A real selector that never blocks: a wait for `timeout` advances the simulated clock."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.now_s = 0.0
        self.idle_waits = 0

    def register(
        self, fileobj: _FileObject, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: _FileObject) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: _FileObject, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            ready = self._real.select(_REAL_WAIT_S)
            self.idle_waits = 0 if ready else self.idle_waits + 1
            if self.idle_waits * _REAL_WAIT_S >= _DEADLOCK_S:
                raise SimulatedDeadlockError(
                    f"nothing scheduled at simulated time {self.now_s:.3f} s and no I/O for "
                    f"{_DEADLOCK_S:g} s of wall time: the program waits for something that "
                    "can never happen"
                )
            return ready
        self.idle_waits = 0
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


def run_simulated(
    main: Coroutine[Any, Any, T], *, timeout_s: float | None = None, cleanup_s: float = 5.0
) -> T:
    """Run `main` to completion on a fresh `SimulatedTimeLoop` (at most `timeout_s` of
    simulated time: then TimeoutError, with where `main` waited); then cancel what is left and
    give it `cleanup_s` of simulated time to end (a task that ignores cancellation cannot keep
    a simulation of endless timers running)."""
    loop = SimulatedTimeLoop()
    try:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main)
        loop.run_until_complete(asyncio.wait([task], timeout=timeout_s))
        if not task.done():
            where = (
                "".join(traceback.format_stack(task.get_stack()[-1])) if task.get_stack() else ""
            )
            raise TimeoutError(
                f"not done after {timeout_s} s of simulated time; waiting at\n{where}"
            )
        return task.result()
    finally:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=cleanup_s))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
