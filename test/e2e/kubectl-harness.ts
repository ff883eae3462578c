// Shared by the kubectl and client-node acceptance suites: a real `skiff server` process (through
// tsx, so the suite does not depend on a build) on SQLite or on a private real etcd, the real
// kubectl with a private cache dir, and a raw HTTPS client holding the admin credentials.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';

export const ROOT = process.env.SKIFF_ROOT ?? join(import.meta.dirname, '..', '..');
export const KUBECTL = '/usr/bin/kubectl';
export type Backend = 'sqlite' | 'etcd';

/** In CI a missing prerequisite is a failure, never a skip. */
export function requireKubectl(): void {
  if (!existsSync(KUBECTL)) throw new Error(`kubectl 1.32 is required at ${KUBECTL}`);
}

export interface Creds {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export interface SkiffServer {
  dir: string;
  kubeconfig: string;
  url: string;
  datastore: string;
  proc: ChildProcess;
  etcd?: Etcd;
  creds: Creds;
  kubectl(
    args: string[],
    opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Raw HTTPS request as the admin. */
  request(
    method: string,
    path: string,
    body?: string | Buffer,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
  /** SIGKILL the server process (the data dir and etcd stay). */
  kill(): Promise<void>;
  /** Start the server again on the same data dir and datastore. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function readCreds(kubeconfig: string): Creds {
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  return {
    server: kc.clusters[0].cluster.server,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  };
}

export interface StartOptions {
  /** Use this etcd (not stopped with the server) instead of starting one. */
  etcd?: Etcd;
  /** Copy this PKI directory in before starting (HA servers share the cluster's PKI). */
  pkiFrom?: string;
  /** Extra `skiff server` flags (e.g. --disable-scheduler). */
  args?: string[];
  /** Extra node flags for the server process (e.g. --cpu-prof in a bench). */
  nodeArgs?: string[];
}

export async function startSkiffServer(backend: Backend, opts: StartOptions = {}): Promise<SkiffServer> {
  requireKubectl();
  const dir = mkdtempSync(join(tmpdir(), `skiff-apiserver-${backend}-`));
  if (opts.pkiFrom) cpSync(opts.pkiFrom, join(dir, 'pki'), { recursive: true });
  let etcd: Etcd | undefined = opts.etcd;
  let datastore = `sqlite://${join(dir, 'state.db')}`;
  if (backend === 'etcd') {
    try {
      etcd ??= await startEtcd();
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    datastore = `etcd://${etcd.endpoint}`;
  }
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  let proc!: ChildProcess;
  let log = '';
  const launch = async () => {
    rmSync(kubeconfig, { force: true });
    log = '';
    proc = spawn(
      process.execPath,
      [
        ...(opts.nodeArgs ?? []),
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'server',
        '--data-dir',
        dir,
        '--https-listen',
        '127.0.0.1:0',
        '--datastore',
        datastore,
        '--disable-agent',
        ...(opts.args ?? []),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG: 'warn' } },
    );
    proc.stdout!.on('data', (d) => {
      log += d;
    });
    proc.stderr!.on('data', (d) => {
      log += d;
    });
    // Generous: on a loaded 2-core machine an etcd-backed start has taken tens of seconds.
    const deadline = Date.now() + 90_000;
    while (!/ready at/.test(log)) {
      if (proc.exitCode !== null) throw new Error(`skiff server exited: ${log}`);
      if (Date.now() > deadline)
        throw new Error(
          `skiff server did not get ready: ${log}${etcd ? `\netcd log:\n${etcd.log().slice(-2000)}` : ''}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await launch();
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (!opts.etcd) await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cacheDir = join(dir, 'kube-cache');
  const s: SkiffServer = {
    dir,
    kubeconfig,
    datastore,
    etcd,
    get proc() {
      return proc;
    },
    get creds() {
      return readCreds(kubeconfig);
    },
    get url() {
      return readCreds(kubeconfig).server;
    },
    kubectl(args, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          KUBECTL,
          ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
          { timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, HOME: dir, ...opts.env }, maxBuffer: 64 << 20 },
          (err, stdout, stderr) =>
            resolve({
              code: err
                ? typeof (err as { code?: unknown }).code === 'number'
                  ? (err as { code: number }).code
                  : 1
                : 0,
              stdout,
              stderr,
            }),
        );
        if (opts.input !== undefined) {
          child.stdin!.end(opts.input);
        }
      });
    },
    request(method, path, body, headers = {}) {
      const c = readCreds(kubeconfig);
      const u = new URL(path, c.server);
      return new Promise((resolve, reject) => {
        const req = https.request(
          {
            method,
            hostname: u.hostname,
            port: u.port,
            path: u.pathname + u.search,
            ca: c.ca,
            cert: c.cert,
            key: c.key,
            headers: {
              'Content-Type': 'application/json',
              ...headers,
              ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            },
          },
          (res) => {
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
              data += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    async kill() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
    },
    async restart() {
      await launch();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      if (!opts.etcd) await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return s;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const suffix = () => Math.random().toString(36).slice(2, 7);

/** The namespace's `default` ServiceAccount, which pods need (ServiceAccount admission). The
 *  ServiceAccount controller makes it in a full cluster; made here when it is not there yet
 *  (an AlreadyExists from a controller that was quicker is fine). */
export async function ensureDefaultServiceAccount(s: SkiffServer, ns: string): Promise<void> {
  const r = await s.kubectl(['-n', ns, 'create', 'serviceaccount', 'default']);
  if (r.code !== 0 && !/AlreadyExists|already exists/.test(r.stderr))
    throw new Error(`create serviceaccount default in ${ns}: ${r.stderr}`);
}
