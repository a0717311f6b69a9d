"""Every firmware test and every firmware module, run again under real MicroPython (WASM port)."""

import ast
from functools import cache
from pathlib import Path

import pytest
from tooling import FIRMWARE, FIRMWARE_TESTS, HarnessRun, run_micropython


def _firmware_test_names() -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for path in sorted(FIRMWARE_TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        names += [
            (path.stem, node.name)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
    return names


def _firmware_modules() -> list[str]:
    modules: list[str] = []
    for path in sorted(FIRMWARE.rglob("*.py")):
        parts = list(path.relative_to(FIRMWARE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))  # main too: importing it must do nothing
    return modules


@cache
def _run() -> HarnessRun:
    return run_micropython()


def _result(module: str, name: str) -> dict[str, object]:
    run = _run()
    for result in run.results:
        if (result["module"], result["name"]) == (module, name):
            return result
    for result in run.results:
        if (result["module"], result["name"]) == (module, "<import>"):
            return result
    raise AssertionError(f"MicroPython never ran {module}.{name}:\n{run.output[-3000:]}")


@pytest.mark.parametrize(("module", "name"), _firmware_test_names())
def test_under_micropython(module: str, name: str) -> None:
    result = _result(module, name)
    assert result["ok"], f"under MicroPython: {result['error']}"


@pytest.mark.parametrize("module", _firmware_modules())
def test_firmware_module_imports_under_micropython(module: str) -> None:
    result = _result("<firmware>", module)
    assert result["ok"], f"importing {module} under MicroPython: {result['error']}"


def test_harness_reports_no_failures_overall() -> None:
    run = _run()
    assert run.returncode == 0, run.output[-3000:]
    assert run.results, "the harness ran no tests"


INCOMPATIBLE = {
    "match statement": "\ndef _probe(x):\n    match x:\n        case 1:\n            return 1\n",
    "CPython-only module": "\nimport dataclasses\n",
    "CPython-only API": "\nimport struct\n_probe = list(struct.iter_unpack('<h', b'\\x00\\x00'))\n",
}


@pytest.mark.parametrize("construct", sorted(INCOMPATIBLE))
def test_an_incompatible_construct_in_firmware_fails_the_suite(
    construct: str, tmp_path: Path
) -> None:
    firmware = tmp_path / "firmware"
    (firmware / "pod").mkdir(parents=True)
    for path in (FIRMWARE / "pod").glob("*.py"):
        (firmware / "pod" / path.name).write_text(path.read_text())
    target = firmware / "pod" / "protocol.py"
    target.write_text(target.read_text() + INCOMPATIBLE[construct])
    run = run_micropython(firmware=firmware)
    assert run.returncode != 0
    assert any(r["name"] == "pod.protocol" and not r["ok"] for r in run.results), run.output[-2000:]


def test_native_decorator_runs_as_bytecode_and_viper_is_refused(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    (firmware / "pod").mkdir(parents=True)
    (firmware / "pod" / "__init__.py").write_text("")
    (firmware / "pod" / "fast.py").write_text(
        "import micropython\n\n\n@micropython.native\ndef twice(x: int) -> int:\n    return 2 * x\n"
    )
    tests = tmp_path / "tests"
    tests.mkdir()
    for helper in ("runner.py", "fwtest.py"):
        (tests / helper).write_text((FIRMWARE_TESTS / helper).read_text())
    (tests / "test_fast.py").write_text(
        "from pod.fast import twice\n\n\ndef test_twice():\n    assert twice(21) == 42\n"
    )
    run = run_micropython(firmware=firmware, tests=tests)
    assert run.returncode == 0, run.output
    assert {(r["name"], r["ok"]) for r in run.results} >= {("test_twice", True)}

    (firmware / "pod" / "fast.py").write_text(
        "import micropython\n\n\n@micropython.viper\ndef twice(x: int) -> int:\n    return 2 * x\n"
    )
    refused = run_micropython(firmware=firmware, tests=tests)
    assert refused.returncode == 101
    assert "viper is not allowed" in refused.output
