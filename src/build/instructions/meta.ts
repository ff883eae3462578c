// Instructions that only change the image config (no layer): ENV, LABEL, CMD, ENTRYPOINT, EXPOSE,
// USER, VOLUME, HEALTHCHECK, SHELL, STOPSIGNAL, ONBUILD, MAINTAINER. Each adds an empty-layer
// history entry as the classic builder does.
import { invalidArgument, internal } from '../../common/index.js';
import { expandWord, expandWords, parseDuration, type CommandForm, type Instruction } from '../dockerfile/index.js';
import { addHistory, setEnv, wordEnv, type StageState } from '../state.js';
import { goHealthcheck, goQuoteList, nop } from '../history.js';

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
  let comment: string; // the history entry, in dockerd's classic builder's words (history.ts)
  switch (ins.kind) {
    case 'ENV': {
      // Every word of one instruction is expanded with the environment from before it, as Docker
      // does: `ENV A=2 B=$A` gives B the previous A (documented), so expand all, then set.
      const pairs = ins.pairs.map(([k, v]) => [x(k), x(v)] as const);
      for (const [key, value] of pairs) {
        if (!key) throw invalidArgument(`Dockerfile:${ins.line}: ENV names can not be blank`, { field: 'ENV' });
        setEnv(s, key, value);
      }
      comment = ['ENV', ...pairs.map(([k, v]) => `${k}=${v}`)].join(' ');
      break;
    }
    case 'LABEL': {
      const pairs = ins.pairs.map(([k, v]) => [x(k), x(v)] as const);
      for (const [k, v] of pairs) (cfg.Labels ??= {})[k] = v;
      comment = ['LABEL', ...pairs.map(([k, v]) => `${k}=${v}`)].join(' ');
      break;
    }
    case 'CMD':
      cfg.Cmd = argv(s, ins.cmd);
      st.cmdSet = true;
      comment = `CMD ${goQuoteList(cfg.Cmd)}`;
      break;
    case 'ENTRYPOINT':
      cfg.Entrypoint = argv(s, ins.cmd);
      if (!st.cmdSet) cfg.Cmd = null;
      comment = `ENTRYPOINT ${goQuoteList(cfg.Entrypoint)}`;
      break;
    case 'EXPOSE': {
      // dockerd's parser sorts the words as written (bytewise), then expands them: `EXPOSE 80 $P`
      // is recorded as `EXPOSE 8080 80`
      const ports = [...ins.ports].sort().flatMap((w) => expandWords(w, env, escape));
      for (const p of ports) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m) {
          // nat.ParsePortSpec's words, as dockerd reports them
          const [port, proto] = p.split('/');
          const msg = /^\d+(-\d+)?$/.test(port) ? `Invalid proto: ${proto}` : `Invalid containerPort: ${port}`;
          throw invalidArgument(msg, { field: 'EXPOSE' });
        }
        const proto = (m[3] ?? 'tcp').toLowerCase();
        for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) (cfg.ExposedPorts ??= {})[`${n}/${proto}`] = {};
      }
      comment = `EXPOSE ${ports.join(' ')}`;
      break;
    }
    case 'USER':
      cfg.User = x(ins.user);
      comment = `USER ${cfg.User}`;
      break;
    case 'VOLUME': {
      const vols = ins.json ? ins.paths.map(x) : ins.paths.flatMap((w) => expandWords(w, env, escape));
      for (const v of vols) (cfg.Volumes ??= {})[v] = {};
      comment = `VOLUME [${vols.join(' ')}]`;
      break;
    }
    case 'STOPSIGNAL':
      cfg.StopSignal = x(ins.signal);
      comment = `STOPSIGNAL ${cfg.StopSignal}`;
      break;
    case 'SHELL':
      cfg.Shell = ins.shell;
      comment = `SHELL [${ins.shell.join(' ')}]`; // after the new shell, as dockerd records it
      break;
    case 'ONBUILD':
      (cfg.OnBuild ??= []).push(ins.trigger);
      comment = ins.original;
      break;
    case 'MAINTAINER':
      s.config.author = ins.name;
      comment = ins.original;
      break;
    case 'HEALTHCHECK': {
      if (ins.test.type === 'NONE') {
        cfg.Healthcheck = { Test: ['NONE'] };
        comment = `HEALTHCHECK ${goHealthcheck(cfg.Healthcheck)}`;
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
      comment = `HEALTHCHECK ${goHealthcheck(hc)}`;
      break;
    }
    default:
      // A programming error: the caller dispatches only metadata instructions here.
      throw internal(`applyMeta: ${ins.kind} is not a metadata instruction`);
  }
  addHistory(s, nop(shellOf(s), comment), true);
}
