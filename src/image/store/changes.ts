// The Dockerfile instructions `docker import --change` accepts (CMD, ENTRYPOINT, ENV, EXPOSE,
// LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), applied to an image's run config. A tiny
// parser of its own: the build component's Dockerfile parser sits above this one and cannot be
// imported from here.
import { invalidArgument } from '../../common/index.js';
import type { ImageRunConfig } from '../formats/index.js';

/** Splits `k=v k2="v 2"` style arguments honouring quotes and backslashes. */
function words(s: string, field: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw invalidArgument(`${field}: unterminated quote in ${JSON.stringify(s)}`, { field });
  if (cur || any) out.push(cur);
  return out;
}

function jsonOrShell(rest: string, field: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* shell form */
    }
  }
  if (!t) throw invalidArgument(`${field}: needs an argument`, { field });
  return ['/bin/sh', '-c', t];
}

function keyValues(rest: string, field: string): [string, string][] {
  const w = words(rest, field);
  if (w.length === 0) throw invalidArgument(`${field}: needs at least one key=value`, { field });
  if (!w[0].includes('=')) {
    // Legacy form "ENV KEY value with spaces"
    const [k, ...v] = rest.trim().split(/\s+/);
    if (v.length === 0) throw invalidArgument(`${field}: ${JSON.stringify(k)} needs a value`, { field });
    return [[k, rest.trim().slice(k.length).trim()]];
  }
  return w.map((x) => {
    const eq = x.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${field}: ${JSON.stringify(x)} is not key=value`, { field });
    return [x.slice(0, eq), x.slice(eq + 1)];
  });
}

/** Applies `changes` (one instruction each) to a copy of `config`. */
export function applyChanges(config: ImageRunConfig, changes: readonly string[]): ImageRunConfig {
  const c: ImageRunConfig = structuredClone(config);
  changes.forEach((line, i) => {
    const field = `changes[${i}]`;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(line);
    if (!m) throw invalidArgument(`${field}: empty instruction`, { field });
    const instr = m[1].toUpperCase();
    const rest = m[2];
    switch (instr) {
      case 'CMD':
        c.Cmd = jsonOrShell(rest, field);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = jsonOrShell(rest, field);
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(rest, field)) {
          const at = env.findIndex((e) => e.split('=')[0] === k);
          if (at >= 0) env[at] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(rest, field)) };
        break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(rest, field)) {
          const pm = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!pm || Number(pm[1]) > 65535 || (pm[2] && Number(pm[2]) > 65535))
            throw invalidArgument(`${field}: invalid port ${JSON.stringify(p)}`, { field });
          const proto = (pm[3] ?? 'tcp').toLowerCase();
          for (let n = Number(pm[1]); n <= Number(pm[2] ?? pm[1]); n++) ports[`${n}/${proto}`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'USER':
        if (!rest.trim()) throw invalidArgument(`${field}: USER needs a user`, { field });
        c.User = rest.trim();
        break;
      case 'WORKDIR': {
        const w = rest.trim();
        if (!w) throw invalidArgument(`${field}: WORKDIR needs a path`, { field });
        c.WorkingDir = w.startsWith('/') ? w : `${(c.WorkingDir ?? '/').replace(/\/$/, '')}/${w}`;
        break;
      }
      case 'VOLUME': {
        const t = rest.trim();
        let vols: string[];
        try {
          vols = t.startsWith('[') ? JSON.parse(t) : words(t, field);
        } catch {
          vols = words(t, field);
        }
        c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(vols.map((v) => [v, {}])) };
        break;
      }
      case 'STOPSIGNAL':
        c.StopSignal = rest.trim();
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), rest.trim()];
        break;
      default:
        throw invalidArgument(
          `${field}: ${instr} is not a valid change (use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)`,
          { field },
        );
    }
  });
  return c;
}
