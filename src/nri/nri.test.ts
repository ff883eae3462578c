// NRI's runtime side against a small plugin written in the tests (test/fixtures/nri-plugin.ts; the same wire: ttrpc over NRI's
// multiplexer, the api.proto messages), with a fake runtime below the NriRuntime boundary; golden
// bytes pin the ttrpc and multiplexer framing to what the Go implementations write. critest's NRI
// specs (test/e2e/critest.slow.test.ts) run the real Go stub against the engine's CRI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect } from 'node:net';
import { once } from 'node:events';
import { isSkiffError } from '../common/index.js';
import { Nri, type NriRuntime } from './adaptation.js';
import { Mux } from './mux.js';
import { connectNriPlugin as plugin } from '../../test/fixtures/nri-plugin.js';
import { ttrpcRequest } from './proto.js';
import { encodeFrame, FrameDecoder, TtrpcError, TYPE_REQUEST } from './ttrpc.js';
import { NriEvent, type NriContainer, type NriContainerUpdate, type NriPodSandbox } from './types.js';

const dir = mkdtempSync('/tmp/sknri-');
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

test('ttrpc and mux framing: the bytes the Go implementations write', () => {
  const req = ttrpcRequest.encode({ service: 'a', method: 'b', payload: Buffer.from('x'), timeoutNano: 5 });
  const body = '0a0161' + '120162' + '1a0178' + '2005';
  assert.equal(req.toString('hex'), body);
  const frame = encodeFrame({ streamId: 3, type: TYPE_REQUEST, flags: 0, payload: req });
  assert.equal(frame.toString('hex'), '0000000b' + '00000003' + '01' + '00' + body);
  // a frame fed one byte at a time comes out once, whole
  const dec = new FrameDecoder();
  const got = [...frame].flatMap((b) => dec.push(Buffer.from([b])));
  assert.equal(got.length, 1);
  assert.deepEqual([got[0].streamId, got[0].type, got[0].payload.toString('hex')], [3, 1, body]);
  assert.throws(() => new FrameDecoder().push(Buffer.from('ffffffff000000010100', 'hex')), TtrpcError);
  // the multiplexer: connection id, length, bytes
  const trunk = new PassThrough();
  const out: Buffer[] = [];
  trunk.on('data', (d: Buffer) => out.push(d));
  new Mux(trunk, () => undefined).open(2, () => undefined)(Buffer.from('hi'));
  assert.equal(Buffer.concat(out).toString('hex'), '00000002' + '00000002' + '6869');
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

function runtime(): NriRuntime & { pods: NriPodSandbox[]; containers: NriContainer[]; updated: NriContainerUpdate[] } {
  const rt = {
    pods: [] as NriPodSandbox[],
    containers: [] as NriContainer[],
    updated: [] as NriContainerUpdate[],
    snapshot: () => ({ pods: [...rt.pods], containers: [...rt.containers] }),
    updateContainers: async (u: NriContainerUpdate[]) => {
      rt.updated.push(...u);
      return [];
    },
    evictContainer: async () => undefined,
  };
  return rt;
}

async function startNri(rt: NriRuntime, requestTimeoutMs = 2000) {
  const nri = new Nri(
    { socket: join(dir, `nri-${n++}.sock`), requestTimeoutMs, runtimeName: 'skiff', runtimeVersion: '0.1' },
    rt,
  );
  await nri.start();
  after(() => nri.stop());
  return nri;
}

const pod = (id: string): NriPodSandbox => ({ id, name: `p-${id}`, namespace: 'ns', uid: `u-${id}` });
const ctr = (id: string, podId: string): NriContainer => ({ id, podSandboxId: podId, name: `c-${id}` });

test('registration, configuration, synchronization, then events in plugin index order', async () => {
  const rt = runtime();
  rt.pods.push(pod('p0'));
  rt.containers.push(ctr('c0', 'p0'));
  const nri = await startNri(rt);
  assert.equal(statSync(nri.socket).mode & 0o777, 0o600);
  const late = await plugin(nri.socket, 'late', '10');
  await late.register();
  await until(() => nri.pluginNames().includes('10-late'), 'the first plugin');
  const configure = late.calls.find((c) => c.method === 'Configure')!.req;
  assert.equal(configure.runtimeName, 'skiff');
  assert.equal(configure.requestTimeout, 2000);
  assert.equal(configure.registrationTimeout, 5000);
  const sync = late.calls.find((c) => c.method === 'Synchronize')!.req as {
    pods: NriPodSandbox[];
    containers: NriContainer[];
  };
  assert.deepEqual([sync.pods.map((p) => p.id), sync.containers.map((c) => c.id)], [['p0'], ['c0']]);
  // a plugin subscribed to RunPodSandbox only (bit 0), with a lower index: it is called first
  const first = await plugin(nri.socket, 'first', '05', { events: 1 << (NriEvent.RunPodSandbox - 1) });
  await first.register();
  await until(() => nri.pluginNames().length === 2, 'the second plugin');
  assert.deepEqual(nri.pluginNames(), ['05-first', '10-late']);
  const order: string[] = [];
  for (const p of [first, late]) {
    const push = p.calls.push.bind(p.calls);
    p.calls.push = (...c) => (order.push(`${c[0].method}@${p === first ? 'first' : 'late'}`), push(...c));
  }
  let committed = false;
  await nri.runPodSandbox(pod('p1'), () => (committed = true));
  assert.ok(committed);
  await nri.createContainer(pod('p1'), ctr('c1', 'p1'), () => undefined);
  await nri.stopContainer(pod('p1'), ctr('c1', 'p1'));
  assert.deepEqual(order, ['RunPodSandbox@first', 'RunPodSandbox@late', 'CreateContainer@late', 'StopContainer@late']);
  const run = late.calls.find((c) => c.method === 'RunPodSandbox')!.req as { pod: NriPodSandbox };
  assert.deepEqual([run.pod.id, run.pod.name, run.pod.namespace, run.pod.uid], ['p1', 'p-p1', 'ns', 'u-p1']);
  // a bad index is refused at registration and never admitted
  // another runtime's live socket is never taken over
  const second = new Nri({ socket: nri.socket, runtimeName: 'other', runtimeVersion: '1' }, rt);
  await assert.rejects(
    second.start(),
    (e) => isSkiffError(e, 'FailedPrecondition') && /served by another process/.test(e.message),
  );
  const bad = await plugin(nri.socket, 'bad', 'x');
  await assert.rejects(bad.register(), /two digits/);
  assert.deepEqual(nri.pluginNames(), ['05-first', '10-late']);
});

test("a hook's error fails the step before its commit; a plugin past its deadline or gone is dropped", async () => {
  // a deadline far above what a call takes here even at a load of 20 (a few ms of CPU)
  const nri = await startNri(runtime(), 1500);
  let mode = 'fail';
  let unhang!: () => void;
  const hung = new Promise<void>((r) => (unhang = r));
  const p = await plugin(nri.socket, 'hooks', '00', {
    on: async (method) => {
      if (method !== 'RunPodSandbox') return;
      if (mode === 'fail') throw new TtrpcError(2, 'induced failure');
      if (mode === 'hang') await hung;
    },
  });
  await p.register();
  await until(() => nri.pluginNames().length === 1, 'the plugin');
  let committed = false;
  await assert.rejects(
    nri.runPodSandbox(pod('a'), () => (committed = true)),
    (e) => isSkiffError(e, 'FailedPrecondition') && /00-hooks failed RunPodSandbox: induced failure/.test(e.message),
  );
  assert.equal(committed, false);
  mode = 'hang';
  const t0 = Date.now();
  await nri.runPodSandbox(pod('b'), () => (committed = true));
  assert.ok(committed, 'a plugin past its deadline does not fail the step');
  assert.ok(Date.now() - t0 >= 1490, 'the step waited for the deadline');
  assert.deepEqual(nri.pluginNames(), []);
  unhang();
  // garbage on the socket (a mux chunk claiming 4 GiB) drops that connection, nothing else
  const junk = connect(nri.socket);
  await once(junk, 'connect');
  junk.write(Buffer.from('00000001ffffffff0000', 'hex'));
  await once(junk, 'close');
  // a plugin that disconnects is dropped; steps go on without it
  const q = await plugin(nri.socket, 'gone', '01');
  await q.register();
  await until(() => nri.pluginNames().length === 1, 'the second plugin');
  q.sock.destroy();
  await until(() => nri.pluginNames().length === 0, 'the disconnect');
  await nri.runPodSandbox(pod('c'));
});

test('a container created while a plugin synchronizes reaches it after its Synchronize', async () => {
  const rt = runtime();
  rt.pods.push(pod('p'));
  const nri = await startNri(rt);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const p = await plugin(nri.socket, 'slow', '00', {
    on: async (method) => {
      if (method === 'Synchronize') await held;
      if (method === 'Synchronize') return { update: [{ containerId: 'c0', ignoreFailure: true }] };
    },
  });
  await p.register();
  await until(() => p.calls.some((c) => c.method === 'Synchronize'), 'the Synchronize call');
  // CreateContainer while Synchronize is held: it waits, then reaches the plugin as an event
  const created = nri.createContainer(pod('p'), ctr('c1', 'p'), () => void rt.containers.push(ctr('c1', 'p')));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(!p.calls.some((c) => c.method === 'CreateContainer'));
  release();
  await created;
  assert.deepEqual(
    p.calls.map((c) => c.method),
    ['Configure', 'Synchronize', 'CreateContainer'],
  );
  assert.deepEqual(
    rt.updated.map((u) => u.containerId),
    ['c0'],
    "the Synchronize reply's updates are applied",
  );
});
