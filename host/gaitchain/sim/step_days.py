"""Days of logged steps written straight into a pod's step log, for demos, tests and benchmarks
of the sync (a walker simulated for days, sample by sample, would take hours).

Each day is walking bouts of 20 to 600 steps of one foot (one step every `step_period_ms`)
separated by pauses of 30 s to 10 min, starting at 07:00; every step's fields vary so that a
record stored in the wrong place is seen.
"""

from typing import Any

import numpy as np


def fill_step_log(
    log: Any,
    *,
    days: float,
    steps_per_day: int,
    start_unix_ms: int | None = None,
    step_period_ms: int = 1070,
    seed: int = 0,
) -> int:
    """Log `days` x `steps_per_day` steps into the firmware's `StepLog` `log` (closing every
    block); its log clock starts at 0. With `start_unix_ms` the blocks carry wall time (as after
    the host's SET_TIME), day 0 starting then. Returns the number of steps logged."""
    if days <= 0 or steps_per_day <= 0:
        raise ValueError(f"days = {days} and steps_per_day = {steps_per_day} must be positive")
    rng = np.random.default_rng(seed)
    if start_unix_ms is not None:
        log.wall_offset_ms = start_unix_ms
    total = round(days * steps_per_day)
    logged = 0
    t_ms = 7 * 3_600_000
    while logged < total:
        day_end_ms = (t_ms // 86_400_000 + 1) * 86_400_000
        left = min(steps_per_day, total - logged)
        while left:
            bout = int(min(left, rng.integers(20, 601)))
            for i in range(bout):
                stance_4ms = 140 + (logged + i) % 37
                impact_g16 = 40 + (logged + i) % 53
                log.add(t_ms, stance_4ms, impact_g16, (logged + i) % 199, 0)
                t_ms += step_period_ms
            left -= bout
            logged += bout
            log.tick(t_ms + 60_000)  # the pause closes the open block
            t_ms += int(rng.integers(30_000, 600_000))
        t_ms = max(t_ms, day_end_ms + 7 * 3_600_000)
    log.close()
    return logged
