// The shared CgroupManager suite on fake v1 and v2 roots (the real kernel runs it in
// test/integration/cgroups.test.ts).
import { cgroupManagerSuite } from './cgroups.suite.js';
import { fakeV1Root, fakeV2Root } from './fake-root.js';
import { createCgroupManager } from './index.js';

const P = '/skiff/suite';
cgroupManagerSuite('fake v1', () => {
  const f = fakeV1Root(P);
  return { manager: createCgroupManager(P, { mountRoot: f.root }), cleanup: f.cleanup };
});
cgroupManagerSuite('fake v2', () => {
  const f = fakeV2Root(P);
  return {
    manager: createCgroupManager(P, { mountRoot: f.root }),
    completeFreeze: () => f.write(`${P}/cgroup.events`, 'populated 0\nfrozen 1\n'),
    cleanup: f.cleanup,
  };
});
