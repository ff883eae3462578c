// `skiff` multicall CLI: the first argument picks a verb; each verb's module is loaded on demand so
// that a command pays only for what it uses.
import { isMainThread, workerData } from 'node:worker_threads';
import { isSkiffError, phase, setEntryModule } from '../common/index.js';

// Worker threads (the server's scheduler and controllers, src/cluster/control-worker.ts) start on
// this same module and run their role instead of the CLI.
setEntryModule(import.meta.url);

type Command = (argv: string[]) => Promise<number | void>;
const COMMANDS: Record<string, () => Promise<{ main: Command }>> = {
  runtime: () => import('./commands/runtime.js'),
  registry: () => import('./commands/registry.js'),
  start: () => import('./commands/start.js'),
  engine: () => import('./commands/engine.js'),
  server: () => import('./commands/server.js'),
  agent: () => import('./commands/agent.js'),
  token: () => import('./commands/token.js'),
  run: () => import('./commands/run.js'),
  ps: () => import('./commands/ps.js'),
  exec: () => import('./commands/exec.js'),
  logs: () => import('./commands/logs.js'),
  inspect: () => import('./commands/inspect.js'),
  rm: () => import('./commands/rm.js'),
  stop: () => import('./commands/stop.js'),
  restart: () => import('./commands/restart.js'),
  kill: () => import('./commands/kill.js'),
  container: () => import('./commands/container.js'),
  images: () => import('./commands/images.js'),
  pull: () => import('./commands/pull.js'),
  build: () => import('./commands/build.js'),
  push: () => import('./commands/push.js'),
  tag: () => import('./commands/tag.js'),
  rmi: () => import('./commands/rmi.js'),
  volume: () => import('./commands/volume.js'),
  login: () => import('./commands/login.js'),
  network: () => import('./commands/network.js'),
  events: () => import('./commands/events.js'),
  stats: () => import('./commands/stats.js'),
  system: () => import('./commands/system.js'),
  cp: () => import('./commands/cp.js'),
  save: () => import('./commands/save.js'),
  load: () => import('./commands/load.js'),
  import: () => import('./commands/import.js'),
};

const HELP = `usage: skiff <command> [args]      (skiff <command> --help for a command's flags)

daemons:
  start       a single-node Skiff: the engine and the API server in one process (what \`npm start\` runs)
  engine      the container engine, serving the Docker Engine API (dockerd's role)
  server      the Kubernetes API server on SQLite or etcd (writes DATA_DIR/node-token for agents)
  agent       a node joining a server: engine, CRI and node agent (skiff agent --server URL --token T)
  token       token rotate: a new server token for the cluster's bootstrap data (as k3s token rotate)
  registry    an OCI distribution registry
  runtime     the OCI runtime, flag-compatible with runc (also bin/skiff-runtime)

client verbs (Docker's syntax, against --host / SKIFF_HOST / DOCKER_HOST):
  run, ps, exec, logs, inspect, rm, stop, restart, kill, cp, stats, events,
  container start|stop|ls|… (container start: \`skiff start\` is the daemon), images, pull, push, tag, rmi, build, save, load, import,
  volume, network, system (df|prune|info), login
`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '-h' || verb === '--help' || verb === 'help') {
    process.stdout.write(HELP);
    return verb ? 0 : 1;
  }
  const load = COMMANDS[verb];
  if (!load) {
    process.stderr.write(`skiff: unknown command "${verb}"\n\n${HELP}`);
    return 1;
  }
  phase(`${verb} loading`);
  const mod = await load();
  return (await mod.main(rest)) ?? 0;
}

if (!isMainThread && (workerData as { skiffWorker?: string } | null)?.skiffWorker === 'control-plane') {
  const { runControlWorker } = await import('../cluster/index.js');
  await runControlWorker();
} else
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(
        `skiff: ${isSkiffError(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
