# pyright: strict
"""Calibration tests share the simulated bench in `calibration_bench.py` (this directory)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
