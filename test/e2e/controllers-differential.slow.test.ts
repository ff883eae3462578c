// Differential: the same kubectl 1.32 scenarios (controllers-differential-scenarios.ts) on two fresh
// `skiff server`s with simulated nodes — one running Skiff's controllers, one running the real
// kube-controller-manager 1.32.4 (--controllers=*) against `--disable-controller-manager` — and
// the settled objects and Events of every scenario compared field by field. Only the differences
// listed in ACCEPTED (controllers-differential-harness.ts) may remain.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import {
  accepted,
  buildPeer,
  compare,
  snapshot,
  startSide,
  waitFor,
  type Difference,
  type Side,
  type Snapshot,
} from './controllers-differential-harness.js';
import { SCENARIOS, type Scenario } from './controllers-differential-scenarios.js';
import { sleep } from './kubectl-harness.js';

const only = process.env.SKIFF_DIFF_ONLY?.split(',');
const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
const nsOf = (s: Scenario) => `d-${s.name}`;

/** Snapshots until two in a row, 2 s apart, are equal (both sides' controllers are quiet). */
async function settled(side: Side, sc: Scenario): Promise<Snapshot> {
  let prev = '';
  const end = Date.now() + 45_000;
  for (;;) {
    const snap = await snapshot(side, nsOf(sc), sc.extra ?? [], sc.eventsFrom ?? []);
    const cur = JSON.stringify(snap);
    if (cur === prev || Date.now() > end) return snap;
    prev = cur;
    await sleep(2000);
  }
}

async function runSide(side: Side): Promise<Map<string, Snapshot | Error>> {
  const out = new Map<string, Snapshot | Error>();
  const one = async (sc: Scenario) => {
    try {
      await side.kubectl(['create', 'namespace', nsOf(sc)]);
      // Pods need the namespace's default ServiceAccount (admission); the ServiceAccount
      // controllers make it at their own pace, so a first pod create can fail on either side.
      await waitFor(`${side.name} default ServiceAccount`, 30_000, async () =>
        side.get(`/api/v1/namespaces/${nsOf(sc)}/serviceaccounts/default`),
      );
      await sc.run(side, nsOf(sc));
      out.set(sc.name, await settled(side, sc));
    } catch (e) {
      out.set(sc.name, e as Error);
      if (process.env.SKIFF_DIFF_DUMP) {
        const snap = await snapshot(side, nsOf(sc), sc.extra ?? [], sc.eventsFrom ?? []).catch(() => undefined);
        process.stderr.write(`${side.name} ${sc.name} failed; its objects:\n${JSON.stringify(snap, null, 1)}\n`);
      }
    }
  };
  await Promise.all(scenarios.filter((s) => !s.last).map(one));
  for (const sc of scenarios.filter((s) => s.last)) await one(sc);
  return out;
}

describe("Skiff's controllers and kube-controller-manager 1.32.4 settle alike", () => {
  let peer = '';
  const sides: Side[] = [];
  before(() => {
    peer = buildPeer();
  });
  after(async () => {
    for (const s of sides) await s.stop();
  });

  it('leaves the same objects and Events after every scenario', async () => {
    const skiff = await startSide('skiff', peer);
    sides.push(skiff);
    const kcm = await startSide('kcm', peer);
    sides.push(kcm);
    const load0 = loadavg()[0];
    const t0 = Date.now();
    const [ours, theirs] = await Promise.all([runSide(skiff), runSide(kcm)]);
    let fields = 0;
    const open: string[] = [];
    const kept: string[] = [];
    const failures: string[] = [];
    for (const sc of scenarios) {
      const a = ours.get(sc.name);
      const b = theirs.get(sc.name);
      if (a instanceof Error || b instanceof Error || !a || !b) {
        failures.push(
          `${sc.name}: skiff ${a instanceof Error ? a.message : 'ok'}; kcm ${b instanceof Error ? b.message : 'ok'}`,
        );
        continue;
      }
      const r = compare(a.objects, b.objects, sc.name);
      const e = compare(a.events, b.events, `${sc.name}/events`);
      const h = compare(a.hashes, b.hashes, `${sc.name}/hashes`);
      fields += r.fields + e.fields + h.fields;
      for (const d of [...r.diffs, ...e.diffs, ...h.diffs] as Difference[]) {
        const line = `${d.path}\n    skiff: ${JSON.stringify(d.skiff)}\n    kcm:   ${JSON.stringify(d.kcm)}`;
        const acc = accepted(d.path);
        if (acc) kept.push(`${d.path} (${acc.reason})`);
        else open.push(line);
      }
    }
    process.stderr.write(
      `controllers differential: ${scenarios.length} scenarios, ${fields} fields and event lines compared, ` +
        `${open.length} differences, ${kept.length} accepted; ${((Date.now() - t0) / 1000).toFixed(0)} s, ` +
        `load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n` +
        (failures.length ? `scenario failures:\n  ${failures.join('\n  ')}\n` : '') +
        (open.length ? `differences:\n  ${open.join('\n  ')}\n` : '') +
        (kept.length ? `accepted:\n  ${kept.join('\n  ')}\n` : ''),
    );
    if (process.env.SKIFF_DIFF_DUMP)
      process.stderr.write(
        `${JSON.stringify({ skiff: Object.fromEntries(ours), kcm: Object.fromEntries(theirs) }, null, 1)}\n`,
      );
    assert.deepEqual(failures, [], `kube-controller-manager log tail:\n${kcm.kcmLog().slice(-3000)}`);
    if (!only) assert.ok(fields > 4000, `only ${fields} fields compared`);
    assert.deepEqual(open, []);
  });
});
