// Gives memory back after a burst of container work. V8 grows its young generation and keeps old-
// space pages while a workload runs; left alone, an engine that ran twenty `docker run --rm` stays
// ~15 MB above its start-up RSS for good (V8's memory reducer rarely fires in a mostly idle daemon).
// Every container lifecycle event (and the start-up restore) re-arms a timer; once the engine has
// been quiet for IDLE_MS, a full collection runs (a few milliseconds for the engine's heap), and a
// second one a little later, so the freed pages go back to the system.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const IDLE_MS = 3000;
let gc: ((o?: { type?: string; execution?: string }) => void) | undefined | null;
let timer: NodeJS.Timeout | undefined;
let rounds = 0;
const ROUNDS = 2;

function collector() {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as typeof gc;
    } catch {
      gc = null;
    } // not available: nothing to do
  }
  return gc;
}

/** Notes engine activity; full GCs follow once it has been idle for a while. */
export function activity(): void {
  rounds = 0;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(function tick() {
    try {
      const c = collector();
      c?.({ type: 'major', execution: 'sync' });
    } catch {
      /* best effort */
    }
    // A second collection, later, frees what the first one promoted and lets V8 shrink its spaces.
    if (++rounds < ROUNDS) {
      timer = setTimeout(tick, IDLE_MS * 2);
      timer.unref();
    } else timer = undefined;
  }, IDLE_MS);
  timer.unref();
}
