"""The demo's assessment battery: the simulator performs each test for the demo walker.

`gaitchain demo`'s virtual pods are strapped to a walker that walks the whole session, so a
battery step measured from their stream is never valid (nobody holds still, stands on one leg or
lunges), and the demo has no level-bar pod. For the demo, `demo_tests(driver, seed)` is the
`LiveBattery(replay=...)` source: the recordings `sim.battery` makes of every test for the same
walker (its driver's faults applied, as `VirtualPods.walking` applies them), each pod with its
own mounting and the alignment error a session's walk would leave. The panel says that the
simulator, not the walking pods, performed the test.
"""

import numpy as np
from numpy.typing import NDArray

from ..io.recording import PodRecording
from ..sim.battery import SimulatedTest, battery_truth, simulate_battery
from ..sim.params import Walker
from ..sim.walk import apply_driver, parse_driver
from .assessment import Replay


def demo_tests(driver: str, seed: int, severity: float = 1.0) -> Replay:
    """The simulated battery of the demo walker with `driver` ("healthy", "left-glute-med",
    ...); made on the first call (about a second), then looked up."""
    fault, side = parse_driver(driver)
    made: dict[tuple[str, str], SimulatedTest] = {}

    def replay(
        key: str, test_side: str
    ) -> tuple[dict[str, PodRecording], dict[str, NDArray[np.float64]]] | None:
        if not made:
            walker = apply_driver(Walker(), fault, side, severity).validate()
            truth = battery_truth(walker, fault, side, seed)
            made.update({(t.key, t.side): t for t in simulate_battery(truth, seed)})
        test = made.get((key, test_side))
        return None if test is None else (test.pods, test.alignment)

    return replay
