"""Small helpers on sampled signals shared by the analysis stages."""

from typing import Final

import numpy as np
from numpy.typing import NDArray

G_MPS2: Final = 9.80665
"""Standard gravity: what a still accelerometer reads, in m/s²."""


def true_runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The [start, end) sample ranges where `mask` is True, in order."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
