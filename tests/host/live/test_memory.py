"""What a long live session keeps stays bounded: the virtual pod's record of its batches and the
stream's ping/echo exchanges (both grew with every batch or ping; together about 1 MB per minute
of five pods over the BLE link, `benchmarks/live_dashboard.py memory`). On simulated time, with
the bounds lowered so that a short run passes them."""

import logging

import pytest
from gaitchain.live import pipeline as live_pipeline
from gaitchain.live.ble_link import virtual_pods
from gaitchain.live.hub import LiveHub
from gaitchain.live.simulated import SimulatedLive
from gaitchain.sim import virtual_pod
from gaitchain.sim.simtime import run_simulated

logging.getLogger("bumble").setLevel(logging.ERROR)


def test_batch_record_and_clock_exchanges_stay_bounded(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setattr(virtual_pod, "RECENT_BATCHES", 300)
    monkeypatch.setattr(live_pipeline, "LIVE_KEEP_EXCHANGES", 40)
    sizes: list[tuple[int, int, int, int]] = []

    async def main() -> SimulatedLive:
        run = SimulatedLive(
            virtual_pods(1, minutes=1.0, seed=2),
            LiveHub(),
            chain=False,
            record_dir=tmp_path_factory.mktemp("rec"),
        )
        run.start()

        def look(_now_s: float) -> None:
            pods = run.link.pods
            if pods is None:
                return
            pod = pods.extra["virtual"].pod(0x0101)
            epoch = run.pipeline.assembler.stream(0x0101).epoch
            samples = run.pipeline.pods[0x0101].samples if 0x0101 in run.pipeline.pods else 0
            sizes.append(
                (len(pod.recent_batches), len(epoch.exchanges), pod.produced_samples(), samples)
            )

        await run.run_to(40.0, every_s=10.0, on_tick=look)
        await run.close()
        return run

    run_simulated(main(), timeout_s=120.0)
    batches, exchanges, produced, delivered = zip(*sizes, strict=True)
    assert batches[-1] == 300 and max(batches) == 300, "the newest 300 batches, no more"
    assert max(exchanges) <= 2 * 40 and exchanges[-1] >= 40, "pings at 10 Hz for 40 s, trimmed"
    assert produced[-1] > 300 * 3, "many more batches than the record keeps"
    assert 0 <= produced[-1] - delivered[-1] < 120, "the counts still add up (some in flight)"
