// GetContainerEvents: a hub that fans container lifecycle events out to every open stream (the
// agent's PLEG and crictl events), each with a bounded queue: a reader that falls 1000 events
// behind loses the oldest ones rather than growing the engine without bound.
import type { ContainerEventResponse } from './types.js';

const MAX_QUEUE = 1000;

interface Subscriber {
  queue: ContainerEventResponse[];
  wake?: () => void;
}

export class ContainerEvents {
  private readonly subs = new Set<Subscriber>();

  emit(e: ContainerEventResponse): void {
    for (const s of this.subs) {
      s.queue.push(e);
      if (s.queue.length > MAX_QUEUE) s.queue.shift();
      s.wake?.();
    }
  }

  get subscribers(): number {
    return this.subs.size;
  }

  async *stream(signal: AbortSignal): AsyncIterable<ContainerEventResponse> {
    const s: Subscriber = { queue: [] };
    this.subs.add(s);
    const onAbort = () => s.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const next = s.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          s.wake = resolve;
        });
        s.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.subs.delete(s);
    }
  }
}
