// With SKIFF_TRACE on, samples every 100 ms how long the process's shared queues make work wait:
// the event loop's lag (a 100 ms timer's lateness) and libuv's thread pool (an fs.stat's time,
// which is almost all queueing behind other fs, crypto and fsync work). bench/pods.ts prints their
// percentiles beside the pods' phases: a phase that waits on either shows up in both.
import { stat } from 'node:fs/promises';
import { traceMark, traceNow, traceOn } from '../../common/index.js';

export function startTraceProbe(dir: string): () => void {
  if (!traceOn()) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (due: number) => {
    timer = setTimeout(async () => {
      const t = traceNow();
      traceMark('-probe', 'probe.loop', due);
      await stat(dir).catch(() => undefined); // only its time is measured
      traceMark('-probe', 'probe.pool', t);
      if (!stopped) tick(traceNow() + 100);
    }, 100);
    timer.unref();
  };
  tick(traceNow() + 100);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
