// Differential: the real kubectl 1.32 against the real kube-apiserver 1.32.4 and against `skiff
// server --disable-controller-manager --disable-scheduler` (neither side runs controllers), the same
// command lines and raw requests on both, outputs compared once normalised
// (kubectl-differential-harness.ts; accepted differences are its ACCEPTED list). Cases are in
// kubectl-differential-cases.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';
import { kubeApiServerBinary, startKubeApiServer, type KubeApiServer } from '../fixtures/kube-apiserver.js';
import { KubectlDifferential, kubectl } from './kubectl-differential-harness.js';
import { GROUPS } from './kubectl-differential-cases.js';

const tmp = mkdtempSync(join(tmpdir(), 'skiff-kdiff-'));
const d = new KubectlDifferential(suffix(), tmp);
let peer: KubeApiServer | undefined;
let skiff: SkiffServer | undefined;

describe('kubectl 1.32 against kube-apiserver 1.32.4 and skiff server', { concurrency: 1 }, () => {
  before(async () => {
    const bin = kubeApiServerBinary(ROOT);
    [peer, skiff] = await Promise.all([
      startKubeApiServer(bin),
      startSkiffServer('sqlite', { args: ['--disable-controller-manager', '--disable-scheduler'] }),
    ]);
    const home = (n: string) => mkdtempSync(join(tmp, `home-${n}-`));
    d.sides = [
      { name: 'kube-apiserver', kubeconfig: peer.kubeconfig, home: home('kube'), url: peer.url, creds: peer.creds },
      { name: 'skiff', kubeconfig: skiff.kubeconfig, home: home('skiff'), url: skiff.url, creds: skiff.creds },
    ];
    // Input files both sides read: a TLS pair (the peer's serving certificate) and plain files.
    copyFileSync(join(peer.dir, 'server.crt'), join(tmp, 'tls.crt'));
    copyFileSync(join(peer.dir, 'server.key'), join(tmp, 'tls.key'));
    writeFileSync(join(tmp, 'app.properties'), 'color=blue\nsize=3\n');
    writeFileSync(join(tmp, 'env.txt'), 'A=1\nB=two\n');
    writeFileSync(join(tmp, 'readme'), 'hello\n');
    void readFileSync;
  });
  after(async () => {
    // Namespaces stay on the peer (no namespace controller finishes them): both servers and their
    // data go with their processes.
    await Promise.all([peer?.stop(), skiff?.stop()]);
    rmSync(tmp, { recursive: true, force: true });
    process.stderr.write(
      `kubectl differential: ${d.matched.length} cases matched, ${d.differed.length} differed\n${d.differed
        .map((t) => `  differs: ${t}`)
        .join('\n')}\n`,
    );
  });

  it('both servers answer kubectl', async () => {
    for (const side of d.sides) {
      const r = await kubectl(side, ['get', 'ns', 'default', '-o', 'name']);
      assert.equal(r.stdout.trim(), 'namespace/default', `${side.name}: ${r.stderr}`);
    }
  });

  for (const [title, list] of GROUPS) d.cases(title, list);
});
