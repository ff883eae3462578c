// runc-compatible runtime CLI (placeholder until the runtime lands).
export async function runRuntimeCli(argv: string[]): Promise<number> {
  process.stderr.write(`skiff-runtime: not built yet (${argv.join(' ')})\n`);
  return 1;
}
