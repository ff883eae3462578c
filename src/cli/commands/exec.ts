// `skiff exec [-d] [-i] [-t] [-e] [-w] [-u] CONTAINER CMD...`: exit code from the exec's inspect.
import { client, parse, str, list, runVerb, pumpAttach, proxyResize, readAll, UsageError } from '../client/index.js';
import { sleep } from '../../common/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(
    async () => {
      const { values: v, positionals } = parse(
        argv,
        {
          detach: { type: 'boolean', short: 'd' },
          interactive: { type: 'boolean', short: 'i' },
          tty: { type: 'boolean', short: 't' },
          env: { type: 'string', short: 'e', multiple: true },
          workdir: { type: 'string', short: 'w' },
          user: { type: 'string', short: 'u' },
          privileged: { type: 'boolean' },
        },
        { stopAtPositional: true },
      );
      const [container, ...cmd] = positionals;
      if (!container || !cmd.length)
        throw new UsageError(
          '"skiff exec" requires at least 2 arguments.\nUsage:  skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]',
        );
      const c = client(v.host);
      const tty = !!v.tty,
        stdin = !!v.interactive,
        detach = !!v.detach;
      const { Id } = await c.json<{ Id: string }>('POST', `/containers/${container}/exec`, {
        body: {
          AttachStdin: stdin && !detach,
          AttachStdout: !detach,
          AttachStderr: !detach,
          Tty: tty,
          Cmd: cmd,
          Env: list(v.env),
          WorkingDir: str(v.workdir),
          User: str(v.user),
          Privileged: !!v.privileged,
          ConsoleSize: tty && process.stdout.isTTY ? [process.stdout.rows, process.stdout.columns] : undefined,
        },
      });
      if (detach) {
        await readAll(await c.raw('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: tty } }));
        return 0;
      }
      const { socket, head } = await c.hijack('POST', `/exec/${Id}/start`, { body: { Detach: false, Tty: tty } });
      const io = pumpAttach(socket, head, { tty, stdin });
      const stopResize = tty ? proxyResize(c, `/exec/${Id}/resize`) : () => undefined;
      await io.done;
      stopResize();
      // The stream can end a moment before the engine recorded the exit code: poll briefly.
      let info = await c.json<{ ExitCode: number | null; Running: boolean }>('GET', `/exec/${Id}/json`);
      for (let i = 0; i < 40 && (info.Running || info.ExitCode === null); i++) {
        await sleep(50);
        info = await c.json('GET', `/exec/${Id}/json`);
      }
      return info.ExitCode ?? 0;
    },
    { errorCode: 126 },
  );
}
