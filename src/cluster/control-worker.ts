// The scheduler and the controller manager off the API server's thread: each in a worker thread of
// `skiff server`, an API client over the same private socket as in-thread, as upstream runs
// kube-scheduler and kube-controller-manager as processes of their own. On two cores the API
// server's one JS thread then spends its time on requests and watch fan-out, while the scheduling
// cycles, the clients' JSON parsing and their garbage run beside it.
//
// Crashes: a worker that dies (an uncaught error, or an exit the server did not ask for) is logged
// at error level with its error and started again after a back-off (1 s doubling to 30 s; reset
// after a minute of running), as a kubelet restarts a crashed kube-scheduler static pod. It keeps
// its holder identity, so the new incarnation renews its own Lease at once instead of waiting
// for it to expire; leadership is never shared, since the old thread is gone before the new one
// starts. The server keeps serving meanwhile: the API does not depend on these clients.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createLogger, entryModule, failedPrecondition, type Logger } from '../common/index.js';
import { KubeClient } from '../kube/client/index.js';
import { startScheduler, type StartSchedulerOptions } from '../kube/scheduler/index.js';
import { startControllerManager, type StartControllerManagerOptions } from '../kube/controllers/index.js';

export type ControlRole = 'scheduler' | 'controllers';

/** What a worker is started with (structured-cloned: plain data only). */
export interface ControlWorkerData {
  skiffWorker: 'control-plane';
  role: ControlRole;
  socketPath: string;
  identity: string;
  /** The role's options without the logger (the worker makes its own). */
  options: Omit<StartSchedulerOptions, 'log'> | Omit<StartControllerManagerOptions, 'log'>;
}

type FromWorker = { type: 'leading'; leading: boolean } | { type: 'stopped' };

const BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const HEALTHY_MS = 60_000;

/** The URL the worker thread starts from: the program's entry module (main.ts, bundled or not);
 *  under tsx (tests start the server in-process), main.ts beside this source. */
function workerEntry(): { url: string; tsx: boolean } | undefined {
  const main = entryModule();
  if (main) return { url: main, tsx: main.endsWith('.ts') };
  if (import.meta.url.endsWith('.ts')) return { url: new URL('../cli/main.ts', import.meta.url).href, tsx: true };
  return undefined;
}

/** Whether this server can run its control loops in worker threads (see workerEntry). */
export function controlWorkersAvailable(): boolean {
  return workerEntry() !== undefined;
}

/** The main thread's handle on one role's worker. */
export class ControlWorker {
  private worker?: Worker;
  private stopping = false;
  private backoff = BACKOFF_MS;
  private restartTimer?: NodeJS.Timeout;
  private stoppedWaiters: (() => void)[] = [];
  /** Whether the worker holds its role's Lease (as last reported). */
  leading = false;
  /** How many times the worker died and was started again. */
  restarts = 0;
  /** The last crash's error (tests, logs). */
  lastError?: string;

  constructor(
    private data: Omit<ControlWorkerData, 'skiffWorker'>,
    private log: Logger,
  ) {}

  get identity(): string {
    return this.data.identity;
  }

  start(): void {
    const entry = workerEntry();
    if (!entry) throw failedPrecondition('no entry module to start a worker thread from');
    const workerData: ControlWorkerData = { skiffWorker: 'control-plane', ...this.data };
    // Under tsx the worker registers tsx's loader first (a worker does not inherit the parent's
    // --import hooks on Node 20), then loads main.ts.
    const w = entry.tsx
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(entry.url)}); });`,
          { eval: true, workerData },
        )
      : new Worker(new URL(entry.url), { workerData });
    this.worker = w;
    const started = Date.now();
    let error: unknown;
    w.on('message', (m: FromWorker) => {
      if (m.type === 'leading') this.leading = m.leading;
      // Its role stopped (the Lease released): nothing left to wait for in the thread.
      else if (m.type === 'stopped') void w.terminate();
    });
    w.on('error', (e) => {
      error = e;
    });
    w.on('exit', (code) => {
      this.worker = undefined;
      this.leading = false;
      if (this.stopping) {
        for (const r of this.stoppedWaiters.splice(0)) r();
        return;
      }
      this.lastError = error instanceof Error ? (error.stack ?? error.message) : `exit code ${code}`;
      if (Date.now() - started > HEALTHY_MS) this.backoff = BACKOFF_MS;
      this.log.error(`${this.data.role} worker thread died; starting it again`, {
        error: this.lastError,
        inMs: this.backoff,
      });
      this.restarts++;
      this.restartTimer = setTimeout(() => this.start(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  /** Asks the worker to stop its role (releasing the Lease) and waits for the thread to end
   *  (terminated after 10 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const w = this.worker;
    if (!w) return;
    const ended = new Promise<void>((r) => this.stoppedWaiters.push(r));
    w.postMessage({ type: 'stop' });
    const t = setTimeout(() => void w.terminate(), 10_000);
    await ended;
    clearTimeout(t);
  }

  /** Kills the thread as a crash would (tests). */
  crash(): Promise<number> {
    return this.worker ? this.worker.terminate() : Promise.resolve(0);
  }
}

/** The worker side: runs the role until the main thread says stop. */
export async function runControlWorker(): Promise<void> {
  if (isMainThread || !parentPort) throw failedPrecondition('runControlWorker runs in a worker thread');
  const port = parentPort;
  const data = workerData as ControlWorkerData;
  const log = createLogger({ component: data.role === 'scheduler' ? 'scheduler' : 'controllers' });
  const client = new KubeClient({
    socketPath: data.socketPath,
    userAgent: data.role === 'scheduler' ? 'skiff-scheduler' : 'skiff-controller-manager',
    // The scheduler binds 64 pods and writes 32 events at once: its connections stay open between bursts.
    maxFreeSockets: 128,
  });
  const running =
    data.role === 'scheduler'
      ? startScheduler(client, { ...(data.options as StartSchedulerOptions), identity: data.identity, log })
      : await startControllerManager(client, {
          ...(data.options as StartControllerManagerOptions),
          identity: data.identity,
          log,
        });
  let leading = false;
  const poll = setInterval(() => {
    const now = running.active !== undefined;
    if (now !== leading) {
      leading = now;
      port.postMessage({ type: 'leading', leading } satisfies FromWorker);
    }
  }, 100);
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    clearInterval(poll);
    void running
      .stop()
      .catch((e) => log.error(`${data.role} did not stop cleanly`, { error: String(e) }))
      .finally(() => {
        client.close();
        port.postMessage({ type: 'stopped' } satisfies FromWorker);
        port.close();
      });
  });
}
