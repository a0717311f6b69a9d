"""The live pipeline over the BLE link to virtual pods, stepped on simulated time: what the chain
and battery tests and `benchmarks/live_chain_bench.py` run (deterministic, as fast as the CPU
allows). The link is attached to the running `SimulatedTimeLoop` (`BlePodLink(attach=True)`) and
the pipeline is stepped every `interval_s` of the loop's time, as `LiveRunner` steps it in real
time.

    async def main() -> None:
        run = SimulatedLive(virtual_pods(), LiveHub(), record_dir=tmp)
        run.start()
        await run.run_to(120.0, every_s=0.5, on_tick=look)
        await run.close()

    run_simulated(main())
"""

import asyncio
from collections.abc import Callable
from typing import Any

from .ble_link import BlePodLink, PodsOpener
from .hub import LiveHub
from .pipeline import LivePipeline


class SimulatedLive:
    """A `LivePipeline` on a `BlePodLink` attached to the running loop; `pipeline_options` go
    to `LivePipeline` (chain, battery, record_dir, ...). Make it inside the running loop."""

    def __init__(
        self,
        open_pods: PodsOpener,
        hub: LiveHub,
        *,
        interval_s: float = 0.01,
        **pipeline_options: Any,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.loop = asyncio.get_running_loop()
        self.interval_s = interval_s
        self.link = BlePodLink(open_pods, now_s=self.loop.time, attach=True)
        self.pipeline = LivePipeline(self.link, hub, now_s=self.loop.time, **pipeline_options)

    def now_s(self) -> float:
        return self.loop.time()

    def start(self) -> None:
        self.pipeline.start()

    async def run_to(
        self,
        t_s: float,
        *,
        every_s: float | None = None,
        on_tick: Callable[[float], None] | None = None,
    ) -> None:
        """Step the pipeline until the loop's time reaches `t_s`; call `on_tick(now_s)` after
        the first step at or past each multiple of `every_s`."""
        next_tick_s = -1.0
        if every_s is not None:
            next_tick_s = every_s * (self.now_s() // every_s + 1)
        while self.now_s() < t_s:
            await asyncio.sleep(self.interval_s)
            self.pipeline.step()
            now = self.now_s()
            if on_tick is not None and every_s is not None and now >= next_tick_s:
                on_tick(now)
                next_tick_s = every_s * (now // every_s + 1)

    async def close(self) -> None:
        """Close the pipeline (and its journal) and wait until the pods are stopped."""
        self.pipeline.close()
        await self.link.wait_closed()
