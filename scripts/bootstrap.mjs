#!/usr/bin/env node
// Bootstrap in plain Node (no dependencies): makes a fresh Debian machine with Node 20 ready to run
// and test Skiff. Idempotent and quick when everything is already there.
//   1. refuse to go on unless root (containers, cgroups and iptables need it);
//   2. apt-install the Debian packages that are missing;
//   3. `npm ci` when node_modules is missing or older than package-lock.json, with the compiled
//      addon of better-sqlite3 kept in a machine-wide cache (compiling it is most of a fresh
//      clone's install time: no prebuilt binaries can be downloaded here);
//   4. build (esbuild bundles + native helpers) when a source is newer than its output.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => process.stderr.write(`[bootstrap] ${m}\n`);

// Debian packages, keyed by a file that proves the package is present.
export const PACKAGES = {
  'busybox-static': '/bin/busybox',
  iptables: '/usr/sbin/iptables',
  iproute2: '/usr/sbin/ip',
  'libseccomp-dev': '/usr/include/seccomp.h',
  gcc: '/usr/bin/gcc',
  make: '/usr/bin/make',
  'etcd-server': '/usr/bin/etcd',
  runc: '/usr/sbin/runc',
  'docker.io': '/usr/sbin/dockerd',
  'docker-registry': '/usr/bin/docker-registry',
  skopeo: '/usr/bin/skopeo',
  'docker-compose': '/usr/bin/docker-compose',
  // zstd-compressed image archives for the preload tests (agent/images/*.tar.zst).
  zstd: '/usr/bin/zstd',
  nftables: '/usr/sbin/nft',
  procps: '/usr/bin/pgrep',
  attr: '/usr/bin/setfattr',
  openssl: '/usr/bin/openssl',
  // musl's resolver is one of the clients the cluster DNS is tested with (a static test program).
  'musl-tools': '/usr/bin/musl-gcc',
  // The service proxy clears stale UDP flows with it, as kube-proxy does.
  conntrack: '/usr/sbin/conntrack',
  // The DNS benchmark's load generator.
  dnsperf: '/usr/bin/dnsperf',
  // The official Kubernetes Python client (22.6), the API server's third client in the e2e suite.
  'python3-kubernetes': '/usr/lib/python3/dist-packages/kubernetes/__init__.py',
};

function requireRoot() {
  if (process.getuid && process.getuid() !== 0) {
    say('Skiff needs root: it creates namespaces, cgroups, mounts and iptables rules.');
    say('Run again as root, e.g. `sudo npm start` or `sudo npm test`.');
    process.exit(1);
  }
}

function aptInstall() {
  const missing = Object.entries(PACKAGES)
    .filter(([, f]) => f && !existsSync(f))
    .map(([p]) => p);
  if (missing.length === 0) return;
  say(`installing Debian packages: ${missing.join(' ')}`);
  // Keep package scripts from starting daemons (docker.io, etcd) on the host: we start our own
  // instances on private sockets. Only add the policy file when none exists, and remove only ours.
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (ours) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    let r = run(['install', '-y', '--no-install-recommends', ...missing]);
    if (r.status !== 0) {
      run(['update']);
      r = run(['install', '-y', '--no-install-recommends', ...missing]);
    }
    if (r.status !== 0) throw new Error(`apt-get install failed for: ${missing.join(' ')}`);
  } finally {
    if (ours) unlinkSync(policy);
  }
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(dir, exts) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, mtime(p));
  }
  return t;
}

function npmCi() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && mtime(marker) >= mtime(join(root, 'package-lock.json'))) return false;
  say('installing npm packages (npm ci)');
  // Install scripts are run below only for the packages that need one: the optional native parts of
  // ssh2 and cpu-features (dockerode's SSH transport, unused here) would only cost compile time.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: root, stdio: 'inherit' });
  nativeAddon('better-sqlite3', 'build/Release/better_sqlite3.node', "new (require('better-sqlite3'))(':memory:')");
  execFileSync('npm', ['rebuild', 'esbuild'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  return true;
}

// A compiled addon is reused across clones from a cache keyed by the package's version and Node's
// ABI; on a miss (or if the cached file does not load) it is built by the package's own script.
const NATIVE_CACHE = '/var/cache/skiff/npm-native';
function nativeAddon(name, rel, probe) {
  const dir = join(root, 'node_modules', name);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const key = `${name}-${version}-abi${process.versions.modules}-${process.platform}-${process.arch}.node`;
  const cached = join(NATIVE_CACHE, key);
  const target = join(dir, rel);
  const loads = () => spawnSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'ignore' }).status === 0;
  if (existsSync(cached)) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(cached, target);
    if (loads()) return;
    say(`cached ${key} does not load; building it`);
  }
  say(`building ${name} (native addon)`);
  execFileSync('npm', ['rebuild', name], { cwd: root, stdio: 'inherit' });
  if (!loads()) throw new Error(`${name} was built but does not load`);
  mkdirSync(NATIVE_CACHE, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  copyFileSync(target, tmp);
  renameSync(tmp, cached);
}

function build() {
  const src = Math.max(
    newest(join(root, 'src'), ['.ts']),
    newest(join(root, 'native'), ['.c', '.h', 'Makefile']),
    mtime(join(root, 'scripts', 'build.mjs')),
  );
  const out = mtime(join(root, 'dist', '.stamp'));
  if (out >= src) return;
  say('building');
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}

requireRoot();
aptInstall();
if (!npmCi()) build();
