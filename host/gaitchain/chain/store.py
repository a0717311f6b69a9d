"""Where the fitted driver models live: the versioned JSON in the package, and its classes."""

import json
from pathlib import Path
from typing import Any, Final

from ..sim.walk import DRIVERS
from .battery import SIDES
from .model import SoftmaxModel

CLASSES: Final = ("healthy", *(f"{side}-{d}" for d in DRIVERS for side in SIDES))
MODEL_PATH: Final = Path(__file__).with_name("driver_model.json")
MODEL_SCHEMA: Final = "gaitchain-driver-model"
MODEL_VERSION: Final = 1


def load_models(path: Path | str = MODEL_PATH) -> dict[str, tuple[SoftmaxModel, dict[str, Any]]]:
    """The stored models with their normal ranges; refuses a file of another schema or a newer
    version."""
    doc = json.loads(Path(path).read_text())
    if doc.get("schema") != MODEL_SCHEMA:
        raise ValueError(f"{path}: not a {MODEL_SCHEMA} file")
    if int(doc.get("version", 0)) > MODEL_VERSION:
        raise ValueError(f"{path}: model version {doc['version']} is newer than this gaitchain")
    return {
        name: (SoftmaxModel.from_json(entry), entry["normal"])
        for name, entry in doc["models"].items()
    }
