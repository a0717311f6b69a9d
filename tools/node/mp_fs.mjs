// Shared by the MicroPython runners: argument parsing and copying source trees into the
// WebAssembly port's virtual filesystem.
//
// The WASM port has no native emitter: `@micropython.native` decorator lines are blanked (line
// numbers kept) and the code runs as bytecode, which is the same Python semantics; mpy-cross
// still compiles the native code for xtensawin in the test suite. `@micropython.viper` changes
// integer semantics, so it is refused rather than silently run as something else.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export function parseArgs(argv) {
  const args = { only: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (key === "only") args.only.push(argv[i + 1]);
    else args[key] = argv[i + 1];
  }
  return args;
}

export function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === "__pycache__" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

export function prepare(source, path) {
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const stripped = lines[i].trim();
    if (stripped === "@micropython.viper") {
      throw new Error(`${path}:${i + 1}: @micropython.viper is not allowed in firmware (see mp_fs.mjs)`);
    }
    if (stripped === "@micropython.native") lines[i] = "";
  }
  return lines.join("\n");
}

export function copyTree(mp, source, target, transform) {
  const files = [];
  for (const path of walk(source)) {
    const rel = relative(source, path);
    const dest = `${target}/${rel.split("\\").join("/")}`;
    mp.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")));
    const data = path.endsWith(".py") && transform ? transform(readFileSync(path, "utf8"), path) : readFileSync(path);
    mp.FS.writeFile(dest, data);
    files.push(rel.split("\\").join("/"));
  }
  return files;
}
