// `skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create (pulling a missing image, as the docker CLI
// does on 404), attach before start, wait (next-exit, or removed with --rm), start, then exit with
// the container's status. Daemon errors exit 125, as docker's.
import {
  client,
  parse,
  str,
  list,
  runVerb,
  readAll,
  pumpAttach,
  proxyResize,
  ApiError,
  UsageError,
  type Client,
} from '../client/index.js';
import { pullImage } from './pull.js';
import { sleep } from '../../common/index.js';

const SPEC = {
  detach: { type: 'boolean', short: 'd' },
  interactive: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  rm: { type: 'boolean' },
  env: { type: 'string', short: 'e', multiple: true },
  volume: { type: 'string', short: 'v', multiple: true },
  publish: { type: 'string', short: 'p', multiple: true },
  name: { type: 'string' },
  network: { type: 'string' },
  net: { type: 'string' },
  memory: { type: 'string', short: 'm' },
  cpus: { type: 'string' },
  restart: { type: 'string' },
  entrypoint: { type: 'string' },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  label: { type: 'string', short: 'l', multiple: true },
  hostname: { type: 'string', short: 'h' },
  privileged: { type: 'boolean' },
  'read-only': { type: 'boolean' },
  init: { type: 'boolean' },
  pull: { type: 'string' },
  platform: { type: 'string' },
  expose: { type: 'string', multiple: true },
  'add-host': { type: 'string', multiple: true },
  tmpfs: { type: 'string', multiple: true },
  'stop-signal': { type: 'string' },
  'health-cmd': { type: 'string' },
} as const;

export function memoryBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(s.trim());
  if (!m) throw new UsageError(`invalid argument "${s}" for "-m, --memory" flag: invalid size`);
  return Math.round(
    Number(m[1]) * ({ '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2].toLowerCase()],
  );
}

export function portBindings(specs: string[]) {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const s of specs) {
    const [addr, proto = 'tcp'] = s.split('/');
    const parts = addr.split(':');
    const cport = parts.pop()!;
    const hport = parts.pop() ?? '';
    const ip = parts.join(':');
    if (!/^\d+(-\d+)?$/.test(cport) || (hport && !/^\d+(-\d+)?$/.test(hport)))
      throw new UsageError(`invalid argument "${s}" for "-p, --publish" flag: invalid port`);
    const key = `${cport}/${proto}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: ip, HostPort: hport });
  }
  return { exposed, bindings };
}

function restartPolicy(s: string | undefined) {
  if (!s) return undefined;
  const [Name, n] = s.split(':');
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(Name))
    throw new UsageError(`invalid restart policy ${s}`);
  return { Name, MaximumRetryCount: n ? Number(n) : 0 };
}

export async function createContainer(
  c: Client,
  host: unknown,
  body: Record<string, unknown>,
  name: string | undefined,
  platform?: string,
): Promise<string> {
  const create = () =>
    c.json<{ Id: string; Warnings?: string[] }>('POST', '/containers/create', { query: { name, platform }, body });
  try {
    return (await create()).Id;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !/No such image/i.test(e.message)) throw e;
    const image = String(body.Image);
    process.stderr.write(
      `Unable to find image '${image.includes(':') || image.includes('@') ? image : `${image}:latest`}' locally\n`,
    );
    await pullImage(host, image, { platform, out: process.stderr });
    return (await create()).Id;
  }
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(
    async () => {
      const { values: v, positionals } = parse(argv, SPEC, { stopAtPositional: true });
      const [image, ...cmd] = positionals;
      if (!image)
        throw new UsageError(
          '"skiff run" requires at least 1 argument.\nUsage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]',
        );
      const c = client(v.host);
      const tty = !!v.tty,
        stdin = !!v.interactive,
        detach = !!v.detach;
      const { exposed, bindings } = portBindings(list(v.publish));
      for (const e of list(v.expose)) exposed[e.includes('/') ? e : `${e}/tcp`] = {};
      const labels = Object.fromEntries(
        list(v.label).map((l) => {
          const i = l.indexOf('=');
          return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
        }),
      );
      const body: Record<string, unknown> = {
        Image: image,
        Cmd: cmd.length ? cmd : undefined,
        Entrypoint: str(v.entrypoint) !== undefined ? [str(v.entrypoint)!].filter(Boolean) : undefined,
        Env: list(v.env).map((e) =>
          e.includes('=') ? e : process.env[e] !== undefined ? `${e}=${process.env[e]}` : e,
        ),
        WorkingDir: str(v.workdir),
        User: str(v.user),
        Hostname: str(v.hostname),
        Tty: tty,
        OpenStdin: stdin,
        StdinOnce: stdin && !detach,
        AttachStdin: stdin && !detach,
        AttachStdout: !detach,
        AttachStderr: !detach,
        Labels: labels,
        ExposedPorts: exposed,
        StopSignal: str(v['stop-signal']),
        Healthcheck: str(v['health-cmd']) ? { Test: ['CMD-SHELL', str(v['health-cmd'])] } : undefined,
        HostConfig: {
          Binds: list(v.volume),
          PortBindings: bindings,
          NetworkMode: str(v.network) ?? str(v.net),
          AutoRemove: !!v.rm,
          Memory: str(v.memory) ? memoryBytes(str(v.memory)!) : undefined,
          NanoCpus: str(v.cpus) ? Math.round(Number(v.cpus) * 1e9) : undefined,
          RestartPolicy: restartPolicy(str(v.restart)),
          Privileged: !!v.privileged,
          ReadonlyRootfs: !!v['read-only'],
          Init: v.init ? true : undefined,
          ExtraHosts: list(v['add-host']),
          Tmpfs: Object.fromEntries(
            list(v.tmpfs).map((t) => {
              const i = t.indexOf(':');
              return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
            }),
          ),
        },
      };
      if (str(v.cpus) && !(Number(v.cpus) > 0)) throw new UsageError(`invalid argument "${v.cpus}" for "--cpus" flag`);
      if (v.rm && str(v.restart) && str(v.restart) !== 'no')
        throw new UsageError('Conflicting options: --restart and --rm');
      const id = await createContainer(c, v.host, body, str(v.name), str(v.platform));
      if (detach) {
        (await c.raw('POST', `/containers/${id}/start`)).resume();
        process.stdout.write(`${id}\n`);
        return 0;
      }
      const { socket, head } = await c.hijack('POST', `/containers/${id}/attach`, {
        query: { stream: 1, stdin: stdin ? 1 : 0, stdout: 1, stderr: 1 },
      });
      const io = pumpAttach(socket, head, { tty, stdin });
      const waitRes = await c.raw('POST', `/containers/${id}/wait`, {
        query: { condition: v.rm ? 'removed' : 'next-exit' },
      });
      const status = readAll(waitRes).then(
        (b) => JSON.parse(b.toString('utf8')) as { StatusCode: number; Error?: { Message?: string } | null },
      );
      try {
        (await c.raw('POST', `/containers/${id}/start`)).resume();
      } catch (e) {
        io.restore();
        socket.destroy();
        throw e;
      }
      const stopResize = tty ? proxyResize(c, `/containers/${id}/resize`) : () => undefined;
      const forward = (sig: NodeJS.Signals) => {
        void c.raw('POST', `/containers/${id}/kill`, { query: { signal: sig } }).then(
          (r) => r.resume(),
          () => undefined,
        );
      };
      if (!tty) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, forward);
      const st = await status;
      await Promise.race([io.done, sleep(2000)]);
      stopResize();
      io.restore();
      socket.destroy();
      if (st.Error?.Message) process.stderr.write(`${st.Error.Message}\n`);
      return st.StatusCode;
    },
    { errorCode: 125 },
  );
}
