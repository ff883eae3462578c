// Entry of bin/skiff-runtime: imports only the runtime CLI, to keep start-up small.
import { runRuntimeCli } from './runtime-cli.js';

// Exit as soon as the command is done (stdout/stderr writes to files, pipes and terminals are
// synchronous on Linux): nothing is left to run, and waiting for Node's loop and thread pool to wind
// down costs a runc-style CLI, started per container operation, several milliseconds.
runRuntimeCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`skiff-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
