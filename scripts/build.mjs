#!/usr/bin/env node
// Build: esbuild bundles each CLI entry into one ESM file (a small import graph keeps start-up fast,
// which matters for `skiff-runtime` that containerd calls per operation), then `make -C native`.
// Type checking is `npm run lint` (tsc --noEmit); bundling does not need it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  skiff: 'src/cli/main.ts',
  'skiff-runtime': 'src/cli/runtime-main.ts',
};
const { build } = await import('esbuild');
mkdirSync(join(root, 'dist'), { recursive: true });
const present = Object.fromEntries(Object.entries(entries).filter(([, src]) => existsSync(join(root, src)))
  .map(([name, src]) => [name, join(root, src)]));
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
    banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
    logLevel: 'warning',
});
if (existsSync(join(root, 'native', 'Makefile'))) {
  execFileSync('make', ['-s', '-C', join(root, 'native')], { stdio: 'inherit' });
}
writeFileSync(join(root, 'dist', '.stamp'), new Date().toISOString() + '\n');
