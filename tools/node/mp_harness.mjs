// Run gaitchain's firmware tests under real MicroPython (the WebAssembly port).
//
// usage: node mp_harness.mjs --firmware DIR --tests DIR [--golden DIR] [--shims DIR]
//                            [--only MODULE ...]
//
// Copies the firmware tree, the firmware tests (with their fakes/) and the MicroPython stand-ins
// (--shims: gaitchain's sim/mpshim; MicroPython's own built-in modules win over them) into
// MicroPython's virtual filesystem under /repo, then runs tests/firmware/runner.py.
// Lines starting with RESULT are JSON results; the exit code is the number of failures (max 100),
// or 101 when the harness itself could not run.
//
// `@micropython.native` and `@micropython.viper` are handled as mp_fs.mjs describes.
import { relative } from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { copyTree, parseArgs, prepare, walk } from "./mp_fs.mjs";

const args = parseArgs(process.argv.slice(2));
if (!args.firmware || !args.tests) {
  console.error("usage: node mp_harness.mjs --firmware DIR --tests DIR [--golden DIR] [--shims DIR]");
  process.exit(101);
}
const output = [];
const mp = await loadMicroPython({
  heapsize: 8 * 1024 * 1024,
  stdout: (line) => { output.push(line); console.log(line); },
  stderr: (line) => console.error(line),
});

let firmwareModules;
try {
  const files = copyTree(mp, args.firmware, "/repo/firmware", prepare);
  firmwareModules = files
    .filter((f) => f.endsWith(".py"))
    .map((f) => f.slice(0, -3).replace(/\/__init__$/, "").split("/").join("."));
  copyTree(mp, args.tests, "/repo/tests/firmware", null);
  if (args.golden) copyTree(mp, args.golden, "/repo/tests/golden", null);
  if (args.shims) copyTree(mp, args.shims, "/repo/shims", null);
} catch (error) {
  console.error(String(error.message || error));
  process.exit(101);
}

const testModules = (args.only.length ? args.only : walk(args.tests)
  .map((p) => relative(args.tests, p))
  .filter((f) => /^test_[^/]*\.py$/.test(f))
  .map((f) => f.slice(0, -3))).sort();

let failed;
try {
  mp.runPython(`
import sys
sys.path[:0] = ["/repo/firmware", "/repo/shims", "/repo/tests/firmware/fakes", "/repo/tests/firmware"]
import runner
_failed = runner.run(${JSON.stringify(testModules)}, ${JSON.stringify(firmwareModules)})
`);
  failed = mp.globals.get("_failed");
} catch (error) {
  console.error(String(error.message || error));
  process.exit(101);
}
const results = output.filter((l) => l.startsWith("RESULT ")).map((l) => JSON.parse(l.slice(7)));
const passed = results.filter((r) => r.ok).length;
console.log(`micropython: ${passed} passed, ${results.length - passed} failed`);
process.exit(Math.min(failed, 100));
