"""The paired-pods file: the pods this host was paired with, which `gaitchain record` connects to
when no `--pods` are given (the host never connects to a pod the user did not choose).

JSON, `{"format": "gaitchain-paired-pods", "version": 1, "pods": [{"address", "pod_id", "name",
"segment", "side"}, ...]}`; default `$GAITCHAIN_PODS` or `~/.config/gaitchain/pods.json`.
Saving replaces the file atomically (temporary file, then rename).
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FORMAT = "gaitchain-paired-pods"


@dataclass(frozen=True)
class PairedPod:
    address: str
    pod_id: int
    name: str
    segment: str
    side: str


def default_path() -> Path:
    configured = os.environ.get("GAITCHAIN_PODS")
    if configured:
        return Path(configured)
    return Path.home() / ".config" / "gaitchain" / "pods.json"


def load_paired(path: Path) -> list[PairedPod]:
    """The pods in `path` (none if it does not exist); a damaged file is an error naming it."""
    if not path.exists():
        return []
    try:
        data: Any = json.loads(path.read_text())
        if data.get("format") != FORMAT or data.get("version") != 1:
            raise ValueError("not a version-1 gaitchain paired-pods file")
        return [
            PairedPod(
                str(p["address"]),
                int(p["pod_id"]),
                str(p["name"]),
                str(p["segment"]),
                str(p["side"]),
            )
            for p in data["pods"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path}: cannot read the paired pods ({error}); fix or delete the file and pair again"
        ) from None


def save_paired(path: Path, pods: list[PairedPod]) -> None:
    """Write `pods` (one entry per address, in order) to `path` atomically."""
    unique = {p.address: p for p in pods}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"format": FORMAT, "version": 1, "pods": [asdict(p) for p in unique.values()]}, indent=1
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(path)
