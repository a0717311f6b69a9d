"""Provisioning tests share the pretend pod in `fakeboard.py` (this directory)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
