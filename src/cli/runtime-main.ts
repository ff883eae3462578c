// Entry of bin/skiff-runtime: imports only the runtime CLI, to keep start-up small.
import { runRuntimeCli } from './runtime-cli.js';

runRuntimeCli(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`skiff-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
