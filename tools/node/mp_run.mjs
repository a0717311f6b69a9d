// Run one Python script under MicroPython (WebAssembly port) with the firmware on its path.
// usage: node mp_run.mjs --firmware DIR --shims DIR --script FILE
import { readFileSync } from "node:fs";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { copyTree, parseArgs, prepare } from "./mp_fs.mjs";

const args = parseArgs(process.argv.slice(2));
const mp = await loadMicroPython({ heapsize: 8 * 1024 * 1024, stdout: (l) => console.log(l), stderr: (l) => console.error(l) });
copyTree(mp, args.firmware, "/repo/firmware", prepare);
copyTree(mp, args.shims, "/repo/shims", null);
try {
  mp.runPython(`import sys\nsys.path[:0] = ["/repo/firmware", "/repo/shims"]\n` + readFileSync(args.script, "utf8"));
} catch (error) {
  console.error(String(error.message || error));
  process.exit(1);
}
