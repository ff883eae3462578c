#!/usr/bin/env node
// Build: esbuild bundles each CLI entry into one ESM file (a small import graph keeps start-up fast,
// which matters for `skiff-runtime` that containerd calls per operation), then `make -C native`.
// Type checking is `npm run lint` (tsc --noEmit); bundling does not need it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, rmSync, copyFileSync, chmodSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  skiff: 'src/cli/main.ts',
};
// bin/skiff-runtime is started by containerd (or the engine) per container operation: one CommonJS
// file, no chunks (Node's ESM loader and several module loads cost a short-lived process), loaded by
// src/cli/runtime-boot.cjs with a V8 code cache; bin/skiff-runtime links to that loader.
const single = {
  'skiff-runtime-main': 'src/cli/runtime-main.ts',
};
const { build } = await import('esbuild');
mkdirSync(join(root, 'dist'), { recursive: true });
const present = Object.fromEntries(
  Object.entries(entries)
    .filter(([, src]) => existsSync(join(root, src)))
    .map(([name, src]) => [name, join(root, src)]),
);
// Code splitting: each CLI verb is a dynamic import, so it becomes its own chunk and a command loads
// only what it uses.
await build({
  entryPoints: present,
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Native addons and large optional clients stay external: loaded from node_modules when used.
  external: ['better-sqlite3', 'etcd3', '@grpc/*', 'cpu-features', 'ssh2'],
  banner: {
    js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
for (const [name, src] of Object.entries(single)) {
  if (!existsSync(join(root, src))) continue;
  await build({
    entryPoints: { [name]: join(root, src) },
    outdir: join(root, 'dist'),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'linked',
    define: { 'import.meta.url': '__skiffImportMetaUrl' },
    banner: { js: "const __skiffImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  rmSync(join(root, 'dist', `${name}.cjs.cache`), { force: true }); // stale for the new bundle
  // The loader compiles it with vm.Script, which has no dynamic import(): import built-ins statically.
  if (/\bimport\(/.test(readFileSync(join(root, 'dist', `${name}.cjs`), 'utf8')))
    throw new Error(`dist/${name}.cjs: dynamic import() of an external module; import it statically`);
}
if (existsSync(join(root, 'src/cli/runtime-boot.cjs'))) {
  copyFileSync(join(root, 'src/cli/runtime-boot.cjs'), join(root, 'dist/skiff-runtime.cjs'));
  chmodSync(join(root, 'dist/skiff-runtime.cjs'), 0o755);
  rmSync(join(root, 'dist/skiff-runtime.mjs'), { force: true }); // the former ESM build
  rmSync(join(root, 'dist/skiff-runtime.mjs.map'), { force: true });
}
// The CRI wire contract, loaded at run time by @grpc/proto-loader (src/cri/server.ts finds it here).
if (existsSync(join(root, 'src/cri/proto/api.proto'))) {
  mkdirSync(join(root, 'dist/proto'), { recursive: true });
  copyFileSync(join(root, 'src/cri/proto/api.proto'), join(root, 'dist/proto/api.proto'));
}
// NRI's wire contract, loaded at run time by protobufjs (src/nri/proto.ts finds it here).
if (existsSync(join(root, 'src/nri/proto/api.proto'))) {
  mkdirSync(join(root, 'dist/proto'), { recursive: true });
  copyFileSync(join(root, 'src/nri/proto/api.proto'), join(root, 'dist/proto/nri-api.proto'));
}
// The built-in kinds' protobuf descriptors (src/kube/apiserver/protobuf.ts reads them on first use).
if (existsSync(join(root, 'src/kube/apiserver/proto/kube.json'))) {
  mkdirSync(join(root, 'dist/proto'), { recursive: true });
  copyFileSync(join(root, 'src/kube/apiserver/proto/kube.json'), join(root, 'dist/proto/kube.json'));
}
if (existsSync(join(root, 'native', 'Makefile'))) {
  execFileSync('make', ['-s', '-C', join(root, 'native')], { stdio: 'inherit' });
}
writeFileSync(join(root, 'dist', '.stamp'), new Date().toISOString() + '\n');
