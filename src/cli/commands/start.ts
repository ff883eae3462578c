// `npm start` target. Runs the most complete Skiff that exists at this point of the project.
export async function main(): Promise<number> {
  process.stdout.write('skiff: nothing to start yet\n');
  return 0;
}
