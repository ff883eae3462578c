// The fast part of the differential build corpus (no RUN steps), in npm test: see
// build-differential.ts; the rest is in build-differential.slow.test.ts.
import { FAST, differential } from './build-differential.js';

differential(FAST);
