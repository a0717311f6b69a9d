"""Step store, block reassembly and the daily load report, on blocks made here."""

import struct
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from gaitchain.cli import main
from gaitchain.protocol import LogBlock
from gaitchain.steplog.records import BlockAssembler, StepBlock
from gaitchain.steplog.report import DailyLoad
from gaitchain.steplog.store import StepStore

DAY0 = datetime(2026, 11, 16, tzinfo=UTC)
DAY0_MS = int(DAY0.timestamp() * 1000)


def _block(pod_id: int, seq: int, start_ms: int, count: int, impact_g16: int) -> StepBlock:
    records = b"".join(
        struct.pack("<HBBBB", i * 1000, 160, impact_g16, 10, 0) for i in range(count)
    )
    return StepBlock(pod_id, seq, 1, start_ms // 1000, 0x8000 | start_ms % 1000, records)


def test_parts_reassemble_and_a_broken_sequence_drops_the_partial_block() -> None:
    records = bytes(range(60))
    parts = [
        LogBlock(1, 0, 7, 6, 1, records[:36], 9, 100, 0x8000, 0, 10),
        LogBlock(1, 0, 7, 6, 1, records[36:], 9, 100, 0x8000, 6, 10),
    ]
    assembler = BlockAssembler()
    assert assembler.add(parts[0]) is None
    block = assembler.add(parts[1])
    assert block is not None and block.records == records and block.seq == 7
    assert assembler.add(parts[1]) is None and assembler.dropped_parts == 1
    with pytest.raises(ValueError, match="record format 2"):
        assembler.add(LogBlock(1, 0, 8, 6, 2, records[:6], 9, 0, 0, 0, 1))


def test_store_keeps_each_block_once(tmp_path: Path) -> None:
    store = StepStore(tmp_path / "s.sqlite")
    store.set_pod(5, "foot", "left", "ada")
    session = store.begin_session(5, "test", 0.0)
    block = _block(5, 3, DAY0_MS, 4, 48)
    assert store.add_block(block, DAY0_MS, session)
    assert not store.add_block(block, DAY0_MS, session)
    assert store.counts(5) == (1, 4, 4) and store.next_seq(5) == 4
    with pytest.raises(ValueError, match="no client named 'bob'"):
        store.client_steps("bob", 0, 1)


def _fill(path: Path) -> None:
    store = StepStore(path)
    store.set_pod(1, "foot", "left", "ada")
    store.set_pod(2, "foot", "right", "ada")
    session = store.begin_session(1, "test", 0.0)
    seq = {1: 0, 2: 0}
    for day in range(3):
        # Morning: 40 steps at 07:00 after the night's rest, then a 200-step walk at 12:00.
        for hour, count, impact in ((7, 40, 64), (12, 200, 48)):
            for pod, extra in ((1, 0), (2, 8 * day)):
                start = DAY0_MS + day * 86_400_000 + hour * 3_600_000
                for k in range(0, count, 50):
                    block = _block(
                        pod, seq[pod], start + k * 1000, min(50, count - k), impact + extra
                    )
                    store.add_block(block, block.start_ms, session)
                    seq[pod] += 1
    store.close()


def test_daily_load_sides_balance_and_first_steps_after_rest(tmp_path: Path) -> None:
    _fill(tmp_path / "s.sqlite")
    store = StepStore(tmp_path / "s.sqlite")
    steps = store.client_steps("ada", DAY0_MS, DAY0_MS + 4 * 86_400_000)
    report = DailyLoad(rest_gap_min=120, first_steps=30).compute(steps, date(2026, 11, 16), 4, UTC)
    first, third, empty = report.days_[0], report.days_[2], report.days_[3]
    assert (first.steps_left, first.steps_right, first.steps) == (240, 240, 480)
    assert first.load_g == pytest.approx(2 * (40 * 4.0 + 200 * 3.0))
    assert first.left_share == 0.5 and third.left_load_share < 0.5  # right heel strikes harder
    assert first.after_rest_bouts == 2  # the morning and the noon walk (both feet together)
    assert first.after_rest_impact_g == pytest.approx((30 * 4.0 + 30 * 3.0) / 60)
    assert empty.steps == 0 and np.isnan(empty.mean_impact_g)


def test_load_command_prints_days_and_writes_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(tmp_path / "s.sqlite")
    plot = tmp_path / "load.png"
    code = main(
        [
            "load",
            "--client",
            "ada",
            "--days",
            "3",
            "--until",
            "2026-11-18",
            "--db",
            str(tmp_path / "s.sqlite"),
            "--utc-offset-h",
            "0",
            "--plot",
            str(plot),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "2026-11-16     480    240    240" in out and "50/50" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit) as stopped:
        main(["load", "--client", "nobody", "--db", str(tmp_path / "s.sqlite")])
    assert stopped.value.code == 2
    assert "no client named 'nobody'" in capsys.readouterr().err
