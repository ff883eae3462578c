// `--kube-controller-manager-arg controllers=…` selects controllers as kube-controller-manager's
// --controllers does: upstream's names and their old aliases, `*` for the defaults, the first
// entry naming a controller decides, an unknown name is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseControllerManagerArgs } from './flags.js';
import { CONTROLLER_NAMES } from './set.js';

const pick = (v: string) => new Set(parseControllerManagerArgs([`controllers=${v}`]).controllers);

describe('kube-controller-manager --controllers', () => {
  it('* is every controller Skiff runs (each has its upstream name)', () => {
    assert.deepEqual(pick('*'), new Set(CONTROLLER_NAMES));
  });
  it('turns one off by its name or its alias; the first entry naming it decides', () => {
    for (const v of ['*,-ttl-controller', '*,-ttl', '-ttl,*,ttl']) {
      const got = pick(v);
      assert.ok(!got.has('ttl'), v);
      assert.equal(got.size, CONTROLLER_NAMES.length - 1, v);
    }
    assert.ok(pick('ttl,-ttl').has('ttl'));
  });
  it('without * only what is named runs (beside the API server side and ServiceLB)', () => {
    assert.deepEqual(
      pick('deployment,replicaset-controller'),
      new Set(['kubernetes-service', 'servicelb', 'deployment', 'replicaset']),
    );
  });
  it("storage protection runs while either of upstream's two protection controllers is on", () => {
    assert.ok(pick('*,-pvc-protection').has('storage-protection'));
    assert.ok(!pick('*,-pvc-protection,-persistentvolume-protection-controller').has('storage-protection'));
  });
  it('refuses an unknown name', () => {
    assert.throws(() => pick('*,-tll'), /"tll" is not in the list of known controllers/);
  });
});
