"""Run firmware tests inside MicroPython (WASM port); one RESULT line per test, as JSON.

Started by tools/node/mp_harness.mjs with `run(modules, firmware_modules)`. Plain functions named
test_* are tests; an exception is a failure. Every firmware module is also imported on its own.
"""

import json
import sys


def _report(module: str, name: str, error: object) -> None:
    print(
        "RESULT "
        + json.dumps(
            {
                "module": module,
                "name": name,
                "ok": error is None,
                "error": None if error is None else str(error),
            }
        )
    )


def _describe(error: BaseException) -> str:
    return "%s: %s" % (type(error).__name__, error)


def _run_module(module_name: str) -> int:
    failed = 0
    try:
        module = __import__(module_name)
    except Exception as error:  # an import failure fails every test of the module
        _report(module_name, "<import>", _describe(error))
        return 1
    for name in sorted(dir(module)):
        if not name.startswith("test_"):
            continue
        function = getattr(module, name)
        try:
            function()
        except Exception as error:
            sys.print_exception(error)  # type: ignore[attr-defined]
            _report(module_name, name, _describe(error))
            failed += 1
        else:
            _report(module_name, name, None)
    return failed


def run(test_modules: list, firmware_modules: list) -> int:
    failed = 0
    for name in firmware_modules:
        try:
            __import__(name)
        except Exception as error:
            _report("<firmware>", name, _describe(error))
            failed += 1
        else:
            _report("<firmware>", name, None)
    for name in test_modules:
        failed += _run_module(name)
    return failed
