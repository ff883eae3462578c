// /containers/{id}/exec and /exec/{id}/...: `docker exec`.
import { invalidArgument } from '../../../common/index.js';
import { hijack, sendJson, RAW_STREAM, MULTIPLEXED_STREAM, type Router } from '../router.js';
import type { ExecBackend } from '../backends.js';
import { resizeArgs } from './containers.js';

export function register(r: Router, b: ExecBackend): void {
  r.post('/containers/:id/exec', async (q) => {
    const out = b.create(q.params.id, (await q.json()) as Record<string, unknown> | undefined);
    sendJson(q.res, 201, out);
  });
  r.get('/exec/:id/json', (q) => b.inspect(q.params.id));
  r.post('/exec/:id/resize', async (q) => {
    const [h, w] = resizeArgs(q.query);
    await b.resize(q.params.id, h, w);
    sendJson(q.res, 200, undefined);
  });
  r.post('/exec/:id/start', async (q) => {
    const e = b;
    const body = ((await q.json()) ?? {}) as { Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null };
    const s = e.get(q.params.id);
    if (s.started) throw invalidArgument(`Error: Exec command ${s.ID} has already run`, { field: 'id' });
    if (body.Detach) {
      await e.start(q.params.id, { detach: true, tty: body.Tty, consoleSize: body.ConsoleSize });
      sendJson(q.res, 200, undefined);
      return;
    }
    const tty = body.Tty ?? s.config.Tty;
    const client = hijack(q, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    client.socket.pause();
    await e.start(q.params.id, { detach: false, tty, consoleSize: body.ConsoleSize }, client).catch((err) => {
      const msg = `${(err as Error).message}\r\n`;
      const b = Buffer.from(msg);
      const h = Buffer.alloc(8);
      h[0] = 1; // dockerd writes a refused exec's error to the stdout stream (the CLI prints it, exit 126)
      h.writeUInt32BE(b.length, 4);
      if (!client.socket.destroyed) client.socket.end(tty ? b : Buffer.concat([h, b]));
    });
  });
}
