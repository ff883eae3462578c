// The Store conformance suite against the memory backend.
import { storeSuite } from '../../src/kube/storage/store.suite.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

storeSuite('memory', async () => {
  const store = createMemoryStore({ progressIntervalMs: 200 });
  return { store, cleanup: () => store.close() };
});
