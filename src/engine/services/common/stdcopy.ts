// Docker's stdcopy framing of a multiplexed stdout/stderr stream (attach, logs, exec without a tty):
// an 8-byte header [stream, 0, 0, 0, uint32 BE size] before each payload.

/** One stdcopy frame: stream 0 stdin, 1 stdout, 2 stderr, 3 the system error stream. */
export function stdcopyFrame(stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8 + payload.length);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  payload.copy(h, 8);
  return h;
}
