// The differential build corpus except its fast part (build-differential.test.ts): see
// build-differential.ts.
import { readdirSync } from 'node:fs';
import { CORPUS, FAST, differential } from './build-differential.js';

differential(
  readdirSync(CORPUS)
    .filter((n) => !FAST.includes(n))
    .sort(),
);
