// Instructions that only change the image config (no layer): ENV, LABEL, CMD, ENTRYPOINT, EXPOSE,
// USER, VOLUME, HEALTHCHECK, SHELL, STOPSIGNAL, ONBUILD, MAINTAINER. Each adds an empty-layer
// history entry as the classic builder does.
import { invalidArgument } from '../../common/index.js';
import { expandWord, expandWords, parseDuration, type CommandForm, type Instruction } from '../dockerfile/index.js';
import { addHistory, setEnv, wordEnv, type StageState } from '../state.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function shellOf(s: StageState): string[] {
  return s.config.config?.Shell?.length ? s.config.config.Shell : DEFAULT_SHELL;
}

function argv(s: StageState, c: CommandForm): string[] {
  return c.form === 'exec' ? c.args : [...shellOf(s), c.command];
}

/** Applies a metadata instruction; `cmdSet` tracks whether CMD was set in this stage (ENTRYPOINT resets an inherited CMD). */
export function applyMeta(s: StageState, ins: Instruction, escape: string, st: { cmdSet: boolean }): void {
  const cfg = (s.config.config ??= {});
  const env = wordEnv(s);
  const x = (w: string) => expandWord(w, env, escape);
  switch (ins.kind) {
    case 'ENV': {
      // Every word of one instruction is expanded with the environment from before it, as Docker
      // does: `ENV A=2 B=$A` gives B the previous A (documented), so expand all, then set.
      const pairs = ins.pairs.map(([k, v]) => [x(k), x(v)] as const);
      for (const [key, value] of pairs) {
        if (!key) throw invalidArgument(`Dockerfile:${ins.line}: ENV names can not be blank`, { field: 'ENV' });
        setEnv(s, key, value);
      }
      break;
    }
    case 'LABEL':
      for (const [k, v] of ins.pairs) (cfg.Labels ??= {})[x(k)] = x(v);
      break;
    case 'CMD':
      cfg.Cmd = argv(s, ins.cmd);
      st.cmdSet = true;
      break;
    case 'ENTRYPOINT':
      cfg.Entrypoint = argv(s, ins.cmd);
      if (!st.cmdSet) cfg.Cmd = null;
      break;
    case 'EXPOSE':
      for (const p of ins.ports.flatMap((w) => expandWords(w, env, escape))) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m) throw invalidArgument(`Dockerfile:${ins.line}: EXPOSE: invalid port "${p}"`, { field: 'EXPOSE' });
        const proto = (m[3] ?? 'tcp').toLowerCase();
        for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) (cfg.ExposedPorts ??= {})[`${n}/${proto}`] = {};
      }
      break;
    case 'USER':
      cfg.User = x(ins.user);
      break;
    case 'VOLUME':
      for (const v of ins.json ? ins.paths.map(x) : ins.paths.flatMap((w) => expandWords(w, env, escape)))
        (cfg.Volumes ??= {})[v] = {};
      break;
    case 'STOPSIGNAL':
      cfg.StopSignal = x(ins.signal);
      break;
    case 'SHELL':
      cfg.Shell = ins.shell;
      break;
    case 'ONBUILD':
      (cfg.OnBuild ??= []).push(ins.trigger);
      break;
    case 'MAINTAINER':
      s.config.author = ins.name;
      break;
    case 'HEALTHCHECK': {
      if (ins.test.type === 'NONE') {
        cfg.Healthcheck = { Test: ['NONE'] };
        break;
      }
      const c = ins.test.cmd;
      const hc: NonNullable<typeof cfg.Healthcheck> = {
        Test: c.form === 'exec' ? ['CMD', ...c.args] : ['CMD-SHELL', c.command],
      };
      const d = (k: string) => (ins.flags[k] !== undefined ? parseDuration(ins.flags[k]) : undefined);
      if (d('interval') !== undefined) hc.Interval = d('interval');
      if (d('timeout') !== undefined) hc.Timeout = d('timeout');
      if (d('start-period') !== undefined) hc.StartPeriod = d('start-period');
      if (d('start-interval') !== undefined) hc.StartInterval = d('start-interval');
      if (ins.flags.retries !== undefined) hc.Retries = Number(ins.flags.retries);
      cfg.Healthcheck = hc;
      break;
    }
    default:
      throw new Error(`applyMeta: ${ins.kind} is not a metadata instruction`);
  }
  addHistory(s, `/bin/sh -c #(nop)  ${ins.original}`, true);
}
