"""Pod firmware, steady-state sample -> encode -> backlog -> notify path.

    .venv/bin/python benchmarks/firmware_bench.py

Runs benchmarks/firmware_workload.py under MicroPython (WebAssembly port, where `gc.mem_alloc()`
measures the heap) and under CPython in the same run, and prints the heap allocated per batch
(target 0), the CPU time per sample in each interpreter and their ratio, and bytes on air per
sample at the default batch (from the protocol spec).
"""

import os
import subprocess
import sys
from pathlib import Path

from gaitchain.protocol import spec

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "benchmarks" / "firmware_workload.py"
SHIMS = REPO / "host" / "gaitchain" / "sim" / "mpshim"
ATT_L2CAP_BYTES = 7


def _results(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("RESULT "):
            _, name, value = line.split()
            values[name] = float(value)
    return values


def main() -> None:
    micropython = subprocess.run(
        [
            "node",
            str(REPO / "tools" / "node" / "mp_run.mjs"),
            "--firmware",
            str(REPO / "firmware"),
            "--shims",
            str(SHIMS),
            "--script",
            str(WORKLOAD),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "firmware"), str(SHIMS)]))
    cpython = subprocess.run(
        [sys.executable, str(WORKLOAD)], capture_output=True, text=True, check=True, env=env
    )
    mp, cp = _results(micropython.stdout), _results(cpython.stdout)
    batch = spec.DEFAULT_SAMPLES_PER_BATCH
    value_bytes = spec.SAMPLES_PREFIX_BYTES + batch * spec.ACC_GYR_RECORD_BYTES
    print(f"pod path: FIFO -> sampler -> encoder -> backlog -> notify, {batch}-sample batches")
    print(
        f"  heap allocated per batch (MicroPython)   {mp['bytes_allocated_per_batch']:8.1f} B"
        f"   target 0: {'met' if mp['bytes_allocated_per_batch'] == 0 else 'NOT met'}"
    )
    print(f"  CPU per sample, MicroPython (WASM)       {mp['us_per_sample']:8.2f} us")
    print(f"  CPU per sample, CPython                  {cp['us_per_sample']:8.2f} us")
    ratio = mp["us_per_sample"] / cp["us_per_sample"]
    print(f"  MicroPython / CPython                    {ratio:8.1f} x")
    print(
        f"  at 480 Hz the path takes {480 * mp['us_per_sample'] / 1e4:.2f} % of one core "
        "(MicroPython WASM on this machine; not an ESP32-S3 figure)"
    )
    print(
        f"  bytes on air per sample (ATT+L2CAP), default batch: "
        f"{(value_bytes + ATT_L2CAP_BYTES) / batch:.2f} B vs 12 B raw"
    )


if __name__ == "__main__":
    main()
