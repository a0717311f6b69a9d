"""Step-log sync over BLE: bleak's public API on the Bumble backend, virtual pods running the
firmware with a step log on emulated flash, on simulated time; disconnects injected on the air."""

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from gaitchain.cli import main
from gaitchain.link.ble import PodTarget
from gaitchain.link.ble_sync import PodSyncOutcome, SyncOptions, sync_pod, sync_pods
from gaitchain.link.virtual import AirFaults, VirtualPods
from gaitchain.sim.simtime import run_simulated
from gaitchain.sim.step_days import fill_step_log
from gaitchain.steplog.store import StepStore

logging.getLogger("bumble").setLevel(logging.ERROR)

T0_UNIX_MS = 1_795_000_000_000


def _fill(pods: VirtualPods, pod_id: int, days: float, seed: int) -> tuple[int, int]:
    log: Any = pods.pod(pod_id).pod.steplog
    steps = fill_step_log(log, days=days, steps_per_day=20_000, start_unix_ms=T0_UNIX_MS, seed=seed)
    return steps, int(log.next_seq)


def _stored(store: StepStore, pod_id: int) -> tuple[list[int], list[float]]:
    seqs = [r[0] for r in store.db.execute("SELECT seq FROM blocks WHERE pod_id = ?", (pod_id,))]
    impacts = [
        r[0]
        for r in store.db.execute(
            "SELECT impact_g FROM steps WHERE pod_id = ? ORDER BY seq, idx", (pod_id,)
        )
    ]
    return sorted(seqs), impacts


def _expected_impacts(steps: int) -> list[float]:
    return [(40 + i % 53) / 16 for i in range(steps)]


def test_sync_downloads_every_chosen_pod_in_reach_and_frees_their_flash(tmp_path: Path) -> None:
    """Three foot/shank pods log; the user chose two of them and a third that is not in reach."""
    store = StepStore(tmp_path / "steps.sqlite")

    async def main() -> tuple[list[PodSyncOutcome], list[PodTarget], dict[int, tuple[int, int]]]:
        async with VirtualPods.walking(3, minutes=0.5, seed=2, log_sectors=64) as pods:
            await asyncio.sleep(1.5)
            logged = {p: _fill(pods, p, 0.4, seed=p) for p in (0x0101, 0x0102, 0x0103)}
            chosen = [
                PodTarget(pods.address(0x0101), 0x0101),
                PodTarget("", 0x0103),  # found by its pod id
                PodTarget("C0:DE:00:00:09:09", 0x0909),  # paired once, not in reach
            ]
            options = SyncOptions(client="ada")
            outcomes, missing = await sync_pods(
                chosen, store, backend=pods.backend, options=options, scan_s=1.0
            )
            for pod_id in (0x0101, 0x0102, 0x0103):
                logged[pod_id] = (*logged[pod_id][:1], pods.pod(pod_id).pod.steplog.confirmed_seq)
            return outcomes, missing, logged

    outcomes, missing, logged = run_simulated(main(), timeout_s=600)
    assert [m.pod_id for m in missing] == [0x0909]
    assert [o.target.pod_id for o in outcomes] == [0x0101, 0x0103]
    for outcome in outcomes:
        pod_id = outcome.target.pod_id
        steps, confirmed = logged[pod_id]
        assert outcome.complete and outcome.paired and outcome.disconnects == 0
        assert outcome.steps_stored == steps
        seqs, impacts = _stored(store, pod_id)
        assert seqs == list(range(len(seqs))) and impacts == _expected_impacts(steps)
        assert confirmed == len(seqs)  # the pod may now reuse that flash
    assert logged[0x0102][1] == 0 and store.counts(0x0102) == (0, 0, 0)  # not chosen: untouched
    assert store.pods_of("ada") == [(0x0101, "pelvis", "center"), (0x0103, "shank", "right")]


@pytest.mark.parametrize("drop_at_s", [2.0, 4.5])
def test_a_sync_cut_by_the_pod_leaving_range_resumes_without_gaps_or_duplicates(
    tmp_path: Path, drop_at_s: float
) -> None:
    """The pod goes out of range in the middle of the download (mid-block included) on an air
    that also delays packets; the next attempt resumes from the first block the store lacks."""
    store = StepStore(tmp_path / "steps.sqlite")
    faults = AirFaults(delay_max_s=0.004)

    async def main() -> tuple[PodSyncOutcome, int, int, list[int]]:
        async with VirtualPods.walking(1, minutes=0.5, faults=faults, log_sectors=300) as pods:
            await asyncio.sleep(1.5)
            steps, blocks = _fill(pods, 0x0101, 2.4, seed=5)
            log: Any = pods.pod(0x0101).pod.steplog
            confirmed_while_cut: list[int] = []

            def cut() -> None:
                confirmed_while_cut.append(int(log.confirmed_seq))
                pods.drop_link(0x0101, 3.0)

            loop = asyncio.get_running_loop()
            loop.call_later(drop_at_s, cut)
            target = PodTarget(pods.address(0x0101), 0x0101)
            outcome = await sync_pod(target, store, backend=pods.backend)
            return outcome, steps, blocks, [*confirmed_while_cut, int(log.confirmed_seq)]

    outcome, steps, blocks, confirmed = run_simulated(main(), timeout_s=900)
    assert outcome.complete and outcome.disconnects == 1, outcome.error
    first, second = outcome.attempts
    assert first.blocks_stored > 0 and second.first_seq == first.blocks_stored  # resumed
    assert second.blocks_duplicate == 0
    assert confirmed == [0, blocks]  # nothing freed before the host's confirmation
    seqs, impacts = _stored(store, 0x0101)
    assert seqs == list(range(blocks)) and store.counts(0x0101)[1:] == (steps, steps)
    assert impacts == _expected_impacts(steps)


def test_a_pod_that_stays_away_is_reported_not_lost(tmp_path: Path) -> None:
    store = StepStore(tmp_path / "steps.sqlite")

    async def main() -> PodSyncOutcome:
        async with VirtualPods.walking(1, minutes=0.5, log_sectors=64) as pods:
            await asyncio.sleep(1.5)
            _fill(pods, 0x0101, 0.5, seed=1)
            asyncio.get_running_loop().call_later(1.0, pods.drop_link, 0x0101, 600.0)
            options = SyncOptions(attempts=3, connect_timeout_s=2.0)
            target = PodTarget(pods.address(0x0101), 0x0101)
            return await sync_pod(target, store, backend=pods.backend, options=options)

    outcome = run_simulated(main(), timeout_s=900)
    assert not outcome.complete and len(outcome.attempts) == 3 and outcome.error
    assert outcome.attempts[0].blocks_stored > 0  # what arrived is kept for the next sync


def test_sync_command_on_virtual_pods_then_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gaitchain sync --virtual 2` in real time: two virtual pods, each with a day of steps."""
    db = str(tmp_path / "steps.sqlite")
    args = ["sync", "--virtual", "2", "--db", db, "--client", "ada", "--scan-seconds", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pod 0101:" in out and "pod 0102:" in out and "10000 steps stored" in out
    assert main(args) == 0  # a second sync of fresh virtual pods with the same ids adds nothing
    assert main(["load", "--client", "ada", "--db", db, "--days", "3", "--utc-offset-h", "0"]) == 0
    assert "20000" in capsys.readouterr().out


def test_sync_command_refuses_usb_and_ble_at_once(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["sync", "--port", "/dev/null", "--virtual", "1", "--db", str(tmp_path / "s.db")])
    assert stop.value.code == 2


def test_notifications_lost_on_the_air_are_read_again_and_never_confirmed_unstored(
    tmp_path: Path,
) -> None:
    """5% of notifications vanish (a stand-in for a lossy link or a damaged serial frame): a
    block that did not arrive whole is not confirmed, so the pod keeps it, and is read again."""
    store = StepStore(tmp_path / "steps.sqlite")
    faults = AirFaults(notification_drop=0.05)

    async def main() -> tuple[list[PodSyncOutcome], list[tuple[int, list[int]]], int, int]:
        async with VirtualPods.walking(1, minutes=0.5, faults=faults, log_sectors=64) as pods:
            await asyncio.sleep(1.5)
            steps, blocks = _fill(pods, 0x0101, 0.5, seed=9)
            log: Any = pods.pod(0x0101).pod.steplog
            target = PodTarget(pods.address(0x0101), 0x0101)
            outcomes: list[PodSyncOutcome] = []
            confirmed: list[tuple[int, list[int]]] = []
            for _ in range(3):
                outcomes.append(await sync_pod(target, store, backend=pods.backend))
                confirmed.append((int(log.confirmed_seq), _stored(store, 0x0101)[0]))
            return outcomes, confirmed, steps, blocks

    outcomes, confirmed, steps, blocks = run_simulated(main(), timeout_s=900)
    assert sum(o.blocks_duplicate for o in outcomes) > 0  # blocks were read again
    for freed, seqs in confirmed:
        assert set(range(freed)) <= set(seqs), "the pod freed a block the host lacks"
    seqs, impacts = _stored(store, 0x0101)
    assert seqs == list(range(blocks)) and impacts == _expected_impacts(steps)
    assert confirmed[-1][0] == blocks
