// `skiff runtime …`: the same CLI as bin/skiff-runtime.
export async function main(argv: string[]): Promise<number> {
  const { runRuntimeCli } = await import('../runtime-cli.js');
  return runRuntimeCli(argv);
}
