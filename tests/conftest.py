"""Shared fixtures: paths to the golden vectors and the public recordings in ../shared/data."""

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN_PROTOCOL = REPO / "tests" / "golden" / "protocol_v1.json"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN_PROTOCOL.read_text())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"public recordings not found at {SHARED_DATA} (clone with ../shared beside it)"
        )
    return SHARED_DATA


sys.path.insert(0, str(Path(__file__).resolve().parent))
