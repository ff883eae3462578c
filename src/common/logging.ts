// Minimal structured logger: JSON lines or text to stderr, level from SKIFF_LOG (debug|info|warn|error).
// A few lines instead of pino: daemons log little, and the runtime CLI must import almost nothing.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  json?: boolean;
  write?: (line: string) => void;
}

export function createLogger(base: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.SKIFF_LOG as Level | undefined) ?? 'info';
  const min = ORDER[level] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const rec = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    if (opts.json) write(JSON.stringify(rec));
    else {
      const extra = Object.entries({ ...base, ...fields })
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${rec.time} ${lvl.toUpperCase()} ${msg}${extra ? ' ' + extra : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger({ ...base, ...f }, opts),
  };
}

/** The rejection handler of a best-effort step (clean-up, a restart in the background): its failure
 *  does not fail the operation around it, but it is logged (warn) instead of vanishing. */
export function logFailure(log: Logger, msg: string, fields: Record<string, unknown> = {}): (e: unknown) => undefined {
  return (e) => {
    log.warn(msg, { ...fields, error: e instanceof Error ? e.message : String(e) });
    return undefined;
  };
}

/** Startup phase marks for daemons (with SKIFF_DEBUG set): one stderr line per phase reached, with
 *  the milliseconds since the process started, so that a slow or stuck start says where it is. */
export function phase(name: string): void {
  if (!process.env.SKIFF_DEBUG) return;
  process.stderr.write(`skiff phase ${name} +${Math.round(performance.now())}ms\n`);
}
