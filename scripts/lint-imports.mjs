#!/usr/bin/env node
// Enforces the import rules between src/ folders (the table is scripts/import-rules.mjs; docs/
// architecture.md's component table is generated from it by scripts/arch-doc.mjs):
//  - a folder is entered only through its index.ts (no deep imports into another component);
//  - imports point downward along the layer order below; cli/ and cluster/ may wire anything;
//  - the table is exact: an allowed edge that no import uses, or a component without a folder, is
//    reported too (the table documents the real graph, not a wish list);
//  - inside a component, the layers of LAYERS hold (e.g. the engine's services never import its
//    HTTP layer: routes depend on services, services on nothing above them).
// Written here rather than with an ESLint plugin: the rule is a dozen lines over a layer table,
// and plain Node keeps `npm run lint` free of a plugin stack.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOWED, LAYERS, ROLES } from './import-rules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function componentOf(file) {
  const rel = relative(src, file).split(sep);
  if (rel[0] === 'kube' && rel.length > 2) return `kube/${rel[1]}`;
  return rel[0];
}

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
const used = new Set();
const under = (file, dir) => relative(join(src, dir), file).split(sep)[0] !== '..';
const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const file of walk(src)) {
  const from = componentOf(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(src + sep)) continue;
    const to = componentOf(target.replace(/\.js$/, '.ts'));
    if (to === from) {
      for (const [layer, banned] of Object.entries(LAYERS))
        if (under(file, layer))
          for (const b of banned)
            if (under(target, b))
              problems.push(`${relative(root, file)}: import '${spec}': ${layer} may not import ${b} (layering)`);
      continue;
    }
    used.add(`${from} -> ${to}`);
    const rel = relative(src, target).split(sep);
    const depth = to.includes('/') ? 2 : 1;
    const isIndex = rel.length === depth + 1 && /^index\.(js|ts)$/.test(rel[depth]);
    const where = `${relative(root, file)}: import '${spec}'`;
    if (!isIndex) problems.push(`${where} reaches inside ${to}/ (import its index.js)`);
    const allowed = ALLOWED[from] ?? [];
    if (allowed !== '*' && !allowed.includes(to)) problems.push(`${where}: ${from} may not import ${to}`);
  }
}
const exists = (c) => {
  try {
    return readdirSync(join(src, c)).length > 0;
  } catch {
    return false;
  }
};
const components = readdirSync(src, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .flatMap((e) =>
    e.name === 'kube'
      ? readdirSync(join(src, 'kube'), { withFileTypes: true })
          .filter((k) => k.isDirectory())
          .map((k) => `kube/${k.name}`)
      : [e.name],
  );
for (const c of components) {
  if (!(c in ALLOWED)) problems.push(`scripts/import-rules.mjs: component ${c} has no row in the table`);
  if (!(c in ROLES)) problems.push(`scripts/import-rules.mjs: component ${c} has no role`);
}
for (const [from, allowed] of Object.entries(ALLOWED)) {
  if (!exists(from)) problems.push(`scripts/import-rules.mjs: component ${from} has no folder under src/`);
  if (allowed === '*') continue;
  for (const to of allowed)
    if (!used.has(`${from} -> ${to}`))
      problems.push(`scripts/import-rules.mjs: ${from} -> ${to} is allowed but unused`);
}
if (problems.length) {
  process.stderr.write(problems.join('\n') + `\n${problems.length} import rule violation(s)\n`);
  process.exit(1);
}
process.stdout.write('import rules: ok\n');
