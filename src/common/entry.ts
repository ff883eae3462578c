// The running program's entry module (the `skiff` CLI's main, bundled or not), recorded by the
// entry itself: a component that runs part of itself in a worker thread starts the worker on the
// same module (which sees its workerData and runs the worker's role instead of the CLI), so a
// bundle needs no second entry file whose place other bundles would have to know.
let entry: string | undefined;

export function setEntryModule(url: string): void {
  entry = url;
}

/** The entry module's URL, when the program started from one that recorded itself. */
export function entryModule(): string | undefined {
  return entry;
}
