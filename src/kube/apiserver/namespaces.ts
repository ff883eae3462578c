// The namespaces the server knows, kept by a store watch (as upstream's namespace lifecycle
// admission keeps an informer), so creating a namespaced object does not cost a store read to
// check its namespace. Unknown names fall back to a read (a namespace just created elsewhere).
import type { ApiContext } from './context.js';

export class NamespaceCache {
  private state = new Map<string, 'Active' | 'Terminating'>();
  private ac = new AbortController();
  constructor(
    private ctx: ApiContext,
    private prefix: string,
  ) {}

  get(name: string): 'Active' | 'Terminating' | undefined {
    return this.state.get(name);
  }
  /** This server's own namespace deletions take effect at once (not when their watch event arrives). */
  note(name: string, state: 'Terminating' | undefined): void {
    if (state) this.state.set(name, state);
    else this.state.delete(name);
  }

  private apply(key: string, value: Uint8Array | undefined): void {
    const name = key.slice(this.prefix.length);
    if (!value) {
      this.state.delete(name);
      return;
    }
    try {
      const o = JSON.parse(new TextDecoder().decode(value)) as { metadata?: { deletionTimestamp?: string } };
      this.state.set(name, o.metadata?.deletionTimestamp ? 'Terminating' : 'Active');
    } catch {
      this.state.delete(name);
    }
  }

  async start(): Promise<void> {
    const sync = async () => {
      const page = await this.ctx.store.list(this.prefix);
      this.state.clear();
      for (const kv of page.items) this.apply(kv.key, kv.value);
      return page.revision;
    };
    let rev = await sync();
    void (async () => {
      while (!this.ac.signal.aborted) {
        try {
          const w = this.ctx.store.watch(this.prefix, rev, { signal: this.ac.signal });
          this.ac.signal.addEventListener('abort', () => w.close(), { once: true });
          for await (const ev of w) {
            if (ev.type === 'PROGRESS') continue;
            rev = ev.kv.modRevision;
            this.apply(ev.kv.key, ev.type === 'DELETE' ? undefined : ev.kv.value);
          }
        } catch {
          if (this.ac.signal.aborted) break;
          this.state.clear();
          await new Promise((r) => setTimeout(r, 200));
          try {
            rev = await sync();
          } catch {
            /* store unavailable: reads fall back to the store */
          }
        }
      }
    })();
  }

  stop(): void {
    this.ac.abort();
    this.state.clear();
  }
}
