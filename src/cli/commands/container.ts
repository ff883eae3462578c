// `skiff container SUBCOMMAND`: Docker's management-command form (`container start|stop|restart|
// kill|rm|ls|ps|logs|exec|run|inspect|create`). `skiff start` is the `npm start` bootstrap, so
// starting a container is `skiff container start`.
import { client, parse, runVerb, pumpAttach, readAll, ApiError, UsageError } from '../client/index.js';
import { sleep } from '../../common/index.js';

async function start(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      attach: { type: 'boolean', short: 'a' },
      interactive: { type: 'boolean', short: 'i' },
    });
    if (!positionals.length) throw new UsageError('"skiff container start" requires at least 1 argument.');
    const c = client(v.host);
    if (!v.attach && !v.interactive) {
      let code = 0;
      for (const id of positionals) {
        try {
          (await c.raw('POST', `/containers/${id}/start`)).resume();
          process.stdout.write(`${id}\n`);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status === 0) throw e;
          process.stderr.write(`Error response from daemon: ${e.message}\n`);
          code = 1;
        }
      }
      return code;
    }
    if (positionals.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
    const id = positionals[0];
    const info = await c.json<{ Config: { Tty: boolean } }>('GET', `/containers/${id}/json`);
    const { socket, head } = await c.hijack('POST', `/containers/${id}/attach`, {
      query: { stream: 1, stdin: v.interactive ? 1 : 0, stdout: 1, stderr: 1 },
    });
    const io = pumpAttach(socket, head, { tty: info.Config.Tty, stdin: !!v.interactive });
    const waitRes = await c.raw('POST', `/containers/${id}/wait`, { query: { condition: 'next-exit' } });
    const status = readAll(waitRes).then((b) => JSON.parse(b.toString('utf8')) as { StatusCode: number });
    try {
      (await c.raw('POST', `/containers/${id}/start`)).resume();
    } catch (e) {
      io.restore();
      socket.destroy();
      throw e;
    }
    const st = await status;
    await Promise.race([io.done, sleep(2000)]);
    io.restore();
    socket.destroy();
    return st.StatusCode;
  });
}

const SUB: Record<string, () => Promise<{ main: (a: string[]) => Promise<number> }>> = {
  stop: () => import('./stop.js'),
  restart: () => import('./restart.js'),
  kill: () => import('./kill.js'),
  rm: () => import('./rm.js'),
  ls: () => import('./ps.js'),
  ps: () => import('./ps.js'),
  list: () => import('./ps.js'),
  logs: () => import('./logs.js'),
  exec: () => import('./exec.js'),
  run: () => import('./run.js'),
  inspect: async () => {
    const m = await import('./inspect.js');
    return { main: (a: string[]) => m.main(['--type', 'container', ...a]) };
  },
};

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'start') return start(rest);
  const load = SUB[sub ?? ''];
  if (!load) {
    process.stderr.write(
      `Usage:  skiff container COMMAND\n\nCommands: start, stop, restart, kill, rm, ls, logs, exec, run, inspect\n`,
    );
    return sub ? 125 : 0;
  }
  return (await load()).main(rest);
}
