// WAL checkpoints off the event loop. better-sqlite3 is synchronous, and a checkpoint writes the
// WAL's pages into the database file and fsyncs it: tens to hundreds of ms here, which on the main
// thread would stall every request (measured: automatic checkpoints put write p99 at ~8 ms and the
// max at ~140 ms; with them moved off the loop p99 is ~0.2 ms). So automatic checkpoints are off on
// the writer connection and a worker thread with its own connection runs PASSIVE checkpoints,
// which never block the writer. The worker is inline (eval) code requiring better-sqlite3 by its
// resolved path, so it works unchanged from the esbuild bundle, where better-sqlite3 is external.
// A worker costs ~8 MB of RSS, so it starts with the first write that needs a checkpoint and
// stops after IDLE_MS without writes (after a last checkpoint): an idle server pays nothing.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

const IDLE_MS = 30_000;

const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { timeout: 1000 });
parentPort.on('message', (m) => {
  if (m === 'checkpoint') {
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
  } else if (m === 'close') {
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    try { db.close(); } catch {}
    parentPort.close();
  }
});
`;

export class Checkpointer {
  private worker?: Worker;
  private exited?: Promise<void>;
  private dirty = false;
  private idleMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly onError: (msg: string) => void,
    private readonly idleLimitMs = IDLE_MS,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Whether the worker thread is running. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Called on every commit: there is WAL content to checkpoint. */
  written(): void {
    this.dirty = true;
  }

  private tick(): void {
    if (this.dirty) {
      this.dirty = false;
      this.idleMs = 0;
      this.start().postMessage('checkpoint');
    } else if (this.worker && (this.idleMs += this.intervalMs) >= this.idleLimitMs) {
      void this.stop();
    }
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(CODE, { eval: true, workerData: { path: this.path, sqlite } });
    w.on('message', (m: { error?: string }) => {
      if (m.error) this.onError(m.error);
    });
    w.on('error', (e) => this.onError(String(e)));
    w.unref();
    this.exited = new Promise((resolve) => w.once('exit', () => resolve()));
    this.worker = w;
    return w;
  }

  /** Stops the worker after a last checkpoint and closes its connection. */
  private async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = this.exited!;
    w.postMessage('close');
    const t = setTimeout(() => void w.terminate(), 5000);
    await exited;
    clearTimeout(t);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.stop();
  }
}
