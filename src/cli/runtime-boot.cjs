#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// bin/skiff-runtime (a symlink to dist/skiff-runtime.cjs, copied from src/cli/runtime-boot.cjs by
// scripts/build.mjs). containerd runs the runtime once per container operation, so its start-up is
// what users wait for. This loader:
// - is CommonJS, like the bundle it loads (dist/skiff-runtime-main.cjs): Node's ESM loader costs a
//   short-lived process ~10 ms of CPU;
// - compiles the bundle with a V8 code cache (dist/skiff-runtime-main.cjs.cache), written at exit when
//   missing or rejected (a rebuilt bundle), and rewritten once by a create/run/exec so it holds the
//   functions those hot paths compile (Node 20 has no module.enableCompileCache);
// - runs without NODE_EXTRA_CA_CERTS (the shebang unsets it): the runtime does no TLS, and parsing a
//   CA bundle at start-up costs Node tens of milliseconds.
'use strict';
const { readFileSync, writeFileSync, renameSync, unlinkSync } = require('node:fs');
const { Script } = require('node:vm');
const { join } = require('node:path');
const Module = require('node:module');

const file = join(__dirname, 'skiff-runtime-main.cjs');
const cacheFile = `${file}.cache`;
const markFile = `${cacheFile}.by`;
let source;
try {
  source = readFileSync(file, 'utf8');
} catch (e) {
  process.stderr.write(`skiff-runtime: ${e.message}\n(run \`npm run build\` first?)\n`);
  process.exit(1);
}
let cached;
try {
  cached = readFileSync(cacheFile);
} catch {
  /* first run */
}
const script = new Script(Module.wrap(source), { filename: file, cachedData: cached });
const hot = new Set(['create', 'run', 'exec']);
const cmd = process.argv
  .slice(2)
  .find((a, i, all) => !a.startsWith('-') && !/^--?(root|log|log-format|criu|rootless)$/.test(all[i - 1] ?? ''));
let writeCache = !cached || script.cachedDataRejected === true;
if (!writeCache && hot.has(cmd)) {
  try {
    writeCache = !hot.has(readFileSync(markFile, 'utf8'));
  } catch {
    writeCache = true;
  }
}
if (writeCache) {
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
      writeFileSync(markFile, String(cmd ?? ''));
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        /* not written */
      }
    } // read-only install: run without a cache
  });
}
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, __dirname);
